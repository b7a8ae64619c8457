/**
 * What went wrong in a call to AWS, in words an operator can act on: which call, on which object, and which
 * kind of failure (throttling, network, permissions, credentials, an AWS-side error, or a request AWS refused),
 * each with its own exit code.
 */

/** The exit codes of the operator CLIs; README "Operator CLIs" lists them. */
export const EXIT_CODES = {
    /** Bad input, or the gate refused: the message says what to change. */
    refused: 1,
    /** Another decision on the package came first; the message says whose. */
    conflict: 3,
    throttling: 4,
    network: 5,
    permissions: 6,
    credentials: 7,
    /** AWS answered with an error the command did not expect (a 5xx after every retry, or a refused request). */
    aws: 8,
    /** A bug: the message says so and VISION_MLOPS_DEBUG=1 prints the stack trace. */
    internal: 70,
} as const;

export type AwsFailureKind = "throttling" | "network" | "permissions" | "credentials" | "server" | "request";

/** The call an error came from, attached by the clients' middleware (annotateAwsCall). */
export interface AwsCall {
    readonly service: string;
    readonly operation: string;
    readonly input: Readonly<Record<string, unknown>>;
}

interface SdkErrorLike {
    name?: string;
    code?: string;
    message?: string;
    cause?: unknown;
    $metadata?: { httpStatusCode?: number; attempts?: number };
    $retryable?: { throttling?: boolean };
    $awsCall?: AwsCall;
}

const CREDENTIALS = new Set([
    "CredentialsProviderError",
    "TokenProviderError",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "TokenRefreshRequired",
    "InvalidToken",
    "AuthFailure",
]);
const PERMISSIONS = new Set([
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
    "Forbidden",
    "AllAccessDisabled",
]);
/** The SDK's own throttling codes (what its retry strategy backs off on) plus S3's SlowDown. */
const THROTTLING = new Set([
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "PriorRequestNotComplete",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "ThrottledException",
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
]);
const NETWORK_CODES = new Set([
    "ECONNRESET",
    "ECONNREFUSED",
    "ECONNABORTED",
    "EPIPE",
    "ETIMEDOUT",
    "EHOSTUNREACH",
    "ENETUNREACH",
    "ENETDOWN",
    "ENOTFOUND",
    "EAI_AGAIN",
    "ERR_STREAM_PREMATURE_CLOSE",
]);
/** S3's RequestTimeout: the connection went quiet while S3 read the body. */
const NETWORK_NAMES = new Set(["TimeoutError", "RequestTimeout", "RequestTimeoutException", "NetworkingError"]);

function chain(e: unknown): SdkErrorLike[] {
    const out: SdkErrorLike[] = [];
    let cur = e;
    while (cur && typeof cur === "object" && out.length < 10) {
        out.push(cur as SdkErrorLike);
        cur = (cur as SdkErrorLike).cause;
    }
    return out;
}

/** The kind of AWS failure an error is, or undefined when it is not an error from (or on the way to) AWS. */
export function awsFailureKind(e: unknown): AwsFailureKind | undefined {
    const errors = chain(e);
    if (errors.length === 0) return undefined;
    const names = errors.map((x) => x.name ?? "");
    const status = errors.find((x) => x.$metadata?.httpStatusCode !== undefined)?.$metadata?.httpStatusCode;
    if (names.some((n) => CREDENTIALS.has(n))) return "credentials";
    if (names.some((n) => PERMISSIONS.has(n)) || status === 403) return "permissions";
    if (names.some((n) => THROTTLING.has(n)) || status === 429 || errors.some((x) => x.$retryable?.throttling)) return "throttling";
    if (
        names.some((n) => NETWORK_NAMES.has(n)) ||
        errors.some((x) => NETWORK_CODES.has(x.code ?? "") || /socket hang up|^aborted$|premature close/i.test(x.message ?? ""))
    )
        return "network";
    if (status !== undefined && status >= 500) return "server";
    if (status !== undefined || errors.some((x) => x.$awsCall)) return "request";
    return undefined;
}

/** True for failures of the way to AWS or of AWS itself, which no input of the operator's can fix. */
export function isInfrastructureFailure(e: unknown): boolean {
    const kind = awsFailureKind(e);
    return kind !== undefined && kind !== "request";
}

export function exitCodeOf(kind: AwsFailureKind): number {
    return kind === "server" || kind === "request" ? EXIT_CODES.aws : EXIT_CODES[kind];
}

/** Attaches the call to an error that has none yet (a body read that failed after the call returned, say). */
export function withAwsCall<E>(e: E, call: AwsCall): E {
    if (e && typeof e === "object" && !("$awsCall" in e)) Object.defineProperty(e, "$awsCall", { value: call, enumerable: false });
    return e;
}

/** The smallest piece of the SDK client interface the annotation needs. */
interface WithMiddleware {
    readonly middlewareStack: {
        add(middleware: unknown, options: { step: "initialize"; name: string; priority: "high" }): void;
    };
}

