import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
    DEFAULT_PARTITION,
    logGroupArn,
    logWriteStatement,
    PolicyDocument,
    policyDocument,
    Statement,
    xrayWriteStatement,
} from "../infra/iam";
import { bundleLambda, LAMBDA_HANDLER, LAMBDA_RUNTIME, lambdaArchive, PROJECT_ROOT } from "../infra/lambda-bundle";
import { ServiceRole } from "./service-role";

/** Retention periods CloudWatch Logs accepts (PutRetentionPolicy), in days. */
export const LOG_RETENTION_DAYS = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** Tag on every function: the hex SHA-256 of its code (`lambdaArchive(...).sha256`: the bundle's own without data files). */
export const CODE_SHA256_TAG = "vision-mlops:code-sha256";

export interface LambdaFunctionArgs {
    /** The handler's module under `jobs/`, exporting `handler`, e.g. `jobs/inference/invoke.ts`; bundled at deploy time. */
    readonly entry: string;
    /** Physical name of the function, its role and its log group (`/aws/lambda/<name>`): 1-64 letters, digits, `-`, `_`. */
    readonly functionName: string;
    readonly description?: string;
    /** What the handler does in AWS; the component adds writing its own logs and traces (and its dead-letter queue). */
    readonly policy: pulumi.Input<PolicyDocument>;
    /** The account the function runs in (its role trusts Lambda for this account only). */
    readonly accountId: pulumi.Input<string>;
    readonly region: string;
    /**
     * Files packed beside the bundle in the task root (name → UTF-8 content), for settings larger than Lambda's
     * 4 KB of environment variables; the handler reads them from its own folder. Defaults to none.
     */
    readonly dataFiles?: Readonly<Record<string, string>>;
    /** Environment variables of the function. Defaults to none. */
    readonly environment?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Key of the log group; its policy must let CloudWatch Logs use it (`LogsKey`). */
    readonly logsKmsKeyArn: pulumi.Input<string>;
    /** Days log events are kept (one of LOG_RETENTION_DAYS). Defaults to 365. */
    readonly logRetentionDays?: number;
    /** Defaults to 30 seconds (at most 900). */
    readonly timeoutSeconds?: number;
    /** Defaults to 256 MB (128-10240). */
    readonly memoryMb?: number;
    /** Size of `/tmp`. Defaults to 512 MB (512-10240). */
    readonly ephemeralStorageMb?: number;
    /** Concurrent executions reserved (and so the most that run at once). Defaults to none: the account's shared pool. */
    readonly reservedConcurrency?: number;
    /**
     * For functions invoked asynchronously (EventBridge rules, schedules): an SQS queue (SSE) that keeps an event
     * Lambda could not process after its own retries. Defaults to false.
     */
    readonly deadLetterQueue?: boolean;
    /** Folder the entry is relative to. Defaults to the repository root. */
    readonly sourceRoot?: string;
}

/**
 * One Lambda function as the platform runs them: the handler bundled by esbuild for Node 22 (arm64), JSON logs in
 * a KMS-encrypted log group with a retention period (created before the function, so Lambda never creates an
 * unencrypted one), active X-Ray tracing, and a role that trusts Lambda for this account only and may do what
 * `policy` says plus write its own logs and traces.
 */
export class LambdaFunction extends pulumi.ComponentResource {
    public readonly function: aws.lambda.Function;
    public readonly role: aws.iam.Role;
    public readonly logGroup: aws.cloudwatch.LogGroup;
    public readonly deadLetterQueue?: aws.sqs.Queue;
    public readonly arn: pulumi.Output<string>;
    public readonly functionName: pulumi.Output<string>;
    public readonly roleArn: pulumi.Output<string>;
    /** Hex SHA-256 of the archive: changes exactly when the deployed code or its data files do. */
    public readonly codeSha256: string;
    /** The archive's files, by name: the bundle as `index.js` and the data files. */
    public readonly archiveFiles: Readonly<Record<string, string>>;

    constructor(name: string, args: LambdaFunctionArgs, opts?: pulumi.ComponentResourceOptions) {
        super("vision-mlops:compute:LambdaFunction", name, {}, opts);
        const problems = lambdaFunctionProblems(args);
        if (problems.length) throw new Error(`${name}: ${problems.join("; ")}`);
        const child = { parent: this };
        let archive;
        try {
            archive = lambdaArchive(bundleLambda(args.entry, args.sourceRoot ?? PROJECT_ROOT), args.dataFiles);
        } catch (e) {
            throw new Error(`${name}: ${(e as Error).message}`, { cause: e });
        }
        this.codeSha256 = archive.sha256;
        this.archiveFiles = archive.files;

        this.logGroup = new aws.cloudwatch.LogGroup(
            `${name}-logs`,
            {
                name: `/aws/lambda/${args.functionName}`,
                retentionInDays: args.logRetentionDays ?? 365,
                kmsKeyId: args.logsKmsKeyArn,
            },
            child,
        );
        if (args.deadLetterQueue)
            this.deadLetterQueue = new aws.sqs.Queue(
                `${name}-dlq`,
                { name: `${args.functionName}-dlq`, sqsManagedSseEnabled: true, messageRetentionSeconds: 14 * 24 * 3600 },
                child,
            );
        const own = pulumi
            .all([args.accountId, this.deadLetterQueue?.arn])
            .apply(([account, dlq]) => ownStatements(args.region, account, args.functionName, dlq));
        const role = new ServiceRole(
            `${name}-role`,
            {
                roleName: args.functionName,
                description: `Lambda function ${args.functionName}`,
                // Lambda documents only the account as the source of its AssumeRole calls.
                trust: pulumi.output(args.accountId).apply((account) => [{ service: "lambda.amazonaws.com", sourceAccount: account }]),
                policy: pulumi.all([args.policy, own]).apply(([doc, extra]) => policyDocument(doc.Statement, extra)),
            },
            child,
        );
        this.role = role.role;
        this.function = new aws.lambda.Function(
            `${name}-function`,
            {
                name: args.functionName,
                description: args.description,
                runtime: LAMBDA_RUNTIME,
                architectures: ["arm64"],
                handler: LAMBDA_HANDLER,
                code: new pulumi.asset.AssetArchive(
                    Object.fromEntries(Object.entries(archive.files).map(([file, text]) => [file, new pulumi.asset.StringAsset(text)])),
                ),
                // The ARN resolves once the policy is attached: a function whose role cannot write its logs yet
                // loses its first invocations' logs.
                role: role.arn,
                timeout: args.timeoutSeconds ?? 30,
                memorySize: args.memoryMb ?? 256,
                ephemeralStorage: { size: args.ephemeralStorageMb ?? 512 },
                reservedConcurrentExecutions: args.reservedConcurrency ?? -1,
                tracingConfig: { mode: "Active" },
                loggingConfig: { logFormat: "JSON", logGroup: this.logGroup.name, applicationLogLevel: "INFO", systemLogLevel: "WARN" },
                environment: args.environment ? { variables: args.environment } : undefined,
                deadLetterConfig: this.deadLetterQueue ? { targetArn: this.deadLetterQueue.arn } : undefined,
                // Which build runs, for an operator comparing a function with a checkout (`lambdaArchive(...).sha256`).
                tags: { [CODE_SHA256_TAG]: archive.sha256 },
            },
            { parent: this, dependsOn: [this.logGroup] },
        );
        this.arn = this.function.arn;
        this.functionName = this.function.name;
        this.roleArn = role.arn;
        this.registerOutputs({ arn: this.arn, functionName: this.functionName, roleArn: this.roleArn });
    }
}

/** What every function may do besides its own work: its own log group, X-Ray, and its dead-letter queue. */
function ownStatements(region: string, account: string, functionName: string, deadLetterQueueArn?: string): Statement[] {
    return [
        logWriteStatement([logGroupArn(region, account, `/aws/lambda/${functionName}`, DEFAULT_PARTITION)], "OwnLogs"),
        xrayWriteStatement(),
        ...(deadLetterQueueArn
            ? [{ Sid: "DeadLetters", Effect: "Allow" as const, Action: ["sqs:SendMessage"], Resource: [deadLetterQueueArn] }]
            : []),
    ];
}

/** Problems with the args, each naming the value and what Lambda and CloudWatch accept. */
export function lambdaFunctionProblems(args: LambdaFunctionArgs): string[] {
    const problems: string[] = [];
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(args.functionName))
        problems.push(`function name ${JSON.stringify(args.functionName)} must be 1-64 letters, digits, "-" or "_"`);
    const within = (what: string, v: number | undefined, min: number, max: number) => {
        if (v !== undefined && (!Number.isInteger(v) || v < min || v > max))
            problems.push(`${what} ${v} must be a whole number from ${min} to ${max}`);
    };
    within("timeoutSeconds", args.timeoutSeconds, 1, 900);
    within("memoryMb", args.memoryMb, 128, 10240);
    within("ephemeralStorageMb", args.ephemeralStorageMb, 512, 10240);
    within("reservedConcurrency", args.reservedConcurrency, 1, 1000);
    if (args.logRetentionDays !== undefined && !(LOG_RETENTION_DAYS as readonly number[]).includes(args.logRetentionDays))
        problems.push(
            `logRetentionDays ${args.logRetentionDays} is not a retention CloudWatch Logs accepts (${LOG_RETENTION_DAYS.join(", ")})`,
        );
    return problems;
}
