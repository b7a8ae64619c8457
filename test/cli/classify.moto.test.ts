import { expect } from "chai";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { SageMakerClient } from "@aws-sdk/client-sagemaker";
import { CreateStateMachineCommand, DescribeExecutionCommand, SFNClient } from "@aws-sdk/client-sfn";
import { STSClient } from "@aws-sdk/client-sts";
import { createHash } from "crypto";
import { classify, classifyOptions } from "../../jobs/cli/classify";
import { CliError } from "../../jobs/cli/common";
import { executionName, inferenceWorkflowDefinition, stateMachineName } from "../../infra/inference-workflow";
import { bucketName } from "../../infra/naming";
import { reviewKeys } from "../../infra/review-contract";
import { MotoServer, resetMoto, startMoto } from "../support/moto";
import { definitionInput } from "../support/inference";
import { noiseImage, tempDir, writeAt } from "../jobs/support/images";

const MODEL = "bikes-vs-motorcycles";
const RAW = bucketName("staging", "raw", "123456789012", "us-east-1");

describe("classify CLI (moto)", function () {
    this.timeout(60_000);
    let moto: MotoServer;
    let s3: S3Client;
    let sfn: SFNClient;
    before(async () => {
        moto = await startMoto();
    });
    after(async () => moto?.stop());
    beforeEach(async () => {
        await resetMoto(moto);
        s3 = new S3Client(moto.clientConfig);
        sfn = new SFNClient(moto.clientConfig);
        await s3.send(new CreateBucketCommand({ Bucket: RAW }));
        await sfn.send(
            new CreateStateMachineCommand({
                name: stateMachineName("staging", MODEL),
                roleArn: "arn:aws:iam::123456789012:role/vision-mlops-staging-bikes-vs-motorcycles-inference",
                definition: JSON.stringify(inferenceWorkflowDefinition(definitionInput())),
            }),
        );
    });
    const deps = (printed: string[]) => ({
        makeClients: () => ({ sagemaker: new SageMakerClient(moto.clientConfig), s3, sts: new STSClient(moto.clientConfig) }),
        sfn,
        print: (l: string) => printed.push(l),
        pollSeconds: 0,
    });

    it("uploads a local image under the model's incoming prefix and starts the execution named after its content", async () => {
        const bytes = await noiseImage(32, 32, "png");
        const file = writeAt(tempDir("classify-cli"), "bike.png", bytes);
        const printed: string[] = [];
        const code = await classify({ stack: "staging", model: MODEL, image: file, waitSeconds: 0 }, deps(printed));
        expect(code).to.equal(0);
        const sha = createHash("sha256").update(bytes).digest("hex");
        const key = `${MODEL}/inference/incoming/${sha}.png`;
        const stored = await (await s3.send(new GetObjectCommand({ Bucket: RAW, Key: key }))).Body!.transformToByteArray();
        expect(Buffer.from(stored).equals(bytes)).to.equal(true);
        const arn = `arn:aws:states:us-east-1:123456789012:execution:${stateMachineName("staging", MODEL)}:${executionName(sha)}`;
        expect(printed[0]).to.equal(`started ${arn}`);
        const execution = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
        expect(JSON.parse(execution.input!)).to.deep.equal({ image: `s3://${RAW}/${key}` });
    });

    it("says when the image went to review, with its Label Studio task", async () => {
        const bytes = await noiseImage(32, 32, "jpeg");
        const key = `incoming/bikes-vs-motorcycles/x.jpg`;
        await s3.send(new PutObjectCommand({ Bucket: RAW, Key: key, Body: bytes }));
        const item = executionName(createHash("sha256").update(bytes).digest("hex"));
        await s3.send(new PutObjectCommand({ Bucket: RAW, Key: reviewKeys.task(MODEL, item), Body: "{}" }));
        const printed: string[] = [];
        expect(await classify({ stack: "staging", model: MODEL, image: `s3://${RAW}/${key}`, waitSeconds: 5 }, deps(printed))).to.equal(0);
        expect(printed[1]).to.match(/^sent to review: .*tasks\/img-[0-9a-f]{40}\.json/);
    });

    it("refuses what it cannot classify, naming what to do", async () => {
        const printed: string[] = [];
        const notImage = writeAt(tempDir("classify-cli"), "notes.jpg", "hello");
        await classify({ stack: "staging", model: MODEL, image: notImage, waitSeconds: 0 }, deps(printed)).then(
            () => expect.fail("accepted"),
            (e) => expect((e as Error).message).to.match(/notes\.jpg: the file is not a JPEG, PNG or WebP image/),
        );
        await classify(
            { stack: "staging", model: MODEL, image: `s3://${RAW}/${MODEL}/batches/b/bicycle/x.jpg`, waitSeconds: 0 },
            deps(printed),
        ).then(
            () => expect.fail("accepted"),
            (e) =>
                expect((e as Error).message).to.match(
                    /put it under .*bikes-vs-motorcycles\/inference\/incoming\/ or incoming\/bikes-vs-motorcycles\//,
                ),
        );
        expect(() => classifyOptions(["--stack", "staging", "--model", MODEL])).to.throw(CliError, /exactly one image/);
    });
});
