import { randomUUID, timingSafeEqual } from "crypto";
import { checkImage, CLASSIFY_ERRORS, ClassifyError, classifyImage, EndpointRuntime } from "../lib/classify";
import {
    ApiErrorBody,
    CatalogModel,
    CorrectionRequest,
    CorrectionResponse,
    INFERENCE_ID,
    MAX_IMAGE_BYTES,
    ModelCatalog,
    ModelsResponse,
    ORIGIN_HEADER,
    PREDICTION_ROUTES,
    PredictionResponse,
    wouldReview,
} from "../../infra/prediction-api";

/**
 * The prediction API behind the page: API Gateway HTTP API (payload format 2.0) -> this handler -> the model's
 * SageMaker endpoint. Every answer is JSON; every error has a stable code and a message a person understands,
 * and nothing internal (an SDK's error text, a stack trace) ever leaves: that goes to the log with the request id.
 */

/** The parts of an HTTP API payload-2.0 event this handler reads. */
export interface HttpApiEvent {
    readonly routeKey: string;
    readonly headers?: Readonly<Record<string, string | undefined>>;
    readonly body?: string;
    readonly isBase64Encoded?: boolean;
    readonly pathParameters?: Readonly<Record<string, string | undefined>>;
    readonly requestContext: {
        readonly requestId: string;
        readonly authorizer?: { readonly jwt?: { readonly claims?: Readonly<Record<string, unknown>> } };
    };
}

export interface HttpApiResult {
    readonly statusCode: number;
    readonly headers: Record<string, string>;
    readonly body: string;
}

/** Who sent a correction: the JWT's subject and user name, or nobody on a public stack. */
export interface Submitter {
    readonly sub?: string;
    readonly username?: string;
}

/** A correction as the review queue receives it. */
export interface Correction {
    readonly model: string;
    readonly inferenceId: string;
    readonly label: string;
    readonly predictedLabel?: string;
    /** The ranked classes the person saw, most probable first (empty when the page sent none). */
    readonly predictions: readonly { readonly label: string; readonly confidence: number }[];
    /** The model's classes. */
    readonly classes: readonly string[];
    readonly image: Buffer;
    readonly contentType: string;
    readonly package: CatalogModel["package"];
    readonly submittedBy: Submitter;
    readonly submittedAt: Date;
}

/** Where corrections go: the inference workflow's review queue. */
export interface CorrectionQueue {
    file(correction: Correction): Promise<void>;
}

export interface PredictionApiDeps {
    readonly runtime: EndpointRuntime;
    /** The stack's served models; called on every request, so it should cache. */
    readonly catalog: () => Promise<ModelCatalog>;
    readonly corrections: CorrectionQueue;
    /** Largest image accepted, in bytes. Defaults to MAX_IMAGE_BYTES. */
    readonly maxImageBytes?: number;
    /** Ranked classes per answer. Defaults to 5. */
    readonly topK?: number;
    /** When set, requests must carry it in ORIGIN_HEADER (CloudFront adds it): the API answers only through the page's address. */
    readonly originSecret?: string;
    /** One JSON line per request. Defaults to console.log. */
    readonly log?: (entry: Record<string, unknown>) => void;
    readonly now?: () => Date;
    readonly newInferenceId?: () => string;
}

/** Errors of the API itself (besides classify's), with their statuses. */
export const API_ERRORS = {
    forbidden: 403,
    unknown_model: 404,
    unknown_route: 404,
    invalid_correction: 400,
    unknown_class: 400,
    internal_error: 500,
} as const;

class ApiFailure extends Error {
    constructor(
        readonly code: keyof typeof API_ERRORS,
        message: string,
    ) {
        super(message);
    }
}

const JSON_HEADERS = {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
};

function answer(statusCode: number, body: unknown): HttpApiResult {
    return { statusCode, headers: { ...JSON_HEADERS }, body: JSON.stringify(body) };
}

function failure(statusCode: number, code: string, message: string, retryable = false): HttpApiResult {
    const body: ApiErrorBody = { error: { code, message, retryable } };
    return answer(statusCode, body);
}

