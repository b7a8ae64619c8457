import { expect } from "chai";
import { ConfigError, formatProblem, parsePlatformConfig } from "../../infra/config";
import { PolicyDocument, writeActionsWithWildcardResource } from "../../infra/iam";
import {
    annotationEventPattern,
    correctionEventPattern,
    batchPolicy,
    callbackPolicy,
    classifyPolicy,
    executionName,
    heartbeatRate,
    imagePrefixes,
    incomingPrefix,
    INFERENCE_ERRORS,
    inferenceFunctionName,
    inferenceNamespace,
    inferenceWorkflowDefinition,
    reviewPolicy,
    startPolicy,
    invokeStatement,
    stateMachineArn,
    stateMachineName,
    triggerEventPattern,
    WorkflowDefinitionInput,
    WorkflowScope,
} from "../../infra/inference-workflow";
import { allowedBy, parsePolicy } from "../../infra/policy-evaluation";
import { ARN, definitionInput } from "../support/inference";
import { KMS_USE_ACTIONS } from "../support/iam-literals";

// asl-validator ships no type declarations.
const aslValidator = require("asl-validator") as (definition: unknown) => { isValid: boolean; errorsText: (sep?: string) => string };

type State = Record<string, any>;
const states = (d: Record<string, unknown>) => d.States as Record<string, State>;

const SCOPE: WorkflowScope = {
    model: "signs",
    region: "us-east-1",
    account: "123456789012",
    rawBucket: "vision-mlops-staging-raw-123456789012-us-east-1",
    dataKeyArn: "arn:aws:kms:us-east-1:123456789012:key/data",
    endpointName: "vision-mlops-staging-signs",
    alertTopicArn: "arn:aws:sns:us-east-1:123456789012:vision-mlops-staging-alerts",
    stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:vision-mlops-staging-signs-inference",
    triggerPrefix: "incoming/signs/",
};
const obj = (key: string) => `arn:aws:s3:::${SCOPE.rawBucket}/${key}`;

describe("inference workflow definition", () => {
    it("is valid Amazon States Language (asl-validator), with and without a margin", () => {
        for (const d of [
            inferenceWorkflowDefinition(definitionInput()),
            inferenceWorkflowDefinition(definitionInput({ confidenceMargin: 0.2 })),
        ]) {
            const result = aslValidator(d);
            expect(result.isValid, result.errorsText("\n")).to.equal(true);
        }
    });

    it("passes the image by URI and names the inference after the execution, never the bytes", () => {
        const c = states(inferenceWorkflowDefinition(definitionInput())).Classify;
        expect(c.Parameters.Payload).to.deep.equal({ "image.$": "$.image", "item_id.$": "$$.Execution.Name" });
        expect(c.Resource).to.equal("arn:aws:states:::lambda:invoke");
        expect(c.Parameters.FunctionName, "a function ARN, never $LATEST-pinned").to.equal(ARN("classify"));
    });

    it("retries the endpoint's throttling and unavailability with backoff and full jitter, and nothing that will not change", () => {
        const c = states(inferenceWorkflowDefinition(definitionInput())).Classify;
        expect(c.Retry).to.have.length(1);
        expect(c.Retry[0].ErrorEquals).to.include(INFERENCE_ERRORS.endpointBusy);
        expect(c.Retry[0].ErrorEquals).to.not.include.members([
            INFERENCE_ERRORS.badImage,
            INFERENCE_ERRORS.endpointFailed,
            "States.ALL",
            "States.TaskFailed",
        ]);
        expect(c.Retry[0]).to.deep.include({ BackoffRate: 2, JitterStrategy: "FULL" });
        expect(c.Retry[0].MaxDelaySeconds).to.be.a("number");
        expect(c.Catch).to.deep.equal([{ ErrorEquals: [INFERENCE_ERRORS.badImage], ResultPath: "$.error", Next: "BadImage" }]);
        const all = states(inferenceWorkflowDefinition(definitionInput()));
        expect(all.BadImage).to.deep.include({ Type: "Fail", Error: "BadImage" });
        for (const [name, s] of Object.entries(all))
            for (const c2 of s.Catch ?? []) expect(c2.ErrorEquals, `${name} catches everything`).to.not.include("States.ALL");
    });

    it("decides on the configured threshold, and on the margin only when one is set", () => {
        const plain = states(inferenceWorkflowDefinition(definitionInput()))["Confident?"];
        expect(plain.Choices).to.deep.equal([{ Variable: "$.confidence", NumericGreaterThanEquals: 0.93, Next: "WritePrediction" }]);
        expect(plain.Default).to.equal("QueueForReview");
        const margin = states(inferenceWorkflowDefinition(definitionInput({ confidenceMargin: 0.25 })))["Confident?"];
        expect(margin.Choices[0].And).to.deep.equal([
            { Variable: "$.confidence", NumericGreaterThanEquals: 0.93 },
            { Variable: "$.margin", NumericGreaterThanEquals: 0.25 },
        ]);
    });

    it("waits for the reviewer's task token with the heartbeat and timeout from config, and ends a timeout as ReviewTimedOut", () => {
        const d = states(inferenceWorkflowDefinition(definitionInput({ reviewTimeoutSeconds: 86400, reviewHeartbeatSeconds: 900 })));
        const q = d.QueueForReview;
        expect(q.Resource).to.equal("arn:aws:states:::lambda:invoke.waitForTaskToken");
        expect(q.Parameters.Payload["task_token.$"]).to.equal("$$.Task.Token");
        expect(q).to.deep.include({ HeartbeatSeconds: 900, TimeoutSeconds: 86400 });
        expect(q.Catch[0].ErrorEquals).to.have.members(["States.Timeout", "States.HeartbeatTimeout"]);
        expect(q.Catch[0].Next).to.equal("RecordTimeout");
        expect(d.RecordTimeout.Next).to.equal("ReviewTimedOut");
        expect(d.ReviewTimedOut).to.deep.include({ Type: "Fail", Error: "ReviewTimedOut" });
        expect(d["BatchDue?"].Choices[0]).to.deep.include({ Variable: "$.filed.waiting_for_batch", NumericGreaterThanEquals: 50 });
    });

    it("refuses a heartbeat that is not below the timeout", () => {
        expect(() => inferenceWorkflowDefinition(definitionInput({ reviewTimeoutSeconds: 600, reviewHeartbeatSeconds: 600 }))).to.throw(
            /heartbeat 600/,
        );
    });
});

