import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { resolve } from "path";
import { ConfigError, ModelConfig, PlatformConfig } from "../../infra/config";
import { BucketPurpose, BUCKET_PURPOSES, bucketName } from "../../infra/naming";
import { readStackFile, StackFileError } from "../../infra/stack-file";
import { JobError } from "../lib/errors";

/** An error the operator can act on: printed without a stack trace, exit code 1 (a JobError, as in the jobs). */
export class CliError extends JobError {
    constructor(message: string) {
        super(message);
        this.name = "CliError";
    }
}

/** The project folder the CLIs read stack files from: the current folder, or VISION_MLOPS_PROJECT_DIR. */
export function projectDir(): string {
    return resolve(process.env.VISION_MLOPS_PROJECT_DIR ?? process.cwd());
}

export interface StackContext {
    readonly stack: string;
    readonly config: PlatformConfig;
    readonly accountId: string;
    readonly region: string;
    readonly callerArn: string;
    readonly buckets: Record<BucketPurpose, string>;
}

/** Reads the stack file and asks STS who we are, so bucket names can be derived exactly as the program does. */
export async function resolveStack(stack: string, sts: Pick<STSClient, "send"> = new STSClient({})): Promise<StackContext> {
    const config = readStackFile(projectDir(), stack);
    let identity;
    try {
        identity = await sts.send(new GetCallerIdentityCommand({}));
    } catch (e) {
        throw new CliError(
            `cannot reach AWS to identify the caller (${(e as Error).message}); ` +
                "set AWS credentials (AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and try again",
        );
    }
    const accountId = identity.Account!;
    const region = config.region;
    const buckets = Object.fromEntries(BUCKET_PURPOSES.map((p) => [p, bucketName(config.environment, p, accountId, region)])) as Record<
        BucketPurpose,
        string
    >;
    return { stack, config, accountId, region, callerArn: identity.Arn ?? "unknown", buckets };
}

/** The model's settings, or an error that lists the models the stack has. */
export function modelOf(ctx: { stack: string; config: PlatformConfig }, model: string | undefined): ModelConfig {
    const names = Object.keys(ctx.config.models);
    if (!model) throw new CliError(`--model is required; stack ${ctx.stack} has: ${names.join(", ")}`);
    const m = ctx.config.models[model];
    if (!m) throw new CliError(`stack ${ctx.stack} has no model "${model}"; it has: ${names.join(", ")}`);
    return m;
}

/** Runs a CLI's main, printing operator errors plainly and exiting non-zero. */
export function runCli(main: () => Promise<void>): void {
    main().catch((e: unknown) => {
        if (e instanceof JobError || e instanceof ConfigError || e instanceof StackFileError) console.error(`error: ${e.message}`);
        else console.error(e);
        process.exitCode = 1;
    });
}
