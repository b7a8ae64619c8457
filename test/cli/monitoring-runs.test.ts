import { expect } from "chai";
import { formatViolations, newestRun, parseViolations } from "../../jobs/lib/monitoring-reports";

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
