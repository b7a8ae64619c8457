import { expect } from "chai";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { pathToFileURL } from "url";
import { MONITORING_OUTPUT_FILES } from "../../../infra/job-contract";
import { reportThumbnail } from "../../../jobs/lib/image-properties";
import { runMonitor } from "../../../jobs/monitor/run";
import { buildBaseline, CLASSES, defaultThresholds, rng, sample, writeCapture } from "./corpus";
import { CHROMIUM, CHROMIUM_FLAGS } from "../../support/chromium";

/** report.html rendered in a real headless browser: every thumbnail decodes, and the page asks for nothing. */
describe("monitor report in a browser", function () {
    this.timeout(120_000);
    let work: string;
    let report: string;

    before(async function () {
        if (!existsSync(CHROMIUM)) {
            if (process.env.CI) throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium`);
            this.skip();
        }
        work = mkdtempSync(join(tmpdir(), "monitor-report-"));
        const baseline = await buildBaseline(90);
        const random = rng(77);
        const examples: Record<string, string[]> = {};
        while (CLASSES.some((c) => (examples[c]?.length ?? 0) < 3)) {
            const s = await sample(random);
            const list = (examples[CLASSES[s.trueClass]] ??= []);
            if (list.length < 3) list.push((await reportThumbnail(s.image)).toString("base64"));
        }
        writeFileSync(join(work, "monitoring_baseline.json"), JSON.stringify({ ...baseline, examples }));
        const capture = join(work, "capture");
        await writeCapture(
            capture,
            80,
            { brightnessShift: 85, classMix: [0.7, 0.2, 0.1] },
            { endpoint: "ep", start: new Date("2026-01-10T12:05:00Z") },
            78,
        );
        const output = join(work, "out");
        await runMonitor({
            capture,
            baseline: join(work, "monitoring_baseline.json"),
            output,
            window: { start: new Date("2026-01-10T12:00:00Z"), end: new Date("2026-01-10T13:00:00Z") },
            endpoint: "ep",
            schedule: "sch",
            thresholds: defaultThresholds(),
            imageSampleSize: 60,
        });
        report = join(output, MONITORING_OUTPUT_FILES.report);
    });
    after(() => work && rmSync(work, { recursive: true, force: true }));

    it("shows captured and training thumbnails per class, the lowest-confidence and the furthest images, with no request", async () => {
        const { chromium } = await import("playwright-core");
        const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
        try {
            const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
            const requests: string[] = [];
            const problems: string[] = [];
            page.on("request", (r) => {
                if (!r.url().startsWith("data:")) requests.push(r.url());
            });
            page.on("console", (m) => {
                if (m.type() === "error" || m.type() === "warning") problems.push(m.text());
            });
            page.on("pageerror", (e) => problems.push(e.message));
            const url = pathToFileURL(report).href;
            await page.goto(url, { waitUntil: "load" });
            expect(requests, "the page itself is the only request").to.deep.equal([url]);
            expect(problems).to.deep.equal([]);

            const images = await page.$$eval("img", (list) =>
                list.map((i) => ({
                    ok: i.complete && i.naturalWidth > 0,
                    src: i.src.slice(0, 23),
                    cls: i.closest("td,div")?.className ?? "",
                })),
            );
            expect(images.length).to.be.at.least(20);
            expect(
                images.filter((i) => !i.ok),
                "every thumbnail decodes",
            ).to.deep.equal([]);
            expect(new Set(images.map((i) => i.src))).to.deep.equal(new Set(["data:image/jpeg;base64,"]));
            const headings = await page.$$eval("h2", (hs) => hs.map((h) => h.textContent));
            expect(headings).to.include.members([
                "Captured images by predicted class",
                "Lowest-confidence requests",
                "Furthest from training on brightness",
            ]);
            const rows = await page.$$eval("table.strips tr", (trs) =>
                trs.slice(1).map((tr) => ({
                    cls: tr.querySelector("td b")?.textContent,
                    training: tr.querySelectorAll("td.training img").length,
                    captured: tr.querySelectorAll("td.strip:not(.training) img").length,
                })),
            );
            expect(rows.map((r) => r.cls).sort()).to.deep.equal([...CLASSES].sort());
            for (const r of rows) expect(r.training, `${r.cls} training strip`).to.equal(3);
            expect(rows.find((r) => r.cls === CLASSES[0])!.captured).to.be.at.least(4);
            const verdict = await page.textContent(".verdict");
            expect(verdict).to.match(/violation/);
            const shot = await page.screenshot({ fullPage: true });
            expect(shot.subarray(1, 4).toString()).to.equal("PNG");
            if (process.env.REPORT_SCREENSHOT) writeFileSync(process.env.REPORT_SCREENSHOT, shot);
        } finally {
            await browser.close();
        }
    });

    it("is one self-contained file that forbids any request in its content security policy", () => {
        const html = readFileSync(report, "utf8");
        expect(html).to.contain(`content="default-src 'none'; img-src data:; style-src 'unsafe-inline'"`);
        expect(html).to.not.match(/\b(src|href)="(?!data:)/);
        expect(html).to.not.contain("<script");
    });
});
