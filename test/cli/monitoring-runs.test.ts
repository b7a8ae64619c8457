import { expect } from "chai";
import { createHash } from "crypto";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import {
    describeJudged,
    endpointRunsPrefix,
    fetchRun,
    listMonitoringRuns,
    monitoringEvidence,
    MonitoringS3,
    readObjectText,
    saveRun,
    EvidenceExpectation,
    FetchedRun,
    formatViolations,
    judgeRun,
    newestRun,
    parseViolations,
    RunEvidence,
    runsNewestFirst,
} from "../../jobs/lib/monitoring-reports";

const BASE = "traffic-signs/monitoring/vision-mlops-staging-traffic-signs";

/** A completion record (_complete.json) of a run of the staging endpoint's window 09:00-10:00 that holds `files`. */
function completionRecord(files: Record<string, string>, overrides: Record<string, unknown> = {}) {
    const sha = (t: string) => createHash("sha256").update(t).digest("hex");
    return {
        schemaVersion: 1,
        endpoint: "vision-mlops-staging-traffic-signs",
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
    const VIOLATIONS =
        '{"violations": [{"feature_name": "brightness", "constraint_check_type": "baseline_drift_check", "description": "PSI 0.41"}]}';
    const STATS = '{"version": 0}';

    const record = (
        overrides: Record<string, unknown> = {},
        files: Record<string, string> = { "constraint_violations.json": VIOLATIONS, "statistics.json": STATS },
    ) => completionRecord(files, overrides);

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

describe("judging a monitoring run: each reason in words", () => {
    const ENDPOINT = "vision-mlops-staging-traffic-signs";
    const PREFIX = `${BASE}/sched/2026/11/22/10/`;
    const URI = `s3://capture/${PREFIX}`;
    const sha = (t: string) => createHash("sha256").update(t).digest("hex");
    const VIOLATIONS =
        '{"violations": [{"feature_name": "brightness", "constraint_check_type": "baseline_drift_check", "description": "x"}]}';
    const STATS = '{"version": 0}';
    const files = { "constraint_violations.json": VIOLATIONS, "statistics.json": STATS };
    const record = (overrides: Record<string, unknown> = {}, named: Record<string, string> = files) => completionRecord(named, overrides);
    const fetched = (contents: Record<string, string | object>, run: Partial<FetchedRun["run"]> = {}): FetchedRun => ({
        bucket: "capture",
        run: { prefix: PREFIX, files: {}, ...run },
        contents: new Map(Object.entries(contents).map(([k, v]) => [k, Buffer.from(typeof v === "string" ? v : JSON.stringify(v))])),
    });
    const judged = (
        contents: Record<string, string | object>,
        expect: Partial<EvidenceExpectation> = {},
        run: Partial<FetchedRun["run"]> = {},
    ) => judgeRun(fetched(contents, run), { endpoint: ENDPOINT, minRecords: 30, ...expect });
    const reason = (e: RunEvidence) => [e.kind, (e as { reason?: string }).reason];

    it("says what an unfinished run holds, and when it last wrote", () => {
        expect(
            reason(judged({ "statistics.json": STATS, "report.html": "<html>" }, {}, { lastModified: new Date("2026-11-22T10:04:00Z") })),
        ).to.deep.equal([
            "incomplete",
            `${URI} has no completion record (_complete.json); it holds statistics.json, report.html. ` +
                "The run stopped before it finished, or is still running (last write 2026-11-22T10:04:00.000Z)",
        ]);
        expect(reason(judged({}))).to.deep.equal([
            "incomplete",
            `${URI} has no completion record (_complete.json); it holds no output file. The run stopped before it finished, or is still running`,
        ]);
    });

    it("names every way a record breaks the contract", () => {
        const broken = (doc: unknown) => {
            const e = judged({ ...files, "_complete.json": typeof doc === "string" ? doc : JSON.stringify(doc) });
            expect(e.kind).to.equal("unreadable");
            return (e as { reason: string }).reason.slice(`${URI} has a completion record that `.length);
        };
        expect(broken("{half")).to.match(/^is not valid JSON \(.+\)$/);
        for (const notObject of [[], null, JSON.stringify("a string"), 7])
            expect(broken(notObject)).to.equal("breaks the contract: it is not a JSON object");
        const rec = record({
            endpoint: "",
            window: { start: "2026-11-22T10:00:00Z", end: "2026-11-22T10:00:00Z" },
            minRecords: 1.5,
            violations: "1",
            files: [
                null,
                { name: "statistics.json", bytes: -1, sha256: sha(STATS) },
                { name: "x", bytes: 1, sha256: sha(STATS).toUpperCase() },
            ],
        });
        expect(broken(rec)).to.equal(
            "breaks the contract: endpoint is missing; window is not {start, end} with start before end (ISO 8601); " +
                "minRecords is not a whole number >= 0; violations is not a whole number >= 0; " +
                "files[0].name is not a file name in the run's folder; files[1] (statistics.json) needs bytes and a hex sha256; " +
                "files[2] (x) needs bytes and a hex sha256",
        );
        expect(broken(record({ window: { start: "yesterday", end: "2026-11-22T10:00:00Z" }, files: "all" }))).to.equal(
            "breaks the contract: window is not {start, end} with start before end (ISO 8601); files is not a list",
        );
        expect(broken(record({ window: undefined, runId: 7, records: 2.5 }))).to.equal(
            "breaks the contract: window is not {start, end} with start before end (ISO 8601); records is not a whole number >= 0; runId is missing",
        );
        // Names that would leave the run's folder, or are no name at all.
        const badNames = ["", "a/b", "a\\b", ".", "..", "x".repeat(256)].map((name) => ({ name, bytes: 1, sha256: sha(STATS) }));
        expect(broken(record({ files: badNames }))).to.equal(
            "breaks the contract: " + badNames.map((_, i) => `files[${i}].name is not a file name in the run's folder`).join("; "),
        );
        const longest = { name: "y".repeat(255), bytes: 0, sha256: sha("") };
        expect(
            judged({ ...files, ["y".repeat(255)]: "", "_complete.json": record({ files: [...record().files, longest] }) }).kind,
        ).to.equal("evidence");
    });

    it("says which file is missing, which does not match its record (sizes and short digests), and which the record leaves out", () => {
        expect(reason(judged({ "constraint_violations.json": VIOLATIONS, "_complete.json": record() }))).to.deep.equal([
            "incomplete",
            `${URI} is incomplete: statistics.json, named by its completion record, is missing`,
        ]);
        const altered = '{"version": 1}';
        expect(reason(judged({ ...files, "statistics.json": altered, "_complete.json": record() }))).to.deep.equal([
            "tampered",
            `${URI} is not trustworthy: statistics.json does not match its completion record ` +
                `(14 bytes, sha256 ${sha(STATS).slice(0, 12)}... listed; 14 bytes, sha256 ${sha(altered).slice(0, 12)}... found)`,
        ]);
        expect(judged({ ...files, "statistics.json": `${STATS} `, "_complete.json": record() }).kind).to.equal("tampered");
        expect(reason(judged({ ...files, "report.html": "<html>", "_complete.json": record() }))).to.deep.equal([
            "tampered",
            `${URI} is not trustworthy: report.html is in the run's folder but not named by its completion record`,
        ]);
        // Another file in the folder that the record does not name is not an output file: it is ignored.
        expect(judged({ ...files, "notes.txt": "hi", "_complete.json": record() }).kind).to.equal("evidence");
    });

    it("words the other endpoint, the unjudged and the stale run", () => {
        expect(reason(judged({ ...files, "_complete.json": record({ endpoint: "birds" }) }))).to.deep.equal([
            "other-endpoint",
            `${URI} monitored endpoint birds, not ${ENDPOINT}`,
        ]);
        expect(
            reason(judged({ ...files, "_complete.json": record({ verdict: "not-judged", notJudgedReason: "only 3 records" }) })),
        ).to.deep.equal(["not-judged", `${URI} was not judged: only 3 records`]);
        expect(reason(judged({ ...files, "_complete.json": record({ verdict: "not-judged", records: 3 }) }))).to.deep.equal([
            "not-judged",
            `${URI} was not judged: 3 records`,
        ]);
        expect(reason(judged({ ...files, "_complete.json": record({ records: 20 }) }))).to.deep.equal([
            "not-judged",
            `${URI} was not judged: 20 records, fewer than the 30 it requires, yet it says violations`,
        ]);
        // Exactly the minimum is enough.
        expect(judged({ ...files, "_complete.json": record({ records: 30 }) }, { minRecords: 30 }).kind).to.equal("evidence");
        expect(
            reason(judged({ ...files, "_complete.json": record() }, { endpointUpdatedAt: new Date("2026-11-22T09:00:00.001Z") })),
        ).to.deep.equal([
            "stale",
            `${URI} checked traffic from 2026-11-22T09:00:00.000Z, which starts before ${ENDPOINT} last changed (2026-11-22T09:00:00.001Z); ` +
                "part of it was answered by what the endpoint served before",
        ]);
    });

    it("words an unreadable or contradicting violations file, in the singular and plural", () => {
        const withViolations = (text: string, over: Record<string, unknown>) =>
            judged({
                "constraint_violations.json": text,
                "statistics.json": STATS,
                "_complete.json": record(over, { "constraint_violations.json": text, "statistics.json": STATS }),
            });
        expect(reason(withViolations('{"violations": 3}', {}))).to.deep.equal([
            "unreadable",
            `${URI} cannot be read: ${URI}constraint_violations.json has no "violations" list; ` +
                `expected Model Monitor's format {"violations": [{"feature_name", "constraint_check_type", "description"}]}`,
        ]);
        expect(reason(withViolations(VIOLATIONS, { verdict: "clean", violations: 0 }))).to.deep.equal([
            "unreadable",
            `${URI} contradicts itself: its record says clean (0 violations), constraint_violations.json lists 1`,
        ]);
        expect(reason(withViolations(VIOLATIONS, { violations: 2 }))[1]).to.contain(
            "its record says violations (2 violations), constraint_violations.json lists 1",
        );
        expect(withViolations('{"violations": []}', { verdict: "violations", violations: 0 }).kind).to.equal("unreadable");
        expect(withViolations('{"violations": []}', { verdict: "clean", violations: 0 }).kind).to.equal("evidence");
    });

    it("describes a judged run in one line", () => {
        const evidence = (over: Record<string, unknown>, text = VIOLATIONS) => {
            const e = judged(
                {
                    "constraint_violations.json": text,
                    "statistics.json": STATS,
                    "_complete.json": record(over, { "constraint_violations.json": text, "statistics.json": STATS }),
                },
                { minRecords: 50 },
            );
            expect(e.kind).to.equal("evidence");
            return describeJudged(e as Extract<RunEvidence, { kind: "evidence" }>);
        };
        const window = "window 2026-11-22T09:00:00.000Z to 2026-11-22T10:00:00.000Z";
        expect(evidence({})).to.equal(`${URI} has 1 violation (120 records, 50 needed, ${window})`);
        expect(evidence({ verdict: "clean", violations: 0 }, '{"violations": []}')).to.equal(
            `${URI} is clean (120 records, 50 needed, ${window})`,
        );
        const two = JSON.stringify({ violations: [{ feature_name: "a" }, { feature_name: "b" }] });
        expect(evidence({ violations: 2 }, two)).to.equal(`${URI} has 2 violations (120 records, 50 needed, ${window})`);
    });
});

describe("monitoring violations and runs: the details", () => {
    it("fills a violation's missing fields, and names an entry that is no object", () => {
        expect(parseViolations('{"violations": [{}]}', "v.json")).to.deep.equal([
            { feature_name: "(no feature)", constraint_check_type: "(no check type)", description: "" },
        ]);
        expect(() => parseViolations('{"violations": [{}, null]}', "v.json")).to.throw("v.json: violations[1] is not an object");
        expect(() => parseViolations('{"violations": ["text"]}', "v.json")).to.throw("v.json: violations[0] is not an object");
        expect(() => parseViolations("null", "v.json")).to.throw('v.json has no "violations" list');
        expect(() => parseViolations("{", "v.json")).to.throw(/^v\.json is not valid JSON \(.+\)$/);
        expect(
            formatViolations(
                parseViolations('{"violations": [{"feature_name": "a", "constraint_check_type": "c", "description": "d"}]}', "v"),
            ),
        ).to.equal("  - a [c]: d");
    });

    it("orders runs by hour, then newest write, then prefix, with undated folders last", () => {
        const at = (iso: string) => new Date(iso);
        const runs = runsNewestFirst([
            { key: `${BASE}/undated/statistics.json`, lastModified: at("2026-11-23T00:00:00Z") },
            { key: `${BASE}/a/2026/11/22/10/statistics.json`, lastModified: at("2026-11-22T10:01:00Z") },
            { key: `${BASE}/a/2026/11/22/10/report.html`, lastModified: at("2026-11-22T10:09:00Z") },
            { key: `${BASE}/a/2026/11/22/10/constraint_violations.json`, lastModified: at("2026-11-22T10:02:00Z") },
            { key: `${BASE}/b/2026/11/22/10/statistics.json`, lastModified: at("2026-11-22T10:05:00Z") },
            { key: `${BASE}/c/2026/11/22/10/statistics.json`, lastModified: at("2026-11-22T10:05:00Z") },
            { key: `${BASE}/d/2026/11/22/09/statistics.json` },
        ]);
        expect(runs.map((r) => [r.prefix.slice(BASE.length + 1), r.lastModified?.toISOString(), r.hour?.toISOString()])).to.deep.equal([
            ["a/2026/11/22/10/", "2026-11-22T10:09:00.000Z", "2026-11-22T10:00:00.000Z"],
            ["c/2026/11/22/10/", "2026-11-22T10:05:00.000Z", "2026-11-22T10:00:00.000Z"],
            ["b/2026/11/22/10/", "2026-11-22T10:05:00.000Z", "2026-11-22T10:00:00.000Z"],
            ["d/2026/11/22/09/", undefined, "2026-11-22T09:00:00.000Z"],
            ["undated/", "2026-11-23T00:00:00.000Z", undefined],
        ]);
        expect(runs[0].files).to.deep.equal({
            statistics: `${BASE}/a/2026/11/22/10/statistics.json`,
            report: `${BASE}/a/2026/11/22/10/report.html`,
            violations: `${BASE}/a/2026/11/22/10/constraint_violations.json`,
        });
        expect(runs[0].completion).to.equal(undefined);
        // Equal in every respect: the same order both ways.
        expect(runsNewestFirst([{ key: `${BASE}/x/statistics.json` }]).map((r) => r.hour)).to.deep.equal([undefined]);
    });
});

describe("monitoring runs read from S3 (in process)", () => {
    const ENDPOINT = "vision-mlops-staging-traffic-signs";
    const sha = (t: string) => createHash("sha256").update(t).digest("hex");
    const CLEAN = '{"violations": []}';
    const STATS = '{"version": 0}';

    /** A bucket of the given objects answering ListObjectsV2 and GetObject as S3 does (NoSuchBucket, NoSuchKey). */
    function bucketOf(
        objects: Record<string, string>,
        opts: { noBody?: string[]; brokenBody?: string[] } = {},
    ): MonitoringS3 & { gets: string[] } {
        const gets: string[] = [];
        const error = (name: string) => Object.assign(new Error(name), { name });
        return {
            gets,
            send: async (command: unknown) => {
                const input = (command as { input: { Bucket: string; Key?: string; Prefix?: string } }).input;
                if (input.Bucket !== "capture") throw error("NoSuchBucket");
                if (command instanceof ListObjectsV2Command)
                    return {
                        Contents: Object.keys(objects)
                            .filter((k) => k.startsWith(input.Prefix!))
                            .map((Key) => ({ Key, LastModified: new Date("2026-11-22T12:00:00Z") })),
                    } as never;
                if (!(command instanceof GetObjectCommand)) throw new Error("unexpected command");
                gets.push(input.Key!);
                if (opts.noBody?.includes(input.Key!)) return {} as never;
                if (!(input.Key! in objects)) throw error("NoSuchKey");
                if (opts.brokenBody?.includes(input.Key!))
                    return {
                        Body: {
                            transformToByteArray: () =>
                                Promise.reject(Object.assign(new Error("aborted"), { name: "Error", code: "ECONNRESET" })),
                        },
                    } as never;
                return { Body: { transformToByteArray: async () => new Uint8Array(Buffer.from(objects[input.Key!])) } } as never;
            },
        };
    }
    const folder = (schedule: string, hour: string) => `${BASE}/${schedule}/2026/11/22/${hour}/`;
    /** A complete run folder: its files and the record naming them. */
    function run(prefix: string, over: Record<string, unknown> = {}, violations = CLEAN): Record<string, string> {
        const named = { "constraint_violations.json": violations, "statistics.json": STATS };
        const hour = Number(prefix.slice(-3, -1));
        const record = {
            schemaVersion: 1,
            endpoint: ENDPOINT,
            schedule: "sched",
            window: {
                start: `2026-11-22T${String(hour - 1).padStart(2, "0")}:00:00.000Z`,
                end: `2026-11-22T${String(hour).padStart(2, "0")}:00:00.000Z`,
            },
            verdict: "clean",
            records: 120,
            minRecords: 30,
            violations: 0,
            files: Object.entries(named).map(([name, text]) => ({ name, bytes: Buffer.byteLength(text), sha256: sha(text) })),
            runId: "exec-1",
            completedAt: "2026-11-22T10:05:00.000Z",
            ...over,
        };
        return Object.fromEntries([
            ...Object.entries(named).map(([n, t]) => [`${prefix}${n}`, t]),
            [`${prefix}_complete.json`, JSON.stringify(record)],
        ]);
    }
    const expectation = (over: Partial<EvidenceExpectation> = {}): EvidenceExpectation => ({ endpoint: ENDPOINT, minRecords: 30, ...over });

    it("lists an endpoint's runs under <model>/monitoring/<endpoint>/, or says why there are none", async () => {
        expect(endpointRunsPrefix("traffic-signs", ENDPOINT)).to.equal(`${BASE}/`);
        expect(await listMonitoringRuns(bucketOf({}), "elsewhere", "traffic-signs", ENDPOINT)).to.deep.equal({
            kind: "none",
            reason: "the capture bucket elsewhere does not exist",
        });
        expect(await listMonitoringRuns(bucketOf({ "other/x.json": "{}" }), "capture", "traffic-signs", ENDPOINT)).to.deep.equal({
            kind: "none",
            reason: `no monitoring run of ${ENDPOINT} under s3://capture/${BASE}/ yet`,
        });
        const listed = await listMonitoringRuns(bucketOf(run(folder("sched", "10"))), "capture", "traffic-signs", ENDPOINT);
        expect(listed.kind === "runs" && listed.runs.map((r) => r.prefix)).to.deep.equal([folder("sched", "10")]);
    });

    it("fetches the run's objects and the files its record names, never outside its folder, tolerating ones gone since", async () => {
        const prefix = folder("sched", "10");
        const objects = run(prefix, {
            files: [
                { name: "statistics.json", bytes: 14, sha256: sha(STATS) },
                { name: "extra.json", bytes: 2, sha256: sha("{}") },
                { name: "../09/statistics.json", bytes: 2, sha256: sha("{}") },
                { name: "vanished.json", bytes: 2, sha256: sha("{}") },
                { name: 7 },
            ],
        });
        objects[`${prefix}extra.json`] = "{}";
        objects[`${BASE}/sched/2026/11/22/09/statistics.json`] = "{}";
        const s3 = bucketOf(objects);
        const listedRun = {
            prefix,
            files: { statistics: `${prefix}statistics.json`, report: `${prefix}report.html` },
            completion: `${prefix}_complete.json`,
        };
        const f = await fetchRun(s3, "capture", listedRun);
        expect([...f.contents.keys()].sort()).to.deep.equal(["_complete.json", "extra.json", "statistics.json"]);
        expect(Buffer.from(f.contents.get("extra.json")!).toString()).to.equal("{}");
        expect(s3.gets.sort()).to.deep.equal([
            `${prefix}_complete.json`,
            `${prefix}extra.json`,
            `${prefix}report.html`,
            `${prefix}statistics.json`,
            `${prefix}vanished.json`,
        ]);
        // A record that is not JSON names nothing more to read.
        const garbled = bucketOf({ [`${prefix}_complete.json`]: "{half" });
        expect([
            ...(await fetchRun(garbled, "capture", { prefix, files: {}, completion: `${prefix}_complete.json` })).contents.keys(),
        ]).to.deep.equal(["_complete.json"]);
    });

    it("names the object whose read failed: no body, or a body that broke off", async () => {
        const prefix = folder("sched", "10");
        const key = `${prefix}statistics.json`;
        const failure = async (s3: MonitoringS3) => {
            try {
                await readObjectText(s3, "capture", key);
            } catch (e) {
                return e as Error;
            }
            throw new Error("expected a failure");
        };
        expect((await failure(bucketOf({ [key]: STATS }, { noBody: [key] }))).message).to.equal(`s3://capture/${key} has no body`);
        // The error keeps its own message; the call it broke off in is attached for the CLI to name.
        const brokeOff = await failure(bucketOf({ [key]: STATS }, { brokenBody: [key] }));
        expect((brokeOff as Error & { $awsCall?: unknown }).$awsCall).to.deep.equal({
            service: "S3",
            operation: "GetObject",
            input: { Bucket: "capture", Key: key },
        });
        expect(await readObjectText(bucketOf({ [key]: STATS }), "capture", key)).to.equal(STATS);
        const denied = bucketOf({ [key]: STATS }, { noBody: [key] });
        const e = await fetchRun(denied, "capture", { prefix, files: { statistics: key } }).then(
            () => undefined,
            (err: Error) => err,
        );
        expect(e?.message).to.equal(`s3://capture/${key} has no body`);
    });

    it("passes over unjudged runs for the judged one before them, and stops at a broken one", async () => {
        const objects = {
            ...run(folder("sched", "12"), { verdict: "not-judged", records: 3, notJudgedReason: "only 3 records" }),
            ...run(folder("sched", "11")),
            ...run(folder("sched", "10"), { endpoint: "birds" }),
        };
        const e = await monitoringEvidence(bucketOf(objects), "capture", "traffic-signs", expectation());
        expect(e.kind).to.equal("judged");
        if (e.kind !== "judged") return;
        expect(e.evidence.uri).to.equal(`s3://capture/${folder("sched", "11")}`);
        expect(e.passedOver.map((p) => p.kind)).to.deep.equal(["not-judged"]);

        const broken = { ...objects, [`${folder("sched", "11")}statistics.json`]: "{}" };
        const none = await monitoringEvidence(bucketOf(broken), "capture", "traffic-signs", expectation());
        expect(none).to.deep.include({ kind: "none", problem: "tampered" });
        expect(none.passedOver).to.have.length(1);
    });

    it("says there is no judged run since the endpoint changed, with what it passed over and where traffic went stale", async () => {
        const updated = new Date("2026-11-22T11:00:00Z");
        const objects = {
            ...run(folder("sched", "13"), { verdict: "not-judged", records: 3, notJudgedReason: "only 3 records" }),
            // Its window ends in the hour that ended when the endpoint changed: only older traffic.
            ...run(folder("sched", "10")),
        };
        const e = await monitoringEvidence(bucketOf(objects), "capture", "traffic-signs", expectation({ endpointUpdatedAt: updated }));
        expect(e).to.deep.include({
            kind: "none",
            problem: "not-judged",
            reason:
                `no judged monitoring run of ${ENDPOINT} since ${ENDPOINT} last changed (2026-11-22T11:00:00.000Z): ` +
                `s3://capture/${folder("sched", "13")} was not judged: only 3 records; ` +
                `the newest run before that, s3://capture/${folder("sched", "10")}, checked traffic up to 2026-11-22T11:00:00.000Z at the latest`,
        });
        // A run in the hour of the change whose window started before it is stale by its record.
        const straddling = run(folder("sched", "12"), { window: { start: "2026-11-22T10:30:00.000Z", end: "2026-11-22T12:00:00.000Z" } });
        const stale = await monitoringEvidence(
            bucketOf(straddling),
            "capture",
            "traffic-signs",
            expectation({ endpointUpdatedAt: updated }),
        );
        expect(stale).to.deep.include({ kind: "none", problem: "stale" });
        expect((stale as { reason: string }).reason).to.match(
            /^no judged monitoring run of .* last changed \(2026-11-22T11:00:00.000Z\): s3:\/\/capture\/.* checked traffic from 2026-11-22T10:30:00.000Z/,
        );
        expect(await monitoringEvidence(bucketOf({}), "capture", "traffic-signs", expectation())).to.deep.equal({
            kind: "none",
            problem: "no-run",
            reason: `no monitoring run of ${ENDPOINT} under s3://capture/${BASE}/ yet`,
            passedOver: [],
        });
        const onlyUnjudged = run(folder("sched", "13"), { verdict: "not-judged", records: 3 });
        expect(
            ((await monitoringEvidence(bucketOf(onlyUnjudged), "capture", "traffic-signs", expectation())) as { reason: string }).reason,
        ).to.equal(`no judged monitoring run of ${ENDPOINT}: s3://capture/${folder("sched", "13")} was not judged: 3 records`);
    });

    it("saves a fetched run below the folder by its path under the model's monitoring prefix", async () => {
        const dir = mkdtempSync(join(tmpdir(), "monitoring-save-"));
        try {
            const prefix = folder("sched", "10");
            const contents = new Map([["statistics.json", new Uint8Array(Buffer.from(STATS))]]);
            const written = await saveRun({ bucket: "capture", run: { prefix, files: {} }, contents }, "traffic-signs", dir);
            const path = join(dir, ENDPOINT, "sched", "2026", "11", "22", "10", "statistics.json");
            expect(written).to.deep.equal({ "statistics.json": path });
            expect(readFileSync(path, "utf8")).to.equal(STATS);
            // A prefix outside the model's folder is kept whole, without its dot segments.
            const outside = await saveRun(
                { bucket: "capture", run: { prefix: "elsewhere/../x/./", files: {} }, contents },
                "traffic-signs",
                dir,
            );
            expect(outside).to.deep.equal({ "statistics.json": join(dir, "elsewhere", "x", "statistics.json") });
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});
