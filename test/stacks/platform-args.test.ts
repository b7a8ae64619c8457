import { expect } from "chai";
import { readStackFile } from "../../infra/stack-file";
import { ServedPackage } from "../../infra/promotion";
import { platformArgs } from "../../stacks/platform";

const served = (model: string): ServedPackage => ({
    packageArn: `arn:aws:sagemaker:us-east-1:123456789012:model-package/vision-mlops-staging-${model}/3`,
    source: "newest",
    info: { arn: "", group: "", approvalStatus: "PendingManualApproval", customerMetadata: {} },
});

describe("stack config and environment onto the Platform's args", () => {
    it("staging trains, serves candidates from their artifacts, in place, and can be torn down", () => {
        const args = platformArgs(readStackFile(".", "staging"), { "traffic-signs": served("traffic-signs") }, { gitCommit: "abc" });
        expect(args).to.include({
            environment: "staging",
            protect: false,
            retainOnDelete: false,
            deployFrom: "artifacts",
            blueGreen: false,
            gitCommit: "abc",
            sourceDataKeyArn: undefined,
        });
        expect(args.web).to.include({
            banner: "Staging: these models are candidates, not approved for production.",
            deletionProtection: false,
        });
        const signs = args.models["traffic-signs"];
        expect(signs.training).to.deep.equal({ retrainSchedule: "rate(7 days)" });
        expect(signs.monitoring.retrainAfterPeriods).to.equal(6);
        expect(signs.capturePercent).to.equal(100);
        expect(signs.servingNote).to.equal("newest package, PendingManualApproval");
        expect(args.models["bikes-vs-motorcycles"].servingNote).to.equal(
            "no endpoint yet: no model package registered; ingest a batch to start the training pipeline",
        );
    });

    it("prod trains nothing, deploys Approved packages by ARN blue/green, protects its data and names staging's key", () => {
        const args = platformArgs(readStackFile(".", "prod"), {}, {}, { dataKeyArn: "arn:aws:kms:us-east-1:123456789012:key/staging" });
        expect(args).to.include({
            environment: "prod",
            protect: true,
            retainOnDelete: true,
            deployFrom: "package",
            blueGreen: true,
            sourceDataKeyArn: "arn:aws:kms:us-east-1:123456789012:key/staging",
        });
        expect(args.web).to.include({ banner: undefined, deletionProtection: true });
        for (const [model, m] of Object.entries(args.models)) {
            expect(m.training, model).to.equal(undefined);
            expect(m.monitoring.retrainAfterPeriods, model).to.equal(undefined);
            expect(m.capturePercent, model).to.equal(80);
            expect(m.servingNote, model).to.equal("no endpoint: staging serves no package for this model yet");
        }
    });
});
