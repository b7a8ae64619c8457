import { S3Client } from "@aws-sdk/client-s3";
import { SageMakerRuntime } from "@aws-sdk/client-sagemaker-runtime";
import { expect } from "chai";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { createServer, IncomingMessage, Server } from "http";
import { join } from "path";
import type { Browser, Page } from "playwright-core";
import sharp from "sharp";
import { catalogFromS3 } from "../../jobs/prediction/catalog";
import { Correction, createPredictionApi } from "../../jobs/prediction/api";
import { EndpointRuntime } from "../../jobs/lib/classify";
import { PageConfig } from "../../infra/prediction-api";
import { asHttpHeaders, pageSecurityHeaders } from "../../infra/web";
import { buildWebsite } from "../../web/build";
import { HostedUi, startHostedUi } from "../support/hosted-ui";
import { MotoServer, queueEndpointResults, startMoto, startRuntimeShim } from "../support/moto";
import { httpApiEvent, putCatalog } from "../support/prediction";
import { FAULTS, startFaultServer } from "../support/sagemaker-faults";
import { CHROMIUM, CHROMIUM_FLAGS } from "../support/chromium";

// The callbacks of page.evaluate run in the page; this project's types have no DOM library, so they are untyped here.
declare const document: any, window: any;
declare function getComputedStyle(element: unknown): any;

/** Screenshots of every state, for a reviewer (and the README's picture). */
const SHOTS = process.env.PREDICTION_PAGE_SCREENSHOTS ?? join(__dirname, "..", "..", ".test-output", "prediction-page");

async function readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
}

/**
 * The built page in a real browser, served as CloudFront serves it (the page's files, config.json, the security
 * headers) with `/api/*` going through an API Gateway stand-in (route matching, payload-2.0 events, the JWT
 * check) to the real handler, whose SageMaker Runtime is moto (and, for the endpoint that is down, SageMaker's own
 * error answer), and whose sign-in is a hosted-UI stand-in doing authorization code + PKCE.
 */
