import { PutMetricDataCommand, StandardUnit } from "@aws-sdk/client-cloudwatch";
import { CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { SendTaskHeartbeatCommand, SendTaskSuccessCommand, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { PublishCommand } from "@aws-sdk/client-sns";
import { createHash } from "crypto";
import { mkdir, mkdtemp, rm, writeFile } from "fs/promises";
import { tmpdir } from "os";
import { join } from "path";
import { executionName, INFERENCE_ERRORS, INFERENCE_METRICS, inferenceNamespace } from "../../infra/inference-workflow";
import {
    ClosedItem,
    Correction,
    correctionKeys,
    IMAGE_EXTENSIONS,
    labelStudioTask,
    LabelStudioTask,
    parseLabelStudioAnnotation,
    ReviewBatch,
    ReviewedItem,
    REVIEW_ITEM_ID,
    reviewKeys,
    ReviewOutcome,
    WaitingReview,
} from "../../infra/review-contract";
import { prefixes } from "../../infra/naming";
import { parseS3Uri, s3Uri } from "../../infra/s3-uri";
import { defaultBatchId, ingest } from "../ingest";
import { getText, listKeys, putIfAbsent, S3 } from "../ingest/s3";
import { ClassifyError, classifyImage, EndpointRuntime, INVOKE_ENDPOINT_MAX_BYTES } from "../lib/classify";

/**
 * What the inference workflow's Lambda functions do, with every client injected (the handlers in this folder
 * bind them to the AWS SDK; tests bind them to moto). The keys and formats are infra/review-contract.ts's.
 */

/** The one call each of these clients needs: the SDK v3 clients satisfy them. */
export interface Sender {
    send(command: object): Promise<unknown>;
}

export interface WorkflowClients {
    readonly s3: S3;
    readonly runtime?: EndpointRuntime;
    readonly sns?: Sender;
    readonly cloudwatch?: Sender;
    readonly sfn?: Sender;
    readonly now?: () => Date;
    readonly log?: (line: string, detail?: Record<string, unknown>) => void;
}

export interface WorkflowSettings {
    readonly environment: string;
    readonly model: string;
    readonly region: string;
    readonly rawBucket: string;
    readonly endpointName: string;
    readonly modelPackageArn?: string;
    readonly classes: readonly string[];
    readonly topK: number;
    readonly alertTopicArn?: string;
    readonly stateMachineArn?: string;
    readonly reviewBatchSize: number;
    /** Key prefixes images may be classified from. */
    readonly imagePrefixes: readonly string[];
}

/** A failure the state machine routes by name (Retry/Catch match on the Lambda error's type). */
export class WorkflowError extends Error {
    constructor(name: string, message: string, options?: { cause?: unknown }) {
        super(message, options);
        this.name = name;
    }
}

/** The state after Classify: what every later step reads. */
export interface ClassificationState {
    readonly image: string;
    readonly bucket: string;
    readonly key: string;
    readonly item_id: string;
    readonly content_type: string;
    readonly sha256: string;
    /** Most probable first, named from the served model's class map. */
    readonly top: ReadonlyArray<{ readonly label: string; readonly confidence: number }>;
    readonly confidence: number;
    /** Top-1 minus top-2 confidence (top-1 when the model has one class). */
    readonly margin: number;
    readonly endpoint: string;
    readonly model_package?: string;
    readonly variant?: string;
    readonly classified_at: string;
    /** The endpoint request's id (data capture's inferenceId): the item id for a classified image, a correction's from its prediction. */
    readonly inference_id?: string;
    /** A correction's: the class a person said the image is, and who (the page's signed-in user) when known. */
    readonly suggestion?: { readonly label: string; readonly by?: string };
}

const BAD_IMAGE_CODES = new Set(["empty_image", "not_an_image", "unsupported_image_type", "image_too_large"]);

const nowOf = (c: WorkflowClients) => (c.now ?? (() => new Date()))();
const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** Reads the image by URI (only under the prefixes the workflow serves), checks it and invokes the endpoint. */
export async function classifyStep(
    c: WorkflowClients,
    s: WorkflowSettings,
    input: { image: string; item_id: string },
): Promise<ClassificationState> {
    let location: { bucket: string; key: string };
    try {
        location = parseS3Uri(input.image);
    } catch (e) {
        throw new WorkflowError(INFERENCE_ERRORS.imageNotFound, (e as Error).message);
    }
    if (location.bucket !== s.rawBucket || !s.imagePrefixes.some((p) => location.key.startsWith(p)))
        throw new WorkflowError(
            INFERENCE_ERRORS.imageNotFound,
            `${input.image} is not where this workflow classifies images (s3://${s.rawBucket}/ under ${s.imagePrefixes.join(" or ")})`,
        );
    const bytes = await readImage(c.s3, location.bucket, location.key);
    if (!c.runtime) throw new Error("classifyStep needs a SageMaker Runtime client");
    let classification;
    try {
        classification = await classifyImage(c.runtime, {
            endpointName: s.endpointName,
            image: bytes,
            classes: s.classes,
            topK: s.topK,
            inferenceId: input.item_id,
        });
    } catch (e) {
        if (e instanceof ClassifyError) {
            const name = BAD_IMAGE_CODES.has(e.code)
                ? INFERENCE_ERRORS.badImage
                : e.retryable
                  ? INFERENCE_ERRORS.endpointBusy
                  : INFERENCE_ERRORS.endpointFailed;
            throw new WorkflowError(name, `${input.image}: ${e.message}`, { cause: e });
        }
        throw e;
    }
    const top = classification.top.map((t) => ({ label: t.label, confidence: t.confidence }));
    return {
        image: input.image,
        bucket: location.bucket,
        key: location.key,
        item_id: input.item_id,
        content_type: classification.contentType,
        sha256: createHash("sha256").update(bytes).digest("hex"),
        top,
        confidence: top[0].confidence,
        margin: top[0].confidence - (top[1]?.confidence ?? 0),
        endpoint: s.endpointName,
        ...(s.modelPackageArn ? { model_package: s.modelPackageArn } : {}),
        ...(classification.variant ? { variant: classification.variant } : {}),
        classified_at: nowOf(c).toISOString(),
        inference_id: input.item_id,
    };
}

/** The object's bytes; a BadImage error for one too large to classify (before reading it), ImageNotFound when absent. */
async function readImage(s3: S3, bucket: string, key: string): Promise<Uint8Array> {
    let out;
    try {
        out = (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))) as {
            Body?: { transformToByteArray(): Promise<Uint8Array>; destroy?: () => void };
            ContentLength?: number;
        };
    } catch (e) {
        if ((e as { name?: string }).name === "NoSuchKey")
            throw new WorkflowError(INFERENCE_ERRORS.imageNotFound, `s3://${bucket}/${key} does not exist`, { cause: e });
        throw e;
    }
    if ((out.ContentLength ?? 0) > INVOKE_ENDPOINT_MAX_BYTES) {
        out.Body?.destroy?.();
        throw new WorkflowError(
            INFERENCE_ERRORS.badImage,
            `s3://${bucket}/${key} is ${out.ContentLength} bytes; at most ${INVOKE_ENDPOINT_MAX_BYTES} can be classified (resize it first)`,
        );
    }
    return out.Body!.transformToByteArray();
}

