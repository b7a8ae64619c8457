import { expect } from "chai";
import { appendFileSync, copyFileSync, mkdtempSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { defaultPlanDir, formatEstimate, planEstimate } from "../../infra/cost";
import { costSection } from "../../jobs/cli/status";
import { runPlan } from "../../scripts/plan";

const ROOT = resolve(__dirname, "../..");

describe("status: the cost section", function () {
    this.timeout(120_000);

    it("shows the same estimate the plan printed, and says when there is no current plan", async () => {
        const project = mkdtempSync(join(tmpdir(), "status-cost-"));
        copyFileSync(join(ROOT, "Pulumi.staging.yaml"), join(project, "Pulumi.staging.yaml"));
        expect(costSection(planEstimate(project, "staging"))).to.deep.equal([
            "cost: no offline plan of staging yet; run `npm run plan -- staging` for the estimate",
        ]);

        const printed: string[] = [];
        const result = await runPlan("staging", {
            projectDir: project,
            outDir: defaultPlanDir(project, "staging"),
            registry: "sample",
            log: (l) => printed.push(l),
        });
        const section = costSection(planEstimate(project, "staging"));
        expect(section).to.deep.equal(formatEstimate(result.cost));
        // Line for line what the plan printed, totals included.
        const start = printed.findIndex((l) => l.startsWith("Monthly estimate"));
        expect(printed.slice(start, start + section.length)).to.deep.equal(section);

        // Once the stack file changes, the plan no longer describes it.
        appendFileSync(join(project, "Pulumi.staging.yaml"), "\n# edited\n");
        expect(costSection(planEstimate(project, "staging"))).to.deep.equal([
            "cost: the offline plan of staging was made from an older Pulumi.staging.yaml; run `npm run plan -- staging` for the estimate",
        ]);
    });
});
