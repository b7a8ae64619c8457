import { expect } from "chai";
import { accuracyFromStatistics, formatStatus, ModelStatus, newestExecution } from "../../jobs/cli/status";

describe("status (pure parts)", () => {
    it("reads accuracy from Model Monitor model-quality statistics and from an evaluation report", () => {
        expect(
            accuracyFromStatistics({ multiclass_classification_metrics: { accuracy: { value: 0.9412, standard_deviation: 0.003 } } }),
        ).to.equal(0.9412);
        expect(accuracyFromStatistics({ binary_classification_metrics: { accuracy: { value: 0.88 } } })).to.equal(0.88);
        expect(accuracyFromStatistics({ metrics: { accuracy: 0.9 } })).to.equal(0.9);
        expect(accuracyFromStatistics({ multiclass_classification_metrics: { accuracy: { value: "high" } } })).to.equal(undefined);
        expect(accuracyFromStatistics(null)).to.equal(undefined);
    });

    it("takes the execution that started last, whatever order the service lists them in", () => {
        const newest = newestExecution([
            { PipelineExecutionArn: "a", StartTime: new Date("2026-11-20T10:00:00Z") },
            { PipelineExecutionArn: "c", StartTime: new Date("2026-11-22T10:00:00Z") },
            { PipelineExecutionArn: "b", StartTime: new Date("2026-11-21T10:00:00Z") },
        ]);
        expect(newest?.PipelineExecutionArn).to.equal("c");
        expect(newestExecution([])).to.equal(undefined);
    });

    it("prints a table row per model, 'not deployed yet' for a missing endpoint, and the details below", () => {
        const served: ModelStatus = {
            model: "traffic-signs",
            endpoint: { name: "vision-mlops-staging-traffic-signs", deployed: true, status: "InService" },
            served: {
                arn: "arn:aws:sagemaker:us-east-1:123456789012:model-package/vision-mlops-staging-traffic-signs/3",
                version: 3,
                approvalStatus: "Approved",
                approvedBy: "arn:aws:sts::123456789012:assumed-role/Approver/jane",
                approvedAt: "2026-11-22T17:36:16Z",
                approvalDescription: "Approved by arn:aws:sts::123456789012:assumed-role/Approver/jane at 2026-11-22T17:36:16Z: ok",
                accuracy: 0.94125,
            },
            newestRegistered: "arn:aws:sagemaker:us-east-1:123456789012:model-package/vision-mlops-staging-traffic-signs/4",
            training: {
                pipeline: "p",
                exists: true,
                lastExecution: { status: "Failed", startedAt: "2026-11-22T12:00:00.000Z", failureReason: "CapacityError" },
            },
        };
        const missing: ModelStatus = {
            model: "bikes-vs-motorcycles",
            endpoint: { name: "vision-mlops-staging-bikes-vs-motorcycles", deployed: false },
            training: { pipeline: "q", exists: false },
        };
        const text = formatStatus("staging", [served, missing]);
        const lines = text.split("\n");
        expect(lines[0]).to.equal("stack staging");
        expect(lines[1].split(/\s{2,}/)).to.deep.equal([
            "MODEL",
            "ENDPOINT",
            "PACKAGE",
            "APPROVAL",
            "DECIDED BY",
            "ACCURACY",
            "LAST TRAINING",
        ]);
        expect(lines[2].split(/\s{2,}/)).to.deep.equal([
            "traffic-signs",
            "vision-mlops-staging-traffic-signs (InService)",
            "vision-mlops-staging-traffic-signs/3",
            "Approved",
            "arn:aws:sts::123456789012:assumed-role/Approver/jane at 2026-11-22T17:36:16Z",
            "0.9413",
            "Failed 2026-11-22T12:00:00.000Z",
        ]);
        expect(lines[3].split(/\s{2,}/)).to.deep.equal(["bikes-vs-motorcycles", "not deployed yet", "-", "-", "-", "-", "no pipeline"]);
        // columns line up: every row starts its second column at the same offset
        expect(lines[2].indexOf("vision-mlops-staging-traffic-signs (")).to.equal(lines[1].indexOf("ENDPOINT"));
        expect(lines[3].indexOf("not deployed yet")).to.equal(lines[1].indexOf("ENDPOINT"));
        expect(text).to.contain(
            "newer package registered: arn:aws:sagemaker:us-east-1:123456789012:model-package/vision-mlops-staging-traffic-signs/4",
        );
        expect(text).to.contain("last training failed: CapacityError");
        expect(text).to.contain("endpoint vision-mlops-staging-bikes-vs-motorcycles does not exist yet");
    });

    it("a pinned package is shown, and a newer registered one is not promised to be served", () => {
        const pinned = "arn:aws:sagemaker:us-east-1:123456789012:model-package/vision-mlops-staging-traffic-signs/2";
        const text = formatStatus("staging", [
            {
                model: "traffic-signs",
                endpoint: { name: "e", deployed: true, status: "InService" },
                served: { arn: pinned, approvalStatus: "Approved" },
                newestRegistered: "arn:aws:sagemaker:us-east-1:123456789012:model-package/vision-mlops-staging-traffic-signs/5",
                pinned,
                training: { pipeline: "p", exists: true },
            },
        ]);
        expect(text).to.contain(`  pinned in Pulumi.staging.yaml: ${pinned}\n`);
        expect(text).to.match(/newer package registered: \S+\/5$/m);
        expect(text).not.to.contain("serves it");
        expect(text.split("\n")[2]).to.match(/never run$/);
    });
});
