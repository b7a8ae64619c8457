import { ModelApprovalStatus } from "@aws-sdk/client-sagemaker";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { PlatformConfig } from "../../infra/config";
import { endpointName } from "../../infra/naming";
import { ModelRegistry, PromotionRefused, SERVED_PACKAGES_OUTPUT } from "../../infra/promotion";
import { PackageInfo } from "../../infra/registry";
import { readStackFile } from "../../infra/stack-file";
import { createPlatform, Platform } from "../../stacks/platform";
import { DeclaredResource, find, ofType, settled, TEST_ACCOUNT, unwrapOutput, useMocks } from "../support/mocks";

/**
 * The prod program between deployments: staging moves on (a newer package waits for approval, or staging
 * serves nothing for a model), and prod must keep serving what it serves, deploy everything else, and still
 * never deploy a package nobody approved. Prod reads what its own endpoints serve through the registry
 * interface (endpoint -> config -> model -> package), and staging's packages through the StackReference.
 */
describe("prod promotion: staging moves on, prod keeps what it serves", () => {
    const SIGNS = "traffic-signs";
    const BIKES = "bikes-vs-motorcycles";
    const pkg = (model: string, v: number) =>
        `arn:aws:sagemaker:us-east-1:${TEST_ACCOUNT}:model-package/vision-mlops-staging-${model}/${v}`;
    const KEY = `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/staging-key`;
    const A = ModelApprovalStatus.APPROVED;
    const P = ModelApprovalStatus.PENDING_MANUAL_APPROVAL;
    const R = ModelApprovalStatus.REJECTED;

    interface World {
        /** What staging's servedPackages output says, per model. */
        readonly staging: Record<string, string | null>;
        /** Approval status of every package the registry knows. */
        readonly statuses: Record<string, string>;
        /** What prod's live endpoints serve, per model (absent: no endpoint yet). */
        readonly prodServes?: Record<string, string>;
        readonly organization?: string;
        /** Stack outputs by reference name; defaults to staging's under the organization's default name. */
        readonly stackOutputs?: Record<string, Record<string, unknown>>;
        readonly config?: (c: PlatformConfig) => PlatformConfig;
        readonly servedByFails?: boolean;
    }

    function registry(w: World): ModelRegistry & { servedByAsked: string[] } {
        const servedByAsked: string[] = [];
        return {
            servedByAsked,
            async newestRegisteredPackage() {
                return undefined;
            },
            async describePackage(arn): Promise<PackageInfo> {
                if (!(arn in w.statuses)) throw new Error(`ValidationException: ModelPackage ${arn} does not exist`);
                const model = arn.split("/")[1].replace("vision-mlops-staging-", "");
                return {
                    arn,
                    group: arn.split("/")[1],
                    version: Number(arn.split("/")[2]),
                    approvalStatus: w.statuses[arn],
                    customerMetadata: {},
                    image: "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1",
                    modelDataUrl: `s3://artifacts/${model}/${arn.split("/")[2]}/model.tar.gz`,
                    monitoringBaselineUri: `s3://artifacts/${model}/${arn.split("/")[2]}/monitoring_baseline.json`,
                };
            },
            async packageServedBy(endpoint: string) {
                servedByAsked.push(endpoint);
                if (w.servedByFails)
                    throw Object.assign(new Error("User is not authorized to perform: sagemaker:DescribeEndpoint"), {
                        name: "AccessDeniedException",
                    });
                const model = Object.keys(w.prodServes ?? {}).find((m) => endpointName("prod", m) === endpoint);
                return model ? w.prodServes![model] : undefined;
            },
        } as ModelRegistry & { servedByAsked: string[] };
    }

    async function build(w: World) {
        const config = (w.config ?? ((c) => c))(readStackFile(".", "prod"));
        const org = w.organization ?? "organization";
        const declared = useMocks("prod", {
            organization: org,
            stackOutputs: w.stackOutputs ?? { [`${org}/vision-mlops/staging`]: { [SERVED_PACKAGES_OUTPUT]: w.staging, dataKeyArn: KEY } },
        });
        const reg = registry(w);
        const logged: string[] = [];
        let platform: Platform | undefined;
        let error: Error | undefined;
        try {
            platform = await createPlatform(config, { registry: reg, log: (m: string) => logged.push(m) });
            await settled(declared, pulumi.output(platform.outputs));
        } catch (e) {
            error = e as Error;
            await settled(declared);
        }
        const outputs = platform ? ((await unwrapOutput(pulumi.output(platform.outputs))) as any) : undefined;
        return { declared, platform, outputs, error, logged, reg };
    }

    /** The EndpointDeployment dynamic resource: an endpoint with its model, configs and scaling. */
    const ENDPOINT = "pulumi-nodejs:dynamic:Resource";
    const endpoints = (declared: DeclaredResource[]) => declared.filter(ofType(ENDPOINT)).filter((r) => r.name.endsWith("-endpoint"));
    /** Prod with traffic-signs alone: a smaller program where the other model would add nothing to the check. */
    const signsOnly = (c: PlatformConfig): PlatformConfig => ({ ...c, models: { [SIGNS]: c.models[SIGNS] } });
    const modelOf = (declared: DeclaredResource[], model: string) =>
        find(declared, ENDPOINT, `vision-mlops-prod-${model}-endpoint`).inputs.model.PrimaryContainer;

    it("keeps serving its Approved package while staging's newer one awaits approval, says so, and deploys everything else", async () => {
        const { declared, outputs, error, logged } = await build({
            staging: { [SIGNS]: pkg(SIGNS, 2), [BIKES]: pkg(BIKES, 1) },
            statuses: { [pkg(SIGNS, 1)]: A, [pkg(SIGNS, 2)]: P, [pkg(BIKES, 1)]: A },
            prodServes: { [SIGNS]: pkg(SIGNS, 1) },
        });
        expect(error, error?.message).to.equal(undefined);
        expect(modelOf(declared, SIGNS)).to.deep.equal({ ModelPackageName: pkg(SIGNS, 1) });
        expect(modelOf(declared, BIKES)).to.deep.equal({ ModelPackageName: pkg(BIKES, 1) });
        expect(declared.filter(ofType("aws:s3/bucket:Bucket")), "the lake's five and the prediction page's").to.have.length(6);
        expect(endpoints(declared)).to.have.length(2);
        expect(outputs.models[SIGNS]).to.deep.include({ servedPackage: pkg(SIGNS, 1), awaitingApproval: pkg(SIGNS, 2) });
        expect(outputs.models[SIGNS].serving).to.match(/^kept package, Approved; staging serves /);
        expect(outputs.models[BIKES]).to.deep.include({
            servedPackage: pkg(BIKES, 1),
            awaitingApproval: null,
            serving: "promoted package, Approved",
        });
        const note = logged.find((l) => l.includes(pkg(SIGNS, 2)));
        expect(note).to.equal(
            `${SIGNS}: staging serves ${pkg(SIGNS, 2)}, which is PendingManualApproval; prod keeps serving ${pkg(SIGNS, 1)} (Approved). ` +
                `Approve the new one with: npm run approve -- --stack staging --model ${SIGNS} --note "<why it is good>"`,
        );
    });

    it("with no endpoint yet and a pending package in staging, deploys everything but that endpoint and says what awaits approval", async () => {
        const { declared, outputs, error, logged } = await build({
            staging: { [SIGNS]: pkg(SIGNS, 1) },
            statuses: { [pkg(SIGNS, 1)]: P },
            config: signsOnly,
        });
        expect(error, error?.message).to.equal(undefined);
        expect(endpoints(declared)).to.deep.equal([]);
        expect(declared.filter(ofType("aws:s3/bucket:Bucket")), "the lake's five and the prediction page's").to.have.length(6);
        expect(outputs.models[SIGNS]).to.deep.include({ servedPackage: null, endpointName: null, awaitingApproval: pkg(SIGNS, 1) });
        expect(logged.join("\n")).to.contain(
            `${SIGNS}: staging serves ${pkg(SIGNS, 1)}, which is PendingManualApproval; prod has no endpoint for ${SIGNS} until it is approved`,
        );
    });

    it("keeps its endpoint when staging serves nothing for the model (rejected, or the group emptied)", async () => {
        const { declared, outputs, error, logged } = await build({
            staging: { [SIGNS]: null },
            statuses: { [pkg(SIGNS, 3)]: A },
            prodServes: { [SIGNS]: pkg(SIGNS, 3) },
            config: signsOnly,
        });
        expect(error, error?.message).to.equal(undefined);
        expect(modelOf(declared, SIGNS)).to.deep.equal({ ModelPackageName: pkg(SIGNS, 3) });
        expect(outputs.models[SIGNS].servedPackage).to.equal(pkg(SIGNS, 3));
        expect(logged.join("\n")).to.contain(
            `${SIGNS}: staging serves no package for ${SIGNS}; prod keeps serving ${pkg(SIGNS, 3)} (Approved). To remove prod's endpoint, list ${SIGNS} in promotion.removeEndpoints in Pulumi.prod.yaml`,
        );
    });

    it("removes a served endpoint only when prod's own stack file lists the model in promotion.removeEndpoints", async () => {
        const { declared, outputs, error } = await build({
            staging: { [SIGNS]: pkg(SIGNS, 4) },
            statuses: { [pkg(SIGNS, 3)]: A, [pkg(SIGNS, 4)]: A },
            prodServes: { [SIGNS]: pkg(SIGNS, 3) },
            config: (c) => signsOnly({ ...c, promotion: { ...c.promotion, removeEndpoints: [SIGNS] } }),
        });
        expect(error, error?.message).to.equal(undefined);
        expect(endpoints(declared)).to.deep.equal([]);
        expect(outputs.models[SIGNS]).to.deep.include({
            servedPackage: null,
            serving: "no endpoint: promotion.removeEndpoints in Pulumi.prod.yaml lists it",
        });
    });

    it("still refuses anything unapproved: a pending pin, or a package prod serves that was rejected since with nothing approved to take over", async () => {
        const pinned = await build({
            staging: { [SIGNS]: pkg(SIGNS, 2), [BIKES]: pkg(BIKES, 1) },
            statuses: { [pkg(SIGNS, 2)]: A, [pkg(SIGNS, 5)]: P, [pkg(BIKES, 1)]: A },
            config: (c) => ({
                ...c,
                models: {
                    ...c.models,
                    [SIGNS]: { ...c.models[SIGNS], endpoint: { ...c.models[SIGNS].endpoint, modelPackageArn: pkg(SIGNS, 5) } },
                },
            }),
        });
        expect(pinned.error).to.be.instanceOf(PromotionRefused);
        expect(pinned.error!.message).to.contain(
            `${SIGNS}: model package ${pkg(SIGNS, 5)} (pinned in prod config (endpoint.modelPackageArn)) is PendingManualApproval`,
        );
        expect(pinned.declared.map((r) => r.type)).to.deep.equal(["pulumi:pulumi:StackReference"]);

        const revoked = await build({
            staging: { [SIGNS]: pkg(SIGNS, 2), [BIKES]: pkg(BIKES, 1) },
            statuses: { [pkg(SIGNS, 1)]: R, [pkg(SIGNS, 2)]: P, [pkg(BIKES, 1)]: A },
            prodServes: { [SIGNS]: pkg(SIGNS, 1) },
        });
        expect(revoked.error).to.be.instanceOf(PromotionRefused);
        expect(revoked.error!.message).to.contain(
            `${SIGNS}: prod serves ${pkg(SIGNS, 1)}, which is Rejected now, and staging's ${pkg(SIGNS, 2)} is PendingManualApproval`,
        );
        expect(revoked.error!.message).to.contain("promotion.removeEndpoints");
        expect(revoked.declared.map((r) => r.type)).to.deep.equal(["pulumi:pulumi:StackReference"]);
    });

    it("a failure to read what prod serves refuses the update rather than dropping the endpoint", async () => {
        const { error, reg } = await build({
            staging: { [SIGNS]: null, [BIKES]: pkg(BIKES, 1) },
            statuses: { [pkg(BIKES, 1)]: A },
            servedByFails: true,
        });
        expect(reg.servedByAsked).to.include(endpointName("prod", SIGNS));
        expect(error).to.be.instanceOf(PromotionRefused);
        expect(error!.message).to.contain(
            `${SIGNS}: cannot read which package prod's endpoint ${endpointName("prod", SIGNS)} serves (User is not authorized`,
        );
    });
});

