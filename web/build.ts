import { createHash } from "crypto";
import { buildSync } from "esbuild";
import { readFileSync } from "fs";
import { join, relative } from "path";

/**
 * Builds the prediction page (web/src) with esbuild into memory: a hashed script and stylesheet that browsers may
 * cache forever, and index.html, which must be fetched again on every visit. The stack builds it once per run and
 * hands the files to PredictionApp; a build takes well under a second, so `npm run plan` and the tests build it
 * too and show the real asset names.
 */

export interface SiteFile {
    /** Path under the site's root, e.g. `index.html`, `assets/main-3F2A1B9C.js`. */
    readonly key: string;
    readonly content: string;
    readonly contentType: string;
    readonly cacheControl: string;
}

export interface WebsiteBuild {
    readonly files: readonly SiteFile[];
    /** Hash of every file: changes exactly when something a browser receives changes. */
    readonly version: string;
}

/** Hashed assets never change under their name. */
export const IMMUTABLE = "public, max-age=31536000, immutable";
/** The entry page and its settings are revalidated on every visit, so a deploy shows at once. */
export const REVALIDATE = "no-cache";

const CONTENT_TYPES: Record<string, string> = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
};

let built: WebsiteBuild | undefined;

/** The page's files; built on the first call, the same object after. */
export function buildWebsite(): WebsiteBuild {
    return (built ??= buildNow());
}

function buildNow(): WebsiteBuild {
    const root = __dirname;
    const result = buildSync({
        entryPoints: [join(root, "src", "main.ts")],
        bundle: true,
        minify: true,
        format: "esm",
        target: ["chrome111", "firefox113", "safari16.4"],
        entryNames: "assets/[name]-[hash]",
        outdir: join(root, "dist"),
        write: false,
        legalComments: "none",
        logLevel: "silent",
    });
    const assets = result.outputFiles.map((f) => {
        const key = relative(join(root, "dist"), f.path).split("\\").join("/");
        const ext = key.slice(key.lastIndexOf("."));
        return { key, content: f.text, contentType: CONTENT_TYPES[ext], cacheControl: IMMUTABLE };
    });
    const js = assets.find((a) => a.key.endsWith(".js"));
    const css = assets.find((a) => a.key.endsWith(".css"));
    if (!js || !css) throw new Error(`the page build produced ${assets.map((a) => a.key).join(", ")}; expected a script and a stylesheet`);
    const html = readFileSync(join(root, "index.html"), "utf8").replace("{{js}}", `/${js.key}`).replace("{{css}}", `/${css.key}`);
    const files: SiteFile[] = [
        ...assets,
        { key: "index.html", content: html, contentType: CONTENT_TYPES[".html"], cacheControl: REVALIDATE },
    ];
    const version = createHash("sha256");
    for (const f of files) version.update(f.key).update("\0").update(f.content).update("\0");
    return { files, version: version.digest("hex").slice(0, 16) };
}
