import {
    CreateEndpointCommand,
    CreateEndpointConfigCommand,
    CreateModelCommand,
    DeleteModelCommand,
    ListModelPackagesCommand,
    ModelApprovalStatus,
    SageMakerClient,
} from "@aws-sdk/client-sagemaker";
import { expect } from "chai";
import {
    decisionLedgerLocation,
    describePackage,
    groupOfPackageArn,
    newestApprovedPackage,
    newestRegisteredPackage,
    packageServedBy,
    SERVED_PACKAGE_ENVIRONMENT_VARIABLE,
} from "../../infra/registry";
import { sagemakerRegistry } from "../../infra/promotion";
import { resetMoto, startMoto, MotoServer } from "../support/moto";
import { createGroup, registerPackage, ROLE_ARN, serve } from "../cli/fixtures";

/**
 * The registry lookups against real SageMaker API calls (moto server). moto stores and returns model
 * packages, models, endpoint configs and endpoints with the fields these lookups read; what it does not
 * model is said where it matters below.
 */
describe("registry lookups (moto)", function () {
    this.timeout(30_000);
    let moto: MotoServer;
    let sm: SageMakerClient;

    before(async () => {
        moto = await startMoto();
        sm = new SageMakerClient(moto.clientConfig);
    });
    after(async () => {
        await moto?.stop();
    });
    beforeEach(async () => {
        await resetMoto(moto);
    });

    async function rejects(p: Promise<unknown>): Promise<Error> {
        try {
            await p;
        } catch (e) {
            return e as Error;
        }
        throw new Error("expected a rejection");
    }

    it("newestRegisteredPackage skips Rejected versions and returns the newest of the rest", async () => {
        await createGroup(sm, "signs");
        await registerPackage(sm, "signs", { status: ModelApprovalStatus.APPROVED });
        const pending = await registerPackage(sm, "signs", { status: ModelApprovalStatus.PENDING_MANUAL_APPROVAL });
        await registerPackage(sm, "signs", { status: ModelApprovalStatus.REJECTED });
        expect(pending).to.match(/:model-package\/signs\/2$/);
        expect(await newestRegisteredPackage(sm, "signs")).to.equal(pending);
    });

    it("newestRegisteredPackage is undefined when every version was rejected, and for an empty group", async () => {
        await createGroup(sm, "signs");
        expect(await newestRegisteredPackage(sm, "signs")).to.equal(undefined);
        await registerPackage(sm, "signs", { status: ModelApprovalStatus.REJECTED });
        expect(await newestRegisteredPackage(sm, "signs")).to.equal(undefined);
    });

    it("newestApprovedPackage returns the newest Approved version, not a newer pending one", async () => {
        await createGroup(sm, "signs");
        await registerPackage(sm, "signs", { status: ModelApprovalStatus.APPROVED });
        const champion = await registerPackage(sm, "signs", { status: ModelApprovalStatus.APPROVED });
        await registerPackage(sm, "signs", { status: ModelApprovalStatus.PENDING_MANUAL_APPROVAL });
        expect(champion).to.match(/\/signs\/2$/);
        expect(await newestApprovedPackage(sm, "signs")).to.equal(champion);
    });

    it("newestApprovedPackage is undefined before anything was approved", async () => {
        await createGroup(sm, "signs");
        await registerPackage(sm, "signs", { status: ModelApprovalStatus.PENDING_MANUAL_APPROVAL });
        expect(await newestApprovedPackage(sm, "signs")).to.equal(undefined);
    });

    it("the emulator honours the newest-first sort the lookups ask for (so the tests above check the lookups, not luck)", async () => {
        await createGroup(sm, "signs");
        for (let i = 0; i < 3; i++) await registerPackage(sm, "signs", { status: ModelApprovalStatus.PENDING_MANUAL_APPROVAL });
        const page = await sm.send(
            new ListModelPackagesCommand({ ModelPackageGroupName: "signs", SortBy: "CreationTime", SortOrder: "Descending" }),
        );
        expect(page.ModelPackageSummaryList!.map((p) => p.ModelPackageVersion)).to.deep.equal([3, 2, 1]);
    });

    it("follows NextToken pages to find a package beyond the first page", async function () {
        // moto pages ListModelPackages when MaxResults is smaller than the group; the lookups ask for 100
        // per page, so this builds 101 versions: the only one not Rejected is the oldest, on page two.
        this.timeout(60_000);
        await createGroup(sm, "signs");
        const oldest = await registerPackage(sm, "signs", { status: ModelApprovalStatus.PENDING_MANUAL_APPROVAL });
        for (let i = 0; i < 100; i++) await registerPackage(sm, "signs", { status: ModelApprovalStatus.REJECTED });
        const first = await sm.send(
            new ListModelPackagesCommand({
                ModelPackageGroupName: "signs",
                SortBy: "CreationTime",
                SortOrder: "Descending",
                MaxResults: 100,
            }),
        );
        expect(first.ModelPackageSummaryList).to.have.length(100);
        expect(first.NextToken, "the emulator pages, so the lookup must follow NextToken").to.be.a("string");
        expect(await newestRegisteredPackage(sm, "signs")).to.equal(oldest);
    });

    it("describePackage returns the approval status, description, metadata and registered evidence URIs", async () => {
        await createGroup(sm, "signs");
        const arn = await registerPackage(sm, "signs", {
            status: ModelApprovalStatus.PENDING_MANUAL_APPROVAL,
            metadata: { "git-commit": "4f2a9c1", "dataset-batch": "2026-11-20" },
            statisticsUri: "s3://artifacts/signs/eval/statistics.json",
            baselineUri: "s3://artifacts/signs/eval/monitoring_baseline.json",
        });
        const info = await describePackage(sm, arn);
        expect(info).to.deep.include({
            arn,
            group: "signs",
            version: 1,
            approvalStatus: "PendingManualApproval",
            customerMetadata: { "git-commit": "4f2a9c1", "dataset-batch": "2026-11-20" },
            modelQualityStatisticsUri: "s3://artifacts/signs/eval/statistics.json",
            monitoringBaselineUri: "s3://artifacts/signs/eval/monitoring_baseline.json",
        });
        expect(info.createdAt).to.be.instanceOf(Date);
        expect(info.approvalDescription).to.equal(undefined);
    });

    it("describePackage of a package without metrics or metadata leaves them empty", async () => {
        await createGroup(sm, "signs");
        const arn = await registerPackage(sm, "signs", { status: ModelApprovalStatus.APPROVED });
        const info = await describePackage(sm, arn);
        expect(info.customerMetadata).to.deep.equal({});
        expect(info.modelQualityStatisticsUri).to.equal(undefined);
        expect(info.monitoringBaselineUri).to.equal(undefined);
    });

    it("describePackage of an unknown version fails with the service's not-found error", async () => {
        await createGroup(sm, "signs");
        const err = await rejects(describePackage(sm, "arn:aws:sagemaker:us-east-1:123456789012:model-package/signs/9"));
        expect(err.name).to.equal("ValidationException");
        expect(err.message).to.contain("model-package/signs/9");
    });

    it("packageServedBy follows endpoint -> endpoint config -> model -> package", async () => {
        await createGroup(sm, "signs");
        await registerPackage(sm, "signs", { status: ModelApprovalStatus.APPROVED });
        const second = await registerPackage(sm, "signs", { status: ModelApprovalStatus.PENDING_MANUAL_APPROVAL });
        await serve(sm, "vision-mlops-staging-signs", second);
        expect(await packageServedBy(sm, "vision-mlops-staging-signs")).to.equal(second);
    });

    it("packageServedBy reads the package a model recorded when it runs the package's artifact directly", async () => {
        await createGroup(sm, "signs");
        const pending = await registerPackage(sm, "signs", { status: ModelApprovalStatus.PENDING_MANUAL_APPROVAL });
        await sm.send(
            new CreateModelCommand({
                ModelName: "staging-model",
                ExecutionRoleArn: ROLE_ARN,
                PrimaryContainer: {
                    Image: "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1",
                    ModelDataUrl: "s3://artifacts/signs/executions/x/model/job/output/model.tar.gz",
                    Environment: { [SERVED_PACKAGE_ENVIRONMENT_VARIABLE]: pending },
                },
            }),
        );
        await sm.send(
            new CreateEndpointConfigCommand({
                EndpointConfigName: "staging-config",
                ProductionVariants: [
                    { VariantName: "AllTraffic", ModelName: "staging-model", InitialInstanceCount: 1, InstanceType: "ml.m5.large" },
                ],
            }),
        );
        await sm.send(new CreateEndpointCommand({ EndpointName: "vision-mlops-staging-signs", EndpointConfigName: "staging-config" }));
        expect(await packageServedBy(sm, "vision-mlops-staging-signs")).to.equal(pending);
    });

    it("packageServedBy names the model that was not created from a package", async () => {
        await sm.send(
            new CreateModelCommand({
                ModelName: "plain-model",
                ExecutionRoleArn: ROLE_ARN,
                PrimaryContainer: { Image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1", ModelDataUrl: "s3://b/model.tar.gz" },
            }),
        );
        await sm.send(
            new CreateEndpointConfigCommand({
                EndpointConfigName: "plain-config",
                ProductionVariants: [
                    { VariantName: "AllTraffic", ModelName: "plain-model", InitialInstanceCount: 1, InstanceType: "ml.m5.large" },
                ],
            }),
        );
        await sm.send(new CreateEndpointCommand({ EndpointName: "plain", EndpointConfigName: "plain-config" }));
        const err = await rejects(packageServedBy(sm, "plain"));
        expect(err.message).to.equal(
            "model plain-model behind endpoint plain was not created from a model package, so it has no approval status",
        );
    });

    it("packageServedBy of a missing endpoint fails with the service's not-found error naming it", async () => {
        const err = await rejects(packageServedBy(sm, "vision-mlops-staging-nothing"));
        expect(err.name).to.equal("ValidationException");
        expect(err.message).to.match(/Could not find endpoint.*vision-mlops-staging-nothing/);
    });

    it("packageServedBy of an endpoint whose model was deleted fails with the service's error naming the model", async () => {
        await createGroup(sm, "signs");
        const arn = await registerPackage(sm, "signs", { status: ModelApprovalStatus.APPROVED });
        await serve(sm, "dangling", arn);
        await sm.send(new DeleteModelCommand({ ModelName: "dangling-model-a" }));
        const err = await rejects(packageServedBy(sm, "dangling"));
        expect(err.name).to.equal("ValidationException");
        expect(err.message).to.contain("model/dangling-model-a");
    });

    it("what a prod endpoint serves: nothing when it does not exist, an error when something behind it is missing", async () => {
        const registry = sagemakerRegistry(sm);
        expect(await registry.packageServedBy("vision-mlops-prod-nothing")).to.equal(undefined);
        await createGroup(sm, "signs");
        const arn = await registerPackage(sm, "signs", { status: ModelApprovalStatus.APPROVED });
        await serve(sm, "vision-mlops-prod-signs", arn);
        expect(await registry.packageServedBy("vision-mlops-prod-signs")).to.equal(arn);
        await sm.send(new DeleteModelCommand({ ModelName: "vision-mlops-prod-signs-model-a" }));
        const err = await rejects(registry.packageServedBy("vision-mlops-prod-signs"));
        expect(err.name).to.equal("ValidationException");
    });

    it("groupOfPackageArn takes the group from a version ARN and refuses anything else", () => {
        expect(groupOfPackageArn("arn:aws:sagemaker:us-east-1:123456789012:model-package/vision-mlops-staging-traffic-signs/12")).to.equal(
            "vision-mlops-staging-traffic-signs",
        );
        expect(() => groupOfPackageArn("arn:aws:sagemaker:us-east-1:123456789012:model-package/unversioned-package")).to.throw(
            "arn:aws:sagemaker:us-east-1:123456789012:model-package/unversioned-package is not a model package version ARN (…:model-package/<group>/<version>)",
        );
    });

    it("the decision ledger of a package is found from its ARN alone, in the registry's own account and region", () => {
        expect(
            decisionLedgerLocation("arn:aws:sagemaker:us-east-1:123456789012:model-package/vision-mlops-staging-traffic-signs/12"),
        ).to.deep.equal({
            bucket: "vision-mlops-staging-artifacts-123456789012-us-east-1",
            prefix: "_decisions/vision-mlops-staging-traffic-signs/12/",
        });
        // Read from a prod account, the ledger is still the registry's (staging's), not the caller's.
        expect(
            decisionLedgerLocation("arn:aws:sagemaker:eu-west-1:210987654321:model-package/vision-mlops-staging-birds/3").bucket,
        ).to.equal("vision-mlops-staging-artifacts-210987654321-eu-west-1");
        expect(() => decisionLedgerLocation("arn:aws:sagemaker:us-east-1:123456789012:model-package/unversioned")).to.throw(
            "is not a model package version ARN",
        );
    });

    // Not covered because moto lacks them (checked against moto 5.2): ModelLifeCycle (stage/status) is
    // accepted by CreateModelPackage but not stored or returned, and the API's limits on
    // CustomerMetadataProperties (50 entries, keys 128 and values 256 characters of letters, numbers,
    // spaces and _.:/=+-@) are not enforced; test/cli/decision.test.ts checks our side of those limits.
});