export function createPredictionApi(deps: PredictionApiDeps): (event: HttpApiEvent) => Promise<HttpApiResult> {
    const maxImageBytes = deps.maxImageBytes ?? MAX_IMAGE_BYTES;
    const log = deps.log ?? ((entry) => console.log(JSON.stringify(entry)));
    const now = deps.now ?? (() => new Date());
    const newInferenceId = deps.newInferenceId ?? randomUUID;

    async function modelOf(event: HttpApiEvent): Promise<CatalogModel> {
        const name = event.pathParameters?.model ?? "";
        const catalog = await deps.catalog();
        const model = catalog.models.find((m) => m.name === name);
        if (!model) {
            const served = catalog.models.map((m) => m.name).join(", ") || "none yet";
            throw new ApiFailure("unknown_model", `No model named "${name.slice(0, 64)}" is served in this stack (served: ${served}).`);
        }
        return model;
    }

    /** The request body as sent: HTTP APIs pass binary bodies base64-encoded. */
    function bodyBytes(event: HttpApiEvent): Buffer {
        const body = event.body ?? "";
        return event.isBase64Encoded ? Buffer.from(body, "base64") : Buffer.from(body, "utf8");
    }

    async function listModels(): Promise<HttpApiResult> {
        const catalog = await deps.catalog();
        const response: ModelsResponse = {
            environment: catalog.environment,
            models: catalog.models.map((m) => ({
                name: m.name,
                ...(m.description ? { description: m.description } : {}),
                task: m.task,
                classes: m.classes,
                imageShape: m.imageShape,
                confidenceThreshold: m.confidenceThreshold,
                package: { group: m.package.group, version: m.package.version },
            })),
            limits: { maxImageBytes },
        };
        return answer(200, response);
    }

    async function predict(event: HttpApiEvent, inferenceId: string): Promise<HttpApiResult> {
        const model = await modelOf(event);
        const image = bodyBytes(event);
        const result = await classifyImage(deps.runtime, {
            endpointName: model.endpointName,
            image,
            classes: model.classes,
            topK: deps.topK ?? 5,
            inferenceId,
            check: { maxBytes: maxImageBytes },
        });
        const predictions = result.top.map((c) => ({ label: c.label, index: c.index, confidence: c.confidence }));
        const response: PredictionResponse = {
            model: model.name,
            task: model.task,
            inferenceId,
            predictions,
            package: { group: model.package.group, version: model.package.version },
            review: { wouldReview: wouldReview(predictions, model.confidenceThreshold), confidenceThreshold: model.confidenceThreshold },
        };
        return answer(200, response);
    }

    async function correct(event: HttpApiEvent): Promise<HttpApiResult> {
        const model = await modelOf(event);
        const raw = bodyBytes(event).toString("utf8");
        let request: Partial<CorrectionRequest>;
        try {
            request = JSON.parse(raw) as Partial<CorrectionRequest>;
        } catch {
            throw new ApiFailure("invalid_correction", "A correction is a JSON object with inferenceId, label and image (base64).");
        }
        if (typeof request !== "object" || request === null)
            throw new ApiFailure("invalid_correction", "A correction is a JSON object with inferenceId, label and image (base64).");
        if (typeof request.inferenceId !== "string" || !INFERENCE_ID.test(request.inferenceId))
            throw new ApiFailure(
                "invalid_correction",
                "inferenceId must be the id the prediction answered with (1-64 letters, digits, . _ : -).",
            );
        if (typeof request.label !== "string" || !model.classes.includes(request.label))
            throw new ApiFailure(
                "unknown_class",
                `"${String(request.label).slice(0, 64)}" is not a class of ${model.name}; pick one of its ${model.classes.length} classes.`,
            );
        if (request.predictedLabel !== undefined && !model.classes.includes(request.predictedLabel))
            throw new ApiFailure(
                "unknown_class",
                `predictedLabel "${String(request.predictedLabel).slice(0, 64)}" is not a class of ${model.name}.`,
            );
        const shown = request.predictions ?? [];
        if (
            !Array.isArray(shown) ||
            shown.length > model.classes.length ||
            !shown.every(
                (p) => model.classes.includes(p?.label) && typeof p.confidence === "number" && p.confidence >= 0 && p.confidence <= 1,
            )
        )
            throw new ApiFailure(
                "invalid_correction",
                `predictions must be the ranked classes the page showed: classes of ${model.name}, each with a confidence from 0 to 1.`,
            );
        if (typeof request.image !== "string")
            throw new ApiFailure("invalid_correction", "A correction carries the image it corrects (base64), since the API keeps none.");
        const image = Buffer.from(request.image, "base64");
        const contentType = checkImage(image, { maxBytes: maxImageBytes });
        const claims = event.requestContext.authorizer?.jwt?.claims ?? {};
        const text = (v: unknown) => (typeof v === "string" ? v : undefined);
        await deps.corrections.file({
            model: model.name,
            inferenceId: request.inferenceId,
            label: request.label,
            predictedLabel: request.predictedLabel,
            predictions: shown.map((p) => ({ label: p.label, confidence: p.confidence })),
            classes: model.classes,
            image,
            contentType,
            package: model.package,
            submittedBy: { sub: text(claims.sub), username: text(claims.username) ?? text(claims["cognito:username"]) },
            submittedAt: now(),
        });
        const response: CorrectionResponse = {
            status: "queued",
            model: model.name,
            inferenceId: request.inferenceId,
            label: request.label,
        };
        return answer(202, response);
    }

    return async (event) => {
        const requestId = event.requestContext.requestId;
        const inferenceId = newInferenceId();
        const started = Date.now();
        let result: HttpApiResult;
        let detail: string | undefined;
        try {
            if (deps.originSecret !== undefined && !sameSecret(event.headers?.[ORIGIN_HEADER], deps.originSecret))
                throw new ApiFailure(
                    "forbidden",
                    "Use the prediction page's address: this API answers only requests that come through it.",
                );
            switch (event.routeKey) {
                case PREDICTION_ROUTES.models:
                    result = await listModels();
                    break;
                case PREDICTION_ROUTES.predict:
                    result = await predict(event, inferenceId);
                    break;
                case PREDICTION_ROUTES.correct:
                    result = await correct(event);
                    break;
                default:
                    throw new ApiFailure("unknown_route", `There is no ${event.routeKey} in this API.`);
            }
        } catch (e) {
            if (e instanceof ClassifyError) result = failure(CLASSIFY_ERRORS[e.code].status, e.code, sentence(e.message), e.retryable);
            else if (e instanceof ApiFailure) result = failure(API_ERRORS[e.code], e.code, e.message);
            else {
                detail = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
                result = failure(
                    500,
                    "internal_error",
                    `The prediction API failed unexpectedly; the failure is logged as request ${requestId}.`,
                );
            }
        }
        const body = JSON.parse(result.body) as Partial<ApiErrorBody>;
        log({
            requestId,
            route: event.routeKey,
            model: event.pathParameters?.model,
            status: result.statusCode,
            ...(event.routeKey === PREDICTION_ROUTES.predict && result.statusCode === 200 ? { inferenceId } : {}),
            ...(body.error ? { code: body.error.code } : {}),
            ...(detail ? { detail } : {}),
            ms: Date.now() - started,
        });
        return result;
    };
}

/** classify's messages are clauses; the page shows sentences (a leading name such as an endpoint's keeps its case). */
function sentence(message: string): string {
    const s = /^[a-z]+(?![\w-])/.test(message) ? message.charAt(0).toUpperCase() + message.slice(1) : message;
    return /[.!?]$/.test(s) ? s : `${s}.`;
}

function sameSecret(given: string | undefined, expected: string): boolean {
    const a = Buffer.from(given ?? "");
    const b = Buffer.from(expected);
    return a.length === b.length && timingSafeEqual(a, b);
}
