import { Environment } from "./config";
import {
    DEFAULT_PARTITION,
    kmsUseStatement,
    policyDocument,
    PolicyDocument,
    putMetricDataStatement,
    s3BucketArn,
    s3ReadStatements,
    s3WriteStatements,
    sagemakerArn,
    Statement,
} from "./iam";
import { fitName, iamName, PROJECT, prefixes } from "./naming";
import { EventPattern, objectCreatedEventPattern } from "./event-patterns";
import { reviewItemId } from "./review-contract";

/**
 * The inference workflow of one served model, as plain values: the Amazon States Language definition, the
 * names, the contract between the state machine and its Lambda handlers (jobs/inference/), and each
 * function's policy. components/inference-workflow.ts declares the resources from these.
 *
 * An execution takes `{"image": "s3://<raw bucket>/<key>"}` (never the bytes: a state holds at most 256 KB),
 * is named after the image's content (`img-<40 hex of its SHA-256>`, also the endpoint request's inference id
 * and the review item's id), and ends as one of the states in OUTCOMES. A person's correction (sent from the
 * prediction page) starts an execution named after the correction (`fix-...`) whose input is already the
 * state after Classify with the suggested class: it goes straight to review.
 */

/**
 * CloudWatch namespace of one model's workflow metrics (dimensions Environment and Model): one namespace per
 * model, written by its review function alone, so no other role can trip or silence its alarm.
 */
export function inferenceNamespace(model: string): string {
    return `VisionMLOps/Inference/${model}`;
}

/** Metric names: each a count per execution outcome, plus the top-1 confidence of every classified image. */
export const INFERENCE_METRICS = {
    /** Above the threshold: the prediction was written next to the image. */
    classified: "Classified",
    /** Below it: sent to review. */
    lowConfidence: "LowConfidence",
    /** A person said the model was wrong (the prediction page): sent to review, never counted as low confidence. */
    correction: "Correction",
    reviewed: "Reviewed",
    invalidImage: "InvalidImage",
    reviewTimedOut: "ReviewTimedOut",
    confidence: "Confidence",
} as const;

/**
 * Error names (a Lambda error's `errorType`, which Retry and Catch match on). Only `EndpointBusy` is retried,
 * with backoff and jitter: a bad image or a model that cannot answer will not change on a second attempt.
 */
export const INFERENCE_ERRORS = {
    /** Not an image the model takes (empty, not JPEG/PNG, too large): ends in the `BadImage` Fail state. */
    badImage: "BadImage",
    /** Throttled, or the endpoint is updating or overloaded. */
    endpointBusy: "EndpointBusy",
    /** The endpoint is missing, or answered something that is not a prediction. */
    endpointFailed: "EndpointFailed",
    /** The image is not where the workflow may read images (the execution input is wrong). */
    imageNotFound: "ImageNotFound",
    /** Fail state of an execution whose review timed out (the image stays queued). */
    reviewTimedOut: "ReviewTimedOut",
} as const;

/** Terminal states, by name: what `classify` prints and what an operator reads in the console. */
export const OUTCOMES = {
    classified: "Classified",
    labelled: "Labelled",
    notAValidImage: "NotAValidImage",
    badImage: "BadImage",
    reviewTimedOut: "ReviewTimedOut",
} as const;

/** Environment variables of the handlers (set by the component, read by jobs/inference/env.ts). */
export const INFERENCE_ENV = {
    /** Which of INFERENCE_FUNCTIONS the shared bundle (jobs/inference/handler.ts) runs. */
    function: "VISION_FUNCTION",
    environment: "VISION_ENVIRONMENT",
    model: "VISION_MODEL",
    rawBucket: "VISION_RAW_BUCKET",
    endpointName: "VISION_ENDPOINT_NAME",
    modelPackageArn: "VISION_MODEL_PACKAGE_ARN",
    topK: "VISION_TOP_K",
    alertTopicArn: "VISION_ALERT_TOPIC_ARN",
    stateMachineArn: "VISION_STATE_MACHINE_ARN",
    reviewBatchSize: "VISION_REVIEW_BATCH_SIZE",
    /** JSON list of the key prefixes the classify function may read images from. */
    imagePrefixes: "VISION_IMAGE_PREFIXES",
} as const;

/** The class list's file beside each handler's bundle (JSON list in class-map order). */
export const INFERENCE_CLASSES_FILE = "classes.json";

/** Where the classify command uploads a local file: `<model>/inference/incoming/<sha256>.<ext>`. */
export function incomingPrefix(model: string): string {
    return `${prefixes.rawModel(model)}inference/incoming/`;
}