describe("inference workflow definition, in full", () => {
    const transient = [
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
    ];
    const retry = (errors: string[], attempts: number) => ({
        ErrorEquals: errors,
        IntervalSeconds: 2,
        BackoffRate: 2,
        MaxAttempts: attempts,
        MaxDelaySeconds: 60,
        JitterStrategy: "FULL",
    });
    const invoke = "arn:aws:states:::lambda:invoke";

    it("is the Standard workflow every Lambda handler and the classify command read, state by state", () => {
        expect(inferenceWorkflowDefinition(definitionInput())).to.deep.equal({
            Comment:
                "Classify one image by S3 URI; below the confidence threshold, a person labels it and it joins the next training batch.",
            StartAt: "Correction?",
            States: {
                "Correction?": {
                    Type: "Choice",
                    Choices: [{ Variable: "$.suggestion", IsPresent: true, Next: "QueueForReview" }],
                    Default: "Classify",
                },
                Classify: {
                    Type: "Task",
                    Resource: invoke,
                    Parameters: { FunctionName: ARN("classify"), Payload: { "image.$": "$.image", "item_id.$": "$$.Execution.Name" } },
                    OutputPath: "$.Payload",
                    Retry: [retry(["EndpointBusy", ...transient], 6)],
                    Catch: [{ ErrorEquals: ["BadImage"], ResultPath: "$.error", Next: "BadImage" }],
                    Next: "Confident?",
                },
                "Confident?": {
                    Type: "Choice",
                    Choices: [{ Variable: "$.confidence", NumericGreaterThanEquals: 0.93, Next: "WritePrediction" }],
                    Default: "QueueForReview",
                },
                WritePrediction: {
                    Type: "Task",
                    Resource: invoke,
                    Parameters: { FunctionName: ARN("review"), Payload: { action: "prediction", "classification.$": "$" } },
                    ResultSelector: { "key.$": "$.Payload.prediction_key" },
                    ResultPath: "$.prediction",
                    Retry: [retry(transient, 4)],
                    Next: "Classified",
                },
                Classified: { Type: "Succeed" },
                QueueForReview: {
                    Type: "Task",
                    Resource: "arn:aws:states:::lambda:invoke.waitForTaskToken",
                    Parameters: {
                        FunctionName: ARN("review"),
                        Payload: {
                            action: "enqueue",
                            "classification.$": "$",
                            "task_token.$": "$$.Task.Token",
                            "execution_arn.$": "$$.Execution.Id",
                        },
                    },
                    HeartbeatSeconds: 3600,
                    TimeoutSeconds: 604800,
                    ResultPath: "$.review",
                    Retry: [retry(transient, 4)],
                    Catch: [{ ErrorEquals: ["States.Timeout", "States.HeartbeatTimeout"], ResultPath: "$.error", Next: "RecordTimeout" }],
                    Next: "Verdict",
                },
                Verdict: {
                    Type: "Choice",
                    Choices: [{ Variable: "$.review.verdict", StringEquals: "invalid", Next: "CloseInvalid" }],
                    Default: "FileReviewed",
                },
                CloseInvalid: {
                    Type: "Task",
                    Resource: invoke,
                    Parameters: {
                        FunctionName: ARN("review"),
                        Payload: {
                            action: "close",
                            reason: "invalid-image",
                            "item_id.$": "$.item_id",
                            "reviewer.$": "$.review.reviewer",
                            "execution_arn.$": "$$.Execution.Id",
                        },
                    },
                    ResultPath: null,
                    Retry: [retry(transient, 4)],
                    Next: "NotAValidImage",
                },
                NotAValidImage: { Type: "Succeed" },
                FileReviewed: {
                    Type: "Task",
                    Resource: invoke,
                    Parameters: {
                        FunctionName: ARN("review"),
                        Payload: { action: "file", "classification.$": "$", "review.$": "$.review" },
                    },
                    ResultSelector: { "reviewed_key.$": "$.Payload.reviewed_key", "waiting_for_batch.$": "$.Payload.waiting_for_batch" },
                    ResultPath: "$.filed",
                    Retry: [retry(transient, 4)],
                    Next: "BatchDue?",
                },
                "BatchDue?": {
                    Type: "Choice",
                    Choices: [{ Variable: "$.filed.waiting_for_batch", NumericGreaterThanEquals: 50, Next: "WriteReviewBatch" }],
                    Default: "Labelled",
                },
                WriteReviewBatch: {
                    Type: "Task",
                    Resource: invoke,
                    Parameters: { FunctionName: ARN("batch"), Payload: { trigger: "workflow", "execution_arn.$": "$$.Execution.Id" } },
                    ResultSelector: { "batch_id.$": "$.Payload.batch_id", "ingest.$": "$.Payload.ingest" },
                    ResultPath: "$.batch",
                    Retry: [retry(transient, 8)],
                    Next: "Labelled",
                },
                Labelled: { Type: "Succeed" },
                RecordTimeout: {
                    Type: "Task",
                    Resource: invoke,
                    Parameters: {
                        FunctionName: ARN("review"),
                        Payload: {
                            action: "close",
                            reason: "review-timed-out",
                            "item_id.$": "$.item_id",
                            "execution_arn.$": "$$.Execution.Id",
                        },
                    },
                    ResultPath: null,
                    Retry: [retry(transient, 4)],
                    Next: "ReviewTimedOut",
                },
                ReviewTimedOut: {
                    Type: "Fail",
                    Error: "ReviewTimedOut",
                    Cause: "no reviewer labelled the image within 604800 seconds; it stays in the review queue, and a later label still files it",
                },
                BadImage: { Type: "Fail", Error: "BadImage", CausePath: "$.error.Cause" },
            },
        });
    });

    it("refuses every bad number at once, each named with its value", () => {
        const refused = (over: Partial<WorkflowDefinitionInput>) => {
            try {
                inferenceWorkflowDefinition(definitionInput(over));
            } catch (e) {
                return (e as Error).message;
            }
            return "accepted";
        };
        expect(
            refused({
                confidenceThreshold: 1.5,
                confidenceMargin: -0.1,
                reviewTimeoutSeconds: 0.5,
                reviewHeartbeatSeconds: 0,
                reviewBatchSize: 0,
            }),
        ).to.equal(
            "inference workflow: confidence threshold 1.5 is not from 0 to 1; confidence margin -0.1 is not from 0 to 1; " +
                "review timeout 0.5 is not a whole number of seconds; " +
                "heartbeat 0 must be a whole number of seconds below the review timeout 0.5; review batch size 0 is not a whole number >= 1",
        );
        expect(refused({ confidenceThreshold: -0.01 })).to.equal("inference workflow: confidence threshold -0.01 is not from 0 to 1");
        expect(refused({ confidenceThreshold: NaN })).to.equal("inference workflow: confidence threshold NaN is not from 0 to 1");
        expect(refused({ confidenceMargin: 1.01 })).to.equal("inference workflow: confidence margin 1.01 is not from 0 to 1");
        expect(refused({ confidenceMargin: NaN })).to.equal("inference workflow: confidence margin NaN is not from 0 to 1");
        expect(refused({ reviewTimeoutSeconds: 0, reviewHeartbeatSeconds: -1 })).to.equal(
            "inference workflow: review timeout 0 is not a whole number of seconds; " +
                "heartbeat -1 must be a whole number of seconds below the review timeout 0",
        );
        expect(refused({ reviewHeartbeatSeconds: 1.5 })).to.equal(
            "inference workflow: heartbeat 1.5 must be a whole number of seconds below the review timeout 604800",
        );
        expect(refused({ reviewHeartbeatSeconds: 604801 })).to.match(/heartbeat 604801 must be/);
        expect(refused({ reviewBatchSize: 2.5 })).to.equal("inference workflow: review batch size 2.5 is not a whole number >= 1");
        // A timeout of 1 s is a whole number of seconds; it is the heartbeat that cannot fit below it.
        expect(refused({ reviewTimeoutSeconds: 1, reviewHeartbeatSeconds: 1 })).to.equal(
            "inference workflow: heartbeat 1 must be a whole number of seconds below the review timeout 1",
        );
        // The bounds themselves are accepted.
        for (const ok of [
            { confidenceThreshold: 0, confidenceMargin: 0 },
            { confidenceThreshold: 1, confidenceMargin: 1 },
            { reviewTimeoutSeconds: 2, reviewHeartbeatSeconds: 1, reviewBatchSize: 1 },
        ])
            expect(refused(ok), JSON.stringify(ok)).to.equal("accepted");
    });
});