describe("prediction page in a browser", function () {
    this.timeout(120_000);
    let moto: MotoServer;
    let shim: Awaited<ReturnType<typeof startRuntimeShim>>;
    let faults: Awaited<ReturnType<typeof startFaultServer>>;
    let hostedUi: HostedUi;
    let site: Server;
    let origin: string;
    let browser: Browser;
    let page: Page;
    const filed: Correction[] = [];
    const apiCalls: Array<{ method: string; path: string; status: number }> = [];
    let pageConfig: PageConfig;

    before(async function () {
        if (!existsSync(CHROMIUM)) {
            if (process.env.CI) throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium`);
            this.skip();
        }
        mkdirSync(SHOTS, { recursive: true });
        moto = await startMoto();
        shim = await startRuntimeShim(moto);
        faults = await startFaultServer(FAULTS.unavailable);
        const s3 = new S3Client(moto.clientConfig);
        await putCatalog(s3, "site", "catalog/models.json");
        const served = new SageMakerRuntime({ ...moto.clientConfig, endpoint: shim.endpoint });
        const down = new SageMakerRuntime({ ...moto.clientConfig, endpoint: faults.endpoint, maxAttempts: 1 });
        // The bikes endpoint is down: its calls get SageMaker's ServiceUnavailable.
        const runtime: EndpointRuntime = {
            invokeEndpoint: (input) => (input.EndpointName === "vision-mlops-staging-bikes" ? down : served).invokeEndpoint(input),
        };
        const handler = createPredictionApi({
            runtime,
            catalog: catalogFromS3(s3, "site", "catalog/models.json"),
            corrections: { file: async (c) => void filed.push(c) },
            log: () => undefined,
        });

        site = createServer(async (req, res) => {
            const url = new URL(req.url ?? "/", "http://x");
            const body = await readBody(req);
            if (url.pathname.startsWith("/api/")) {
                const claims = hostedUi.verifyAccessToken(req.headers.authorization);
                const event = httpApiEvent(req.method ?? "GET", url.pathname, {
                    body,
                    headers: req.headers as Record<string, string>,
                    claims,
                });
                const answer = !event
                    ? { statusCode: 404, headers: { "content-type": "application/json" }, body: '{"message":"Not Found"}' }
                    : !claims
                      ? { statusCode: 401, headers: { "content-type": "application/json" }, body: '{"message":"Unauthorized"}' }
                      : await handler(event);
                apiCalls.push({ method: req.method ?? "", path: url.pathname, status: answer.statusCode });
                return res.writeHead(answer.statusCode, answer.headers).end(answer.body);
            }
            const security = asHttpHeaders(pageSecurityHeaders(hostedUi.origin));
            if (url.pathname === "/config.json")
                return res.writeHead(200, { ...security, "content-type": "application/json" }).end(JSON.stringify(pageConfig));
            const key = url.pathname === "/" ? "index.html" : url.pathname.slice(1);
            const file = buildWebsite().files.find((f) => f.key === key);
            if (!file) return res.writeHead(404, security).end();
            return res
                .writeHead(200, { ...security, "content-type": file.contentType, "cache-control": file.cacheControl })
                .end(file.content);
        });
        await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
        origin = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
        hostedUi = await startHostedUi({ clientId: "page-client", users: { ana: "correct horse" }, redirectUris: [`${origin}/`] });
        pageConfig = {
            environment: "staging",
            banner: "Staging: these models are candidates, not approved for production.",
            auth: {
                authorizeUrl: `${hostedUi.origin}/oauth2/authorize`,
                tokenUrl: `${hostedUi.origin}/oauth2/token`,
                logoutUrl: `${hostedUi.origin}/logout`,
                clientId: "page-client",
                scopes: ["openid", "email"],
            },
        };

        const { chromium } = await import("playwright-core");
        browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
        page = await browser.newPage({ viewport: { width: 1000, height: 860 } });
        const problems: string[] = [];
        page.on("pageerror", (e) => problems.push(e.message));
        page.on("response", (r) => {
            if (r.status() === 404) problems.push(`404 ${r.url()}`);
        });
        page.on("console", (m) => {
            // A refused request is logged by the browser as an error; those the test provokes are expected.
            if (m.type() === "error" && !/status of (401|415|503)/.test(m.text())) problems.push(m.text());
        });
        (page as Page & { problems?: string[] }).problems = problems;
    });

    after(async () => {
        await browser?.close();
        await new Promise<void>((resolve) => (site ? site.close(() => resolve()) : resolve()));
        await hostedUi?.stop();
        await faults?.stop();
        await shim?.stop();
        await moto?.stop();
    });

    const shot = async (name: string) => writeFileSync(join(SHOTS, `${name}.png`), await page.screenshot({ fullPage: true }));
    const problems = () => (page as Page & { problems?: string[] }).problems ?? [];
    const upload = (name: string, mimeType: string, buffer: Buffer) => page.setInputFiles("#file", { name, mimeType, buffer });
    const photo = () =>
        sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 180, g: 20, b: 30 } } })
            .composite([{ input: Buffer.from('<svg width="640" height="480"><circle cx="320" cy="240" r="150" fill="white"/></svg>') }])
            .jpeg()
            .toBuffer();

    it("refuses the API without a sign-in and offers one; the staging banner is visible", async () => {
        const anonymous = await fetch(`${origin}/api/models`);
        expect(anonymous.status).to.equal(401);
        apiCalls.length = 0;
        await page.goto(origin);
        await page.waitForSelector("#sign-in:not([hidden])");
        expect(await page.isVisible("#banner")).to.equal(true);
        expect(await page.textContent("#banner")).to.equal("Staging: these models are candidates, not approved for production.");
        expect(await page.isVisible("#classifier")).to.equal(false);
        expect(apiCalls, "the page calls nothing before sign-in").to.deep.equal([]);
        await shot("01-sign-in");
    });

    it("signs in through the hosted UI with authorization code and PKCE and lists the stack's models", async () => {
        await page.click("#sign-in-button");
        await page.waitForURL(/\/oauth2\/authorize\?/);
        const authorize = new URL(page.url());
        expect(Object.fromEntries(authorize.searchParams)).to.include({
            response_type: "code",
            client_id: "page-client",
            redirect_uri: `${origin}/`,
            code_challenge_method: "S256",
            scope: "openid email",
        });
        await page.fill("#username", "ana");
        await page.fill("#password", "correct horse");
        await page.click("button[type=submit]");
        await page.waitForSelector("#classifier:not([hidden])");
        await page.waitForFunction(() => document.querySelectorAll("#model option").length === 2);
        expect(hostedUi.refused).to.deep.equal([]);
        expect(page.url(), "the code leaves the address bar").to.equal(`${origin}/`);
        expect(await page.textContent("#who")).to.equal("Signed in as ana@example.com");
        expect(await page.$$eval("#model option", (os) => os.map((o) => o.textContent))).to.deep.equal(["street-signs", "bikes"]);
        expect(await page.textContent("#model-info")).to.equal("Street signs of the test set · 5 classes · input 48×64 colour · version 7");
        expect(apiCalls.at(-1)).to.deep.equal({ method: "GET", path: "/api/models", status: 200 });
        await shot("02-signed-in");
    });

    it("resizes a photo to the model's input size, uploads it and shows the ranked classes with the version", async () => {
        await queueEndpointResults(moto, [{ Body: JSON.stringify([0.12, 0.05, 0.62, 0.2, 0.01]) }]);
        await upload("sign.jpg", "image/jpeg", await photo());
        await page.waitForSelector("#result:not([hidden])");
        const rows = await page.$$eval("#predictions li", (lis) =>
            lis.map((li) => [li.querySelector(".label")!.textContent, li.querySelector(".percent")!.textContent]),
        );
        expect(rows).to.deep.equal([
            ["speed-limit-30", "62.0%"],
            ["no-entry", "20.0%"],
            ["stop", "12.0%"],
            ["yield", "5.0%"],
            ["roundabout", "1.0%"],
        ]);
        const widths = await page.$$eval("#predictions .bar span", (bars) =>
            bars.map((b) => Math.round((b.getBoundingClientRect().width / b.parentElement!.getBoundingClientRect().width) * 100)),
        );
        expect(widths).to.deep.equal([62, 20, 12, 5, 1]);
        expect(await page.isVisible("#review"), "62% is below the 80% threshold").to.equal(true);
        expect(await page.textContent("#served")).to.match(/^vision-mlops-staging-street-signs version 7 · inference [0-9a-f-]{36}$/);
        const sent = shim.seen.at(-1)!;
        expect(sent.contentType).to.equal("image/jpeg");
        const meta = await sharp(sent.body).metadata();
        expect([meta.format, meta.width, meta.height], "the endpoint gets the model's input size").to.deep.equal(["jpeg", 48, 64]);
        expect(sent.body.length).to.be.below(20_000);
        expect(await page.evaluate(() => document.activeElement?.id), "focus moves to the answer").to.equal("result");
        expect(await page.textContent("#preview-caption")).to.match(/^640×480 → 48×64, \d+(\.\d)? KB$/);
        await shot("03-prediction");
    });

    it("sends a correction with the uploaded image to the review queue", async () => {
        await page.selectOption("#right-class", "no-entry");
        await page.click("#send-correction");
        await page.waitForFunction(() => /Sent to the review queue/.test(document.querySelector("#correction-status")!.textContent ?? ""));
        expect(filed).to.have.length(1);
        expect(filed[0]).to.deep.include({
            model: "street-signs",
            label: "no-entry",
            predictedLabel: "speed-limit-30",
            contentType: "image/jpeg",
        });
        expect(filed[0].image.equals(shim.seen.at(-1)!.body), "the reviewer gets exactly what the model saw").to.equal(true);
        expect(filed[0].submittedBy).to.deep.equal({ sub: filed[0].submittedBy.sub, username: "ana" });
        expect(filed[0].inferenceId).to.equal((await page.textContent("#served"))!.split("inference ")[1]);
        await shot("04-correction-sent");
    });

    it("says a file is not an image without uploading it", async () => {
        const before = apiCalls.length;
        await upload("holiday.jpg", "image/jpeg", Buffer.from("these are not the pixels you are looking for"));
        await page.waitForSelector("#error:not([hidden])");
        expect(await page.textContent("#error-code")).to.equal("not_an_image");
        expect(await page.textContent("#error-message")).to.equal(
            "holiday.jpg is not an image this browser can open. Pick a JPEG, PNG or WebP picture.",
        );
        expect(apiCalls.length).to.equal(before);
        await shot("05-not-an-image");
    });

    it("says a file is too large to read without uploading it", async () => {
        const before = apiCalls.length;
        // From a file: the browser reads it from disk, where a buffer would be copied through the protocol.
        const dir = mkdtempSync(join(tmpdir(), "prediction-page-"));
        const huge = join(dir, "panorama.jpg");
        writeFileSync(huge, Buffer.concat([await photo(), Buffer.alloc(26 * 1024 * 1024)]));
        try {
            await page.setInputFiles("#file", huge);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
        await page.waitForFunction(() => document.querySelector("#error-code")!.textContent === "image_too_large");
        expect(await page.textContent("#error-message")).to.equal(
            "panorama.jpg is 26.0 MB; this page reads images up to 25.0 MB. Pick a smaller image or a lower-resolution photo.",
        );
        expect(apiCalls.length).to.equal(before);
        await shot("06-too-large");
    });

    it("shows an endpoint that is down as the API's error, and says it is worth another try", async () => {
        await page.selectOption("#model", "bikes");
        await upload("bike.jpg", "image/jpeg", await photo());
        await page.waitForFunction(() => document.querySelector("#error-code")!.textContent === "endpoint_unavailable");
        expect(apiCalls.at(-1)).to.deep.equal({ method: "POST", path: "/api/models/bikes/predictions", status: 503 });
        expect(await page.textContent("#error-message")).to.equal(
            "vision-mlops-staging-bikes is not available right now (ServiceUnavailable); try again shortly.",
        );
        expect(await page.isVisible("#result"), "street-signs' answer is not left under the bikes error").to.equal(false);
        expect(faults.calls()).to.equal(1);
        await shot("07-endpoint-down");
    });

    it("works by keyboard alone, labels every control and keeps text at WCAG AA contrast", async () => {
        await page.selectOption("#model", "street-signs");
        await queueEndpointResults(moto, [{ Body: JSON.stringify([0.9, 0.04, 0.03, 0.02, 0.01]) }]);
        await upload(
            "sign-2.jpg",
            "image/jpeg",
            await sharp(await photo())
                .rotate(90)
                .jpeg()
                .toBuffer(),
        );
        await page.waitForFunction(() => document.querySelector("#predictions .label")?.textContent === "stop");
        await page.focus("body");
        const reached: string[] = [];
        for (let i = 0; i < 12; i++) {
            await page.keyboard.press("Tab");
            reached.push(await page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName || ""));
        }
        expect(reached).to.include.members(["sign-out", "model", "file", "camera", "right-class", "send-correction"]);
        const focusRing = await page.evaluate(() => {
            document.getElementById("file")!.focus();
            return getComputedStyle(document.querySelector("label[for=file]")!).outlineStyle;
        });
        expect(focusRing, "a focused file input rings its visible label").to.equal("solid");
        const unlabelled = await page.$$eval("input, select, button", (els) =>
            els.filter((e) => !e.labels?.length && !e.textContent?.trim() && e.getAttribute("type") !== "hidden").map((e) => e.id),
        );
        expect(unlabelled).to.deep.equal([]);
        const contrast = await page.evaluate(() => {
            const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
            const lum = ([r, g, b]: number[]) => {
                const f = (v: number) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
                return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
            };
            const background = (el: any): number[] => {
                for (; el; el = el.parentElement) {
                    const c = rgb(getComputedStyle(el).backgroundColor);
                    if (c.length === 3 || c[3] === 1) return c.slice(0, 3);
                }
                return [255, 255, 255];
            };
            const worst: Array<{ text: string; ratio: number }> = [];
            for (const el of Array.from(document.querySelectorAll("body *")) as any[]) {
                const own = (Array.from(el.childNodes) as any[]).some((n) => n.nodeType === 3 && n.textContent!.trim());
                const box = el.getBoundingClientRect();
                if (!own || box.width === 0 || getComputedStyle(el).visibility === "hidden") continue;
                const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(background(el))];
                const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
                worst.push({ text: el.textContent!.trim().slice(0, 30), ratio: Math.round(ratio * 10) / 10 });
            }
            return worst.sort((x, y) => x.ratio - y.ratio);
        });
        expect(contrast.length).to.be.above(20);
        expect(contrast[0].ratio, `lowest contrast: ${JSON.stringify(contrast[0])}`).to.be.at.least(4.5);
        await shot("08-keyboard-focus");
    });

    it("fits a phone's width without scrolling sideways", async () => {
        await page.setViewportSize({ width: 360, height: 780 });
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        expect(overflow).to.be.at.most(0);
        const box = await page.locator("#predictions li").first().boundingBox();
        expect(box!.x + box!.width).to.be.at.most(360);
        await shot("09-phone");
        await page.setViewportSize({ width: 1000, height: 860 });
        expect(problems(), "no script error and no blocked resource").to.deep.equal([]);
    });
});
