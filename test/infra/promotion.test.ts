import { expect } from "chai";
import { ModelApprovalStatus } from "@aws-sdk/client-sagemaker";
import { ModelRegistry, PromotionRefused, resolvePromotion, resolveStagingPackages, sagemakerRegistry } from "../../infra/promotion";
import { PackageInfo } from "../../infra/registry";

const arn = (group: string, v: number) => `arn:aws:sagemaker:us-east-1:123456789012:model-package/${group}/${v}`;

/** A registry that knows a fixed set of packages and their status. */
function stubRegistry(
    packages: Record<string, string>,
    newest: Record<string, string | undefined> = {},
): ModelRegistry & { described: string[] } {
    const described: string[] = [];
    return {
        described,
        async newestRegisteredPackage(group) {
            return newest[group];
        },
        async describePackage(a): Promise<PackageInfo> {
            described.push(a);
            if (!(a in packages)) throw new Error(`ValidationException: Model package ${a} does not exist`);
            return { arn: a, group: a.split("/")[1], approvalStatus: packages[a], customerMetadata: {} };
        },
    };
}

describe("promotion gate (prod)", () => {
    const STAGING = "organization/vision-mlops/staging";

    it("promotes the package staging serves when it is Approved", async () => {
        const registry = stubRegistry({ [arn("g", 3)]: ModelApprovalStatus.APPROVED });
        const served = await resolvePromotion({ signs: {} }, { signs: arn("g", 3) }, registry, STAGING);
        expect(served.signs).to.deep.include({ packageArn: arn("g", 3), source: "promoted" });
    });

    it("refuses a pending package, naming the model, package, status and the approve command", async () => {
        const registry = stubRegistry({ [arn("g", 4)]: ModelApprovalStatus.PENDING_MANUAL_APPROVAL });
        try {
            await resolvePromotion({ signs: {} }, { signs: arn("g", 4) }, registry, STAGING);
            expect.fail("promoted an unapproved package");
        } catch (e) {
            expect(e).to.be.instanceOf(PromotionRefused);
            expect((e as Error).message).to.equal(
                "prod serves only Approved model packages; nothing was deployed:\n" +
                    `  - signs: model package ${arn("g", 4)} (served by ${STAGING}) is PendingManualApproval, not Approved. ` +
                    'Approve it with: npm run approve -- --stack staging --model signs --note "<why it is good>"',
            );
        }
    });

    it("refuses a rejected package without suggesting to approve it", async () => {
        const registry = stubRegistry({ [arn("g", 2)]: ModelApprovalStatus.REJECTED });
        const err = await resolvePromotion({ signs: {} }, { signs: arn("g", 2) }, registry, STAGING).catch((e) => e);
        expect(err).to.be.instanceOf(PromotionRefused);
        expect(err.message).to.include("is Rejected, not Approved. It was rejected: let staging serve another package first.");
        expect(err.message).to.not.include("npm run approve");
    });

    it("refuses a package the registry does not know", async () => {
        const err = await resolvePromotion({ signs: {} }, { signs: arn("g", 9) }, stubRegistry({}), STAGING).catch((e) => e);
        expect(err).to.be.instanceOf(PromotionRefused);
        expect(err.message).to.include(`signs: model package ${arn("g", 9)} cannot be read from the registry (ValidationException`);
    });

    it("lists every refused model at once", async () => {
        const registry = stubRegistry({ [arn("a", 1)]: "PendingManualApproval", [arn("b", 1)]: "Rejected", [arn("c", 1)]: "Approved" });
        const err = await resolvePromotion(
            { a: {}, b: {}, c: {} },
            { a: arn("a", 1), b: arn("b", 1), c: arn("c", 1) },
            registry,
            STAGING,
        ).catch((e) => e);
        expect(err.refusals).to.have.length(2);
        expect(err.refusals[0]).to.match(/^a: /);
        expect(err.refusals[1]).to.match(/^b: /);
    });

    it("lets a prod pin roll back to an older package only if it is Approved", async () => {
        const registry = stubRegistry({
            [arn("g", 2)]: "Approved",
            [arn("g", 5)]: "PendingManualApproval",
            [arn("g", 1)]: "PendingManualApproval",
        });
        const served = await resolvePromotion({ signs: { pin: arn("g", 2) } }, { signs: arn("g", 5) }, registry, STAGING);
        expect(served.signs).to.deep.include({ packageArn: arn("g", 2), source: "pinned" });
        expect(registry.described).to.deep.equal([arn("g", 2)], "the staging package is not consulted when prod pins");
        const err = await resolvePromotion({ signs: { pin: arn("g", 1) } }, { signs: arn("g", 5) }, registry, STAGING).catch((e) => e);
        expect(err.message).to.include("(pinned in prod config (endpoint.modelPackageArn)) is PendingManualApproval");
    });

    it("leaves a model out of prod while staging serves nothing for it", async () => {
        const served = await resolvePromotion({ signs: {} }, {}, stubRegistry({}), STAGING);
        expect(served).to.deep.equal({ signs: undefined });
    });
});

describe("staging package selection", () => {
    it("serves the newest registered package, a pin, or nothing yet", async () => {
        const registry = stubRegistry(
            { [arn("a", 7)]: "PendingManualApproval", [arn("b", 2)]: "Approved" },
            { a: arn("a", 7), b: arn("b", 9) },
        );
        const served = await resolveStagingPackages(
            { a: { group: "a" }, b: { group: "b", pin: arn("b", 2) }, c: { group: "c" } },
            registry,
        );
        expect(served.a).to.deep.include({ packageArn: arn("a", 7), source: "newest" });
        expect(served.b).to.deep.include({ packageArn: arn("b", 2), source: "pinned" });
        expect(served.c).to.equal(undefined);
    });
});

describe("registry behind SageMaker", () => {
    it("treats a group that does not exist yet as empty, and other errors as errors", async () => {
        const missing = sagemakerRegistry({
            send: async () => {
                throw Object.assign(new Error("Model Package Group vision-mlops-staging-x does not exist."), {
                    name: "ValidationException",
                });
            },
        } as any);
        expect(await missing.newestRegisteredPackage("vision-mlops-staging-x")).to.equal(undefined);
        const denied = sagemakerRegistry({
            send: async () => {
                throw Object.assign(new Error("not authorized"), { name: "AccessDeniedException" });
            },
        } as any);
        const err = await denied.newestRegisteredPackage("g").catch((e) => e);
        expect(err.message).to.equal("not authorized");
    });
});
