import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { STSClient } from "@aws-sdk/client-sts";
import { expect } from "chai";
import { ModelMonitor } from "../../components/model-monitor";
import { TrainingPipeline } from "../../components/training-pipeline";
import { ModelConfig } from "../../infra/config";
import { PipelineDefinition } from "../../infra/pipeline/builder";
import { readStackFile } from "../../infra/stack-file";
import { monitorSettings, trainingModelSettings } from "../../stacks/component-args";
import { main as ingestCli } from "../../jobs/cli/ingest";
import { noiseImage, tempDir, writeAt } from "../jobs/support/images";
import { eventBridgeParameters, processingCacheKey } from "../infra/pipeline/support/simulate";
import { find, settled, TEST_ACCOUNT, unwrapOutput, useMocks } from "../support/mocks";
import { MotoServer, startMoto } from "../support/moto";

const MODEL = "traffic-signs"; // staging: a batch trigger, rate(7 days) retraining and retraining after 6 drifting hours
const RAW = "raw-bucket";
const KEY = `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/lake-key`;
const REPO = `arn:aws:ecr:us-east-1:${TEST_ACCOUNT}:repository/vision-mlops-staging-jobs`;
const IMAGE = `${TEST_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/vision-mlops-staging-jobs@sha256:${"0".repeat(64)}`;
const TARGET = "aws:cloudwatch/eventTarget:EventTarget";
type Parameters = Record<string, string>;

/** The training pipeline and monitor of one model as the stack declares them: the definition and what each starter passes it. */
async function declare(config: ModelConfig): Promise<{
    definition: PipelineDefinition;
    batch: (manifestKey: string) => Parameters;
    schedule: () => Parameters;
    drift: () => Parameters;
}> {
    const declared = useMocks("staging");
    const training = new TrainingPipeline(MODEL, {
        environment: "staging",
        model: MODEL,
        settings: trainingModelSettings(config),
        retrainSchedule: config.training.retrainSchedule,
        buckets: { raw: RAW, curated: "curated-bucket", artifacts: "artifacts-bucket" },
        kmsKeyArn: KEY,
        jobsImageUri: IMAGE,
        jobsRepositoryArn: REPO,
        accountId: TEST_ACCOUNT,
        region: "us-east-1",
    });
    const monitor = new ModelMonitor(`${MODEL}-monitor`, {
        environment: "staging",
        model: MODEL,
        ...monitorSettings(config),
        endpointName: `vision-mlops-staging-${MODEL}`,
        captureBucket: "capture-bucket",
        kmsKeyArn: KEY,
        monitoringBaselineUri: "s3://artifacts-bucket/traffic-signs/executions/x/evaluation/monitoring_baseline.json",
        jobsImageUri: IMAGE,
        jobsRepositoryArn: REPO,
        alarmTopicArn: `arn:aws:sns:us-east-1:${TEST_ACCOUNT}:alerts`,
        accountId: TEST_ACCOUNT,
        region: "us-east-1",
        retrainOnDrift: { afterPeriods: config.monitoring.retrainAfterPeriods!, trainingPipelineArn: training.pipelineArn },
    });
    await settled(declared, training.definition, monitor.alarmNames);
    const parametersOf = (name: string) => find(declared, TARGET, name).inputs.sagemakerPipelineTarget?.pipelineParameterLists;
    // What EventBridge delivers when S3 reports a new object in the raw bucket.
    const objectCreated = (key: string) => ({
        source: "aws.s3",
        "detail-type": "Object Created",
        detail: { bucket: { name: RAW }, object: { key, size: 1234 } },
    });
    return {
        definition: JSON.parse(await unwrapOutput(training.definition)),
        batch: (key) => eventBridgeParameters(parametersOf(`${MODEL}-trigger-target`), objectCreated(key)),
        schedule: () =>
            eventBridgeParameters(parametersOf(`${MODEL}-schedule-target`), { source: "aws.events", "detail-type": "Scheduled Event" }),
        drift: () => eventBridgeParameters(parametersOf(`${MODEL}-monitor-retrain-target`), { source: "aws.cloudwatch" }),
    };
}