/**
 * Adds a middleware that records, on any error a call ends with (after every retry), which service,
 * operation and input it was, so the message can name them.
 */
export function annotateAwsCall(client: object, service: string): void {
    type Next = (args: { input: Record<string, unknown> }) => Promise<unknown>;
    (client as WithMiddleware).middlewareStack.add(
        (next: Next, context: { commandName?: string }) => async (args: { input: Record<string, unknown> }) => {
            try {
                return await next(args);
            } catch (e) {
                throw withAwsCall(e, {
                    service,
                    operation: String(context.commandName ?? "call").replace(/Command$/, ""),
                    input: args.input,
                });
            }
        },
        { step: "initialize", name: "visionMlopsCallContext", priority: "high" },
    );
}

/** The object a call was about, as an operator would name it: s3://bucket/key, an endpoint name, a package ARN. */
export function objectOf(call: AwsCall): string | undefined {
    const i = call.input;
    const text = (k: string) => (typeof i[k] === "string" && i[k] !== "" ? (i[k] as string) : undefined);
    const bucket = text("Bucket");
    if (bucket) return `s3://${bucket}/${text("Key") ?? text("Prefix") ?? ""}`;
    for (const k of [
        "ModelPackageArn",
        "ModelPackageName",
        "EndpointName",
        "EndpointConfigName",
        "ModelName",
        "ModelPackageGroupName",
        "PipelineExecutionArn",
        "PipelineName",
    ]) {
        const v = text(k);
        if (v) return v;
    }
    return undefined;
}

/** IAM actions whose names differ from the API operation's. */
const S3_ACTIONS: Record<string, string> = {
    ListObjectsV2: "ListBucket",
    ListObjects: "ListBucket",
    HeadObject: "GetObject",
    HeadBucket: "ListBucket",
    GetObjectAttributes: "GetObject",
};

function iamAction(call: AwsCall): string {
    const service = call.service.toLowerCase();
    const action = service === "s3" ? (S3_ACTIONS[call.operation] ?? call.operation) : call.operation;
    return `${service}:${action}`;
}

const KIND_TEXT: Record<AwsFailureKind, string> = {
    throttling: "throttled by AWS",
    network: "network failure",
    permissions: "permission denied",
    credentials: "no valid AWS credentials",
    server: "AWS service error",
    request: "refused by AWS",
};

function hint(kind: AwsFailureKind, call: AwsCall | undefined): string {
    switch (kind) {
        case "throttling":
            return "AWS is limiting the request rate; wait a minute and run the command again";
        case "network":
            return "check the connection to AWS (network, VPN, proxy, AWS_ENDPOINT_URL) and run again; on a slow link raise VISION_MLOPS_AWS_SOCKET_TIMEOUT_MS";
        case "permissions":
            return call
                ? `the caller needs ${iamAction(call)}${objectOf(call) ? ` on ${objectOf(call)}` : ""}`
                : "the caller lacks a permission this command needs";
        case "credentials":
            return "set or refresh AWS credentials (AWS_PROFILE, aws sso login, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and run again";
        case "server":
            return "AWS could not answer; run the command again later";
        case "request":
            return "";
    }
}

function oneLine(text: string, max = 240): string {
    const flat = text.replace(/\s+/g, " ").trim();
    return flat.length <= max ? flat : `${flat.slice(0, max - 3)}...`;
}

/**
 * `<error name>: <message>`, or for a socket error its code and message (the SDK names a reset connection
 * "TimeoutError", which is not what happened), without the HTTP handler's own prefix.
 */
function errorDetail(e: unknown): string {
    const errors = chain(e);
    const err = errors[0];
    const coded = errors.find((x) => x.code && NETWORK_CODES.has(x.code));
    const message = (err.message || errors.at(-1)?.message || "").replace(/^@smithy\/node-http-handler - (\[ERROR\] )?/, "");
    if (coded) return message.includes(coded.code!) ? message : `${coded.code}: ${message}`;
    const name = err.name && err.name !== "Error" ? err.name : "Error";
    return `${name}: ${message}`;
}

/**
 * One line: `<Service> <Operation> <object>: <kind> (<error>: <message>) after N attempts; <what to do>`.
 * For an error that is not an AWS failure, its message alone.
 */
export function describeAwsFailure(e: unknown): string {
    const kind = awsFailureKind(e);
    const err = e as SdkErrorLike;
    if (!kind) return oneLine(err?.message ?? String(e));
    const call = chain(e).find((x) => x.$awsCall)?.$awsCall;
    const object = call && objectOf(call);
    const what = call ? `${call.service} ${call.operation}${object ? ` ${object}` : ""}` : "AWS call";
    const attempts = err.$metadata?.attempts;
    const tail = hint(kind, call);
    return oneLine(
        `${what}: ${KIND_TEXT[kind]} (${errorDetail(e)})${attempts && attempts > 1 ? ` after ${attempts} attempts` : ""}${tail ? `; ${tail}` : ""}`,
        600,
    );
}
