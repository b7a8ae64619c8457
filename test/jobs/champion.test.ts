import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateModelPackageCommand, CreateModelPackageGroupCommand, SageMakerClient } from "@aws-sdk/client-sagemaker";
import { expect } from "chai";
import { findChampion } from "../../jobs/evaluate/champion";
import { JobError } from "../../jobs/lib/errors";
import { MotoServer, resetMoto, startMoto } from "../support/moto";

const container = {
    Image: "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1",
    ModelDataUrl: "s3://artifacts/model.tar.gz",
};

describe("evaluate: champion lookup (moto)", function () {
    this.timeout(60_000);
    let moto: MotoServer;
    let sagemaker: SageMakerClient;
    let s3: S3Client;

    before(async () => {
        moto = await startMoto();
        sagemaker = new SageMakerClient(moto.clientConfig);
        s3 = new S3Client(moto.clientConfig);
    });
    after(async () => {
        await moto?.stop();
    });
    beforeEach(async () => {
        await resetMoto(moto);
        await s3.send(new CreateBucketCommand({ Bucket: "artifacts" }));
        await sagemaker.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: "staging-pets" }));
    });

    async function registerPackage(status: "Approved" | "PendingManualApproval" | "Rejected", statisticsKey?: string): Promise<string> {
        const created = await sagemaker.send(
            new CreateModelPackageCommand({
                ModelPackageGroupName: "staging-pets",
                ModelApprovalStatus: status,
                InferenceSpecification: {
                    Containers: [container],
                    SupportedContentTypes: ["application/x-image"],
                    SupportedResponseMIMETypes: ["application/json"],
                },
                ModelMetrics: statisticsKey
                    ? { ModelQuality: { Statistics: { ContentType: "application/json", S3Uri: `s3://artifacts/${statisticsKey}` } } }
                    : undefined,
            }),
        );
        return created.ModelPackageArn!;
    }

    const statistics = (accuracy: number) =>
        JSON.stringify({ version: 0, multiclass_classification_metrics: { accuracy: { value: accuracy, standard_deviation: "NaN" } } });

    it("reads the newest Approved package's accuracy from its registered statistics", async () => {
        await s3.send(new PutObjectCommand({ Bucket: "artifacts", Key: "v1/statistics.json", Body: statistics(0.81) }));
        await s3.send(new PutObjectCommand({ Bucket: "artifacts", Key: "v2/statistics.json", Body: statistics(0.86) }));
        await registerPackage("Approved", "v1/statistics.json");
        const newestApproved = await registerPackage("Approved", "v2/statistics.json");
        await registerPackage("PendingManualApproval", "v1/statistics.json"); // newer, but not approved
        const champion = await findChampion(sagemaker, s3, "staging-pets");
        expect(champion).to.deep.equal({ arn: newestApproved, accuracy: 0.86, statisticsUri: "s3://artifacts/v2/statistics.json" });
    });

    it("says there is no champion when nothing was approved", async () => {
        await registerPackage("PendingManualApproval", undefined);
        expect(await findChampion(sagemaker, s3, "staging-pets")).to.equal(null);
    });

    it("records an approved package without statistics, with a note instead of an accuracy", async () => {
        const arn = await registerPackage("Approved", undefined);
        const champion = await findChampion(sagemaker, s3, "staging-pets");
        expect(champion?.arn).to.equal(arn);
        expect(champion?.accuracy).to.equal(null);
        expect(champion?.note).to.match(/no model-quality statistics/);
    });

    it("fails clearly when the registered statistics cannot be read", async () => {
        await registerPackage("Approved", "missing/statistics.json");
        const err = await findChampion(sagemaker, s3, "staging-pets").catch((e) => e);
        expect(err).to.be.instanceOf(JobError);
        expect(err.message).to.match(/cannot read the champion's statistics s3:\/\/artifacts\/missing\/statistics\.json/);
    });
});
