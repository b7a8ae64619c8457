import { expect } from "chai";
import { createHash } from "crypto";
import { FetchedRun, formatViolations, judgeRun, newestRun, parseViolations } from "../../jobs/lib/monitoring-reports";

const BASE = "traffic-signs/monitoring/vision-mlops-staging-traffic-signs";

describe("choosing the newest monitoring run", () => {
    it("groups output files by folder and picks the latest hour", () => {
        const run = newestRun([
            { key: `${BASE}/sched/2026/11/22/09/statistics.json` },
            { key: `${BASE}/sched/2026/11/22/09/constraint_violations.json` },
            { key: `${BASE}/sched/2026/11/22/10/constraint_violations.json` },
            { key: `${BASE}/sched/2026/11/22/10/report.html` },
            { key: `${BASE}/sched/2026/11/21/23/constraint_violations.json` },
        ])!;
        expect(run.prefix).to.equal(`${BASE}/sched/2026/11/22/10/`);
        expect(run.hour?.toISOString()).to.equal("2026-11-22T10:00:00.000Z");
        expect(run.files).to.deep.equal({
            violations: `${BASE}/sched/2026/11/22/10/constraint_violations.json`,
            report: `${BASE}/sched/2026/11/22/10/report.html`,
        });
    });

    it("compares hours, not schedule names, when a model moved to another scheduler", () => {
        const run = newestRun([
            { key: `${BASE}/zz-model-monitor/2026/11/20/23/constraint_violations.json` },
            { key: `${BASE}/pipeline/2026/11/22/01/constraint_violations.json` },
        ])!;
        expect(run.prefix).to.equal(`${BASE}/pipeline/2026/11/22/01/`);
    });

    it("breaks a tie of hours by the newest write", () => {
        const run = newestRun([
            { key: `${BASE}/b/2026/11/22/10/constraint_violations.json`, lastModified: new Date("2026-11-22T10:05:00Z") },
            { key: `${BASE}/a/2026/11/22/10/constraint_violations.json`, lastModified: new Date("2026-11-22T10:30:00Z") },
        ])!;
        expect(run.prefix).to.equal(`${BASE}/a/2026/11/22/10/`);
    });

    it("ignores other files and has no run when there are no output files", () => {
        expect(
            newestRun([{ key: `${BASE}/sched/2026/11/22/10/_SUCCESS` }, { key: `${BASE}/sched/2026/11/22/10/statistics.json.partial` }]),
        ).to.equal(undefined);
        expect(newestRun([])).to.equal(undefined);
    });

    it("parses Model Monitor's constraint_violations.json and formats one line per violation", () => {
        const v = parseViolations(
            JSON.stringify({
                violations: [
                    { feature_name: "brightness", constraint_check_type: "baseline_drift_check", description: "PSI 0.41 above 0.2" },
                    { feature_name: "predicted_class", constraint_check_type: "baseline_drift_check", description: "chi-square p=0.001" },
                ],
            }),
            "s3://b/k",
        );
        expect(v).to.have.length(2);
        expect(formatViolations(v)).to.equal(
            "  - brightness [baseline_drift_check]: PSI 0.41 above 0.2\n  - predicted_class [baseline_drift_check]: chi-square p=0.001",
        );
        expect(parseViolations('{"violations": []}', "s3://b/k")).to.deep.equal([]);
    });

    it("a file that is not in Model Monitor's format is an error naming it", () => {
        expect(() => parseViolations("{not json", "s3://b/run/constraint_violations.json")).to.throw(
            /^s3:\/\/b\/run\/constraint_violations.json is not valid JSON/,
        );
        expect(() => parseViolations('{"items": []}', "s3://b/k")).to.throw('s3://b/k has no "violations" list');
    });
});