/** `<key>.prediction.json`, next to the image. */
export function predictionKey(imageKey: string): string {
    return `${imageKey}.prediction.json`;
}

export async function writePrediction(
    c: WorkflowClients,
    s: WorkflowSettings,
    state: ClassificationState,
): Promise<{ prediction_key: string }> {
    const key = predictionKey(state.key);
    await c.s3.send(
        new PutObjectCommand({
            Bucket: state.bucket,
            Key: key,
            ContentType: "application/json",
            Body: json({
                version: 1,
                image: state.image,
                model: s.model,
                inference_id: state.item_id,
                model_package: state.model_package,
                top: state.top,
                confidence: state.confidence,
                margin: state.margin,
                sha256: state.sha256,
                classified_at: state.classified_at,
            }),
        }),
    );
    await putMetrics(c, s, [
        { name: INFERENCE_METRICS.classified, value: 1 },
        { name: INFERENCE_METRICS.confidence, value: state.confidence, unit: "None" },
    ]);
    return { prediction_key: key };
}

/**
 * The review branch's first step, run with the task token: the image is copied to `pending/`, the token stored
 * (before the task exists, so no annotation can arrive for an item whose token is unknown), the Label Studio
 * task written, the alert published.
 */
export async function enqueueReview(
    c: WorkflowClients,
    s: WorkflowSettings,
    input: { classification: ClassificationState; task_token: string; execution_arn: string },
): Promise<{ item_id: string; task_key: string }> {
    const state = input.classification;
    const pending = reviewKeys.pendingImage(s.model, state.item_id, state.content_type);
    await c.s3.send(
        new CopyObjectCommand({
            Bucket: s.rawBucket,
            Key: pending,
            CopySource: `${state.bucket}/${state.key.split("/").map(encodeURIComponent).join("/")}`,
        }),
    );
    const waiting: WaitingReview = {
        item_id: state.item_id,
        task_token: input.task_token,
        execution_arn: input.execution_arn,
        waiting_since: nowOf(c).toISOString(),
    };
    await c.s3.send(
        new PutObjectCommand({
            Bucket: s.rawBucket,
            Key: reviewKeys.waiting(s.model, state.item_id),
            Body: json(waiting),
            ContentType: "application/json",
        }),
    );
    const task = labelStudioTask({
        bucket: s.rawBucket,
        model: s.model,
        itemId: state.item_id,
        contentType: state.content_type,
        reason: state.suggestion ? "correction" : "low-confidence",
        top: state.top,
        inferenceId: inferenceIdOf(state),
        modelPackage: state.model_package,
        suggestion: state.suggestion,
    });
    const taskKey = reviewKeys.task(s.model, state.item_id);
    await c.s3.send(new PutObjectCommand({ Bucket: s.rawBucket, Key: taskKey, Body: json(task), ContentType: "application/json" }));
    if (c.sns && s.alertTopicArn)
        await c.sns.send(
            new PublishCommand({
                TopicArn: s.alertTopicArn,
                Subject: `vision-mlops ${s.environment} ${s.model}: an image needs a reviewer`.slice(0, 99),
                Message: [
                    state.suggestion
                        ? `${state.suggestion.by ?? "Someone"} says model ${s.model} (${s.environment}) was wrong about ${state.image}: it is ${state.suggestion.label} (the model said ${task.data.top_classes}).`
                        : `Model ${s.model} (${s.environment}) is unsure about ${state.image}: ${task.data.top_classes}.`,
                    `Label it in the model's Label Studio review project (task ${s3Uri(s.rawBucket, taskKey)}).`,
                    `Image: ${consoleLink(s.region, s.rawBucket, pending)}`,
                    `Execution: ${input.execution_arn}`,
                ].join("\n"),
            }),
        );
    // A correction's confidence is the page's earlier answer, already counted: only the correction is.
    await putMetrics(
        c,
        s,
        state.suggestion
            ? [{ name: INFERENCE_METRICS.correction, value: 1 }]
            : [
                  { name: INFERENCE_METRICS.lowConfidence, value: 1 },
                  { name: INFERENCE_METRICS.confidence, value: state.confidence, unit: "None" },
              ],
    );
    return { item_id: state.item_id, task_key: taskKey };
}

