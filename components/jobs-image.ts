import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { readdirSync, readFileSync, statSync } from "fs";
import { join, relative } from "path";
import { Environment, fitName, PROJECT } from "../infra/naming";

/** The Dockerfile of the jobs image, relative to the build context (the project root). */
export const JOBS_DOCKERFILE = "jobs/Dockerfile";
/** SageMaker runs processing containers on x86-64 instances. */
export const JOBS_IMAGE_PLATFORM = "linux/amd64";
/** What the image is built from; a change to any of these gives a new tag. */
const BUILD_INPUTS = ["jobs", "infra", "package.json", "package-lock.json", "tsconfig.json"];

export interface JobsImageArgs {
    /** Environment name; part of the repository name. */
    readonly environment: Environment;
    /** KMS key the repository encrypts images with. Defaults to ECR's AWS-managed encryption (AES-256). */
    readonly kmsKeyArn?: pulumi.Input<string>;
    /** Images the lifecycle policy keeps; older ones expire. Defaults to 20. */
    readonly keepImages?: number;
    /** Docker build context. Defaults to the project root ("."). */
    readonly context?: string;
    /**
     * Image tag. Tags are immutable, so each distinct build needs its own: defaults to a hash of the build
     * inputs (jobs/, infra/, package.json, package-lock.json, tsconfig.json), so an unchanged tree keeps
     * its tag and any change gets a new one.
     */
    readonly imageTag?: string;
}

/**
 * The one container image every processing job of the stack runs (`node dist/jobs/main.js <job>`): an ECR
 * repository with scan on push, immutable tags and a lifecycle policy, and the image built from
 * `jobs/Dockerfile` and pushed to it.
 */
export class JobsImage extends pulumi.ComponentResource {
    public readonly repository: aws.ecr.Repository;
    public readonly image: awsx.ecr.Image;
    public readonly repositoryArn: pulumi.Output<string>;
    public readonly repositoryUrl: pulumi.Output<string>;
    /** Image URI by digest, for job definitions. */
    public readonly imageUri: pulumi.Output<string>;

    constructor(name: string, args: JobsImageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("vision-mlops:build:JobsImage", name, {}, opts);
        const child = { parent: this };
        const context = args.context ?? ".";
        const keep = args.keepImages ?? 20;
        if (!Number.isInteger(keep) || keep < 1) throw new Error(`JobsImage ${name}: keepImages must be a whole number >= 1, got ${keep}`);

        this.repository = new aws.ecr.Repository(
            `${name}-repository`,
            {
                name: jobsRepositoryName(args.environment),
                imageTagMutability: "IMMUTABLE",
                imageScanningConfiguration: { scanOnPush: true },
                encryptionConfigurations: [
                    args.kmsKeyArn ? { encryptionType: "KMS", kmsKey: args.kmsKeyArn } : { encryptionType: "AES256" },
                ],
            },
            child,
        );
        new aws.ecr.LifecyclePolicy(
            `${name}-lifecycle`,
            {
                repository: this.repository.name,
                policy: JSON.stringify(keepLastImagesPolicy(keep)),
            },
            child,
        );

        this.image = new awsx.ecr.Image(
            `${name}-image`,
            {
                repositoryUrl: this.repository.repositoryUrl,
                context,
                dockerfile: join(context, JOBS_DOCKERFILE),
                platform: JOBS_IMAGE_PLATFORM,
                imageTag: args.imageTag ?? `src-${buildInputsHash(context)}`,
            },
            child,
        );

        this.repositoryArn = this.repository.arn;
        this.repositoryUrl = this.repository.repositoryUrl;
        this.imageUri = this.image.imageUri;
        this.registerOutputs({ repositoryArn: this.repositoryArn, repositoryUrl: this.repositoryUrl, imageUri: this.imageUri });
    }
}

/** `vision-mlops-<env>-jobs`. */
export function jobsRepositoryName(environment: Environment): string {
    return fitName([PROJECT, environment, "jobs"], 256);
}

/** ECR lifecycle policy that expires all but the newest `count` images. */
export function keepLastImagesPolicy(count: number): object {
    return {
        rules: [
            {
                rulePriority: 1,
                description: `Keep the newest ${count} images`,
                selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: count },
                action: { type: "expire" },
            },
        ],
    };
}

/** A short hash of the build inputs under `root` (paths and contents, in a stable order); missing inputs are skipped. */
export function buildInputsHash(root: string, inputs: readonly string[] = BUILD_INPUTS): string {
    const hash = createHash("sha256");
    const visit = (path: string) => {
        let stat;
        try {
            stat = statSync(path);
        } catch {
            return;
        }
        if (stat.isDirectory()) {
            for (const entry of readdirSync(path).sort()) if (entry !== "node_modules" && entry !== "dist") visit(join(path, entry));
        } else if (stat.isFile()) {
            hash.update(relative(root, path)).update("\0").update(readFileSync(path)).update("\0");
        }
    };
    for (const input of inputs) visit(join(root, input));
    return hash.digest("hex").slice(0, 16);
}