describe("inference workflow names and events", () => {
    it("names an execution after the image's content, within Step Functions' and SageMaker's limits", () => {
        const name = executionName("ab".repeat(32));
        expect(name).to.equal(`img-${"ab".repeat(20)}`);
        expect(name.length).to.be.at.most(64);
        expect(stateMachineName("staging", "bikes-vs-motorcycles").length).to.be.at.most(80);
        expect(() => executionName("not-a-hash")).to.throw(/SHA-256/);
    });

    it("heartbeats three times per heartbeat timeout", () => {
        expect(heartbeatRate(3600)).to.equal("rate(20 minutes)");
        expect(heartbeatRate(300)).to.equal("rate(1 minute)");
    });

    it("names the state machine, its ARN, functions, namespace and upload prefix from the environment and model", () => {
        expect(stateMachineName("staging", "signs")).to.equal("vision-mlops-staging-signs-inference");
        const long = stateMachineName("staging", "m".repeat(100));
        expect(long).to.have.length(80);
        expect(long.startsWith("vision-mlops-staging-mmm")).to.equal(true);
        expect(stateMachineArn("us-east-1", "123456789012", "sm")).to.equal("arn:aws:states:us-east-1:123456789012:stateMachine:sm");
        expect(stateMachineArn("cn-north-1", "123456789012", "sm", "aws-cn")).to.equal(
            "arn:aws-cn:states:cn-north-1:123456789012:stateMachine:sm",
        );
        expect(inferenceFunctionName("staging", "signs", "classify")).to.equal("vision-mlops-staging-signs-inf-classify");
        expect(inferenceFunctionName("prod", "m".repeat(100), "callback")).to.have.length(64);
        expect(inferenceNamespace("signs")).to.equal("VisionMLOps/Inference/signs");
        expect(incomingPrefix("signs")).to.equal("signs/inference/incoming/");
        expect(imagePrefixes("signs")).to.deep.equal(["signs/inference/incoming/"]);
        expect(imagePrefixes("signs", "")).to.deep.equal(["signs/inference/incoming/"]);
        expect(imagePrefixes("signs", "drop/")).to.deep.equal(["signs/inference/incoming/", "drop/"]);
    });

    it("takes only a whole hex SHA-256 for an execution name, in either case, and quotes anything else", () => {
        expect(executionName("AB".repeat(32))).to.equal(`img-${"ab".repeat(20)}`);
        for (const bad of ["a".repeat(63), "a".repeat(65), "g".repeat(64), ` ${"a".repeat(63)}`, `${"a".repeat(64)}\n`])
            expect(() => executionName(bad), JSON.stringify(bad)).to.throw(`${JSON.stringify(bad)} is not a hex SHA-256`);
    });

    it("heartbeats in whole minutes, at least one", () => {
        expect(heartbeatRate(60)).to.equal("rate(1 minute)");
        expect(heartbeatRate(359)).to.equal("rate(1 minute)");
        expect(heartbeatRate(360)).to.equal("rate(2 minutes)");
        expect(heartbeatRate(604800)).to.equal("rate(3360 minutes)");
    });

    it("matches S3's Object Created events of the raw bucket: images by extension, annotations by prefix, corrections by name", () => {
        const created = (key: unknown[]) => ({
            source: ["aws.s3"],
            "detail-type": ["Object Created"],
            detail: { bucket: { name: ["raw"] }, object: { key } },
        });
        expect(triggerEventPattern("raw", "incoming/signs/")).to.deep.equal(
            created([".jpg", ".jpeg", ".png", ".JPG", ".JPEG", ".PNG"].map((ext) => ({ wildcard: `incoming/signs/*${ext}` }))),
        );
        expect(annotationEventPattern("raw", "signs")).to.deep.equal(created([{ prefix: "signs/review/annotations/" }]));
        expect(correctionEventPattern("raw", "signs")).to.deep.equal(created([{ wildcard: "signs/review/corrections/fix-*.json" }]));
    });
});