/** The endpoint request an item came from: a classified image's own id, a correction's prediction's when it had one. */
export function inferenceIdOf(state: ClassificationState): string | undefined {
    return state.inference_id ?? (state.suggestion ? undefined : state.item_id);
}

function consoleLink(region: string, bucket: string, key: string): string {
    return `https://${region}.console.aws.amazon.com/s3/object/${bucket}?region=${region}&prefix=${encodeURIComponent(key)}`;
}

/** The pending image of an item: its key and media type, or undefined when it is no longer queued. */
async function pendingImage(s3: S3, s: WorkflowSettings, itemId: string): Promise<{ key: string; contentType: string } | undefined> {
    for await (const key of listKeys(s3, s.rawBucket, `${prefixes.reviewPending(s.model)}${itemId}.`))
        for (const [contentType, ext] of Object.entries(IMAGE_EXTENSIONS)) if (key.endsWith(ext)) return { key, contentType };
    return undefined;
}

async function deleteQuietly(s3: S3, bucket: string, keys: readonly string[]): Promise<void> {
    for (const key of keys) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
}

export interface FileRequest {
    readonly item_id: string;
    readonly review: ReviewOutcome;
    readonly inference_id?: string;
    readonly model_package?: string;
    readonly predicted_label?: string;
    /** A correction's suggested class (the reviewer's label is what counts). */
    readonly suggested_label?: string;
}

