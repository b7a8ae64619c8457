import { S3Client } from "@aws-sdk/client-s3";
import { SageMakerRuntime } from "@aws-sdk/client-sagemaker-runtime";
import { PREDICTION_ENV } from "../../infra/prediction-api";
import { fileCorrection } from "../inference/corrections";
import { S3 } from "../ingest/s3";
import { Correction, CorrectionQueue, createPredictionApi, HttpApiEvent, HttpApiResult } from "./api";
import { catalogFromS3 } from "./catalog";

/**
 * The prediction API's Lambda entry: the handler of ./api with the real clients, the catalog the component
 * wrote, and corrections filed into the model's review queue (jobs/inference/corrections.ts), where the
 * inference workflow picks them up for a reviewer.
 */

/** A correction as the review queue files it: who sent it, what the model said and which package said it. */
export function reviewQueue(s3: S3, bucket: string): CorrectionQueue {
    return {
        async file(c: Correction): Promise<void> {
            await fileCorrection(s3, {
                bucket,
                model: c.model,
                classes: c.classes,
                image: c.image,
                label: c.label,
                submittedBy: c.submittedBy.username ?? c.submittedBy.sub,
                prediction: {
                    top: c.predictions.length ? c.predictions : c.predictedLabel ? [{ label: c.predictedLabel, confidence: 0 }] : [],
                    inference_id: c.inferenceId,
                    model_package: c.package.arn,
                },
                now: () => c.submittedAt,
            });
        },
    };
}

function required(name: string): string {
    const value = process.env[name];
    if (!value) throw new Error(`environment variable ${name} is not set; the PredictionApp component sets it`);
    return value;
}

let api: ((event: HttpApiEvent) => Promise<HttpApiResult>) | undefined;

export async function handler(event: HttpApiEvent): Promise<HttpApiResult> {
    if (!api) {
        const s3 = new S3Client({});
        api = createPredictionApi({
            // One attempt: the person waits, and a retry behind API Gateway's 30 s would outlive the request.
            runtime: new SageMakerRuntime({ maxAttempts: 1 }),
            catalog: catalogFromS3(s3, required(PREDICTION_ENV.catalogBucket), required(PREDICTION_ENV.catalogKey)),
            corrections: reviewQueue(s3, required(PREDICTION_ENV.reviewBucket)),
            originSecret: process.env[PREDICTION_ENV.originSecret] || undefined,
        });
    }
    return api(event);
}
