import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { Platform } from "../../components/platform";
import { readStackFile } from "../../infra/stack-file";
import { platformArgs } from "../../stacks/platform";
import { find, ofType, settled, useMocks } from "../support/mocks";
import { parentage } from "./support/component-tree";

describe("Platform", () => {
    it("decides nothing by its environment's name: a prod-named platform given staging's args trains, serves in place, protects nothing", async () => {
        const declared = useMocks("prod");
        const staging = platformArgs(readStackFile(".", "staging"), {}, {});
        const args = { ...staging, environment: "prod" as const, models: { "traffic-signs": staging.models["traffic-signs"] } };
        const tree = parentage();
        const platform = new Platform("vision-mlops-prod", args, { transformations: tree.transformations });
        await settled(declared, pulumi.output(platform.outputs));
        // Every resource of every component sits under the platform (a child without { parent: this } would be at the stack's root).
        expect(tree.orphans(declared, platform)).to.deep.equal([]);
        expect(Object.keys(platform.trainingPipelines)).to.deep.equal(["traffic-signs"]);
        expect(declared.filter(ofType("aws:sagemaker/pipeline:Pipeline")).map((p) => p.inputs.pipelineName)).to.deep.equal([
            "vision-mlops-prod-traffic-signs-training",
        ]);
        expect((platform.lake.key as any).__protect).to.equal(false);
        for (const b of [platform.lake.raw, platform.lake.curated, platform.lake.artifacts, platform.lake.capture, platform.lake.logs])
            expect((b.bucket as any).__protect).to.equal(false);
        expect(find(declared, "aws:cognito/userPool:UserPool", "vision-mlops-prod-web-users").inputs.deletionProtection).to.equal(
            "INACTIVE",
        );
        const outputs = platform.outputs.models["traffic-signs"];
        expect(outputs.serving).to.equal(args.models["traffic-signs"].servingNote);
        expect(outputs.endpointName).to.equal(null);
    });
});