/**
 * Files a labelled item under `reviewed/<label>/` (image and ReviewedItem), then takes it out of the queue, and
 * says how many reviewed items wait for a batch.
 */
export async function fileReviewed(
    c: WorkflowClients,
    s: WorkflowSettings,
    r: FileRequest,
): Promise<{ reviewed_key: string; waiting_for_batch: number }> {
    const label = r.review.label;
    if (r.review.verdict !== "label" || !label || !s.classes.includes(label))
        throw new Error(`item ${r.item_id}: ${JSON.stringify(label)} is not a class of model ${s.model} (${s.classes.join(", ")})`);
    const pending = await pendingImage(c.s3, s, r.item_id);
    const imageKey = (ct: string) => reviewKeys.reviewedImage(s.model, label, r.item_id, ct);
    const recordKey = reviewKeys.reviewedRecord(s.model, label, r.item_id);
    if (!pending) {
        // Filed already (a retried step or a repeated export): the record stands.
        if (await getText(c.s3, s.rawBucket, recordKey))
            return { reviewed_key: recordKey, waiting_for_batch: await reviewedCount(c.s3, s) };
        throw new Error(`item ${r.item_id} has no image under s3://${s.rawBucket}/${prefixes.reviewPending(s.model)}; nothing filed`);
    }
    const bytes = await readImage(c.s3, s.rawBucket, pending.key);
    const digest = createHash("sha256").update(bytes).digest();
    await c.s3.send(
        new PutObjectCommand({
            Bucket: s.rawBucket,
            Key: imageKey(pending.contentType),
            Body: bytes,
            ContentType: pending.contentType,
            ChecksumSHA256: digest.toString("base64"),
        }),
    );
    const record: ReviewedItem = {
        version: 1,
        item_id: r.item_id,
        model: s.model,
        label,
        reviewer: r.review.reviewer,
        reviewed_at: r.review.reviewed_at,
        image_key: imageKey(pending.contentType),
        content_type: pending.contentType,
        sha256: digest.toString("hex"),
        source: r.item_id.startsWith("fix-") ? "correction" : "low-confidence",
        ...(r.inference_id ? { inference_id: r.inference_id } : {}),
        ...(r.review.annotation_id ? { annotation_id: r.review.annotation_id } : {}),
        ...(r.model_package ? { model_package: r.model_package } : {}),
        ...(r.predicted_label ? { predicted_label: r.predicted_label } : {}),
        ...(r.suggested_label ? { suggested_label: r.suggested_label } : {}),
    };
    await c.s3.send(new PutObjectCommand({ Bucket: s.rawBucket, Key: recordKey, Body: json(record), ContentType: "application/json" }));
    await deleteQuietly(c.s3, s.rawBucket, [pending.key, reviewKeys.task(s.model, r.item_id), reviewKeys.waiting(s.model, r.item_id)]);
    await putMetrics(c, s, [{ name: INFERENCE_METRICS.reviewed, value: 1 }]);
    return { reviewed_key: recordKey, waiting_for_batch: await reviewedCount(c.s3, s) };
}