describe("judging a monitoring run (pure)", () => {
    const ENDPOINT = "vision-mlops-staging-traffic-signs";
    const PREFIX = `${BASE}/sched/2026/11/22/10/`;
    const UPDATED = new Date("2026-11-22T08:30:00Z");
    const sha = (t: string) => createHash("sha256").update(t).digest("hex");
    const VIOLATIONS =
        '{"violations": [{"feature_name": "brightness", "constraint_check_type": "baseline_drift_check", "description": "PSI 0.41"}]}';
    const STATS = '{"version": 0}';

    function record(
        overrides: Record<string, unknown> = {},
        files: Record<string, string> = { "constraint_violations.json": VIOLATIONS, "statistics.json": STATS },
    ) {
        return {
            schemaVersion: 1,
            endpoint: ENDPOINT,
            schedule: "sched",
            window: { start: "2026-11-22T09:00:00.000Z", end: "2026-11-22T10:00:00.000Z" },
            verdict: "violations",
            records: 120,
            minRecords: 30,
            violations: 1,
            files: Object.entries(files).map(([name, text]) => ({ name, bytes: Buffer.byteLength(text), sha256: sha(text) })),
            runId: "exec-1",
            completedAt: "2026-11-22T10:05:00.000Z",
            ...overrides,
        };
    }

    function fetched(contents: Record<string, string | object>): FetchedRun {
        const map = new Map(Object.entries(contents).map(([k, v]) => [k, Buffer.from(typeof v === "string" ? v : JSON.stringify(v))]));
        return { bucket: "capture", run: { prefix: PREFIX, files: {} }, contents: map };
    }
    const judge = (contents: Record<string, string | object>, minRecords = 30) =>
        judgeRun(fetched(contents), { endpoint: ENDPOINT, endpointUpdatedAt: UPDATED, minRecords });
    const files = { "constraint_violations.json": VIOLATIONS, "statistics.json": STATS };

    it("a complete record whose files match is evidence, with the violations it found", () => {
        const e = judge({ ...files, "_complete.json": record() });
        expect(e.kind).to.equal("evidence");
        if (e.kind !== "evidence") return;
        expect(e.verdict).to.equal("violations");
        expect(e.violations.map((v) => v.feature_name)).to.deep.equal(["brightness"]);
        expect(e.minRecords).to.equal(30);
    });

    it("takes the larger of the run's and the stack's minimum records", () => {
        const e = judge({ ...files, "_complete.json": record() }, 200);
        expect(e).to.include({ kind: "not-judged" });
        expect((e as { reason: string }).reason).to.contain("120 records, fewer than the 200 the stack requires");
    });

    it("a record that breaks the contract is unreadable, with every problem named", () => {
        const e = judge({ ...files, "_complete.json": record({ schemaVersion: 2, verdict: "fine", records: -1, runId: "" }) });
        expect(e.kind).to.equal("unreadable");
        const reason = (e as { reason: string }).reason;
        for (const part of ["schemaVersion is 2, not 1", 'verdict is "fine"', "records is not a whole number >= 0", "runId is missing"])
            expect(reason).to.contain(part);
    });

    it("a record cannot vouch for files outside its folder", () => {
        const rec = record();
        rec.files[0] = { ...rec.files[0], name: "../09/constraint_violations.json" };
        expect(judge({ ...files, "_complete.json": rec }).kind).to.equal("unreadable");
    });

    it("a record and a violations file that contradict each other are unreadable", () => {
        const clean = '{"violations": []}';
        const e = judge({
            "constraint_violations.json": clean,
            "statistics.json": STATS,
            "_complete.json": record({}, { "constraint_violations.json": clean, "statistics.json": STATS }),
        });
        expect(e.kind).to.equal("unreadable");
        expect((e as { reason: string }).reason).to.contain("its record says violations (1 violation), constraint_violations.json lists 0");
    });

    it("a run of another endpoint is not evidence for this one", () => {
        const e = judge({ ...files, "_complete.json": record({ endpoint: "vision-mlops-staging-birds" }) });
        expect(e.kind).to.equal("other-endpoint");
    });

    it("a judged run needs a constraint_violations.json in its record", () => {
        const e = judge({ "statistics.json": STATS, "_complete.json": record({}, { "statistics.json": STATS }) });
        expect(e.kind).to.equal("incomplete");
    });

    it("a window that starts before the endpoint's last change is stale; one that starts at it counts", () => {
        expect(
            judge({ ...files, "_complete.json": record({ window: { start: "2026-11-22T08:00:00Z", end: "2026-11-22T10:00:00Z" } }) }).kind,
        ).to.equal("stale");
        expect(
            judge({ ...files, "_complete.json": record({ window: { start: UPDATED.toISOString(), end: "2026-11-22T10:00:00Z" } }) }).kind,
        ).to.equal("evidence");
    });

    it("groups a folder that holds only a completion record as a run, and orders runs newest first", () => {
        const run = newestRun([
            { key: `${BASE}/sched/2026/11/22/09/statistics.json` },
            { key: `${BASE}/sched/2026/11/22/11/_complete.json` },
        ])!;
        expect(run.prefix).to.equal(`${BASE}/sched/2026/11/22/11/`);
        expect(run.completion).to.equal(`${BASE}/sched/2026/11/22/11/_complete.json`);
    });
});
