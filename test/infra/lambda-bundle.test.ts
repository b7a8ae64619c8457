import { expect } from "chai";
import { cpSync, mkdirSync, writeFileSync } from "fs";
import { join } from "path";
import { createHash } from "crypto";
import { bundleLambda, lambdaArchive, LAMBDA_NODE_TARGET, LAMBDA_RUNTIME } from "../../infra/lambda-bundle";
import { tempDir } from "../jobs/support/images";

/** A throwaway source tree with the given files (paths relative to its root). */
function tree(files: Record<string, string>): string {
    const root = tempDir("lambda-src");
    for (const [path, text] of Object.entries(files)) {
        mkdirSync(join(root, path, ".."), { recursive: true });
        writeFileSync(join(root, path), text);
    }
    return root;
}

/** Loads a bundle as Lambda's Node runtime does: a CommonJS module named index.js. */
function load(code: string): Record<string, unknown> {
    const dir = tempDir("lambda-run");
    writeFileSync(join(dir, "index.js"), code);
    return require(join(dir, "index.js"));
}

describe("Lambda bundles", () => {
    const handlerTree = () =>
        tree({
            "jobs/fn/handler.ts":
                'import { greet } from "../lib/greet";\nexport class HandlerError extends Error {}\nexport const handler = async (e: { name: string }) => greet(e.name);\n',
            "jobs/lib/greet.ts": "export const greet = (n: string): string => `hello ${n}`;\n",
        });

    it("runs on Node 22: one CommonJS file whose handler is the module's own, imports included", async () => {
        expect(LAMBDA_RUNTIME).to.equal("nodejs22.x");
        expect(LAMBDA_NODE_TARGET).to.equal("node22");
        const bundle = bundleLambda("jobs/fn/handler.ts", handlerTree());
        expect(bundle.inputs).to.deep.equal(["jobs/fn/handler.ts", "jobs/lib/greet.ts"]);
        const mod = load(bundle.code) as { handler: (e: { name: string }) => Promise<string>; HandlerError: { name: string } };
        expect(await mod.handler({ name: "sagemaker" })).to.equal("hello sagemaker");
        // Step Functions matches errors by name: class names survive bundling.
        expect(mod.HandlerError.name).to.equal("HandlerError");
    });

    it("gives the same bytes for the same sources wherever the checkout is, so an unchanged handler never redeploys", () => {
        const a = handlerTree();
        const b = tempDir("lambda-copy");
        cpSync(a, b, { recursive: true });
        const first = bundleLambda("jobs/fn/handler.ts", a);
        const second = bundleLambda("jobs/fn/handler.ts", b);
        expect(second.sha256).to.equal(first.sha256);
        expect(first.code).not.to.contain(a);
        const changed = tree({
            "jobs/fn/handler.ts":
                'import { greet } from "../lib/greet";\nexport const handler = async (e: { name: string }) => greet(e.name) + "!";\n',
            "jobs/lib/greet.ts": "export const greet = (n: string): string => `hello ${n}`;\n",
        });
        expect(bundleLambda("jobs/fn/handler.ts", changed).sha256).not.to.equal(first.sha256);
    });

    it("refuses entries outside jobs/, missing ones, ones without a handler and ones that import Pulumi", () => {
        const root = tree({
            "jobs/none.ts": "export const other = 1;\n",
            "jobs/pulumi.ts": 'import * as pulumi from "@pulumi/pulumi";\nexport const handler = async () => pulumi.getStack();\n',
            "node_modules/@pulumi/pulumi/index.js": "exports.getStack = () => 'dev';\n",
            "node_modules/@pulumi/pulumi/package.json": '{"name": "@pulumi/pulumi", "main": "index.js"}',
            "components/x.ts": "export const handler = async () => 1;\n",
        });
        expect(() => bundleLambda("components/x.ts", root)).to.throw(/must be a \.ts module under jobs\//);
        expect(() => bundleLambda("/abs/jobs/x.ts", root)).to.throw(/under jobs\//);
        expect(() => bundleLambda("jobs/absent.ts", root)).to.throw(/jobs\/absent\.ts does not exist/);
        expect(() => bundleLambda("jobs/none.ts", root)).to.throw(/does not export a function named handler/);
        expect(() => bundleLambda("jobs/pulumi.ts", root)).to.throw(/imports the Pulumi SDK .*must not import @pulumi/);
    });

    it("packs data files beside the bundle, the handler reading them from its own folder, and names the archive by all of it", async () => {
        const bundle = bundleLambda(
            "jobs/fn/read.ts",
            tree({
                "jobs/fn/read.ts":
                    'import { readFileSync } from "fs";\nimport { join } from "path";\nexport const handler = async () => JSON.parse(readFileSync(join(__dirname, "classes.json"), "utf8"));\n',
            }),
        );
        // A function without data files keeps the bundle's digest, so adding the option redeploys nothing.
        expect(lambdaArchive(bundle)).to.deep.equal({ files: { "index.js": bundle.code }, sha256: bundle.sha256 });
        const classes = JSON.stringify(["001.Affenpinscher", "002.Afghan_hound"]);
        const archive = lambdaArchive(bundle, { "classes.json": classes });
        expect(Object.keys(archive.files)).to.deep.equal(["index.js", "classes.json"]);
        // Hand-computed: each file as name, NUL, content, NUL, in name order.
        const expected = createHash("sha256").update(`classes.json\0${classes}\0index.js\0${bundle.code}\0`).digest("hex");
        expect(archive.sha256).to.equal(expected);
        expect(lambdaArchive(bundle, { "classes.json": JSON.stringify(["001.Affenpinscher"]) }).sha256).not.to.equal(archive.sha256);
        // As Lambda unpacks it: both files in the task root.
        const dir = tempDir("lambda-run");
        for (const [file, text] of Object.entries(archive.files)) writeFileSync(join(dir, file), text);
        expect(await (require(join(dir, "index.js")) as { handler: () => Promise<string[]> }).handler()).to.deep.equal([
            "001.Affenpinscher",
            "002.Afghan_hound",
        ]);
    });

    it("refuses data files that would replace the bundle or land outside the task root", () => {
        const bundle = bundleLambda("jobs/fn/handler.ts", handlerTree());
        expect(() => lambdaArchive(bundle, { "index.js": "x" })).to.throw(/"index.js" is the bundle's own name/);
        for (const name of ["../up.json", "sub/dir.json", ".hidden", ""])
            expect(() => lambdaArchive(bundle, { [name]: "x" }), name).to.throw(/data file name .* must be 1-64 letters, digits/);
    });
});
