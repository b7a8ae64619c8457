import {
    CreateEndpointCommand,
    CreateEndpointConfigCommand,
    CreateModelCommand,
    CreateModelPackageCommand,
    CreateModelPackageGroupCommand,
    ModelApprovalStatus,
    SageMakerClient,
} from "@aws-sdk/client-sagemaker";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { spawn } from "child_process";
import { join } from "path";
import { bucketName, endpointName, modelPackageGroupName } from "../../infra/naming";
import { approve, approveOptions } from "../../jobs/cli/approve";
import { cliFailure } from "../../jobs/cli/common";
import { awsClients, CliDeps, clientSettingsFromEnvironment } from "../../jobs/cli/lib/clients";
import { reject, rejectOptions } from "../../jobs/cli/reject";
import { report, reportOptions } from "../../jobs/cli/report";
import { status, statusOptions } from "../../jobs/cli/status";
import { TEST_TRANSPILER } from "../support/processes";

/** Registry and endpoint objects created in the emulator the way the training pipeline and the stack create them. */

export const ROLE_ARN = "arn:aws:iam::123456789012:role/vision-mlops-staging-sagemaker";
/** The account moto's STS answers with. */
export const MOTO_ACCOUNT = "123456789012";

export async function createGroup(sm: SageMakerClient, group: string): Promise<void> {
    await sm.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: group, ModelPackageGroupDescription: "test group" }));
}

export interface PackageSpec {
    readonly status: ModelApprovalStatus;
    readonly metadata?: Record<string, string>;
    readonly statisticsUri?: string;
    readonly baselineUri?: string;
}

export async function registerPackage(sm: SageMakerClient, group: string, spec: PackageSpec): Promise<string> {
    const res = await sm.send(
        new CreateModelPackageCommand({
            ModelPackageGroupName: group,
            ModelApprovalStatus: spec.status,
            InferenceSpecification: {
                Containers: [
                    {
                        Image: "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1",
                        ModelDataUrl: `s3://artifacts/${group}/model.tar.gz`,
                    },
                ],
                SupportedContentTypes: ["image/jpeg", "image/png"],
                SupportedResponseMIMETypes: ["application/json"],
            },
            ...(spec.statisticsUri
                ? { ModelMetrics: { ModelQuality: { Statistics: { ContentType: "application/json", S3Uri: spec.statisticsUri } } } }
                : {}),
            ...(spec.baselineUri
                ? {
                      DriftCheckBaselines: {
                          ModelDataQuality: { Statistics: { ContentType: "application/json", S3Uri: spec.baselineUri } },
                      },
                  }
                : {}),
            ...(spec.metadata ? { CustomerMetadataProperties: spec.metadata } : {}),
        }),
    );
    return res.ModelPackageArn!;
}

/** A model from the package, an endpoint config with one variant of it, and the endpoint (named `endpoint`). */
export async function serve(sm: SageMakerClient, endpoint: string, packageArn: string, suffix = "a"): Promise<void> {
    const modelName = `${endpoint}-model-${suffix}`;
    const configName = `${endpoint}-config-${suffix}`;
    await sm.send(
        new CreateModelCommand({
            ModelName: modelName,
            ExecutionRoleArn: ROLE_ARN,
            PrimaryContainer: { ModelPackageName: packageArn },
            EnableNetworkIsolation: true,
        }),
    );
    await sm.send(
        new CreateEndpointConfigCommand({
            EndpointConfigName: configName,
            ProductionVariants: [{ VariantName: "AllTraffic", ModelName: modelName, InitialInstanceCount: 1, InstanceType: "ml.m5.large" }],
        }),
    );
    await sm.send(new CreateEndpointCommand({ EndpointName: endpoint, EndpointConfigName: configName }));
}

/** Creates a bucket, or leaves the one that is there. */
export async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
    await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch((e) => {
        if (e.name !== "BucketAlreadyOwnedByYou" && e.name !== "BucketAlreadyExists") throw e;
    });
}

/**
 * A pending package of the model in staging's group, with training metadata and registered accuracy 0.9412,
 * served by the staging endpoint, and the staging artifacts bucket its decisions go to; returns its ARN.
 */
