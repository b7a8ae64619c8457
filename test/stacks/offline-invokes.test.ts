import * as aws from "@pulumi/aws";
import { expect } from "chai";
import { OFFLINE_ACCOUNT, useMocks } from "../../stacks/offline";

async function rejection(p: Promise<unknown>): Promise<Error> {
    try {
        await p;
    } catch (e) {
        return e as Error;
    }
    throw new Error("expected the invoke to fail");
}

describe("offline runtime: invokes", () => {
    it("answers the invokes the platform makes", async () => {
        useMocks("staging");
        expect((await aws.getCallerIdentity()).accountId).to.equal(OFFLINE_ACCOUNT);
        expect((await aws.getRegion()).region).to.equal("us-east-1");
    });

    it("fails an invoke it has no answer for, naming it, instead of answering with its inputs", async () => {
        useMocks("staging");
        const error = await rejection(aws.ec2.getVpc({ id: "vpc-0123" }));
        expect(error.message).to.contain("the offline runtime has no answer for the invoke aws:ec2/getVpc:getVpc");
    });
});