describe("inference workflow roles", () => {
    const can = (doc: unknown, action: string, resource: string) => allowedBy(parsePolicy(doc), { action, resource });

    it("lets the classify function invoke this endpoint only, and read images only where the workflow takes them", () => {
        const doc = classifyPolicy(SCOPE);
        expect(
            can(doc, "sagemaker:InvokeEndpoint", "arn:aws:sagemaker:us-east-1:123456789012:endpoint/vision-mlops-staging-signs"),
        ).to.equal(true);
        expect(
            can(doc, "sagemaker:InvokeEndpoint", "arn:aws:sagemaker:us-east-1:123456789012:endpoint/vision-mlops-staging-birds"),
        ).to.equal(false);
        expect(can(doc, "s3:GetObject", obj("incoming/signs/a.jpg"))).to.equal(true);
        expect(can(doc, "s3:GetObject", obj("signs/inference/incoming/a.jpg"))).to.equal(true);
        expect(can(doc, "s3:GetObject", obj("signs/batches/b1/stop/a.jpg"))).to.equal(false);
        expect(can(doc, "s3:PutObject", obj("incoming/signs/a.jpg"))).to.equal(false);
    });

    it("lets the callback resume only this state machine's executions, and start only this one from the trigger", () => {
        const cb = callbackPolicy(SCOPE);
        expect(can(cb, "states:SendTaskSuccess", SCOPE.stateMachineArn)).to.equal(true);
        expect(can(cb, "states:SendTaskSuccess", SCOPE.stateMachineArn.replace("signs", "birds"))).to.equal(false);
        expect(can(cb, "states:StartExecution", SCOPE.stateMachineArn)).to.equal(false);
        expect(can(cb, "cloudwatch:PutMetricData", "*"), "one writer per metric namespace").to.equal(false);
        const start = startPolicy(SCOPE);
        expect(can(start, "states:StartExecution", SCOPE.stateMachineArn)).to.equal(true);
        expect(can(start, "states:SendTaskSuccess", SCOPE.stateMachineArn)).to.equal(false);
    });

    it("lets the batch function write ingest's objects and delete only reviewed items", () => {
        const doc = batchPolicy(SCOPE);
        expect(can(doc, "s3:PutObject", obj("signs/batches/review-1/_manifest.json"))).to.equal(true);
        expect(can(doc, "s3:DeleteObject", obj("signs/review/reviewed/stop/img-1.jpg"))).to.equal(true);
        expect(can(doc, "s3:DeleteObject", obj("signs/batches/review-1/_manifest.json"))).to.equal(false);
        expect(can(doc, "s3:PutObject", obj("birds/batches/x/_manifest.json"))).to.equal(false);
    });

    it("grants no write action on a wildcard resource", () => {
        for (const doc of [classifyPolicy(SCOPE), reviewPolicy(SCOPE), callbackPolicy(SCOPE), batchPolicy(SCOPE), startPolicy(SCOPE)])
            expect(writeActionsWithWildcardResource(doc)).to.deep.equal([]);
    });
});

