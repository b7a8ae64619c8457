import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { resolve } from "path";
import { ConfigError, ModelConfig, PlatformConfig } from "../../infra/config";
import { BucketPurpose, BUCKET_PURPOSES, bucketName } from "../../infra/naming";
import { readStackFile, StackFileError } from "../../infra/stack-file";
import { JobError } from "../lib/errors";
import { awsFailureKind, describeAwsFailure, EXIT_CODES, exitCodeOf, isInfrastructureFailure } from "./lib/aws-errors";

/**
 * An error the operator can act on: printed without a stack trace (a JobError, as in the jobs), with exit
 * code 1 unless another of EXIT_CODES says more (a lost decision race, say).
 */
export class CliError extends JobError {
    constructor(
        message: string,
        public readonly exitCode: number = EXIT_CODES.refused,
    ) {
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

/**
 * Reads the stack file and asks STS who we are, so bucket names can be derived exactly as the program does.
 * A failure of that call is reported for what it is (no credentials, or no connection), by runCli.
 */
export async function resolveStack(stack: string, sts: Pick<STSClient, "send"> = new STSClient({})): Promise<StackContext> {
    const config = readStackFile(projectDir(), stack);
    const identity = await sts.send(new GetCallerIdentityCommand({}));
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

/**
 * What a CLI prints and exits with when its main fails: an operator error's message; for a failed AWS call one
 * line naming the call, its object and the kind of failure, with that kind's exit code; anything else is a
 * bug, said in one line (VISION_MLOPS_DEBUG=1 adds the stack trace).
 */
export function cliFailure(e: unknown, env: NodeJS.ProcessEnv = process.env): { readonly message: string; readonly exitCode: number } {
    if (e instanceof CliError) return { message: `error: ${e.message}`, exitCode: e.exitCode };
    if (e instanceof JobError || e instanceof ConfigError || e instanceof StackFileError) {
        // An operator error caused by a failed AWS call (ingest's "N images failed") exits with that failure's code.
        const cause = isInfrastructureFailure(e.cause) ? awsFailureKind(e.cause) : undefined;
        return { message: `error: ${e.message}`, exitCode: cause ? exitCodeOf(cause) : EXIT_CODES.refused };
    }
    const kind = awsFailureKind(e);
    if (kind) return { message: `error: ${describeAwsFailure(e)}`, exitCode: exitCodeOf(kind) };
    const debug = env.VISION_MLOPS_DEBUG === "1";
    const text = e instanceof Error ? e.message : String(e);
    return {
        message: debug
            ? `error: unexpected failure: ${(e as Error)?.stack ?? text}`
            : `error: unexpected failure (a bug in vision-mlops): ${text.replace(/\s+/g, " ")}; set VISION_MLOPS_DEBUG=1 for the stack trace`,
        exitCode: EXIT_CODES.internal,
    };
}

/** Runs a CLI's main, printing failures as cliFailure says and exiting with its code. */
export function runCli(main: () => Promise<void>): void {
    main().catch((e: unknown) => {
        const { message, exitCode } = cliFailure(e);
        console.error(message);
        process.exitCode = exitCode;
    });
}