/** Hex digits of the image's SHA-256 in the execution name (and inference id: SageMaker allows 64 characters). */
export const EXECUTION_HASH_CHARS = 40;

/** The execution, inference and review-item name of an image: the same bytes always get the same one. */
export function executionName(imageSha256Hex: string): string {
    if (!/^[0-9a-f]{64}$/i.test(imageSha256Hex)) throw new Error(`${JSON.stringify(imageSha256Hex)} is not a hex SHA-256`);
    return reviewItemId("img", imageSha256Hex.slice(0, EXECUTION_HASH_CHARS));
}

/** Step Functions allows 80 characters for a state machine name. */
export function stateMachineName(environment: Environment, model: string): string {
    return fitName([PROJECT, environment, model, "inference"], 80);
}

export function stateMachineArn(region: string, account: string, name: string, partition = DEFAULT_PARTITION): string {
    return `arn:${partition}:states:${region}:${account}:stateMachine:${name}`;
}

/** The workflow's Lambda functions, by the part of their name after the model. */
export const INFERENCE_FUNCTIONS = ["classify", "review", "callback", "batch", "start"] as const;
export type InferenceFunction = (typeof INFERENCE_FUNCTIONS)[number];

/** Function (and role) name: 64 characters at most. */
export function inferenceFunctionName(environment: Environment, model: string, fn: InferenceFunction): string {
    return iamName(environment, model, "inf", fn);
}

/**
 * How often the heartbeat runs: a third of the heartbeat timeout, in whole minutes (EventBridge's finest rate),
 * so two heartbeats may be lost before an execution times out.
 */
export function heartbeatRate(heartbeatSeconds: number): string {
    const minutes = Math.max(1, Math.floor(heartbeatSeconds / 3 / 60));
    return minutes === 1 ? "rate(1 minute)" : `rate(${minutes} minutes)`;
}

// ---------------------------------------------------------------------------------------------------------
// The state machine

export interface WorkflowDefinitionInput {
    readonly classifyFunctionArn: string;
    readonly reviewFunctionArn: string;
    readonly batchFunctionArn: string;
    /** Top-1 confidence at or above which a prediction stands (`inference.confidenceThreshold`). */
    readonly confidenceThreshold: number;
    /** And top-1 minus top-2 at or above this (`inference.confidenceMargin`), when given. */
    readonly confidenceMargin?: number;
    readonly reviewTimeoutSeconds: number;
    readonly reviewHeartbeatSeconds: number;
    readonly reviewBatchSize: number;
}

/** A Lambda task through the optimized integration, with the payload given and the function's answer as its result. */
function lambdaTask(functionArn: string, payload: Record<string, unknown>, waitForToken = false): Record<string, unknown> {
    return {
        Type: "Task",
        Resource: waitForToken ? "arn:aws:states:::lambda:invoke.waitForTaskToken" : "arn:aws:states:::lambda:invoke",
        Parameters: { FunctionName: functionArn, Payload: payload },
    };
}

/** Lambda's own transient failures (the service, or a function at its reserved concurrency): worth retrying. */
const LAMBDA_TRANSIENT = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
];

/** Exponential backoff with full jitter: concurrent executions throttled together do not retry together. */
function backoff(errors: readonly string[], maxAttempts: number): Record<string, unknown> {
    return {
        ErrorEquals: [...errors],
        IntervalSeconds: 2,
        BackoffRate: 2,
        MaxAttempts: maxAttempts,
        MaxDelaySeconds: 60,
        JitterStrategy: "FULL",
    };
}

/**
 * The Standard workflow: Classify -> Confident? -> WritePrediction -> Classified, or QueueForReview (wait for the
 * task token) -> Verdict -> FileReviewed -> BatchDue? -> WriteReviewBatch -> Labelled, with NotAValidImage,
 * BadImage and ReviewTimedOut as the other ends. A correction (an input with a `suggestion`) enters at
 * QueueForReview: the person already said what the model got wrong, so nothing is classified again.
 */
