/**
 * The prediction API's contract, shared by the Lambda that answers it (jobs/prediction), the page that calls it
 * (web/) and the component that deploys both. Plain types and pure checks only: the page's bundle includes this
 * file, so it imports nothing.
 */

/** The task a model performs; the page and the API branch on it, so other tasks (detection) can be added beside it. */
export const MODEL_TASKS = ["image-classification"] as const;
export type ModelTask = (typeof MODEL_TASKS)[number];

/** Routes of the HTTP API, as API Gateway route keys. Everything lives under `/api/`, CloudFront's API behaviour. */
export const PREDICTION_ROUTES = {
    models: "GET /api/models",
    predict: "POST /api/models/{model}/predictions",
    correct: "POST /api/models/{model}/corrections",
} as const;
export type PredictionRoute = keyof typeof PREDICTION_ROUTES;

/** One served model as the Lambda knows it (the catalog object the component writes at deploy time). */
export interface CatalogModel {
    readonly name: string;
    readonly description?: string;
    readonly task: ModelTask;
    /** Class names by index: the served package's class map. */
    readonly classes: readonly string[];
    /** [channels, height, width] the model was trained at; the page resizes to it before upload. */
    readonly imageShape: readonly [number, number, number];
    /** Top-class confidence below which a prediction would go to human review. */
    readonly confidenceThreshold: number;
    readonly endpointName: string;
    /** The model package the endpoint serves. */
    readonly package: PackageRef & { readonly arn: string };
}

export interface PackageRef {
    /** Model package group name. */
    readonly group: string;
    readonly version: number;
}

/** What the Lambda reads on a cold start: the stack's served models. */
export interface ModelCatalog {
    readonly environment: string;
    readonly models: readonly CatalogModel[];
}

/** A model as `GET /api/models` shows it: no endpoint names or ARNs (they carry the account id). */
export type PublicModel = Omit<CatalogModel, "endpointName" | "package"> & { readonly package: PackageRef };

export interface ModelsResponse {
    readonly environment: string;
    readonly models: readonly PublicModel[];
    readonly limits: { readonly maxImageBytes: number };
}

export interface RankedPrediction {
    readonly label: string;
    /** Index in the model's class map. */
    readonly index: number;
    /** The model's probability, 0..1. */
    readonly confidence: number;
}

export interface PredictionResponse {
    readonly model: string;
    readonly task: ModelTask;
    /** Recorded by the endpoint's data capture with the request; a correction refers back to it. */
    readonly inferenceId: string;
    /** Most probable first. */
    readonly predictions: readonly RankedPrediction[];
    readonly package: PackageRef;
    /** Whether the inference workflow would send this image to a person (top class below the threshold). */
    readonly review: { readonly wouldReview: boolean; readonly confidenceThreshold: number };
}

/** `POST /api/models/{model}/corrections`: the image again (the API keeps none) and the class a person says it is. */
export interface CorrectionRequest {
    readonly inferenceId: string;
    /** The right class, one of the model's classes. */
    readonly label: string;
    /** What the model said (its top class), for the reviewer. */
    readonly predictedLabel?: string;
    /** The ranked classes the page showed, most probable first, for the reviewer. */
    readonly predictions?: readonly { readonly label: string; readonly confidence: number }[];
    /** The uploaded image, base64. */
    readonly image: string;
}

export interface CorrectionResponse {
    readonly status: "queued";
    readonly model: string;
    readonly inferenceId: string;
    readonly label: string;
}

/** Every error the API answers: a stable code to branch on and a message a person understands. */
export interface ApiErrorBody {
    readonly error: { readonly code: string; readonly message: string; readonly retryable: boolean };
}

/**
 * Largest image the API takes, in bytes. Lambda's synchronous payload limit (6 MB) holds the whole API Gateway
 * event, and HTTP APIs hand binary bodies to Lambda base64-encoded (4 bytes for every 3), so an image much
 * above 4.4 MB could never reach the function; the page resizes to the model's input size long before that.
 */
export const MAX_IMAGE_BYTES = 4 * 1024 * 1024;

/** Inference ids the API issues and accepts: printable, at most 64 characters (SageMaker's InferenceId limit). */
export const INFERENCE_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Whether a ranked answer would go to human review under the model's threshold. */
export function wouldReview(predictions: readonly RankedPrediction[], confidenceThreshold: number): boolean {
    return (predictions[0]?.confidence ?? 0) < confidenceThreshold;
}

/** The URL path of a route for one model, e.g. `/api/models/traffic-signs/predictions`. */
export function routePath(route: PredictionRoute, model?: string): string {
    const path = PREDICTION_ROUTES[route].split(" ")[1];
    if (path.includes("{model}")) {
        if (!model) throw new Error(`route ${route} needs a model name`);
        return path.replace("{model}", encodeURIComponent(model));
    }
    return path;
}

/** Where the page signs in: Cognito's hosted UI endpoints for the page's app client (authorization code + PKCE). */
export interface PageAuth {
    readonly authorizeUrl: string;
    readonly tokenUrl: string;
    readonly logoutUrl: string;
    readonly clientId: string;
    readonly scopes: readonly string[];
}

/** `/config.json` beside the page, written at deploy time: what the page cannot know when it is built. */
export interface PageConfig {
    readonly environment: string;
    /** A line shown across the top of every page (staging says its models are candidates). None when absent. */
    readonly banner?: string;
    /** Sign-in settings; absent when the stack's API is public. */
    readonly auth?: PageAuth;
}

/** Environment variables of the prediction Lambda, set by the component and read by the handler. */
export const PREDICTION_ENV = {
    /** Bucket and key of the model catalog (JSON, `ModelCatalog`); the key changes whenever its content does. */
    catalogBucket: "MODEL_CATALOG_BUCKET",
    catalogKey: "MODEL_CATALOG_KEY",
    /** The value CloudFront adds as ORIGIN_HEADER; requests without it did not come through the page's address. */
    originSecret: "ORIGIN_SECRET",
    /** The raw bucket, whose models' review queues receive corrections. */
    reviewBucket: "REVIEW_BUCKET",
} as const;

/** The header CloudFront adds to every request it forwards to the API (lowercase, as API Gateway passes headers). */
export const ORIGIN_HEADER = "x-vision-mlops-origin";