describe("prod promotion: which staging stack it reads", () => {
    const KEY = `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/staging-key`;
    const approvedRegistry: ModelRegistry = {
        newestRegisteredPackage: async () => undefined,
        describePackage: async (arn) => ({
            arn,
            group: arn.split("/")[1],
            approvalStatus: ModelApprovalStatus.APPROVED,
            customerMetadata: {},
            image: "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1",
            modelDataUrl: "s3://a/model.tar.gz",
            monitoringBaselineUri: "s3://a/monitoring_baseline.json",
        }),
        packageServedBy: async () => undefined,
    } as ModelRegistry;

    it("defaults to <this stack's organization>/vision-mlops/staging, right for Pulumi Cloud and self-managed backends alike", async () => {
        const config = readStackFile(".", "prod");
        expect(config.promotion?.sourceStack, "Pulumi.prod.yaml leaves the name to the default").to.equal(undefined);
        for (const org of ["acme-ml", "organization"]) {
            const declared = useMocks("prod", {
                organization: org,
                stackOutputs: { [`${org}/vision-mlops/staging`]: { [SERVED_PACKAGES_OUTPUT]: {}, dataKeyArn: KEY } },
            });
            await createPlatform(config, { registry: approvedRegistry, log: () => undefined });
            await settled(declared);
            expect(find(declared, "pulumi:pulumi:StackReference", "promotion-source").inputs.name).to.equal(`${org}/vision-mlops/staging`);
        }
    });

    it("a reference that does not resolve to staging says which name it tried and how to set it", async () => {
        const config = readStackFile(".", "prod");
        // A stack that exists but is not this project's staging (no servedPackages output).
        useMocks("prod", { organization: "acme-ml", stackOutputs: { "acme-ml/vision-mlops/staging": { somethingElse: 1 } } });
        const missingOutput = await createPlatform(config, { registry: approvedRegistry, log: () => undefined }).catch((e) => e);
        expect(missingOutput.message).to.contain(
            'stack "acme-ml/vision-mlops/staging" (the default: this stack\'s organization, this project, staging)',
        );
        expect(missingOutput.message).to.contain("has no servedPackages output");
        expect(missingOutput.message).to.contain("vision-mlops:promotion:\n    sourceStack: <org>/vision-mlops/staging");
        // A stack that does not exist: the engine's "unknown stack".
        useMocks("prod", { organization: "acme-ml", stackOutputs: {} });
        const unknown = await createPlatform(config, { registry: approvedRegistry, log: () => undefined }).catch((e) => e);
        expect(unknown.message).to.contain('cannot read stack "acme-ml/vision-mlops/staging"');
        expect(unknown.message).to.contain("unknown stack");
        expect(unknown.message).to.contain(
            "On Pulumi Cloud it is <your-org>/vision-mlops/staging; on a self-managed backend organization/vision-mlops/staging",
        );
    });
});
