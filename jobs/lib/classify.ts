import type { InvokeEndpointCommandInput, InvokeEndpointCommandOutput } from "@aws-sdk/client-sagemaker-runtime";
import { classProbabilities, PredictionFormatError, RankedClass, topClasses } from "./class-probabilities";

/**
 * Classifying one image with a served model: the checks before the endpoint is called (size, and what the
 * bytes really are), the call itself, and the answer as ranked, named classes. The inference workflow's
 * Lambda and the prediction API's Lambda both classify through here, so they accept, refuse and answer alike.
 */

/** What a caller may send, by the bytes' own signature (never by a file name or a header the caller set). */
export const IMAGE_SIGNATURES = {
    "image/jpeg": [0xff, 0xd8, 0xff],
    "image/png": [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
} as const;
export type ImageContentType = keyof typeof IMAGE_SIGNATURES | "image/webp";

/** SageMaker's InvokeEndpoint takes bodies up to 6 MB (and Lambda's synchronous payloads are limited alike). */
export const INVOKE_ENDPOINT_MAX_BYTES = 6 * 1024 * 1024;

/** The media type the bytes are, from their signature; undefined for anything that is not JPEG, PNG or WebP. */
export function sniffImageType(bytes: Uint8Array): ImageContentType | undefined {
    const startsWith = (sig: readonly number[], at = 0) => bytes.length >= at + sig.length && sig.every((b, i) => bytes[at + i] === b);
    for (const [type, sig] of Object.entries(IMAGE_SIGNATURES)) if (startsWith(sig)) return type as ImageContentType;
    // RIFF....WEBP
    if (startsWith([0x52, 0x49, 0x46, 0x46]) && startsWith([0x57, 0x45, 0x42, 0x50], 8)) return "image/webp";
    return undefined;
}

/**
 * Stable error codes a caller can branch on; each comes with a message a person understands. `retryable`
 * codes are the ones worth another attempt with backoff (throttling, an endpoint that is busy or updating).
 */
export const CLASSIFY_ERRORS = {
    empty_image: { retryable: false, status: 400 },
    not_an_image: { retryable: false, status: 415 },
    unsupported_image_type: { retryable: false, status: 415 },
    image_too_large: { retryable: false, status: 413 },
    endpoint_not_found: { retryable: false, status: 503 },
    endpoint_throttled: { retryable: true, status: 429 },
    endpoint_unavailable: { retryable: true, status: 503 },
    model_error: { retryable: false, status: 502 },
    bad_model_response: { retryable: false, status: 502 },
} as const;
export type ClassifyErrorCode = keyof typeof CLASSIFY_ERRORS;

export class ClassifyError extends Error {
    readonly retryable: boolean;
    constructor(
        readonly code: ClassifyErrorCode,
        message: string,
        options?: { cause?: unknown },
    ) {
        super(message, options);
        this.name = "ClassifyError";
        this.retryable = CLASSIFY_ERRORS[code].retryable;
    }
}

export interface ImageCheck {
    /** Largest body accepted, in bytes. Defaults to INVOKE_ENDPOINT_MAX_BYTES. */
    readonly maxBytes?: number;
    /** Media types the model accepts. Defaults to JPEG and PNG (what the built-in algorithm decodes). */
    readonly accepted?: readonly ImageContentType[];
}

/** The image's media type once it passed the size and signature checks; a ClassifyError otherwise. */
export function checkImage(bytes: Uint8Array, check: ImageCheck = {}): ImageContentType {
    const maxBytes = check.maxBytes ?? INVOKE_ENDPOINT_MAX_BYTES;
    const accepted = check.accepted ?? ["image/jpeg", "image/png"];
    if (bytes.length === 0) throw new ClassifyError("empty_image", "the image is empty (0 bytes)");
    if (bytes.length > maxBytes)
        throw new ClassifyError(
            "image_too_large",
            `the image is ${formatBytes(bytes.length)}; at most ${formatBytes(maxBytes)} can be classified (resize it first)`,
        );
    const type = sniffImageType(bytes);
    if (!type) throw new ClassifyError("not_an_image", "the file is not a JPEG, PNG or WebP image");
    if (!accepted.includes(type))
        throw new ClassifyError("unsupported_image_type", `this model takes ${accepted.join(" or ")}, not ${type}`);
    return type;
}

/** The one call of SageMaker Runtime this needs; `SageMakerRuntime` (aggregated client) satisfies it. */
export interface EndpointRuntime {
    invokeEndpoint(input: InvokeEndpointCommandInput): Promise<Pick<InvokeEndpointCommandOutput, "Body" | "InvokedProductionVariant">>;
}

export interface ClassifyRequest {
    readonly endpointName: string;
    readonly image: Uint8Array;
    /** Class names by index (the served package's class map). */
    readonly classes: readonly string[];
    /** How many ranked classes to return. Defaults to 5 (fewer when the model has fewer classes). */
    readonly topK?: number;
    /**
     * Recorded by data capture with the request (eventMetadata.inferenceId), so ground truth and reviews can be
     * joined to it later. At most 64 characters, SageMaker's limit.
     */
    readonly inferenceId?: string;
    readonly check?: ImageCheck;
}

export interface NamedClass extends RankedClass {
    readonly label: string;
}

export interface Classification {
    readonly contentType: ImageContentType;
    /** Most probable first. */
    readonly top: readonly NamedClass[];
    readonly inferenceId?: string;
    readonly variant?: string;
}

/** Checks the image, invokes the endpoint with its raw bytes and media type, and ranks the answer. */
export async function classifyImage(runtime: EndpointRuntime, request: ClassifyRequest): Promise<Classification> {
    const contentType = checkImage(request.image, request.check);
    if (request.inferenceId !== undefined && !/^[\x20-\x7e]{1,64}$/.test(request.inferenceId))
        throw new Error(`inference id ${JSON.stringify(request.inferenceId)} must be 1-64 printable ASCII characters`);
    let response: Awaited<ReturnType<EndpointRuntime["invokeEndpoint"]>>;
    try {
        response = await runtime.invokeEndpoint({
            EndpointName: request.endpointName,
            Body: request.image,
            ContentType: contentType,
            Accept: "application/json",
            ...(request.inferenceId ? { InferenceId: request.inferenceId } : {}),
        });
    } catch (e) {
        throw endpointError(e, request.endpointName);
    }
    const text = response.Body ? Buffer.from(response.Body).toString("utf8") : "";
    let probabilities: number[];
    try {
        probabilities = classProbabilities(JSON.parse(text), request.classes.length);
    } catch (e) {
        const why = e instanceof PredictionFormatError ? `the answer ${e.message}` : "the answer is not JSON";
        throw new ClassifyError("bad_model_response", `${request.endpointName} answered something that is not a prediction: ${why}`, {
            cause: e,
        });
    }
    const top = topClasses(probabilities, request.topK ?? 5).map((c) => ({ ...c, label: request.classes[c.index] }));
    return { contentType, top, inferenceId: request.inferenceId, variant: response.InvokedProductionVariant };
}

/** SageMaker Runtime's failures as the codes above; anything unrecognised is passed on unchanged. */
export function endpointError(e: unknown, endpointName: string): Error {
    const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number }; OriginalStatusCode?: number };
    const status = err.$metadata?.httpStatusCode;
    const detail = (err.message ?? "").slice(0, 200);
    if (err.name === "ValidationError" && /not found/i.test(detail))
        return new ClassifyError("endpoint_not_found", `endpoint ${endpointName} does not exist (is the model served in this stack?)`, {
            cause: e,
        });
    if (
        err.name === "ModelNotReadyException" ||
        err.name === "ServiceUnavailable" ||
        err.name === "InternalFailure" ||
        err.name === "InternalDependencyException" ||
        status === 503
    )
        return new ClassifyError("endpoint_unavailable", `${endpointName} is not available right now (${err.name}); try again shortly`, {
            cause: e,
        });
    // After the named errors: SageMaker sends ModelNotReadyException with a 429 too.
    if (err.name === "ThrottlingException" || status === 429)
        return new ClassifyError("endpoint_throttled", `${endpointName} is throttling requests; try again shortly`, { cause: e });
    if (err.name === "ModelError")
        return new ClassifyError(
            "model_error",
            `the model behind ${endpointName} could not classify the image (it answered ${err.OriginalStatusCode ?? "an error"})`,
            { cause: e },
        );
    return e as Error;
}

function formatBytes(n: number): string {
    return n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(1)} MB` : n >= 1024 ? `${(n / 1024).toFixed(0)} KB` : `${n} bytes`;
}