/** Reviewed items not yet taken by a batch. */
async function reviewedCount(s3: S3, s: WorkflowSettings): Promise<number> {
    let n = 0;
    for await (const key of listKeys(s3, s.rawBucket, prefixes.reviewed(s.model))) if (key.endsWith(".json")) n++;
    return n;
}

/**
 * Ends an item without a label: `closed/<item>.json`. A reviewer's "not a valid image" takes it out of the
 * queue; a timed-out review leaves the image and task queued (a later label is still filed, by the callback).
 */
export async function closeItem(
    c: WorkflowClients,
    s: WorkflowSettings,
    input: { item_id: string; reason: ClosedItem["reason"]; reviewer?: string; execution_arn?: string },
): Promise<{ closed_key: string }> {
    const record: ClosedItem = {
        version: 1,
        item_id: input.item_id,
        model: s.model,
        reason: input.reason,
        closed_at: nowOf(c).toISOString(),
        ...(input.reviewer ? { reviewer: input.reviewer } : {}),
        ...(input.execution_arn ? { execution_arn: input.execution_arn } : {}),
    };
    const key = reviewKeys.closed(s.model, input.item_id);
    await c.s3.send(new PutObjectCommand({ Bucket: s.rawBucket, Key: key, Body: json(record), ContentType: "application/json" }));
    if (input.reason === "invalid-image") {
        const pending = await pendingImage(c.s3, s, input.item_id);
        await deleteQuietly(c.s3, s.rawBucket, [
            ...(pending ? [pending.key] : []),
            reviewKeys.task(s.model, input.item_id),
            reviewKeys.waiting(s.model, input.item_id),
        ]);
    }
    await putMetrics(c, s, [
        { name: input.reason === "invalid-image" ? INFERENCE_METRICS.invalidImage : INFERENCE_METRICS.reviewTimedOut, value: 1 },
    ]);
    return { closed_key: key };
}

/** Step Functions' answers for a token whose task is over: the execution ended (timed out, stopped) or never was. */
const TASK_GONE = new Set(["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"]);

export type ResumeResult =
    | { readonly status: "resumed"; readonly item_id: string; readonly execution_arn: string; readonly verdict: ReviewOutcome["verdict"] }
    | { readonly status: "filed-late" | "closed-late"; readonly item_id: string }
    | { readonly status: "ignored"; readonly item_id?: string; readonly why: string };

/**
 * An annotation arrived under `annotations/`: resume the execution waiting for its item with the reviewer's
 * verdict (SendTaskSuccess). When that execution is over (its review timed out), the label is filed here.
 */
