import { S3Client, S3ClientConfig } from "@aws-sdk/client-s3";
import { SageMakerClient } from "@aws-sdk/client-sagemaker";
import { STSClient } from "@aws-sdk/client-sts";
import { CliError } from "../common";
import { annotateAwsCall } from "./aws-errors";

/** The AWS clients the operator CLIs use; injected so tests can point them at an emulator. */
export interface CliClients {
    readonly sagemaker: Pick<SageMakerClient, "send">;
    readonly s3: Pick<S3Client, "send">;
    readonly sts: Pick<STSClient, "send">;
}

/** Builds the clients for one region. Called with the stack's region once its stack file was read. */
export type ClientFactory = (region: string) => CliClients;

/**
 * How every operator CLI talks to AWS. Without timeouts a stalled connection hangs a command forever; the
 * retries are adaptive (a client-side rate limiter slows down after throttling, as bulk uploads to one
 * prefix need) and have room for a burst of resets or 503 SlowDown answers.
 */
export interface ClientSettings {
    /** Time to set up the TCP/TLS connection. */
    readonly connectTimeoutMs: number;
    /** Longest silence on an open connection, while sending the request or reading the response body. */
    readonly socketTimeoutMs: number;
    /** Longest time from sending a request (its body included) to the first byte of the answer. */
    readonly requestTimeoutMs: number;
    /** Attempts per call, the first included. */
    readonly maxAttempts: number;
}

export const DEFAULT_CLIENT_SETTINGS: ClientSettings = {
    connectTimeoutMs: 10_000,
    socketTimeoutMs: 30_000,
    requestTimeoutMs: 120_000,
    maxAttempts: 8,
};

/** The environment variables that override each setting (for slow links, or tests that want quick failures). */
export const CLIENT_SETTINGS_ENV: Record<keyof ClientSettings, string> = {
    connectTimeoutMs: "VISION_MLOPS_AWS_CONNECT_TIMEOUT_MS",
    socketTimeoutMs: "VISION_MLOPS_AWS_SOCKET_TIMEOUT_MS",
    requestTimeoutMs: "VISION_MLOPS_AWS_REQUEST_TIMEOUT_MS",
    maxAttempts: "VISION_MLOPS_AWS_MAX_ATTEMPTS",
};

/** The settings with any overrides from the environment; a bad value is an error naming the variable. */
export function clientSettingsFromEnvironment(env: NodeJS.ProcessEnv = process.env): ClientSettings {
    const settings: Record<string, number> = { ...DEFAULT_CLIENT_SETTINGS };
    for (const [key, name] of Object.entries(CLIENT_SETTINGS_ENV) as [keyof ClientSettings, string][]) {
        const raw = env[name];
        if (raw === undefined || raw === "") continue;
        const value = Number(raw);
        const max = key === "maxAttempts" ? 20 : 3_600_000;
        if (!Number.isInteger(value) || value < 1 || value > max)
            throw new CliError(
                `${name}=${JSON.stringify(raw)} must be a whole number from 1 to ${max}; unset it to use ${DEFAULT_CLIENT_SETTINGS[key]}`,
            );
        settings[key] = value;
    }
    return settings as unknown as ClientSettings;
}

/** The SDK logs retries, socket-pool pressure and deprecations as warnings; operators get one line per outcome instead. */
const QUIET = { trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

export interface ClientOptions {
    /** Send every call here (an emulator or a proxy); S3 then uses path-style addresses. */
    readonly endpoint?: string;
    /** Explicit credentials; otherwise the SDK's chain (environment, AWS_PROFILE, SSO, instance role...). */
    readonly credentials?: S3ClientConfig["credentials"];
    readonly settings?: ClientSettings;
}

/** The configuration every operator CLI client shares: region, timeouts, adaptive retries, no SDK log noise. */
export function awsClientConfig(region: string, options: ClientOptions = {}) {
    const s = options.settings ?? DEFAULT_CLIENT_SETTINGS;
    return {
        region,
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        ...(options.credentials ? { credentials: options.credentials } : {}),
        retryMode: "adaptive",
        maxAttempts: s.maxAttempts,
        logger: QUIET,
        // The SDK builds its Node HTTP handler from these options.
        requestHandler: {
            connectionTimeout: s.connectTimeoutMs,
            socketTimeout: s.socketTimeoutMs,
            requestTimeout: s.requestTimeoutMs,
            // Without this a request that exceeds requestTimeout is only logged, and waits on.
            throwOnRequestTimeout: true,
            logger: QUIET,
            // Room for parallel uploads without "socket usage at capacity" queuing.
            httpsAgent: { keepAlive: true, maxSockets: 64 },
            httpAgent: { keepAlive: true, maxSockets: 64 },
        },
    };
}

/**
 * The Node-version notice the SDK prints (several lines, on every command) is for whoever maintains the
 * installation, not for the operator running a command; package.json states the supported Node versions.
 */
function silenceNodeVersionNotice(env: NodeJS.ProcessEnv): void {
    env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
}

/** SageMaker, S3 and STS clients for one region with the shared settings; each names its failed calls (annotateAwsCall). */
export function awsClients(
    region: string,
    options: ClientOptions = {},
): CliClients & { s3: S3Client; sagemaker: SageMakerClient; sts: STSClient } {
    silenceNodeVersionNotice(process.env);
    const config = awsClientConfig(region, options);
    const sagemaker = new SageMakerClient(config);
    const s3 = new S3Client({ ...config, forcePathStyle: options.endpoint !== undefined });
    const sts = new STSClient(config);
    annotateAwsCall(sagemaker, "SageMaker");
    annotateAwsCall(s3, "S3");
    annotateAwsCall(sts, "STS");
    return { sagemaker, s3, sts };
}

/**
 * Clients for the stack's region with credentials from the usual chain (AWS_PROFILE, environment, SSO...).
 * AWS_ENDPOINT_URL sends every call to one endpoint (an emulator or a proxy); S3 then uses path-style
 * addresses, since bucket subdomains of such an endpoint do not resolve. VISION_MLOPS_AWS_* override the
 * timeouts and attempts (CLIENT_SETTINGS_ENV).
 */
export function clientsFromEnvironment(region: string, env: NodeJS.ProcessEnv = process.env): CliClients {
    return awsClients(region, { endpoint: env.AWS_ENDPOINT_URL || undefined, settings: clientSettingsFromEnvironment(env) });
}

/** What a CLI's main takes besides its options; every field defaults to the real thing. */
export interface CliDeps {
    readonly makeClients?: ClientFactory;
    /** Results, to stdout by default. */
    readonly print?: (line: string) => void;
    /** Warnings, to stderr by default. */
    readonly warn?: (line: string) => void;
    readonly now?: () => Date;
}