export async function servePendingPackage(sm: SageMakerClient, s3: S3Client, model: string): Promise<string> {
    const group = modelPackageGroupName("staging", model);
    await createGroup(sm, group);
    await ensureBucket(s3, "artifacts");
    // The staging stack's artifacts bucket, which holds the decision ledger.
    await ensureBucket(s3, bucketName("staging", "artifacts", MOTO_ACCOUNT, "us-east-1"));
    await s3.send(
        new PutObjectCommand({
            Bucket: "artifacts",
            Key: "eval/statistics.json",
            Body: JSON.stringify({ multiclass_classification_metrics: { accuracy: { value: 0.9412, standard_deviation: 0.004 } } }),
        }),
    );
    const arn = await registerPackage(sm, group, {
        status: ModelApprovalStatus.PENDING_MANUAL_APPROVAL,
        metadata: { "git-commit": "4f2a9c1", "dataset-batch": "2026-11-20" },
        statisticsUri: "s3://artifacts/eval/statistics.json",
    });
    await serve(sm, endpointName("staging", model), arn);
    return arn;
}

export interface CliRun {
    readonly code: number | null;
    readonly stdout: string;
    readonly stderr: string;
    /** True when the command had not ended by the deadline and was killed. */
    readonly killed: boolean;
}

const REPO = join(__dirname, "..", "..");

/**
 * Past this a command counts as hung: it is killed and the run reports `killed`. Starting a CLI (loading the SDK
 * clients and transpiling the CLI) takes seconds on an idle machine and well over 30 s on a loaded one, so this is a guard, not a speed limit.
 */
export const CLI_DEADLINE_MS = 300_000;

/**
 * Runs `jobs/cli/<name>.ts` in a process of its own as an operator would (`npm run <name> -- ...args`), with the
 * given environment; transpiled as the tests are (TEST_TRANSPILER), which changes nothing a test here reads.
 */
export function runCliProcess(
    name: string,
    args: readonly string[],
    env: Record<string, string>,
    deadlineMs = CLI_DEADLINE_MS,
): Promise<CliRun> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [...TEST_TRANSPILER, join(REPO, "jobs", "cli", `${name}.ts`), ...args], {
            cwd: REPO,
            env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        let killed = false;
        const timer = setTimeout(() => {
            killed = true;
            child.kill("SIGKILL");
        }, deadlineMs);
        child.stdout.on("data", (d) => {
            stdout += String(d);
        });
        child.stderr.on("data", (d) => {
            stderr += String(d);
        });
        child.on("error", reject);
        child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code, stdout, stderr, killed });
        });
    });
}

/** What each CLI's `require.main` block runs: its options, then its main. */
const CLI_MAINS = {
    approve: async (argv: string[], deps: CliDeps) => {
        const opts = approveOptions(argv, deps.print);
        if (opts) await approve(opts, deps);
    },
    reject: async (argv: string[], deps: CliDeps) => {
        const opts = rejectOptions(argv, deps.print);
        if (opts) await reject(opts, deps);
    },
    status: async (argv: string[], deps: CliDeps) => {
        const opts = statusOptions(argv, deps.print);
        if (opts) await status(opts, deps);
    },
    report: async (argv: string[], deps: CliDeps) => {
        const opts = reportOptions(argv, deps.print);
        if (opts) await report(opts, deps);
    },
} as const;

/**
 * Runs a CLI in this process as its `require.main` block would, with clients built from `env` as
 * clientsFromEnvironment builds them (endpoint, VISION_MLOPS_AWS_* settings) and the credentials `env` names:
 * the same stdout, stderr and exit code (cliFailure) as a child process, without starting one. runCliProcess
 * stays for what only a process shows: exit codes, the credential chain, what the SDK prints on its own.
 */
export async function runCliInProcess(
    name: keyof typeof CLI_MAINS,
    args: readonly string[],
    env: Record<string, string>,
    /** The command's clock (when a decision is recorded); the real one by default. */
    now?: () => Date,
): Promise<CliRun> {
    const previousProjectDir = process.env.VISION_MLOPS_PROJECT_DIR;
    if (env.VISION_MLOPS_PROJECT_DIR !== undefined) process.env.VISION_MLOPS_PROJECT_DIR = env.VISION_MLOPS_PROJECT_DIR;
    let stdout = "";
    let stderr = "";
    const deps: CliDeps = {
        makeClients: (region) =>
            awsClients(region, {
                endpoint: env.AWS_ENDPOINT_URL || undefined,
                credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
                settings: clientSettingsFromEnvironment(env),
            }),
        print: (line) => {
            stdout += `${line}\n`;
        },
        warn: (line) => {
            stderr += `${line}\n`;
        },
        now,
    };
    try {
        await CLI_MAINS[name]([...args], deps);
        return { code: 0, stdout, stderr, killed: false };
    } catch (e) {
        const failure = cliFailure(e, env);
        return { code: failure.exitCode, stdout, stderr: `${stderr}${failure.message}\n`, killed: false };
    } finally {
        if (previousProjectDir === undefined) delete process.env.VISION_MLOPS_PROJECT_DIR;
        else process.env.VISION_MLOPS_PROJECT_DIR = previousProjectDir;
    }
}