export function inferenceWorkflowDefinition(input: WorkflowDefinitionInput): Record<string, unknown> {
    const problems = definitionProblems(input);
    if (problems.length) throw new Error(`inference workflow: ${problems.join("; ")}`);
    const confident: Record<string, unknown>[] = [{ Variable: "$.confidence", NumericGreaterThanEquals: input.confidenceThreshold }];
    if (input.confidenceMargin !== undefined) confident.push({ Variable: "$.margin", NumericGreaterThanEquals: input.confidenceMargin });
    const item = { "item_id.$": "$.item_id" };
    return {
        Comment: "Classify one image by S3 URI; below the confidence threshold, a person labels it and it joins the next training batch.",
        StartAt: "Correction?",
        States: {
            "Correction?": {
                Type: "Choice",
                Choices: [{ Variable: "$.suggestion", IsPresent: true, Next: "QueueForReview" }],
                Default: "Classify",
            },
            Classify: {
                ...lambdaTask(input.classifyFunctionArn, { "image.$": "$.image", "item_id.$": "$$.Execution.Name" }),
                OutputPath: "$.Payload",
                Retry: [backoff([INFERENCE_ERRORS.endpointBusy, ...LAMBDA_TRANSIENT], 6)],
                Catch: [{ ErrorEquals: [INFERENCE_ERRORS.badImage], ResultPath: "$.error", Next: OUTCOMES.badImage }],
                Next: "Confident?",
            },
            "Confident?": {
                Type: "Choice",
                Choices: [{ ...(confident.length === 1 ? confident[0] : { And: confident }), Next: "WritePrediction" }],
                Default: "QueueForReview",
            },
            WritePrediction: {
                ...lambdaTask(input.reviewFunctionArn, { action: "prediction", "classification.$": "$" }),
                ResultSelector: { "key.$": "$.Payload.prediction_key" },
                ResultPath: "$.prediction",
                Retry: [backoff(LAMBDA_TRANSIENT, 4)],
                Next: OUTCOMES.classified,
            },
            [OUTCOMES.classified]: { Type: "Succeed" },
            QueueForReview: {
                ...lambdaTask(
                    input.reviewFunctionArn,
                    { action: "enqueue", "classification.$": "$", "task_token.$": "$$.Task.Token", "execution_arn.$": "$$.Execution.Id" },
                    true,
                ),
                HeartbeatSeconds: input.reviewHeartbeatSeconds,
                TimeoutSeconds: input.reviewTimeoutSeconds,
                ResultPath: "$.review",
                Retry: [backoff(LAMBDA_TRANSIENT, 4)],
                Catch: [{ ErrorEquals: ["States.Timeout", "States.HeartbeatTimeout"], ResultPath: "$.error", Next: "RecordTimeout" }],
                Next: "Verdict",
            },
            Verdict: {
                Type: "Choice",
                Choices: [{ Variable: "$.review.verdict", StringEquals: "invalid", Next: "CloseInvalid" }],
                Default: "FileReviewed",
            },
            CloseInvalid: {
                ...lambdaTask(input.reviewFunctionArn, {
                    action: "close",
                    reason: "invalid-image",
                    ...item,
                    "reviewer.$": "$.review.reviewer",
                    "execution_arn.$": "$$.Execution.Id",
                }),
                ResultPath: null,
                Retry: [backoff(LAMBDA_TRANSIENT, 4)],
                Next: OUTCOMES.notAValidImage,
            },
            [OUTCOMES.notAValidImage]: { Type: "Succeed" },
            FileReviewed: {
                ...lambdaTask(input.reviewFunctionArn, { action: "file", "classification.$": "$", "review.$": "$.review" }),
                ResultSelector: { "reviewed_key.$": "$.Payload.reviewed_key", "waiting_for_batch.$": "$.Payload.waiting_for_batch" },
                ResultPath: "$.filed",
                Retry: [backoff(LAMBDA_TRANSIENT, 4)],
                Next: "BatchDue?",
            },
            "BatchDue?": {
                Type: "Choice",
                Choices: [
                    { Variable: "$.filed.waiting_for_batch", NumericGreaterThanEquals: input.reviewBatchSize, Next: "WriteReviewBatch" },
                ],
                Default: OUTCOMES.labelled,
            },
            WriteReviewBatch: {
                ...lambdaTask(input.batchFunctionArn, { trigger: "workflow", "execution_arn.$": "$$.Execution.Id" }),
                ResultSelector: { "batch_id.$": "$.Payload.batch_id", "ingest.$": "$.Payload.ingest" },
                ResultPath: "$.batch",
                // The batch function runs one at a time (reserved concurrency 1): a second one is throttled and waits.
                Retry: [backoff(LAMBDA_TRANSIENT, 8)],
                Next: OUTCOMES.labelled,
            },
            [OUTCOMES.labelled]: { Type: "Succeed" },
            RecordTimeout: {
                ...lambdaTask(input.reviewFunctionArn, {
                    action: "close",
                    reason: "review-timed-out",
                    ...item,
                    "execution_arn.$": "$$.Execution.Id",
                }),
                ResultPath: null,
                Retry: [backoff(LAMBDA_TRANSIENT, 4)],
                Next: OUTCOMES.reviewTimedOut,
            },
            [OUTCOMES.reviewTimedOut]: {
                Type: "Fail",
                Error: INFERENCE_ERRORS.reviewTimedOut,
                Cause: `no reviewer labelled the image within ${input.reviewTimeoutSeconds} seconds; it stays in the review queue, and a later label still files it`,
            },
            [OUTCOMES.badImage]: { Type: "Fail", Error: INFERENCE_ERRORS.badImage, CausePath: "$.error.Cause" },
        },
    };
}

