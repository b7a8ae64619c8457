import { BATCH_MANIFEST_FILE, prefixes } from "../naming";
import { EventPattern, objectCreatedEventPattern } from "../event-patterns";
import { BATCH_MANIFEST_PARAMETER } from "./image-classification";

export type { EventPattern, PatternValue } from "../event-patterns";

/**
 * What starts a training pipeline: the raw bucket's EventBridge "Object Created" event for a batch manifest
 * of the model (written last by the ingest CLI), never for the images before it.
 */

/** `<model>/batches/*\/_manifest.json` in the raw bucket: the wildcard ties the prefix and the suffix to one key. */
export function batchManifestEventPattern(rawBucketName: string, model: string): EventPattern {
    return objectCreatedEventPattern(rawBucketName, [{ wildcard: `${prefixes.rawModel(model)}batches/*/${BATCH_MANIFEST_FILE}` }]);
}

/** EventBridge's rules for SageMakerPipelineParameter names (1-256 of `[A-Za-z0-9_-]`). */
const PIPELINE_PARAMETER_NAME = /^[A-Za-z0-9_-]{1,256}$/;
/** A dynamic value must be a JSON path as a whole, in dot notation. */
const DYNAMIC_PATH = /^\$(\.[A-Za-z0-9_-]+)+$/;

export interface PipelineParameter {
    readonly name: string;
    readonly value: string;
}

/**
 * The target's pipeline parameters: `BatchManifestKey` from the event's object key. EventBridge resolves a
 * value that is a JSON path as a whole when it starts the execution.
 */
export function batchManifestPipelineParameters(): PipelineParameter[] {
    return checkedParameters([{ name: BATCH_MANIFEST_PARAMETER, value: "$.detail.object.key" }]);
}

export function checkedParameters(parameters: readonly PipelineParameter[]): PipelineParameter[] {
    for (const p of parameters) {
        if (!PIPELINE_PARAMETER_NAME.test(p.name))
            throw new Error(`EventBridge pipeline parameter name ${JSON.stringify(p.name)} must be 1-256 letters, digits, "_" or "-"`);
        if (p.value.startsWith("$") && !DYNAMIC_PATH.test(p.value))
            throw new Error(
                `EventBridge pipeline parameter ${p.name}: ${JSON.stringify(p.value)} must be a whole JSON path in dot notation such as $.detail.object.key`,
            );
        if (p.value.length > 1024) throw new Error(`EventBridge pipeline parameter ${p.name}: value longer than 1024 characters`);
    }
    return [...parameters];
}

/** Executions of one pipeline that ended Failed (a job failed, or the quality gate took the Fail branch). */
export function failedExecutionEventPattern(pipelineArn: string): EventPattern {
    return {
        source: ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Building Pipeline Execution Status Change"],
        detail: { pipelineArn: [pipelineArn], currentPipelineExecutionStatus: ["Failed"] },
    };
}
