import {
    ApiErrorBody,
    CorrectionRequest,
    CorrectionResponse,
    ModelsResponse,
    PredictionResponse,
    routePath,
} from "../../infra/prediction-api";

/** An answer of the API that is not a success, with the API's own code and message when it sent one. */
export class ApiError extends Error {
    constructor(
        readonly code: string,
        message: string,
        readonly status: number,
        readonly retryable = false,
    ) {
        super(message);
    }
}

/** Calls the page's own API (same origin, through CloudFront's `/api/*` behaviour). */
export class PredictionApi {
    constructor(private readonly token?: string) {}

    models(): Promise<ModelsResponse> {
        return this.call(routePath("models"), { method: "GET" });
    }

    predict(model: string, image: Blob): Promise<PredictionResponse> {
        return this.call(routePath("predict", model), { method: "POST", headers: { "content-type": image.type }, body: image });
    }

    correct(model: string, correction: CorrectionRequest): Promise<CorrectionResponse> {
        return this.call(routePath("correct", model), {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(correction),
        });
    }

    private async call<T>(path: string, init: RequestInit): Promise<T> {
        const headers = new Headers(init.headers);
        if (this.token) headers.set("authorization", `Bearer ${this.token}`);
        let response: Response;
        try {
            response = await fetch(path, { ...init, headers });
        } catch {
            throw new ApiError("network_error", "The prediction API could not be reached. Check your connection and try again.", 0, true);
        }
        const text = await response.text();
        let body: unknown;
        try {
            body = text ? JSON.parse(text) : undefined;
        } catch {
            body = undefined;
        }
        if (response.ok && body !== undefined) return body as T;
        const error = (body as Partial<ApiErrorBody> | undefined)?.error;
        if (error?.code && error.message) throw new ApiError(error.code, error.message, response.status, error.retryable);
        // Answers that never reached the function: the JWT authorizer's, API Gateway's or CloudFront's own.
        if (response.status === 401 || response.status === 403)
            throw new ApiError("unauthorized", "Your sign-in has expired or is not valid for this stack. Sign in again.", response.status);
        if (response.status === 413) throw new ApiError("image_too_large", "The image is too large for the prediction API.", 413);
        if (response.status === 429)
            throw new ApiError("throttled", "Too many requests right now. Wait a moment and try again.", 429, true);
        throw new ApiError(
            "unexpected_response",
            `The prediction API answered ${response.status} without an explanation.`,
            response.status,
        );
    }
}

/** A blob's bytes as base64, for the correction's JSON body. */
export async function base64Of(blob: Blob): Promise<string> {
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let s = "";
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s);
}