describe("inference workflow roles, statement by statement", () => {
    const bucket = `arn:aws:s3:::${SCOPE.rawBucket}`;
    const objects = (...prefixes: string[]) => prefixes.map((p) => `${bucket}/${p}*`);
    const KEY = { Effect: "Allow", Action: KMS_USE_ACTIONS, Resource: [SCOPE.dataKeyArn] };
    const READ = ["s3:GetObject", "s3:GetObjectVersion"];
    const WRITE = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"];
    const read = (sid: string, ...prefixes: string[]) => ({
        [`${sid}Objects`]: { Effect: "Allow", Action: READ, Resource: objects(...prefixes) },
        [`${sid}List0`]: {
            Effect: "Allow",
            Action: ["s3:ListBucket"],
            Resource: [bucket],
            Condition: { StringLike: { "s3:prefix": prefixes.map((p) => `${p}*`) } },
        },
        [`${sid}Location`]: { Effect: "Allow", Action: ["s3:GetBucketLocation"], Resource: [bucket] },
    });
    const bySid = (doc: PolicyDocument) => {
        expect(doc.Version).to.equal("2012-10-17");
        return Object.fromEntries(doc.Statement.map(({ Sid, ...rest }) => [Sid, rest]));
    };
    const images = ["signs/inference/incoming/", "incoming/signs/"];
    const queueMoves = ["signs/review/pending/", "signs/review/tasks/", "signs/review/waiting/"];

    it("classify: read the images, use the data key, invoke this endpoint", () => {
        expect(bySid(classifyPolicy(SCOPE))).to.deep.equal({
            ...read("Images", ...images),
            DataKey: KEY,
            InvokeThisEndpoint: {
                Effect: "Allow",
                Action: ["sagemaker:InvokeEndpoint"],
                Resource: ["arn:aws:sagemaker:us-east-1:123456789012:endpoint/vision-mlops-staging-signs"],
            },
        });
        expect(bySid(classifyPolicy({ ...SCOPE, triggerPrefix: undefined })).ImagesObjects.Resource).to.deep.equal(
            objects("signs/inference/incoming/"),
        );
    });

    it("review: predictions beside the images, the queue, the alert topic and its own metric namespace", () => {
        expect(bySid(reviewPolicy(SCOPE))).to.deep.equal({
            ...read("ImagesAndQueue", ...images, "signs/review/"),
            PredictionsAndQueue: { Effect: "Allow", Action: WRITE, Resource: objects(...images, "signs/review/") },
            MoveQueueItems: { Effect: "Allow", Action: ["s3:DeleteObject"], Resource: objects(...queueMoves) },
            DataKey: KEY,
            Alert: { Effect: "Allow", Action: ["sns:Publish"], Resource: [SCOPE.alertTopicArn] },
            InferenceMetrics: {
                Effect: "Allow",
                Action: ["cloudwatch:PutMetricData"],
                Resource: ["*"],
                Condition: { StringEquals: { "cloudwatch:namespace": ["VisionMLOps/Inference/signs"] } },
            },
        });
    });

    it("callback: read the queue, file late labels, resume this state machine's tasks", () => {
        expect(bySid(callbackPolicy(SCOPE))).to.deep.equal({
            ...read("Queue", "signs/review/"),
            LateLabels: { Effect: "Allow", Action: WRITE, Resource: objects("signs/review/reviewed/", "signs/review/closed/") },
            MoveQueueItems: { Effect: "Allow", Action: ["s3:DeleteObject"], Resource: objects(...queueMoves) },
            DataKey: KEY,
            ResumeThisStateMachine: {
                Effect: "Allow",
                Action: ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"],
                Resource: [SCOPE.stateMachineArn],
            },
        });
    });

    it("batch: read reviewed images, write ingest's objects, delete only what it took", () => {
        const ingest = ["signs/batches/", "signs/latest/", "signs/datasets/"];
        expect(bySid(batchPolicy(SCOPE))).to.deep.equal({
            ...read("ReviewedAndRaw", ...ingest, "signs/review/reviewed/", "signs/review/batches/"),
            IngestBatch: { Effect: "Allow", Action: WRITE, Resource: objects(...ingest, "signs/review/batches/") },
            MoveQueueItems: { Effect: "Allow", Action: ["s3:DeleteObject"], Resource: objects("signs/review/reviewed/") },
            DataKey: KEY,
        });
    });

    it("start: read corrections and dropped images, start this state machine", () => {
        const start = {
            DataKey: KEY,
            StartThisStateMachine: { Effect: "Allow", Action: ["states:StartExecution"], Resource: [SCOPE.stateMachineArn] },
        };
        expect(bySid(startPolicy(SCOPE))).to.deep.equal({
            ...read("CorrectionsAndDroppedImages", "signs/review/corrections/", "incoming/signs/"),
            ...start,
        });
        expect(bySid(startPolicy({ ...SCOPE, triggerPrefix: undefined }))).to.deep.equal({
            ...read("CorrectionsAndDroppedImages", "signs/review/corrections/"),
            ...start,
        });
    });

    it("the state machine invokes its own functions, any version, and nothing else", () => {
        expect(invokeStatement([ARN("classify"), ARN("review")])).to.deep.equal({
            Sid: "InvokeOwnFunctions",
            Effect: "Allow",
            Action: ["lambda:InvokeFunction"],
            Resource: [ARN("classify"), `${ARN("classify")}:*`, ARN("review"), `${ARN("review")}:*`],
        });
    });
});