describe("training pipeline starters: each run preprocesses the dataset it was started for (step cache keys)", function () {
    this.timeout(120_000);
    const staging = readStackFile(".", "staging").models[MODEL];
    let moto: MotoServer;
    let s3: S3Client;
    let executions = 0;
    let wiring: Awaited<ReturnType<typeof declare>>;
    const keyOf = (definition: PipelineDefinition, parameters: Parameters) =>
        processingCacheKey({ definition, parameters, s3, executionId: `execution-${++executions}` }, "Preprocess");
    const quiet = { write: () => true };
    const ingest = async (batchId: string, classes: string[]) => {
        const dir = tempDir(`starters-${batchId}`);
        for (const [i, cls] of classes.entries()) writeAt(dir, `${cls}/${i}.jpg`, await noiseImage(16, 16, "jpeg"));
        await ingestCli(["--stack", "staging", "--model", MODEL, "--bucket", RAW, "--batch-id", batchId, dir], {
            makeClients: () => ({ s3, sts: new STSClient(moto.clientConfig), sagemaker: undefined as never }),
            stderr: quiet,
            stdout: quiet,
        });
        return `${MODEL}/batches/${batchId}/_manifest.json`;
    };

    // Each key below is computed once per dataset state; the assertions compare them.
    const keys: Record<string, string> = {};
    before(async () => {
        moto = await startMoto();
        s3 = new S3Client(moto.clientConfig);
        await s3.send(new CreateBucketCommand({ Bucket: RAW }));
        wiring = await declare(staging);
        const b1 = await ingest("b1", ["stop", "yield", "stop"]);
        keys.batch1 = await keyOf(wiring.definition, wiring.batch(b1));
        keys.schedule1 = await keyOf(wiring.definition, wiring.schedule());
        keys.drift1 = await keyOf(wiring.definition, wiring.drift());
        keys.batch1Again = await keyOf(wiring.definition, wiring.batch(b1));
        const b2 = await ingest("b2", ["yield", "priority-road"]);
        keys.batch2 = await keyOf(wiring.definition, wiring.batch(b2));
        keys.schedule2 = await keyOf(wiring.definition, wiring.schedule());
        keys.drift2 = await keyOf(wiring.definition, wiring.drift());
        const moreClasses = await declare({ ...staging, classes: [...staging.classes, "roadworks-ahead"] });
        keys.batch2Classes = await keyOf(moreClasses.definition, moreClasses.batch(b2));
        keys.schedule2Classes = await keyOf(moreClasses.definition, moreClasses.schedule());
        keys.drift2Classes = await keyOf(moreClasses.definition, moreClasses.drift());
    });
    after(async () => {
        await moto?.stop();
    });

    it("has a batch trigger, a schedule and a drift trigger that start the pipeline", () => {
        expect(wiring.batch("x")).to.have.property("BatchManifestKey", "x");
        expect(wiring.schedule()).to.be.an("object");
        expect(wiring.drift()).to.be.an("object");
    });

    it("gives the same dataset the same cache key whichever starter started the run", () => {
        expect(keys.batch1Again).to.equal(keys.batch1, "the same batch again may reuse the cached preprocess");
        expect(keys.schedule1).to.equal(keys.batch1, "a scheduled run trains on the newest dataset: batch 1's");
        expect(keys.drift1).to.equal(keys.batch1, "a drift-triggered run trains on the newest dataset: batch 1's");
    });

    it("gives new data a new cache key for every starter, so no run reuses a preprocess of older data", () => {
        expect(keys.batch2).to.not.equal(keys.batch1);
        expect(keys.schedule2).to.not.equal(keys.schedule1, "a scheduled run after new data");
        expect(keys.drift2).to.not.equal(keys.drift1, "a drift-triggered run after new data");
        expect(keys.schedule2).to.equal(keys.batch2);
        expect(keys.drift2).to.equal(keys.batch2);
    });

    it("gives a changed class list a new cache key for every starter", () => {
        expect(keys.batch2Classes).to.not.equal(keys.batch2);
        expect(keys.schedule2Classes).to.not.equal(keys.schedule2);
        expect(keys.drift2Classes).to.not.equal(keys.drift2);
    });
});
