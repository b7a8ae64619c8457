import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { HttpApiEvent } from "../../jobs/prediction/api";
import { CatalogModel, ModelCatalog, PREDICTION_ROUTES } from "../../infra/prediction-api";

/** Two served models as the component would write them to the catalog. */
export const TEST_MODELS: readonly CatalogModel[] = [
    {
        name: "street-signs",
        description: "Street signs of the test set",
        task: "image-classification",
        classes: ["stop", "yield", "speed-limit-30", "no-entry", "roundabout"],
        imageShape: [3, 64, 48],
        confidenceThreshold: 0.8,
        endpointName: "vision-mlops-staging-street-signs",
        package: {
            arn: "arn:aws:sagemaker:us-east-1:123456789012:model-package/vision-mlops-staging-street-signs/7",
            group: "vision-mlops-staging-street-signs",
            version: 7,
        },
    },
    {
        name: "bikes",
        task: "image-classification",
        classes: ["bicycle", "motorcycle"],
        imageShape: [3, 32, 32],
        confidenceThreshold: 0.93,
        endpointName: "vision-mlops-staging-bikes",
        package: {
            arn: "arn:aws:sagemaker:us-east-1:123456789012:model-package/vision-mlops-staging-bikes/2",
            group: "vision-mlops-staging-bikes",
            version: 2,
        },
    },
];

export const TEST_CATALOG: ModelCatalog = { environment: "staging", models: TEST_MODELS };

/** Writes the catalog where the Lambda reads it. */
export async function putCatalog(s3: S3Client, bucket: string, key: string, catalog: ModelCatalog = TEST_CATALOG): Promise<void> {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(catalog), ContentType: "application/json" }));
}

const TEXT_TYPES = /^(text\/|application\/(json|x-www-form-urlencoded|xml|javascript))/;

/**
 * The payload-2.0 event API Gateway's HTTP API hands the Lambda for a request: the matched route key and path
 * parameters, lowercase headers, and the body base64-encoded unless its content type is text (as HTTP APIs do).
 * Undefined when no route matches (API Gateway itself answers 404 then).
 */
export function httpApiEvent(
    method: string,
    path: string,
    options: { body?: Buffer; headers?: Record<string, string>; claims?: Record<string, unknown>; requestId?: string } = {},
): HttpApiEvent | undefined {
    for (const routeKey of Object.values(PREDICTION_ROUTES)) {
        const [routeMethod, template] = routeKey.split(" ");
        const pattern = new RegExp(`^${template.replace("{model}", "(?<model>[^/]+)")}$`);
        const match = pattern.exec(path);
        if (routeMethod !== method || !match) continue;
        const headers = Object.fromEntries(Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
        const text = TEXT_TYPES.test(headers["content-type"] ?? "");
        const body = options.body;
        return {
            routeKey,
            headers,
            pathParameters: match.groups?.model ? { model: decodeURIComponent(match.groups.model) } : undefined,
            body: body && body.length ? (text ? body.toString("utf8") : body.toString("base64")) : undefined,
            isBase64Encoded: Boolean(body && body.length && !text),
            requestContext: {
                requestId: options.requestId ?? "req-1",
                ...(options.claims ? { authorizer: { jwt: { claims: options.claims } } } : {}),
            },
        };
    }
    return undefined;
}
