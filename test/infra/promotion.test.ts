import { expect } from "chai";
import { ModelApprovalStatus } from "@aws-sdk/client-sagemaker";
import {
    ModelRegistry,
    PromotionModel,
    PromotionRefused,
    promotionSourceStack,
    resolvePromotion,
    resolveStagingPackages,
    sagemakerRegistry,
    SERVED_PACKAGES_OUTPUT,
    sourceStackProblem,
} from "../../infra/promotion";
import { PackageInfo, RegistryClient } from "../../infra/registry";

const arn = (group: string, v: number) => `arn:aws:sagemaker:us-east-1:123456789012:model-package/${group}/${v}`;

/** A registry that knows a fixed set of packages and their status, and what prod's endpoints serve. */
function stubRegistry(
    packages: Record<string, string>,
    newest: Record<string, string | undefined> = {},
    prodServes: Record<string, string> = {},
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
        async packageServedBy(endpoint) {
            if (endpoint === "broken") throw new Error("AccessDeniedException: not authorized to perform sagemaker:DescribeEndpoint");
            return prodServes[endpoint];
        },
    };
}

const model = (extra: Partial<PromotionModel> = {}): PromotionModel => ({ endpoint: "prod-signs", ...extra });

describe("promotion gate (prod)", () => {
    const STAGING = "organization/vision-mlops/staging";

    it("promotes the package staging serves when it is Approved", async () => {
        const registry = stubRegistry({ [arn("g", 3)]: ModelApprovalStatus.APPROVED });
        const plan = await resolvePromotion({ signs: model() }, { signs: arn("g", 3) }, registry, STAGING);
        expect(plan.served.signs).to.deep.include({ packageArn: arn("g", 3), source: "promoted" });
        expect(plan.messages).to.deep.equal([]);
        expect(plan.awaiting).to.deep.equal({});
    });

    it("keeps prod's Approved package while staging's is pending, and says how to approve the new one", async () => {
        const registry = stubRegistry(
            { [arn("g", 3)]: ModelApprovalStatus.APPROVED, [arn("g", 4)]: ModelApprovalStatus.PENDING_MANUAL_APPROVAL },
            {},
            { "prod-signs": arn("g", 3) },
        );
        const plan = await resolvePromotion({ signs: model() }, { signs: arn("g", 4) }, registry, STAGING);
        expect(plan.served.signs).to.deep.include({ packageArn: arn("g", 3), source: "kept" });
        expect(plan.awaiting).to.deep.equal({ signs: arn("g", 4) });
        expect(plan.notes.signs).to.equal(`kept package, Approved; staging serves ${arn("g", 4)}, which is PendingManualApproval`);
        expect(plan.messages).to.deep.equal([
            `signs: staging serves ${arn("g", 4)}, which is PendingManualApproval; prod keeps serving ${arn("g", 3)} (Approved). ` +
                'Approve the new one with: npm run approve -- --stack staging --model signs --note "<why it is good>"',
        ]);
    });

    it("with no prod endpoint yet, a pending package means no endpoint for now, not a failed update", async () => {
        const registry = stubRegistry({ [arn("g", 4)]: ModelApprovalStatus.PENDING_MANUAL_APPROVAL });
        const plan = await resolvePromotion({ signs: model() }, { signs: arn("g", 4) }, registry, STAGING);
        expect(plan.served.signs).to.equal(undefined);
        expect(plan.awaiting.signs).to.equal(arn("g", 4));
        expect(plan.messages[0]).to.match(
            /prod has no endpoint for signs until it is approved: npm run approve -- --stack staging --model signs/,
        );
    });

    it("a rejected staging package never reaches prod; prod keeps its Approved one without suggesting to approve the rejected", async () => {
        const registry = stubRegistry(
            { [arn("g", 2)]: ModelApprovalStatus.REJECTED, [arn("g", 1)]: ModelApprovalStatus.APPROVED },
            {},
            { "prod-signs": arn("g", 1) },
        );
        const plan = await resolvePromotion({ signs: model() }, { signs: arn("g", 2) }, registry, STAGING);
        expect(plan.served.signs).to.deep.include({ packageArn: arn("g", 1), source: "kept" });
        expect(plan.messages[0]).to.contain("which is Rejected; prod keeps serving");
        expect(plan.messages[0]).to.not.contain("npm run approve");
    });

    it("keeps prod's endpoint when staging serves nothing; leaves a model out only when neither serves it", async () => {
        const registry = stubRegistry({ [arn("g", 1)]: ModelApprovalStatus.APPROVED }, {}, { "prod-signs": arn("g", 1) });
        const plan = await resolvePromotion({ signs: model(), birds: model({ endpoint: "prod-birds" }) }, {}, registry, STAGING);
        expect(plan.served.signs).to.deep.include({ packageArn: arn("g", 1), source: "kept" });
        expect(plan.messages[0]).to.contain("list signs in promotion.removeEndpoints in Pulumi.prod.yaml");
        expect(plan.served.birds).to.equal(undefined);
        expect(plan.notes.birds).to.equal("no endpoint: staging serves no package for this model yet");
    });

    it("removeEndpoints takes the endpoint down whatever staging and prod serve, without asking the registry", async () => {
        const registry = stubRegistry({ [arn("g", 1)]: ModelApprovalStatus.APPROVED }, {}, { "prod-signs": arn("g", 1) });
        const plan = await resolvePromotion({ signs: model({ remove: true }) }, { signs: arn("g", 1) }, registry, STAGING);
        expect(plan.served.signs).to.equal(undefined);
        expect(registry.described).to.deep.equal([]);
    });

    it("refuses to keep a package prod serves that was rejected since, with what to do", async () => {
        const registry = stubRegistry(
            { [arn("g", 1)]: ModelApprovalStatus.REJECTED, [arn("g", 2)]: ModelApprovalStatus.PENDING_MANUAL_APPROVAL },
            {},
            { "prod-signs": arn("g", 1) },
        );
        const err = await resolvePromotion({ signs: model() }, { signs: arn("g", 2) }, registry, STAGING).catch((e) => e);
        expect(err).to.be.instanceOf(PromotionRefused);
        expect(err.refusals[0]).to.equal(
            `signs: prod serves ${arn("g", 1)}, which is Rejected now, and staging's ${arn("g", 2)} is PendingManualApproval: ` +
                'approve a package in staging (npm run approve -- --stack staging --model signs --note "<why it is good>"), pin an Approved version ' +
                "(models.signs.endpoint.modelPackageArn), or list signs in promotion.removeEndpoints to take prod's endpoint down.",
        );
    });

    it("refuses when it cannot read what prod serves, or a package, rather than guessing", async () => {
        const registry = stubRegistry({ [arn("g", 4)]: ModelApprovalStatus.PENDING_MANUAL_APPROVAL });
        const err = await resolvePromotion(
            { signs: model({ endpoint: "broken" }), birds: model({ endpoint: "prod-birds" }) },
            { signs: arn("g", 4), birds: arn("b", 9) },
            registry,
            STAGING,
        ).catch((e) => e);
        expect(err).to.be.instanceOf(PromotionRefused);
        expect(err.refusals).to.have.length(2);
        expect(err.refusals[0]).to.match(/^signs: cannot read which package prod's endpoint broken serves \(AccessDeniedException/);
        expect(err.refusals[1]).to.include(
            `birds: model package ${arn("b", 9)} (served by ${STAGING}) cannot be read from the registry (ValidationException`,
        );
        expect(err.message).to.match(/^prod serves only Approved model packages; nothing was deployed:\n {2}- signs: /);
    });

    it("lets a prod pin roll back to an older package only if it is Approved", async () => {
        const registry = stubRegistry({
            [arn("g", 2)]: "Approved",
            [arn("g", 5)]: "PendingManualApproval",
            [arn("g", 1)]: "PendingManualApproval",
        });
        const plan = await resolvePromotion({ signs: model({ pin: arn("g", 2) }) }, { signs: arn("g", 5) }, registry, STAGING);
        expect(plan.served.signs).to.deep.include({ packageArn: arn("g", 2), source: "pinned" });
        expect(registry.described).to.deep.equal([arn("g", 2)], "the staging package is not consulted when prod pins");
        const err = await resolvePromotion({ signs: model({ pin: arn("g", 1) }) }, { signs: arn("g", 5) }, registry, STAGING).catch(
            (e) => e,
        );
        expect(err.message).to.include("(pinned in prod config (endpoint.modelPackageArn)) is PendingManualApproval");
    });
});

describe("which stack prod promotes from", () => {
    it("defaults to <organization>/<project>/staging; a configured name wins", () => {
        expect(promotionSourceStack(undefined, "acme-ml", "vision-mlops")).to.deep.equal({
            name: "acme-ml/vision-mlops/staging",
            origin: "default",
        });
        expect(promotionSourceStack(undefined, "organization", "vision-mlops").name).to.equal("organization/vision-mlops/staging");
        expect(promotionSourceStack("acme-ml/vision-mlops/stage-eu", "x", "y")).to.deep.equal({
            name: "acme-ml/vision-mlops/stage-eu",
            origin: "config",
        });
    });

    it("a problem with the reference names the stack tried, where the name came from, and how to set it", () => {
        const text = sourceStackProblem(
            { name: "acme-ml/vision-mlops/stage-eu", origin: "config" },
            'unknown stack "acme-ml/vision-mlops/stage-eu"',
        );
        expect(text).to.equal(
            'cannot read stack "acme-ml/vision-mlops/stage-eu" (promotion.sourceStack in Pulumi.prod.yaml), which prod promotes from: ' +
                'unknown stack "acme-ml/vision-mlops/stage-eu". On Pulumi Cloud it is <your-org>/vision-mlops/staging; on a self-managed backend ' +
                "organization/vision-mlops/staging (`pulumi stack ls --all` lists the names). Set it in Pulumi.prod.yaml:\n" +
                "  vision-mlops:promotion:\n    sourceStack: <org>/vision-mlops/staging\nand deploy staging with this version of the platform before prod.",
        );
    });
});

describe("promotion gate: every model's outcome in words", () => {
    const STAGING = "organization/vision-mlops/staging";
    const approve = (m: string) => `npm run approve -- --stack staging --model ${m} --note "<why it is good>"`;

    it("notes, awaits and tells the operator, per model, what prod does and why", async () => {
        const registry = stubRegistry(
            { [arn("w", 2)]: "PendingManualApproval", [arn("k", 3)]: "Rejected", [arn("k", 1)]: "Approved", [arn("n", 1)]: "Approved" },
            {},
            { "prod-k": arn("k", 1), "prod-n": arn("n", 1) },
        );
        const plan = await resolvePromotion(
            {
                gone: { endpoint: "prod-gone", remove: true },
                fresh: { endpoint: "prod-fresh" },
                waiting: { endpoint: "prod-w" },
                kept: { endpoint: "prod-k" },
                keptNone: { endpoint: "prod-n" },
            },
            { gone: arn("g", 1), waiting: arn("w", 2), kept: arn("k", 3) },
            registry,
            STAGING,
        );
        expect(plan.served.gone).to.equal(undefined);
        expect(plan.served.fresh).to.equal(undefined);
        expect(plan.served.waiting).to.equal(undefined);
        expect(plan.served.kept).to.deep.include({ packageArn: arn("k", 1), source: "kept" });
        expect(plan.served.keptNone).to.deep.include({ packageArn: arn("n", 1), source: "kept" });
        expect(plan.notes).to.deep.equal({
            gone: "no endpoint: promotion.removeEndpoints in Pulumi.prod.yaml lists it",
            fresh: "no endpoint: staging serves no package for this model yet",
            waiting: `no endpoint: staging serves ${arn("w", 2)}, which is PendingManualApproval`,
            kept: `kept package, Approved; staging serves ${arn("k", 3)}, which is Rejected`,
            keptNone: "kept package, Approved; staging serves no package for keptNone",
        });
        expect(plan.awaiting).to.deep.equal({ waiting: arn("w", 2), kept: arn("k", 3) });
        expect(plan.messages).to.deep.equal([
            `waiting: staging serves ${arn("w", 2)}, which is PendingManualApproval; prod has no endpoint for waiting until it is approved: ${approve("waiting")}`,
            `kept: staging serves ${arn("k", 3)}, which is Rejected; prod keeps serving ${arn("k", 1)} (Approved). Staging serves another package once one is registered.`,
            `keptNone: staging serves no package for keptNone; prod keeps serving ${arn("n", 1)} (Approved). To remove prod's endpoint, list keptNone in promotion.removeEndpoints in Pulumi.prod.yaml`,
        ]);
        expect(registry.described, "a removed model's staging package is never read").to.not.include(arn("g", 1));
    });

    it("with no prod endpoint, a rejected staging package gets no approve command", async () => {
        const plan = await resolvePromotion(
            { r: { endpoint: "prod-r" } },
            { r: arn("r", 4) },
            stubRegistry({ [arn("r", 4)]: "Rejected" }),
            STAGING,
        );
        expect(plan.messages).to.deep.equal([
            `r: staging serves ${arn("r", 4)}, which is Rejected; prod has no endpoint for r until it is approved`,
        ]);
    });

    it("refuses as a whole, listing every model's problem: unreadable pins and served packages, a pin not Approved", async () => {
        const missing = (a: string) => `ValidationException: Model package ${a} does not exist`;
        const err = await resolvePromotion(
            {
                pinGone: { endpoint: "prod-a", pin: arn("a", 9) },
                pinPending: { endpoint: "prod-b", pin: arn("b", 2) },
                servedGone: { endpoint: "prod-c" },
                stagingGone: { endpoint: "prod-d" },
            },
            { stagingGone: arn("d", 5) },
            stubRegistry({ [arn("b", 2)]: "PendingManualApproval" }, {}, { "prod-c": arn("c", 1) }),
            STAGING,
        ).catch((e) => e);
        expect(err).to.be.instanceOf(PromotionRefused);
        expect(err.name).to.equal("PromotionRefused");
        const refusals = [
            `pinGone: model package ${arn("a", 9)} (pinned in prod config (endpoint.modelPackageArn)) cannot be read from the registry (${missing(arn("a", 9))})`,
            `pinPending: model package ${arn("b", 2)} (pinned in prod config (endpoint.modelPackageArn)) is PendingManualApproval, not Approved. ` +
                "A pinned package must already be Approved: pin an Approved version, or remove the pin to promote what staging serves.",
            `servedGone: model package ${arn("c", 1)} (served by prod's endpoint prod-c) cannot be read from the registry (${missing(arn("c", 1))})`,
            `stagingGone: model package ${arn("d", 5)} (served by ${STAGING}) cannot be read from the registry (${missing(arn("d", 5))})`,
        ];
        expect(err.refusals).to.deep.equal(refusals);
        expect(err.message).to.equal(
            `prod serves only Approved model packages; nothing was deployed:\n${refusals.map((r) => `  - ${r}`).join("\n")}`,
        );
    });

    it("names staging's outputs by the one key prod reads, and a source stack's project in its help", () => {
        expect(SERVED_PACKAGES_OUTPUT).to.equal("servedPackages");
        const problem = (name: string, origin: "config" | "default") => sourceStackProblem({ name, origin }, "gone");
        expect(problem("acme/shop/staging", "default")).to.contain(
            'cannot read stack "acme/shop/staging" (the default: this stack\'s organization, this project, staging), which prod promotes from: gone. ' +
                "On Pulumi Cloud it is <your-org>/shop/staging; on a self-managed backend organization/shop/staging",
        );
        expect(problem("acme/shop/staging", "default")).to.contain("    sourceStack: <org>/shop/staging\n");
        expect(problem("staging", "config")).to.contain("(promotion.sourceStack in Pulumi.prod.yaml)");
        expect(problem("staging", "config")).to.contain("On Pulumi Cloud it is <your-org>/vision-mlops/staging;");
        expect(problem("a/b/c/d", "config")).to.contain("On Pulumi Cloud it is <your-org>/vision-mlops/staging;");
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
    const failing = (name: string, message: string) =>
        sagemakerRegistry({
            send: async () => {
                throw Object.assign(new Error(message), { name });
            },
        } as unknown as RegistryClient);

    it("treats a group that does not exist yet as empty, and other errors as errors", async () => {
        expect(
            await failing("ValidationException", "Model Package Group vision-mlops-staging-x does not exist.").newestRegisteredPackage(
                "vision-mlops-staging-x",
            ),
        ).to.equal(undefined);
        const err = await failing("AccessDeniedException", "not authorized")
            .newestRegisteredPackage("g")
            .catch((e) => e);
        expect(err.message).to.equal("not authorized");
    });

    it("a prod endpoint that does not exist serves nothing; any other failure to read it is an error, never 'nothing'", async () => {
        expect(
            await failing("ValidationException", 'Could not find endpoint "vision-mlops-prod-signs".').packageServedBy(
                "vision-mlops-prod-signs",
            ),
        ).to.equal(undefined);
        for (const [name, message] of [
            ["AccessDeniedException", "not authorized to perform sagemaker:DescribeEndpoint"],
            ["ThrottlingException", "Rate exceeded"],
        ]) {
            const err = await failing(name, message)
                .packageServedBy("vision-mlops-prod-signs")
                .catch((e) => e);
            expect(err, name).to.be.instanceOf(Error);
            expect(err.message).to.equal(message);
        }
    });

    it("reads 'no endpoint' only from a ValidationException that says it cannot find this very endpoint", async () => {
        const endpoint = "vision-mlops-prod-signs";
        for (const [name, message] of [
            ["ValidationException", 'Could not find endpoint "vision-mlops-prod-other".'],
            ["ValidationException", "1 validation error detected: Value at 'endpointName' failed to satisfy constraint"],
            ["ResourceNotFound", `Could not find endpoint "${endpoint}".`],
            ["AccessDeniedException", `Could not find endpoint "${endpoint}".`],
            ["ValidationException", ""],
        ]) {
            const err = await failing(name, message)
                .packageServedBy(endpoint)
                .catch((e) => e);
            expect(err, `${name}: ${message}`).to.be.instanceOf(Error);
            expect(err.message).to.equal(message);
        }
        const noMessage = sagemakerRegistry({
            send: async () => {
                throw { name: "ValidationException" };
            },
        } as unknown as RegistryClient);
        expect(await noMessage.packageServedBy(endpoint).catch((e) => e)).to.deep.equal({ name: "ValidationException" });
    });

    it("reads a missing group from a ValidationException or ResourceNotFound that says so, and nothing else", async () => {
        expect(await failing("ResourceNotFound", "Model package group g not found").newestRegisteredPackage("g")).to.equal(undefined);
        for (const [name, message] of [
            ["ValidationException", "1 validation error detected: Value at 'modelPackageGroupName' failed to satisfy constraint"],
            ["AccessDeniedException", "Model package group g not found"],
            ["ThrottlingException", "Rate exceeded"],
            ["ResourceNotFound", ""],
        ]) {
            const err = await failing(name, message)
                .newestRegisteredPackage("g")
                .catch((e) => e);
            expect(err, `${name}: ${message}`).to.be.instanceOf(Error);
            expect(err.message).to.equal(message);
        }
    });

    it("describes a package through DescribeModelPackage", async () => {
        const a = arn("signs", 3);
        const sent: unknown[] = [];
        const registry = sagemakerRegistry({
            send: async (command: { input: unknown }) => {
                sent.push(command.input);
                return { ModelPackageArn: a, ModelPackageGroupName: "signs", ModelPackageVersion: 3, ModelApprovalStatus: "Approved" };
            },
        } as unknown as RegistryClient);
        expect(await registry.describePackage(a)).to.deep.include({ arn: a, group: "signs", version: 3, approvalStatus: "Approved" });
        expect(sent).to.deep.equal([{ ModelPackageName: a }]);
    });
});
