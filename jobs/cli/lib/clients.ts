import { S3Client } from "@aws-sdk/client-s3";
import { SageMakerClient } from "@aws-sdk/client-sagemaker";
import { STSClient } from "@aws-sdk/client-sts";

/** The AWS clients the operator CLIs use; injected so tests can point them at an emulator. */
export interface CliClients {
    readonly sagemaker: Pick<SageMakerClient, "send">;
    readonly s3: Pick<S3Client, "send">;
    readonly sts: Pick<STSClient, "send">;
}

/** Builds the clients for one region. Called with the stack's region once its stack file was read. */
export type ClientFactory = (region: string) => CliClients;

/**
 * Clients for the stack's region with credentials from the usual chain (AWS_PROFILE, environment, SSO...).
 * AWS_ENDPOINT_URL sends every call to one endpoint (an emulator or a proxy); S3 then uses path-style
 * addresses, since bucket subdomains of such an endpoint do not resolve.
 */
export function clientsFromEnvironment(region: string, env: NodeJS.ProcessEnv = process.env): CliClients {
    const endpoint = env.AWS_ENDPOINT_URL || undefined;
    const common = { region, ...(endpoint ? { endpoint } : {}) };
    return {
        sagemaker: new SageMakerClient(common),
        s3: new S3Client({ ...common, forcePathStyle: endpoint !== undefined }),
        sts: new STSClient(common),
    };
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
