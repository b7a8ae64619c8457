import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { DeclaredResource, settled } from "../../stacks/offline";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("settled: when a program under mocks has declared everything", () => {
    it("waits for a resource declared inside an apply, however slowly the mocks answer (as on a loaded machine)", async () => {
        const declared: DeclaredResource[] = [];
        await pulumi.runtime.setMocks(
            {
                // Slower than any fixed "quiet for a while" window: a guess of that kind returns before `second` exists.
                newResource: async (args) => {
                    await sleep(80);
                    declared.push({ type: args.type, name: args.name, inputs: args.inputs, id: `${args.name}-id` });
                    return { id: `${args.name}-id`, state: args.inputs };
                },
                call: (args) => args.inputs,
            },
            "vision-mlops",
            "settled",
            false,
        );
        const first = new aws.s3.Bucket("first", {});
        first.id.apply((id) => new aws.s3.Bucket("second", { tags: { after: id } }));
        await settled(declared);
        expect(declared.map((r) => r.name)).to.deep.equal(["first", "second"]);
        expect(declared[1].inputs.tags).to.deep.equal({ after: "first-id" });
    });
});