function definitionProblems(i: WorkflowDefinitionInput): string[] {
    const problems: string[] = [];
    if (!(i.confidenceThreshold >= 0 && i.confidenceThreshold <= 1))
        problems.push(`confidence threshold ${i.confidenceThreshold} is not from 0 to 1`);
    if (i.confidenceMargin !== undefined && !(i.confidenceMargin >= 0 && i.confidenceMargin <= 1))
        problems.push(`confidence margin ${i.confidenceMargin} is not from 0 to 1`);
    if (!Number.isInteger(i.reviewTimeoutSeconds) || i.reviewTimeoutSeconds < 1)
        problems.push(`review timeout ${i.reviewTimeoutSeconds} is not a whole number of seconds`);
    if (!Number.isInteger(i.reviewHeartbeatSeconds) || i.reviewHeartbeatSeconds < 1 || i.reviewHeartbeatSeconds >= i.reviewTimeoutSeconds)
        problems.push(
            `heartbeat ${i.reviewHeartbeatSeconds} must be a whole number of seconds below the review timeout ${i.reviewTimeoutSeconds}`,
        );
    if (!Number.isInteger(i.reviewBatchSize) || i.reviewBatchSize < 1)
        problems.push(`review batch size ${i.reviewBatchSize} is not a whole number >= 1`);
    return problems;
}

// ---------------------------------------------------------------------------------------------------------
// Who may do what

export interface WorkflowScope {
    readonly model: string;
    readonly region: string;
    readonly account: string;
    readonly rawBucket: string;
    /** The lake's key: the raw bucket's objects and the alert topic are encrypted with it. */
    readonly dataKeyArn: string;
    readonly endpointName: string;
    readonly alertTopicArn: string;
    readonly stateMachineArn: string;
    readonly triggerPrefix?: string;
}

/** Prefixes the classify function reads images from: the classify command's uploads, and the trigger prefix. */
export function imagePrefixes(model: string, triggerPrefix?: string): string[] {
    return [incomingPrefix(model), ...(triggerPrefix ? [triggerPrefix] : [])];
}

const raw = (s: WorkflowScope, ...keyPrefixes: string[]) => [{ bucketArn: s3BucketArn(s.rawBucket), prefixes: keyPrefixes }];
const metrics = (model: string) => putMetricDataStatement([inferenceNamespace(model)], "InferenceMetrics");

/** Classify: read the images it is given, call this one endpoint. */
export function classifyPolicy(s: WorkflowScope): PolicyDocument {
    return policyDocument(
        s3ReadStatements(raw(s, ...imagePrefixes(s.model, s.triggerPrefix)), "Images"),
        kmsUseStatement(s.dataKeyArn, { sid: "DataKey" }),
        {
            Sid: "InvokeThisEndpoint",
            Effect: "Allow",
            Action: ["sagemaker:InvokeEndpoint"],
            Resource: [sagemakerArn(s.region, s.account, "endpoint", s.endpointName)],
        },
    );
}

/** Review: write predictions next to images, run the review queue, alert, publish metrics. */
export function reviewPolicy(s: WorkflowScope): PolicyDocument {
    const queue = prefixes.reviewModel(s.model);
    return policyDocument(
        s3ReadStatements(raw(s, ...imagePrefixes(s.model, s.triggerPrefix), queue), "ImagesAndQueue"),
        s3WriteStatements(raw(s, ...imagePrefixes(s.model, s.triggerPrefix), queue), "PredictionsAndQueue"),
        queueDeleteStatement(s, [prefixes.reviewPending(s.model), prefixes.reviewTasks(s.model), prefixes.reviewWaiting(s.model)]),
        kmsUseStatement(s.dataKeyArn, { sid: "DataKey" }),
        { Sid: "Alert", Effect: "Allow", Action: ["sns:Publish"], Resource: [s.alertTopicArn] },
        metrics(s.model),
    );
}

