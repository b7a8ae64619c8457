import { expect } from "chai";
import { CloudWatchClient, ListMetricsCommand } from "@aws-sdk/client-cloudwatch";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { SageMakerRuntime } from "@aws-sdk/client-sagemaker-runtime";
import {
    CreateStateMachineCommand,
    DescribeExecutionCommand,
    ListExecutionsCommand,
    SendTaskHeartbeatCommand,
    SendTaskSuccessCommand,
    SFNClient,
    StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import { CreateTopicCommand, PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { createHash } from "crypto";
import { writeFileSync } from "fs";
import { join } from "path";
import { bundleLambda, lambdaArchive } from "../../infra/lambda-bundle";
import {
    executionName,
    INFERENCE_CLASSES_FILE,
    INFERENCE_ENV,
    inferenceNamespace,
    inferenceWorkflowDefinition,
    WorkflowDefinitionInput,
} from "../../infra/inference-workflow";
import { BATCH_MANIFEST_FILE, prefixes } from "../../infra/naming";
import { LabelStudioTask, reviewKeys, ReviewBatch, ReviewedItem, WaitingReview } from "../../infra/review-contract";
import { runCallback } from "../../jobs/inference/callback";
import { runReviewAction } from "../../jobs/inference/review";
import { fileCorrection } from "../../jobs/inference/corrections";
import { runStart } from "../../jobs/inference/start";
import {
    ClassificationState,
    classifyStep,
    Sender,
    WorkflowClients,
    WorkflowError,
    WorkflowSettings,
    writeReviewBatch,
} from "../../jobs/inference/workflow";
import { listKeys } from "../../jobs/ingest/s3";
import { definitionInput } from "../support/inference";
import { MotoServer, queueEndpointResults, resetMoto, SeenInvocation, startMoto, startRuntimeShim } from "../support/moto";
import { noiseImage, tempDir } from "./support/images";

// aws-local-stepfunctions 3 uses Promise.withResolvers (Node 22+); Node 20 lacks it.
const P = Promise as unknown as { withResolvers?: () => unknown };
P.withResolvers ??= () => {
    let resolve: unknown, reject: unknown;
    const promise = new Promise((res, rej) => ((resolve = res), (reject = rej)));
    return { promise, resolve, reject };
};
const { StateMachine } = require("aws-local-stepfunctions") as typeof import("aws-local-stepfunctions");

const MODEL = "bikes";
const BUCKET = "vision-mlops-staging-raw-123456789012-us-east-1";
const CLASSES = ["bicycle", "motorcycle"];
const MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:vision-mlops-staging-bikes-inference";
const PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/vision-mlops-staging-bikes/3";

describe("inference workflow handlers and state machine (moto)", function () {
    this.timeout(60_000);
    let moto: MotoServer;
    let shim: Awaited<ReturnType<typeof startRuntimeShim>>;
    let s3: S3Client;
    let settings: WorkflowSettings;
    let clients: WorkflowClients;
    let published: PublishCommand[];
    let imageSeed = 0;

    before(async () => {
        moto = await startMoto();
        shim = await startRuntimeShim(moto);
    });
    after(async () => {
        await shim?.stop();
        await moto?.stop();
    });
    beforeEach(async () => {
        await resetMoto(moto);
        shim.seen.length = 0;
        s3 = new S3Client(moto.clientConfig);
        await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
        const sns = new SNSClient(moto.clientConfig);
        const topic = await sns.send(new CreateTopicCommand({ Name: "vision-mlops-staging-alerts" }));
        published = [];
        const recordingSns: Sender = {
            send: (c: object) => {
                if (c instanceof PublishCommand) published.push(c);
                return sns.send(c as PublishCommand);
            },
        };
        settings = {
            environment: "staging",
            model: MODEL,
            region: "us-east-1",
            rawBucket: BUCKET,
            endpointName: "vision-mlops-staging-bikes",
            modelPackageArn: PACKAGE,
            classes: CLASSES,
            topK: 2,
            alertTopicArn: topic.TopicArn!,
            stateMachineArn: MACHINE,
            reviewBatchSize: 2,
            imagePrefixes: [`${MODEL}/inference/incoming/`, "incoming/bikes/"],
        };
        clients = {
            s3,
            runtime: new SageMakerRuntime({ ...moto.clientConfig, endpoint: shim.endpoint }),
            sns: recordingSns,
            cloudwatch: new CloudWatchClient(moto.clientConfig),
            now: () => new Date("2026-12-01T10:00:00Z"),
        };
    });

    /** A distinct JPEG under the incoming prefix (moto keys queued answers on the body). */
    async function uploadImage(
        prefix = `${MODEL}/inference/incoming/`,
    ): Promise<{ uri: string; key: string; bytes: Buffer; name: string }> {
        const bytes = await noiseImage(32, 32, "jpeg", 40 + imageSeed++ * 7);
        const sha = createHash("sha256").update(bytes).digest("hex");
        const key = `${prefix}${sha}.jpg`;
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: bytes, ContentType: "image/jpeg" }));
        return { uri: `s3://${BUCKET}/${key}`, key, bytes, name: executionName(sha) };
    }
    const answer = (...p: number[]) => ({ Body: JSON.stringify(p) });
    const text = async (key: string) => await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString();
    const keys = async (prefix: string) => {
        const out: string[] = [];
        for await (const k of listKeys(s3, BUCKET, prefix)) out.push(k);
        return out.sort();
    };
    /** The workflow's state machine in moto, and the settings that name it. */
    async function motoMachine(): Promise<{ sfn: SFNClient; s: WorkflowSettings }> {
        const sfn = new SFNClient(moto.clientConfig);
        const machine = await sfn.send(
            new CreateStateMachineCommand({
                name: "vision-mlops-staging-bikes-inference",
                roleArn: "arn:aws:iam::123456789012:role/vision-mlops-staging-bikes-inference",
                definition: JSON.stringify(inferenceWorkflowDefinition(definitionInput())),
            }),
        );
        return { sfn, s: { ...settings, stateMachineArn: machine.stateMachineArn! } };
    }
    async function classification(over: Partial<ClassificationState> = {}): Promise<ClassificationState> {
        const img = await uploadImage();
        await queueEndpointResults(moto, [answer(0.61, 0.39)]);
        return { ...(await classifyStep(clients, settings, { image: img.uri, item_id: img.name })), ...over };
    }

    describe("classify", () => {
        it("reads the image by URI, invokes this endpoint with its bytes and type, and names the top classes", async () => {
            const img = await uploadImage();
            await queueEndpointResults(moto, [answer(0.2, 0.8)]);
            const c = await classifyStep(clients, settings, { image: img.uri, item_id: img.name });
            expect(c.top).to.deep.equal([
                { label: "motorcycle", confidence: 0.8 },
                { label: "bicycle", confidence: 0.2 },
            ]);
            expect(c.confidence).to.equal(0.8);
            expect(c.margin).to.be.closeTo(0.6, 1e-12);
            expect(c).to.deep.include({ item_id: img.name, model_package: PACKAGE, content_type: "image/jpeg", key: img.key });
            expect(shim.seen).to.have.length(1);
            const seen: SeenInvocation = shim.seen[0];
            expect(seen).to.deep.include({ endpointName: settings.endpointName, contentType: "image/jpeg", inferenceId: img.name });
            expect(seen.body.equals(img.bytes)).to.equal(true);
        });

        it("fails a file that is not an image as BadImage without calling the endpoint", async () => {
            const key = `${MODEL}/inference/incoming/notes.jpg`;
            await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "not an image at all" }));
            const err = await classifyStep(clients, settings, { image: `s3://${BUCKET}/${key}`, item_id: `img-${"0".repeat(40)}` }).catch(
                (e) => e,
            );
            expect(err).to.be.instanceOf(WorkflowError);
            expect(err.name).to.equal("BadImage");
            expect(err.message).to.match(/not a JPEG, PNG or WebP/);
            expect(shim.seen).to.have.length(0);
        });

        it("fails an image over InvokeEndpoint's 6 MB as BadImage before reading it", async () => {
            const key = `${MODEL}/inference/incoming/huge.jpg`;
            const huge = Buffer.alloc(6 * 1024 * 1024 + 1);
            huge.set([0xff, 0xd8, 0xff]);
            await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: huge }));
            const err = await classifyStep(clients, settings, { image: `s3://${BUCKET}/${key}`, item_id: `img-${"1".repeat(40)}` }).catch(
                (e) => e,
            );
            expect(err.name).to.equal("BadImage");
            expect(err.message).to.match(/6291457 bytes; at most 6291456/);
            expect(shim.seen).to.have.length(0);
        });

        it("refuses images outside the prefixes it serves (ImageNotFound), so the input cannot read the training data", async () => {
            const err = await classifyStep(clients, settings, {
                image: `s3://${BUCKET}/${MODEL}/batches/b1/bicycle/x.jpg`,
                item_id: `img-${"2".repeat(40)}`,
            }).catch((e) => e);
            expect(err.name).to.equal("ImageNotFound");
        });

        it("names the endpoint's throttling EndpointBusy, the error the state machine retries", async () => {
            const img = await uploadImage();
            const throttled: WorkflowClients = {
                ...clients,
                runtime: {
                    invokeEndpoint: async () => Promise.reject(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" })),
                },
            };
            const err = await classifyStep(throttled, settings, { image: img.uri, item_id: img.name }).catch((e) => e);
            expect(err.name).to.equal("EndpointBusy");
        });
    });

    describe("review queue", () => {
        it("queues a low-confidence image: copy, waiting token, Label Studio task with pre-annotation, alert, metrics", async () => {
            const c = await classification();
            await runReviewAction(clients, settings, {
                action: "enqueue",
                classification: c,
                task_token: "tok-1",
                execution_arn: `${MACHINE}:x`,
            });
            expect(await keys(prefixes.reviewPending(MODEL))).to.deep.equal([reviewKeys.pendingImage(MODEL, c.item_id, "image/jpeg")]);
            const task = JSON.parse(await text(reviewKeys.task(MODEL, c.item_id))) as LabelStudioTask;
            expect(task.data.image).to.equal(`s3://${BUCKET}/${reviewKeys.pendingImage(MODEL, c.item_id, "image/jpeg")}`);
            expect(task.data.top_classes).to.equal("bicycle 61%, motorcycle 39%");
            expect(task.predictions[0].result[0].value.choices).to.deep.equal(["bicycle"]);
            expect(task.predictions[0].score).to.equal(0.61);
            const waiting = JSON.parse(await text(reviewKeys.waiting(MODEL, c.item_id))) as WaitingReview;
            expect(waiting).to.deep.include({ item_id: c.item_id, task_token: "tok-1" });
            expect(published).to.have.length(1);
            expect(published[0].input.Message).to.include("https://us-east-1.console.aws.amazon.com/s3/object/").and.include("bicycle 61%");
            const metrics = await new CloudWatchClient(moto.clientConfig).send(
                new ListMetricsCommand({ Namespace: inferenceNamespace(MODEL) }),
            );
            expect(metrics.Metrics!.map((m) => m.MetricName).sort()).to.deep.equal(["Confidence", "LowConfidence"]);
        });

        it("resumes the execution waiting for the annotated item with the reviewer's label", async () => {
            const c = await classification();
            await runReviewAction(clients, settings, {
                action: "enqueue",
                classification: c,
                task_token: "tok-2",
                execution_arn: `${MACHINE}:x`,
            });
            const sent: object[] = [];
            const sfn: Sender = { send: async (cmd: object) => void sent.push(cmd) };
            await s3.send(
                new PutObjectCommand({
                    Bucket: BUCKET,
                    Key: `${prefixes.reviewAnnotations(MODEL)}41`,
                    Body: JSON.stringify(annotation(c.item_id, "motorcycle")),
                }),
            );
            const result = await runCallback({ ...clients, sfn }, settings, objectCreated(`${prefixes.reviewAnnotations(MODEL)}41`));
            expect(result).to.deep.include({ status: "resumed", item_id: c.item_id, verdict: "label" });
            expect(sent).to.have.length(1);
            const cmd = sent[0] as SendTaskSuccessCommand;
            expect(cmd).to.be.instanceOf(SendTaskSuccessCommand);
            expect(cmd.input.taskToken).to.equal("tok-2");
            expect(JSON.parse(cmd.input.output!)).to.deep.include({ verdict: "label", label: "motorcycle", reviewer: "ann@example.com" });
        });

        it("files a label that arrives after its execution timed out, and heartbeats only items still queued", async () => {
            const c = await classification();
            await runReviewAction(clients, settings, {
                action: "enqueue",
                classification: c,
                task_token: "tok-3",
                execution_arn: `${MACHINE}:x`,
            });
            const sent: object[] = [];
            const gone: Sender = {
                send: async (cmd: object) => {
                    sent.push(cmd);
                    if (cmd instanceof SendTaskSuccessCommand) throw Object.assign(new Error("Task Timed Out"), { name: "TaskTimedOut" });
                },
            };
            const beat = await runCallback({ ...clients, sfn: gone }, settings, { "detail-type": "Scheduled Event", detail: {} });
            expect(beat).to.deep.equal({ sent: 1, skipped: 0 });
            expect((sent[0] as SendTaskHeartbeatCommand).input.taskToken).to.equal("tok-3");
            await s3.send(
                new PutObjectCommand({
                    Bucket: BUCKET,
                    Key: `${prefixes.reviewAnnotations(MODEL)}42`,
                    Body: JSON.stringify(annotation(c.item_id, "bicycle")),
                }),
            );
            const result = await runCallback({ ...clients, sfn: gone }, settings, objectCreated(`${prefixes.reviewAnnotations(MODEL)}42`));
            expect(result).to.deep.equal({ status: "filed-late", item_id: c.item_id });
            const record = JSON.parse(await text(reviewKeys.reviewedRecord(MODEL, "bicycle", c.item_id))) as ReviewedItem;
            expect(record).to.deep.include({
                label: "bicycle",
                reviewer: "ann@example.com",
                inference_id: c.item_id,
                model_package: PACKAGE,
                predicted_label: "bicycle",
            });
            expect(await keys(prefixes.reviewPending(MODEL))).to.deep.equal([]);
            const after = await runCallback({ ...clients, sfn: gone }, settings, { "detail-type": "Scheduled Event", detail: {} });
            expect(after).to.deep.equal({ sent: 0, skipped: 0 });
        });

        it("starts one execution per image content from the trigger prefix", async () => {
            const { sfn, s } = await motoMachine();
            const img = await uploadImage("incoming/bikes/");
            const first = (await runStart({ ...clients, sfn }, s, objectCreated(img.key))) as {
                name: string;
                started: boolean;
                executionArn: string;
            };
            expect(first).to.deep.include({ name: img.name, started: true });
            const described = await sfn.send(new DescribeExecutionCommand({ executionArn: first.executionArn }));
            expect(JSON.parse(described.input!)).to.deep.equal({ image: img.uri });
            // The same bytes under another name are the same image: no second classification.
            await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "incoming/bikes/copy.jpg", Body: img.bytes }));
            await sfn.send(new (await import("@aws-sdk/client-sfn")).StopExecutionCommand({ executionArn: first.executionArn }));
            const again = await runStart({ ...clients, sfn }, s, objectCreated("incoming/bikes/copy.jpg"));
            expect(again).to.deep.include({ name: img.name, started: false });
            expect(await runStart({ ...clients, sfn }, s, objectCreated("incoming/bikes/x.jpg.prediction.json"))).to.deep.equal({
                status: "ignored",
            });
        });

        it("starts a correction's review when its record arrives, named after the correction, with the page's answer and the person's class", async () => {
            const { sfn, s } = await motoMachine();
            const image = await noiseImage(32, 32, "jpeg", 70);
            const filed = await fileCorrection(s3, {
                bucket: BUCKET,
                model: MODEL,
                classes: CLASSES,
                image,
                label: "motorcycle",
                submittedBy: "pat@example.com",
                prediction: {
                    top: [
                        { label: "bicycle", confidence: 0.7 },
                        { label: "motorcycle", confidence: 0.3 },
                    ],
                    inference_id: "req-42",
                    model_package: PACKAGE,
                },
                now: () => new Date("2026-12-01T09:30:00Z"),
            });
            const id = filed.correction.id;
            const started = (await runStart({ ...clients, sfn }, s, objectCreated(filed.recordKey))) as {
                name: string;
                started: boolean;
                executionArn: string;
            };
            expect(started).to.deep.include({ name: id, started: true });
            const described = await sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
            expect(JSON.parse(described.input!)).to.deep.equal({
                image: `s3://${BUCKET}/${MODEL}/review/corrections/${id}.jpg`,
                bucket: BUCKET,
                key: `${MODEL}/review/corrections/${id}.jpg`,
                item_id: id,
                content_type: "image/jpeg",
                sha256: createHash("sha256").update(image).digest("hex"),
                top: [
                    { label: "bicycle", confidence: 0.7 },
                    { label: "motorcycle", confidence: 0.3 },
                ],
                confidence: 0.7,
                margin: 0.7 - 0.3,
                endpoint: "vision-mlops-staging-bikes",
                model_package: PACKAGE,
                classified_at: "2026-12-01T09:30:00.000Z",
                inference_id: "req-42",
                suggestion: { label: "motorcycle", by: "pat@example.com" },
            });
            // The page sends the same correction again (a retry, a second click): one review. (Step Functions answers
            // a repeated start of a running execution with that execution, and ExecutionAlreadyExists once it ended.)
            expect(await runStart({ ...clients, sfn }, s, objectCreated(filed.recordKey))).to.deep.include({
                name: id,
                executionArn: started.executionArn,
            });
            const executions = await sfn.send(new ListExecutionsCommand({ stateMachineArn: s.stateMachineArn }));
            expect(executions.executions!.map((e) => e.name)).to.deep.equal([id]);
            // The image arriving first is no record; nothing starts.
            expect(await runStart({ ...clients, sfn }, s, objectCreated(filed.imageKey))).to.deep.include({ status: "ignored" });
        });

        it("reviews no correction it cannot trust: another model's, a class the model lacks, an image that is not the one recorded", async () => {
            const s = settings;
            const started: object[] = [];
            const recording: Sender = { send: async (c: object) => void started.push(c) };
            const image = await noiseImage(32, 32, "jpeg", 90);
            const filed = await fileCorrection(s3, { bucket: BUCKET, model: MODEL, classes: CLASSES, image, label: "bicycle" });
            const record = JSON.parse(await text(filed.recordKey));
            const rewrite = async (over: Record<string, unknown>) =>
                s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: filed.recordKey, Body: JSON.stringify({ ...record, ...over }) }));
            const why = async () =>
                (await runStart({ ...clients, sfn: recording }, s, objectCreated(filed.recordKey))) as { status?: string; why?: string };

            await rewrite({ label: "scooter" });
            expect(await why()).to.deep.equal({
                status: "ignored",
                why: `s3://${BUCKET}/${filed.recordKey}: "scooter" is not a class of model bikes (bicycle, motorcycle)`,
            });
            await rewrite({ model: "cars" });
            expect((await why()).why).to.match(/names correction "fix-[0-9a-f]+" of model "cars"$/);
            await rewrite({ image_key: `${MODEL}/review/pending/${record.id}.jpg` });
            expect((await why()).why).to.match(/its image "bikes\/review\/pending\/fix-[0-9a-f]+\.jpg" is not the correction's own$/);
            await rewrite({});
            await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: filed.imageKey, Body: await noiseImage(32, 32, "jpeg", 160) }));
            expect((await why()).why).to.match(/its image is not the one the record's sha256 names$/);
            await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: filed.recordKey, Body: "{not json" }));
            expect((await why()).why).to.match(/is not JSON$/);
            const otherModel = `cars/review/corrections/${record.id}.json`;
            expect(await runStart({ ...clients, sfn: recording }, s, objectCreated(otherModel))).to.deep.equal({ status: "ignored" });
            expect(started, "no execution was started").to.deep.equal([]);
        });
    });

    it("the deployed bundle runs the handler its function names, with the settings from its environment", async () => {
        // Unpacked as Lambda does: the archive's files in one folder, the class list beside the bundle.
        const root = tempDir("inference-bundle");
        const archive = lambdaArchive(bundleLambda("jobs/inference/handler.ts"), { [INFERENCE_CLASSES_FILE]: JSON.stringify(CLASSES) });
        for (const [name, text] of Object.entries(archive.files)) writeFileSync(join(root, name), text);
        const file = join(root, "index.js");
        const env: Record<string, string> = {
            ...moto.env,
            [INFERENCE_ENV.function]: "review",
            [INFERENCE_ENV.environment]: "staging",
            [INFERENCE_ENV.model]: MODEL,
            [INFERENCE_ENV.rawBucket]: BUCKET,
        };
        const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
        Object.assign(process.env, env);
        try {
            const { handler } = require(file) as { handler: (e: unknown) => Promise<{ prediction_key: string }> };
            const c = await classification();
            const out = await handler({ action: "prediction", classification: c });
            expect(out.prediction_key).to.equal(`${c.key}.prediction.json`);
            expect(JSON.parse(await text(out.prediction_key)).inference_id).to.equal(c.item_id);
        } finally {
            for (const [k, v] of Object.entries(saved))
                if (v === undefined) delete process.env[k];
                else process.env[k] = v;
        }
    });

    // ---------------------------------------------------------------------------------------------------
    // The state machine, executed by aws-local-stepfunctions with each Lambda task bound to its real handler.

    /**
     * Step Functions' task-token service for the interpreter (which has none): a `.waitForTaskToken` task's
     * handler runs, then the task waits until SendTaskSuccess names its token; unknown tokens are TaskTimedOut.
     */
    class TokenService implements Sender {
        readonly waiting = new Map<string, (output: unknown) => void>();
        readonly heartbeats: string[] = [];
        async send(cmd: object): Promise<unknown> {
            if (cmd instanceof SendTaskSuccessCommand) {
                const resume = this.waiting.get(cmd.input.taskToken!);
                if (!resume) throw Object.assign(new Error("Task Timed Out"), { name: "TaskTimedOut" });
                this.waiting.delete(cmd.input.taskToken!);
                resume(JSON.parse(cmd.input.output!));
                return {};
            }
            if (cmd instanceof SendTaskHeartbeatCommand) this.heartbeats.push(cmd.input.taskToken!);
            return {};
        }
        /** Resolves once a task waits for `token`. */
        async until(token: string): Promise<void> {
            while (!this.waiting.has(token)) await new Promise((r) => setTimeout(r, 5));
        }
    }

    /** The Lambda integration's result shape (`{"Payload": ...}`), and the function's error name as the error. */
    const lambda = (fn: (payload: any) => Promise<unknown>) => async (input: any) => {
        try {
            return { StatusCode: 200, Payload: (await fn(input.Payload)) as object };
        } catch (e) {
            throw Object.assign(new Error((e as Error).message), { name: (e as Error).name });
        }
    };

    // Building a StateMachine validates its definition (asl-validator): once per definition.
    const machines = new Map<string, InstanceType<typeof StateMachine>>();
    const machineFor = (definition: Record<string, unknown>) => {
        const key = JSON.stringify(definition);
        if (!machines.has(key)) machines.set(key, new StateMachine(definition as never));
        return machines.get(key)!;
    };

    function execute(
        definition: Record<string, unknown>,
        image: { uri: string; name: string },
        tokens: TokenService,
        c: WorkflowClients = clients,
        input: Record<string, unknown> = { image: image.uri },
    ) {
        const wf: WorkflowClients = { ...c, sfn: tokens };
        const review = (p: any) => runReviewAction(wf, settings, p);
        const machine = machineFor(definition);
        const states: string[] = [];
        const retried: string[] = [];
        const run = machine.run(input as never, {
            context: {
                Execution: { Name: image.name, Id: `${MACHINE.replace(":stateMachine:", ":execution:")}:${image.name}` },
                Task: { Token: `token-${image.name}` },
            } as never,
            overrides: {
                taskResourceLocalHandlers: {
                    Classify: lambda((p) => classifyStep(wf, settings, p)) as never,
                    WritePrediction: lambda(review) as never,
                    QueueForReview: (async (input: any) => {
                        await review(input.Payload);
                        return new Promise((resolve) => tokens.waiting.set(input.Payload.task_token, resolve as (o: unknown) => void));
                    }) as never,
                    FileReviewed: lambda(review) as never,
                    CloseInvalid: lambda(review) as never,
                    RecordTimeout: lambda(review) as never,
                    WriteReviewBatch: lambda(() => writeReviewBatch(wf, settings)) as never,
                },
                retryIntervalOverrides: { Classify: 0 },
            },
        });
        const logged = (async () => {
            for await (const e of run.eventLogs as AsyncGenerator<any>) {
                if (e.type === "StateEntered") states.push(e.state.name);
                if (e.type === "StateRetried") retried.push(e.state.name);
            }
        })();
        const outcome = run.result.then(
            (output: unknown) => ({ status: "SUCCEEDED" as const, output: output as any, error: undefined }),
            (e: any) => ({ status: "FAILED" as const, output: undefined, error: (e.cause?.name as string) ?? e.name }),
        );
        return { outcome: outcome.then(async (o) => (await logged, { ...o, states, retried })), token: `token-${image.name}` };
    }

    const annotation = (itemId: string, label: string) => ({
        id: 41,
        result: [{ from_name: "label", to_name: "image", type: "choices", value: { choices: [label] } }],
        completed_by: { id: 7, email: "ann@example.com" },
        task: { id: 9, data: { item_id: itemId } },
    });
    const objectCreated = (key: string) => ({
        source: "aws.s3",
        "detail-type": "Object Created",
        detail: { bucket: { name: BUCKET }, object: { key } },
    });

    async function annotate(itemId: string, label: string, tokens: TokenService, id: string): Promise<unknown> {
        const key = `${prefixes.reviewAnnotations(MODEL)}${id}`;
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: JSON.stringify(annotation(itemId, label)) }));
        return runCallback({ ...clients, sfn: tokens }, settings, objectCreated(key));
    }

    const def = (over: Partial<WorkflowDefinitionInput> = {}) =>
        inferenceWorkflowDefinition(definitionInput({ reviewBatchSize: 2, ...over }));

    it("high confidence: the prediction is written next to the image and the execution succeeds", async () => {
        const img = await uploadImage();
        await queueEndpointResults(moto, [answer(0.97, 0.03)]);
        const r = await execute(def(), img, new TokenService()).outcome;
        expect(r.status).to.equal("SUCCEEDED");
        expect(r.states).to.deep.equal(["Correction?", "Classify", "Confident?", "WritePrediction", "Classified"]);
        const prediction = JSON.parse(await text(`${img.key}.prediction.json`));
        expect(prediction).to.deep.include({ inference_id: img.name, model_package: PACKAGE, confidence: 0.97 });
        expect(prediction.top[0]).to.deep.equal({ label: "bicycle", confidence: 0.97 });
        expect(await keys(prefixes.reviewModel(MODEL))).to.deep.equal([]);
    });

    it("a margin below the configured one sends even a confident prediction to review", async () => {
        const img = await uploadImage();
        await queueEndpointResults(moto, [answer(0.95, 0.05)]);
        const tokens = new TokenService();
        const run = execute(def({ confidenceThreshold: 0.5, confidenceMargin: 0.95 }), img, tokens);
        await tokens.until(run.token);
        expect(await keys(prefixes.reviewTasks(MODEL))).to.deep.equal([reviewKeys.task(MODEL, img.name)]);
        await annotate(img.name, "bicycle", tokens, "1");
        expect((await run.outcome).states).to.include("FileReviewed");
    });

    it("low confidence: review, the label comes back, and two reviewed images become an ingest batch whose manifest starts training", async () => {
        const tokens = new TokenService();
        const a = await uploadImage();
        const b = await uploadImage();
        await queueEndpointResults(moto, [answer(0.55, 0.45), answer(0.4, 0.6)]);
        const runA = execute(def(), a, tokens);
        await tokens.until(runA.token);
        const runB = execute(def(), b, tokens);
        await tokens.until(runB.token);
        expect(published).to.have.length(2);

        // The second item's annotation resumes the second execution only.
        expect(await annotate(b.name, "bicycle", tokens, "100")).to.deep.include({ status: "resumed", item_id: b.name });
        const doneB = await runB.outcome;
        expect(doneB.status).to.equal("SUCCEEDED");
        expect(doneB.states.slice(-4)).to.deep.equal(["Verdict", "FileReviewed", "BatchDue?", "Labelled"]);
        expect(tokens.waiting.has(runA.token), "the first execution still waits").to.equal(true);
        expect(await keys(prefixes.reviewed(MODEL))).to.deep.equal([
            reviewKeys.reviewedImage(MODEL, "bicycle", b.name, "image/jpeg"),
            reviewKeys.reviewedRecord(MODEL, "bicycle", b.name),
        ]);

        expect(await annotate(a.name, "motorcycle", tokens, "101")).to.deep.include({ status: "resumed", item_id: a.name });
        const doneA = await runA.outcome;
        expect(doneA.states.slice(-3)).to.deep.equal(["BatchDue?", "WriteReviewBatch", "Labelled"]);
        const batch = doneA.output.batch as { batch_id: string; ingest: string };
        expect(batch.ingest).to.equal("complete");

        // Ingest's own form: the images under batches/<id>/<class>/, the manifest last, latest/ pointing at it.
        const manifestKey = prefixes.batchManifest(MODEL, batch.batch_id);
        expect(manifestKey.endsWith(`/${BATCH_MANIFEST_FILE}`)).to.equal(true);
        const manifest = JSON.parse(await text(manifestKey)) as [{ prefix: string }, ...string[]];
        expect(manifest[0]).to.deep.equal({ prefix: `s3://${BUCKET}/${MODEL}/` });
        const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex").slice(0, 32);
        expect(manifest.slice(1).sort()).to.deep.equal(
            [`batches/${batch.batch_id}/bicycle/${sha(b.bytes)}.jpg`, `batches/${batch.batch_id}/motorcycle/${sha(a.bytes)}.jpg`].sort(),
        );
        expect(JSON.parse(await text(prefixes.latestDataset(MODEL))).manifest_key).to.equal(manifestKey);
        const record = JSON.parse(await text(reviewKeys.batch(MODEL, batch.batch_id))) as ReviewBatch;
        expect(record.items.map((i) => [i.item_id, i.label, i.reviewer]).sort()).to.deep.equal(
            [
                [a.name, "motorcycle", "ann@example.com"],
                [b.name, "bicycle", "ann@example.com"],
            ].sort(),
        );
        expect(await keys(prefixes.reviewed(MODEL)), "a batch takes the reviewed items").to.deep.equal([]);
        expect(await keys(prefixes.reviewPending(MODEL))).to.deep.equal([]);
    });

    it("a reviewer's 'not a valid image' ends the item without a label", async () => {
        const tokens = new TokenService();
        const img = await uploadImage();
        await queueEndpointResults(moto, [answer(0.5, 0.5)]);
        const run = execute(def(), img, tokens);
        await tokens.until(run.token);
        await annotate(img.name, "_invalid", tokens, "7");
        const r = await run.outcome;
        expect(r.status).to.equal("SUCCEEDED");
        expect(r.states.slice(-2)).to.deep.equal(["CloseInvalid", "NotAValidImage"]);
        expect(JSON.parse(await text(reviewKeys.closed(MODEL, img.name)))).to.deep.include({
            reason: "invalid-image",
            reviewer: "ann@example.com",
        });
        expect(await keys(prefixes.reviewed(MODEL))).to.deep.equal([]);
        expect(await keys(prefixes.reviewPending(MODEL))).to.deep.equal([]);
    });

    it("timeout: the execution ends as ReviewTimedOut and the image stays queued", async () => {
        const img = await uploadImage();
        await queueEndpointResults(moto, [answer(0.5, 0.5)]);
        const r = await execute(def({ reviewTimeoutSeconds: 2, reviewHeartbeatSeconds: 1 }), img, new TokenService()).outcome;
        expect(r.status).to.equal("FAILED");
        expect(r.error).to.equal("ReviewTimedOut");
        expect(r.states.slice(-2)).to.deep.equal(["RecordTimeout", "ReviewTimedOut"]);
        expect(JSON.parse(await text(reviewKeys.closed(MODEL, img.name)))).to.deep.include({ reason: "review-timed-out" });
        expect(await keys(prefixes.reviewPending(MODEL))).to.deep.equal([reviewKeys.pendingImage(MODEL, img.name, "image/jpeg")]);
        expect(await keys(prefixes.reviewTasks(MODEL))).to.deep.equal([reviewKeys.task(MODEL, img.name)]);
    });

    it("bad image: the named BadImage Fail state, no endpoint call, nothing queued", async () => {
        const key = `${MODEL}/inference/incoming/corrupt.jpg`;
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Buffer.from("GIF89a not what it says") }));
        const r = await execute(def(), { uri: `s3://${BUCKET}/${key}`, name: `img-${"3".repeat(40)}` }, new TokenService()).outcome;
        expect(r.status).to.equal("FAILED");
        expect(r.error).to.equal("BadImage");
        expect(r.states).to.deep.equal(["Correction?", "Classify", "BadImage"]);
        expect(r.retried, "a bad image is not retried").to.deep.equal([]);
        expect(shim.seen).to.have.length(0);
        expect(await keys(prefixes.reviewModel(MODEL))).to.deep.equal([]);
    });

    it("throttling: Classify is retried until the endpoint answers", async () => {
        const img = await uploadImage();
        await queueEndpointResults(moto, [answer(0.99, 0.01)]);
        let throttles = 2;
        const real = clients.runtime!;
        const flaky: WorkflowClients = {
            ...clients,
            runtime: {
                invokeEndpoint: (input) =>
                    throttles-- > 0
                        ? Promise.reject(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }))
                        : real.invokeEndpoint(input),
            },
        };
        const r = await execute(def(), img, new TokenService(), flaky).outcome;
        expect(r.status).to.equal("SUCCEEDED");
        expect(r.retried).to.deep.equal(["Classify", "Classify"]);
        expect(r.states.at(-1)).to.equal("Classified");
    });

    it("a correction goes straight to review with the person's class suggested, and the reviewer's label is filed as a correction", async () => {
        const image = await noiseImage(32, 32, "jpeg", 110);
        const filed = await fileCorrection(s3, {
            bucket: BUCKET,
            model: MODEL,
            classes: CLASSES,
            image,
            label: "motorcycle",
            submittedBy: "pat@example.com",
            prediction: { top: [{ label: "bicycle", confidence: 0.8 }], inference_id: "req-7", model_package: PACKAGE },
        });
        const id = filed.correction.id;
        const launched: StartExecutionCommand[] = [];
        const capture: Sender = { send: async (c: object) => void launched.push(c as StartExecutionCommand) };
        await runStart({ ...clients, sfn: capture }, settings, objectCreated(filed.recordKey));
        expect(launched).to.have.length(1);
        expect(launched[0].input.name).to.equal(id);

        const tokens = new TokenService();
        const run = execute(def(), { uri: "", name: id }, tokens, clients, JSON.parse(launched[0].input.input!));
        await tokens.until(run.token);
        expect(shim.seen, "the endpoint is not asked again").to.have.length(0);
        const task = JSON.parse(await text(reviewKeys.task(MODEL, id))) as LabelStudioTask;
        expect(task.data).to.deep.include({
            reason: "correction",
            suggested_label: "motorcycle",
            suggested_by: "pat@example.com",
            inference_id: "req-7",
        });
        expect(task.data.top_classes).to.equal("bicycle 80%");
        expect(task.predictions.map((p) => [p.model_version, p.result[0].value.choices[0]])).to.deep.equal([
            ["correction", "motorcycle"],
            [PACKAGE, "bicycle"],
        ]);
        expect(await keys(prefixes.reviewPending(MODEL))).to.deep.equal([reviewKeys.pendingImage(MODEL, id, "image/jpeg")]);
        expect(published).to.have.length(1);
        expect(published[0].input.Message).to.include(
            `pat@example.com says model bikes (staging) was wrong about s3://${BUCKET}/${filed.imageKey}: it is motorcycle (the model said bicycle 80%).`,
        );
        const metrics = await new CloudWatchClient(moto.clientConfig).send(
            new ListMetricsCommand({ Namespace: inferenceNamespace(MODEL) }),
        );
        expect(
            metrics.Metrics!.map((m) => m.MetricName),
            "a correction is not a low-confidence prediction",
        ).to.deep.equal(["Correction"]);

        await annotate(id, "motorcycle", tokens, "55");
        const r = await run.outcome;
        expect(r.status).to.equal("SUCCEEDED");
        expect(r.states).to.deep.equal(["Correction?", "QueueForReview", "Verdict", "FileReviewed", "BatchDue?", "Labelled"]);
        const reviewed = JSON.parse(await text(reviewKeys.reviewedRecord(MODEL, "motorcycle", id))) as ReviewedItem;
        expect(reviewed).to.deep.include({
            item_id: id,
            label: "motorcycle",
            source: "correction",
            suggested_label: "motorcycle",
            predicted_label: "bicycle",
            inference_id: "req-7",
            model_package: PACKAGE,
            sha256: createHash("sha256").update(image).digest("hex"),
        });
    });
});
