import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { MODEL_TASKS, ModelCatalog } from "../../infra/prediction-api";

/**
 * The catalog of served models, read once per Lambda container. The component writes it at deploy time under a
 * key named by its content and passes that key in the function's environment, so a deploy that changes the
 * catalog also changes the function's configuration and every new container reads the new one.
 */

/** The catalog in `text`, or an error that says which part is wrong. */
export function parseCatalog(text: string, source: string): ModelCatalog {
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch {
        throw new Error(`${source} is not JSON`);
    }
    const c = value as Partial<ModelCatalog>;
    if (typeof c?.environment !== "string" || !Array.isArray(c.models))
        throw new Error(`${source} is not a model catalog (environment, models)`);
    c.models.forEach((m, i) => {
        const ok =
            typeof m?.name === "string" &&
            (MODEL_TASKS as readonly string[]).includes(m.task) &&
            Array.isArray(m.classes) &&
            m.classes.every((x: unknown) => typeof x === "string") &&
            Array.isArray(m.imageShape) &&
            m.imageShape.length === 3 &&
            typeof m.confidenceThreshold === "number" &&
            typeof m.endpointName === "string" &&
            typeof m.package?.arn === "string";
        if (!ok)
            throw new Error(
                `${source}: model ${i} (${String(m?.name)}) lacks name, task, classes, imageShape, confidenceThreshold, endpointName or package`,
            );
    });
    return c as ModelCatalog;
}

/** Reads the catalog from S3 on first use and keeps it; a failed read is tried again on the next request. */
export function catalogFromS3(s3: Pick<S3Client, "send">, bucket: string, key: string): () => Promise<ModelCatalog> {
    let loading: Promise<ModelCatalog> | undefined;
    return () => {
        loading ??= (async () => {
            const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
            return parseCatalog(await object.Body!.transformToString("utf8"), `s3://${bucket}/${key}`);
        })().catch((e) => {
            loading = undefined;
            throw e;
        });
        return loading;
    };
}