export async function resumeFromAnnotation(c: WorkflowClients, s: WorkflowSettings, key: string): Promise<ResumeResult> {
    const text = await getText(c.s3, s.rawBucket, key);
    if (!text) return { status: "ignored", why: `s3://${s.rawBucket}/${key} is gone` };
    let doc: unknown;
    try {
        doc = JSON.parse(text.text);
    } catch {
        return { status: "ignored", why: `s3://${s.rawBucket}/${key} is not JSON` };
    }
    const parsed = parseLabelStudioAnnotation(doc, s3Uri(s.rawBucket, key));
    if (parsed.verdict.kind === "none")
        return { status: "ignored", item_id: parsed.itemId, why: "the annotation has no choice (skipped or cancelled)" };
    if (parsed.verdict.kind === "label" && !s.classes.includes(parsed.verdict.label))
        return {
            status: "ignored",
            item_id: parsed.itemId,
            why: `"${parsed.verdict.label}" is not a class of model ${s.model}; fix the review project's labelling interface`,
        };
    const outcome: ReviewOutcome = {
        verdict: parsed.verdict.kind,
        ...(parsed.verdict.kind === "label" ? { label: parsed.verdict.label } : {}),
        reviewer: parsed.reviewer,
        ...(parsed.annotationId ? { annotation_id: parsed.annotationId } : {}),
        reviewed_at: nowOf(c).toISOString(),
    };
    const waitingText = await getText(c.s3, s.rawBucket, reviewKeys.waiting(s.model, parsed.itemId));
    if (!waitingText) return { status: "ignored", item_id: parsed.itemId, why: "no execution waits for this item (reviewed already?)" };
    const waiting = JSON.parse(waitingText.text) as WaitingReview;
    if (!c.sfn) throw new Error("resumeFromAnnotation needs a Step Functions client");
    try {
        await c.sfn.send(new SendTaskSuccessCommand({ taskToken: waiting.task_token, output: JSON.stringify(outcome) }));
        return { status: "resumed", item_id: parsed.itemId, execution_arn: waiting.execution_arn, verdict: outcome.verdict };
    } catch (e) {
        if (!TASK_GONE.has((e as { name?: string }).name ?? "")) throw e;
    }
    if (outcome.verdict === "invalid") {
        await closeItem(c, s, {
            item_id: parsed.itemId,
            reason: "invalid-image",
            reviewer: outcome.reviewer,
            execution_arn: waiting.execution_arn,
        });
        return { status: "closed-late", item_id: parsed.itemId };
    }
    const task = await getText(c.s3, s.rawBucket, reviewKeys.task(s.model, parsed.itemId));
    const data = task ? (JSON.parse(task.text) as LabelStudioTask).data : undefined;
    const predicted = task
        ? (JSON.parse(task.text) as LabelStudioTask).predictions.find((p) => p.model_version !== "correction")
        : undefined;
    await fileReviewed(c, s, {
        item_id: parsed.itemId,
        review: outcome,
        inference_id: data?.inference_id,
        model_package: data?.model_package,
        predicted_label: predicted?.result[0]?.value.choices[0],
        suggested_label: data?.suggested_label,
    });
    return { status: "filed-late", item_id: parsed.itemId };
}

/** Heartbeats every execution whose item is still queued; an item whose image was removed gets none and times out. */
export async function heartbeatWaiting(c: WorkflowClients, s: WorkflowSettings): Promise<{ sent: number; skipped: number }> {
    if (!c.sfn) throw new Error("heartbeatWaiting needs a Step Functions client");
    let sent = 0,
        skipped = 0;
    for await (const key of listKeys(c.s3, s.rawBucket, prefixes.reviewWaiting(s.model))) {
        const text = await getText(c.s3, s.rawBucket, key);
        if (!text) continue;
        const waiting = JSON.parse(text.text) as WaitingReview;
        if (!(await pendingImage(c.s3, s, waiting.item_id))) {
            skipped++;
            continue;
        }
        try {
            await c.sfn.send(new SendTaskHeartbeatCommand({ taskToken: waiting.task_token }));
            sent++;
        } catch (e) {
            if (!TASK_GONE.has((e as { name?: string }).name ?? "")) throw e;
            skipped++;
        }
    }
    return { sent, skipped };
}

export interface BatchResult {
    readonly batch_id?: string;
    readonly ingest: ReviewBatch["ingest"] | "nothing-to-batch";
    readonly manifest_key?: string;
    readonly items: number;
}

/**
 * Takes every reviewed item into one ingest batch: the images go into a folder per class and through `ingest`
 * itself, so the batch, its manifest (the training trigger) and `latest/` are exactly what the ingest command
 * writes. Then `batches/<batch>.json` records which items it took, and they leave `reviewed/`.
 */
