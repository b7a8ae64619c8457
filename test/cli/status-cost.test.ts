import { expect } from "chai";
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { defaultPlanDir, formatEstimate, planEstimate } from "../../infra/cost";
import { costSection } from "../../jobs/cli/status";
import { projectPlan } from "../support/plans";

const ROOT = resolve(__dirname, "../..");

describe("status: the cost section", function () {
    // The run's staging plan (test/support/plans.ts) may still be in the making.
    this.timeout(600_000);

    it("shows the same estimate the plan printed, and says when there is no current plan", async () => {
        const project = mkdtempSync(join(tmpdir(), "status-cost-"));
        copyFileSync(join(ROOT, "Pulumi.staging.yaml"), join(project, "Pulumi.staging.yaml"));
        expect(costSection(planEstimate(project, "staging"))).to.deep.equal([
            "cost: no offline plan of staging yet; run `npm run plan -- staging` for the estimate",
        ]);

        // The plan of this stack file, where `npm run plan -- staging` leaves it in the project.
        const plan = await projectPlan("staging");
        mkdirSync(defaultPlanDir(project, "staging"), { recursive: true });
        copyFileSync(join(plan.outDir, "plan.json"), join(defaultPlanDir(project, "staging"), "plan.json"));
        const section = costSection(planEstimate(project, "staging"));
        expect(section).to.deep.equal(formatEstimate(plan.result.cost));
        // Line for line what the plan printed, totals included.
        const start = plan.log.findIndex((l) => l.startsWith("Monthly estimate"));
        expect(start).to.be.greaterThan(-1);
        expect(plan.log.slice(start, start + section.length)).to.deep.equal(section);

        // Once the stack file changes, the plan no longer describes it.
        appendFileSync(join(project, "Pulumi.staging.yaml"), "\n# edited\n");
        expect(costSection(planEstimate(project, "staging"))).to.deep.equal([
            "cost: the offline plan of staging was made from an older Pulumi.staging.yaml; run `npm run plan -- staging` for the estimate",
        ]);
    });
});