describe("inference config", () => {
    const base = (inference: Record<string, unknown>): unknown => ({
        environment: "staging",
        region: "us-east-1",
        models: { signs: { classes: ["stop", "yield"], imageShape: [3, 224, 224], quality: { minAccuracy: 0.9 }, inference } },
    });
    const problems = (inference: Record<string, unknown>) => {
        try {
            parsePlatformConfig(base(inference));
            return [];
        } catch (e) {
            return (e as ConfigError).problems.map(formatProblem);
        }
    };

    it("fills the review loop's defaults", () => {
        const m = parsePlatformConfig(base({})).models.signs.inference;
        expect(m).to.deep.equal({
            confidenceThreshold: 0.8,
            topK: 5,
            reviewTimeoutSeconds: 604800,
            reviewHeartbeatSeconds: 3600,
            reviewBatchSize: 50,
        });
    });

    it("names each bad key, its value's problem and what is allowed", () => {
        const all = problems({
            confidenceMargin: 2,
            reviewBatchSize: 0,
            reviewHeartbeatSeconds: 60,
            reviewBatchSchedule: "every day",
            triggerPrefix: "/incoming",
        });
        expect(all.join("\n")).to.match(/inference\.confidenceMargin.*from 0 to 1/);
        expect(all.join("\n")).to.match(/inference\.reviewBatchSize.*>= 1/);
        expect(all.join("\n")).to.match(/inference\.reviewHeartbeatSeconds.*>= 300/);
        expect(all.join("\n")).to.match(/inference\.reviewBatchSchedule.*rate\(1 day\)/);
        expect(all.join("\n")).to.match(/inference\.triggerPrefix.*ending in "\/"/);
        expect(problems({ reviewTimeoutSeconds: 3600, reviewHeartbeatSeconds: 3600 }).join("\n")).to.match(
            /reviewHeartbeatSeconds.*below reviewTimeoutSeconds/,
        );
        expect(problems({ triggerPrefix: "signs/batches/" }).join("\n")).to.match(/training data or review queue/);
    });
});