export async function writeReviewBatch(c: WorkflowClients, s: WorkflowSettings, options: { tmpRoot?: string } = {}): Promise<BatchResult> {
    const items: ReviewedItem[] = [];
    for await (const key of listKeys(c.s3, s.rawBucket, prefixes.reviewed(s.model)))
        if (key.endsWith(".json")) {
            const text = await getText(c.s3, s.rawBucket, key);
            if (text) items.push(JSON.parse(text.text) as ReviewedItem);
        }
    if (items.length === 0) return { ingest: "nothing-to-batch", items: 0 };
    const dir = await mkdtemp(join(options.tmpRoot ?? tmpdir(), "review-batch-"));
    try {
        for (const item of items) {
            await mkdir(join(dir, item.label), { recursive: true });
            const bytes = await readImage(c.s3, s.rawBucket, item.image_key);
            await writeFile(join(dir, item.label, `${item.item_id}${IMAGE_EXTENSIONS[item.content_type]}`), bytes);
        }
        const batchId = `review-${defaultBatchId(nowOf(c))}`;
        const result = await ingest({ s3: c.s3, bucket: s.rawBucket, model: s.model, classes: s.classes, dir, batchId, now: c.now });
        const record: ReviewBatch = {
            version: 1,
            model: s.model,
            batch_id: batchId,
            written_at: nowOf(c).toISOString(),
            ingest: result.status,
            ...(result.status === "complete" ? { manifest_key: result.manifestKey } : {}),
            items,
        };
        await putIfAbsent(c.s3, {
            Bucket: s.rawBucket,
            Key: reviewKeys.batch(s.model, batchId),
            Body: json(record),
            ContentType: "application/json",
        });
        for (const item of items)
            await deleteQuietly(c.s3, s.rawBucket, [item.image_key, reviewKeys.reviewedRecord(s.model, item.label, item.item_id)]);
        return { batch_id: batchId, ingest: result.status, manifest_key: record.manifest_key, items: items.length };
    } finally {
        await rm(dir, { recursive: true, force: true });
    }
}

/**
 * Starts the workflow for an image already in S3, named after its content: the same image (wherever it lies)
 * is classified once; `started: false` says an execution of that name exists.
 */
export async function startForImage(
    c: WorkflowClients,
    stateMachineArn: string,
    bucket: string,
    key: string,
): Promise<{ name: string; executionArn: string; started: boolean }> {
    if (!c.sfn) throw new Error("startForImage needs a Step Functions client");
    const bytes = await readImage(c.s3, bucket, key);
    const name = executionName(createHash("sha256").update(bytes).digest("hex"));
    const executionArn = `${stateMachineArn.replace(":stateMachine:", ":execution:")}:${name}`;
    try {
        await c.sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify({ image: s3Uri(bucket, key) }) }));
        return { name, executionArn, started: true };
    } catch (e) {
        if ((e as { name?: string }).name === "ExecutionAlreadyExists") return { name, executionArn, started: false };
        throw e;
    }
}

export type CorrectionStart =
    | { readonly name: string; readonly executionArn: string; readonly started: boolean }
    | { readonly status: "ignored"; readonly why: string };

/**
 * A correction's record arrived (`corrections/<id>.json`, written after its image): start its review, named
 * after the correction, with the state the review steps read (the page's earlier answer, if it sent one, and the
 * suggested class). A record this workflow cannot review (another model's, a class the model no longer has, an
 * image that is missing or not the one the record hashes) is ignored with the reason, never reviewed.
 */
