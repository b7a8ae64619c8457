import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { S3Client } from "@aws-sdk/client-s3";
import { SageMakerRuntime } from "@aws-sdk/client-sagemaker-runtime";
import { SFNClient } from "@aws-sdk/client-sfn";
import { SNSClient } from "@aws-sdk/client-sns";
import { readFileSync } from "fs";
import { join } from "path";
import { INFERENCE_CLASSES_FILE, INFERENCE_ENV } from "../../infra/inference-workflow";
import { WorkflowClients, WorkflowSettings } from "./workflow";

/**
 * The handlers' settings, from the environment the component sets (INFERENCE_ENV) and the class list packed beside
 * the bundle (`taskRoot`: Lambda's LAMBDA_TASK_ROOT, else the bundle's own folder); a clear error for a missing one.
 */
export function settingsFromEnvironment(
    env: NodeJS.ProcessEnv = process.env,
    taskRoot = env.LAMBDA_TASK_ROOT ?? __dirname,
): WorkflowSettings {
    const need = (name: string) => {
        const v = env[name];
        if (!v) throw new Error(`environment variable ${name} is not set; the function is deployed by the InferenceWorkflow component`);
        return v;
    };
    const classes = classesIn(taskRoot);
    return {
        environment: need(INFERENCE_ENV.environment),
        model: need(INFERENCE_ENV.model),
        region: need("AWS_REGION"),
        rawBucket: need(INFERENCE_ENV.rawBucket),
        endpointName: env[INFERENCE_ENV.endpointName] ?? "",
        modelPackageArn: env[INFERENCE_ENV.modelPackageArn] || undefined,
        classes,
        topK: Number(env[INFERENCE_ENV.topK] ?? 5),
        alertTopicArn: env[INFERENCE_ENV.alertTopicArn] || undefined,
        stateMachineArn: env[INFERENCE_ENV.stateMachineArn] || undefined,
        reviewBatchSize: Number(env[INFERENCE_ENV.reviewBatchSize] ?? 50),
        imagePrefixes: JSON.parse(env[INFERENCE_ENV.imagePrefixes] ?? "[]") as string[],
    };
}

/** The class list beside the bundle, or an error naming the file and what is wrong with it. */
function classesIn(taskRoot: string): string[] {
    const file = join(taskRoot, INFERENCE_CLASSES_FILE);
    let text: string;
    try {
        text = readFileSync(file, "utf8");
    } catch (e) {
        throw new Error(
            `cannot read the class list ${file} (${(e as Error).message}); the InferenceWorkflow component packs it with the code`,
            { cause: e },
        );
    }
    let classes: unknown;
    try {
        classes = JSON.parse(text);
    } catch {
        classes = undefined;
    }
    if (!Array.isArray(classes) || classes.length === 0 || !classes.every((c) => typeof c === "string" && c.length > 0))
        throw new Error(`${file} is not a JSON list of class names`);
    return classes;
}

/** SDK clients, created once per container; AWS_ENDPOINT_URL (an emulator) is honoured by the SDK itself. */
export function clientsFromEnvironment(): WorkflowClients {
    const s3 = new S3Client({ forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL) });
    return {
        s3,
        runtime: new SageMakerRuntime({}),
        sns: new SNSClient({}),
        cloudwatch: new CloudWatchClient({}),
        sfn: new SFNClient({}),
        log: (line, detail) => console.log(JSON.stringify({ message: line, ...detail })),
    };
}

/** The S3 object of an EventBridge "Object Created" event. */
export function objectOfEvent(event: unknown): { bucket: string; key: string } | undefined {
    const detail = (event as { detail?: { bucket?: { name?: string }; object?: { key?: string } } })?.detail;
    if (!detail?.bucket?.name || !detail.object?.key) return undefined;
    // EventBridge carries the key as S3 stored it (not URL-encoded, unlike S3 notifications).
    return { bucket: detail.bucket.name, key: detail.object.key };
}