/**
 * Callback: read annotations and the waiting records, resume (or heartbeat) executions of this state machine only.
 * It publishes no metrics: the review function is the namespace's one writer.
 */
export function callbackPolicy(s: WorkflowScope): PolicyDocument {
    const queue = prefixes.reviewModel(s.model);
    return policyDocument(
        s3ReadStatements(raw(s, queue), "Queue"),
        // A label that arrives after its execution timed out is filed by the callback itself.
        s3WriteStatements(raw(s, prefixes.reviewed(s.model), prefixes.reviewClosed(s.model)), "LateLabels"),
        queueDeleteStatement(s, [prefixes.reviewPending(s.model), prefixes.reviewTasks(s.model), prefixes.reviewWaiting(s.model)]),
        kmsUseStatement(s.dataKeyArn, { sid: "DataKey" }),
        {
            Sid: "ResumeThisStateMachine",
            Effect: "Allow",
            Action: ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"],
            Resource: [s.stateMachineArn],
        },
    );
}

/** Batch: take reviewed images into an ingest batch (the raw data ingest writes) and record which it took. */
export function batchPolicy(s: WorkflowScope): PolicyDocument {
    const model = prefixes.rawModel(s.model);
    const ingest = [`${model}batches/`, `${model}latest/`, `${model}datasets/`];
    return policyDocument(
        s3ReadStatements(raw(s, ...ingest, prefixes.reviewed(s.model), prefixes.reviewBatches(s.model)), "ReviewedAndRaw"),
        s3WriteStatements(raw(s, ...ingest, prefixes.reviewBatches(s.model)), "IngestBatch"),
        queueDeleteStatement(s, [prefixes.reviewed(s.model)]),
        kmsUseStatement(s.dataKeyArn, { sid: "DataKey" }),
    );
}

/**
 * Start: read a correction's record (to start its review), or an image dropped under the trigger prefix (to name
 * its execution), and start this state machine.
 */
export function startPolicy(s: WorkflowScope): PolicyDocument {
    const read = [prefixes.reviewCorrections(s.model), ...(s.triggerPrefix ? [s.triggerPrefix] : [])];
    return policyDocument(
        s3ReadStatements(raw(s, ...read), "CorrectionsAndDroppedImages"),
        kmsUseStatement(s.dataKeyArn, { sid: "DataKey" }),
        {
            Sid: "StartThisStateMachine",
            Effect: "Allow",
            Action: ["states:StartExecution"],
            Resource: [s.stateMachineArn],
        },
    );
}

/** The state machine: invoke its own functions (any version). Logging and X-Ray statements come from infra/iam.ts. */
export function invokeStatement(functionArns: readonly string[]): Statement {
    return {
        Sid: "InvokeOwnFunctions",
        Effect: "Allow",
        Action: ["lambda:InvokeFunction"],
        Resource: functionArns.flatMap((a) => [a, `${a}:*`]),
    };
}

/** Deleting objects of the queue that move on (pending -> reviewed, reviewed -> a batch): these prefixes only. */
function queueDeleteStatement(s: WorkflowScope, keyPrefixes: readonly string[]): Statement {
    return {
        Sid: "MoveQueueItems",
        Effect: "Allow",
        Action: ["s3:DeleteObject"],
        Resource: keyPrefixes.map((p) => `${s3BucketArn(s.rawBucket)}/${p}*`),
    };
}

// ---------------------------------------------------------------------------------------------------------
// Events

/** Label Studio's target storage writes one object per submitted annotation under `annotations/`. */
export function annotationEventPattern(rawBucketName: string, model: string): EventPattern {
    return objectCreatedEventPattern(rawBucketName, [{ prefix: prefixes.reviewAnnotations(model) }]);
}

/** A correction's record (`corrections/fix-<id>.json`, written after its image): its arrival starts the review. */
export function correctionEventPattern(rawBucketName: string, model: string): EventPattern {
    return objectCreatedEventPattern(rawBucketName, [{ wildcard: `${prefixes.reviewCorrections(model)}fix-*.json` }]);
}

/** JPEG and PNG images under the trigger prefix (never the `.prediction.json` written next to them). */
export function triggerEventPattern(rawBucketName: string, triggerPrefix: string): EventPattern {
    const extensions = [".jpg", ".jpeg", ".png", ".JPG", ".JPEG", ".PNG"];
    return objectCreatedEventPattern(
        rawBucketName,
        extensions.map((ext) => ({ wildcard: `${triggerPrefix}*${ext}` })),
    );
}