export async function startForCorrection(c: WorkflowClients, s: WorkflowSettings, key: string): Promise<CorrectionStart> {
    if (!c.sfn) throw new Error("startForCorrection needs a Step Functions client");
    if (!s.stateMachineArn) throw new Error("startForCorrection needs the state machine's ARN");
    const where = s3Uri(s.rawBucket, key);
    const id = key.startsWith(prefixes.reviewCorrections(s.model))
        ? key.slice(prefixes.reviewCorrections(s.model).length, -".json".length)
        : "";
    if (!key.endsWith(".json") || !REVIEW_ITEM_ID.test(id) || !id.startsWith("fix-"))
        return { status: "ignored", why: `${where} is not a correction record of model ${s.model}` };
    const text = await getText(c.s3, s.rawBucket, key);
    if (!text) return { status: "ignored", why: `${where} is gone` };
    let record: Correction;
    try {
        record = JSON.parse(text.text) as Correction;
    } catch {
        return { status: "ignored", why: `${where} is not JSON` };
    }
    const problem =
        record.version !== 1
            ? `version ${JSON.stringify(record.version)}, not 1`
            : record.id !== id || record.model !== s.model
              ? `it names correction ${JSON.stringify(record.id)} of model ${JSON.stringify(record.model)}`
              : !s.classes.includes(record.label)
                ? `"${record.label}" is not a class of model ${s.model} (${s.classes.join(", ")})`
                : !IMAGE_EXTENSIONS[record.content_type] || record.image_key !== correctionKeys(s.model, id, record.content_type).image
                  ? `its image ${JSON.stringify(record.image_key)} is not the correction's own`
                  : undefined;
    if (problem) return { status: "ignored", why: `${where}: ${problem}` };
    let bytes: Uint8Array;
    try {
        bytes = await readImage(c.s3, s.rawBucket, record.image_key);
    } catch (e) {
        if (e instanceof WorkflowError) return { status: "ignored", why: `${where}: ${e.message}` };
        throw e;
    }
    if (createHash("sha256").update(bytes).digest("hex") !== record.sha256)
        return { status: "ignored", why: `${where}: its image is not the one the record's sha256 names` };
    const top = record.prediction?.top ?? [];
    const state: ClassificationState = {
        image: s3Uri(s.rawBucket, record.image_key),
        bucket: s.rawBucket,
        key: record.image_key,
        item_id: id,
        content_type: record.content_type,
        sha256: record.sha256,
        top,
        confidence: top[0]?.confidence ?? 0,
        margin: (top[0]?.confidence ?? 0) - (top[1]?.confidence ?? 0),
        endpoint: s.endpointName,
        ...(record.prediction?.model_package ? { model_package: record.prediction.model_package } : {}),
        classified_at: record.submitted_at,
        ...(record.prediction?.inference_id ? { inference_id: record.prediction.inference_id } : {}),
        suggestion: { label: record.label, ...(record.submitted_by ? { by: record.submitted_by } : {}) },
    };
    const executionArn = `${s.stateMachineArn.replace(":stateMachine:", ":execution:")}:${id}`;
    try {
        await c.sfn.send(new StartExecutionCommand({ stateMachineArn: s.stateMachineArn, name: id, input: JSON.stringify(state) }));
        return { name: id, executionArn, started: true };
    } catch (e) {
        if ((e as { name?: string }).name === "ExecutionAlreadyExists") return { name: id, executionArn, started: false };
        throw e;
    }
}

async function putMetrics(
    c: WorkflowClients,
    s: WorkflowSettings,
    data: ReadonlyArray<{ name: string; value: number; unit?: StandardUnit }>,
): Promise<void> {
    if (!c.cloudwatch) return;
    await c.cloudwatch.send(
        new PutMetricDataCommand({
            Namespace: inferenceNamespace(s.model),
            MetricData: data.map((d) => ({
                MetricName: d.name,
                Value: d.value,
                Unit: d.unit ?? "Count",
                Dimensions: [
                    { Name: "Environment", Value: s.environment },
                    { Name: "Model", Value: s.model },
                ],
            })),
        }),
    );
}
