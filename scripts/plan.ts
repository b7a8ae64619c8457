/**
 * Offline plan: `npm run plan -- <stack> [--out DIR] [--registry sample|pending|empty]`.
 *
 * Runs the real program for `Pulumi.<stack>.yaml` (from VISION_MLOPS_PROJECT_DIR, default this project) in-process on Pulumi mocks (no cloud, no credentials, no
 * Pulumi CLI), prints the resource tree like a preview, and writes a JSON plan of every resource's inputs.
 * Config problems are printed all at once and the exit code is 1; an unapproved model for prod is refused
 * exactly as `pulumi up` would refuse it.
 */
import { ModelApprovalStatus } from "@aws-sdk/client-sagemaker";
import * as pulumi from "@pulumi/pulumi";
import { mkdirSync, renameSync, writeFileSync } from "fs";
import { join, relative, resolve } from "path";
import { parseArgs } from "util";
import { ConfigError, PlatformConfig } from "../infra/config";
import { bucketName, modelPackageGroupName } from "../infra/naming";
import { ModelRegistry, PromotionRefused, SERVED_PACKAGES_OUTPUT } from "../infra/promotion";
import { PipelineDefinition, stepGraph } from "../infra/pipeline/builder";
import { groupOfPackageArn } from "../infra/registry";
import { readStackFile, StackFileError } from "../infra/stack-file";
import { DeclaredResource, OFFLINE_ACCOUNT, settled, unwrapOutput, useMocks } from "../stacks/offline";

const USAGE = "usage: npm run plan -- <stack> [--out DIR] [--registry sample|pending|empty]";

/** Which registry the plan pretends to see; stated in the output so nobody mistakes it for the real one. */
export type RegistryScenario = "sample" | "pending" | "empty";

/**
 * A registry stand-in: with `sample` every model's group holds version 1, Approved; with `pending` it is
 * awaiting approval (prod then shows the gate's refusal); with `empty` nothing was registered yet.
 */
export function offlineRegistry(scenario: RegistryScenario, region: string): ModelRegistry {
    return {
        async newestRegisteredPackage(group) {
            return scenario === "empty" ? undefined : samplePackageArn(region, group);
        },
        async describePackage(arn) {
            return {
                arn,
                group: groupOfPackageArn(arn),
                version: 1,
                approvalStatus: scenario === "sample" ? ModelApprovalStatus.APPROVED : ModelApprovalStatus.PENDING_MANUAL_APPROVAL,
                customerMetadata: {},
                image: `${ALGORITHM_REGISTRY}.dkr.ecr.${region}.amazonaws.com/image-classification:1`,
                modelDataUrl: `s3://${bucketName("staging", "artifacts", OFFLINE_ACCOUNT, region)}/${modelOfGroup(arn)}/executions/offline/model/train/output/model.tar.gz`,
                monitoringBaselineUri: `s3://${bucketName("staging", "artifacts", OFFLINE_ACCOUNT, region)}/${modelOfGroup(arn)}/executions/offline/evaluation/monitoring_baseline.json`,
            };
        },
    };
}

/** The account SageMaker's built-in algorithms are published from in us-east-1. */
const ALGORITHM_REGISTRY = "811284229777";

/** `vision-mlops-staging-<model>` -> `<model>`. */
function modelOfGroup(packageArn: string): string {
    return groupOfPackageArn(packageArn).replace(/^vision-mlops-staging-/, "");
}

function samplePackageArn(region: string, group: string): string {
    return `arn:aws:sagemaker:${region}:${OFFLINE_ACCOUNT}:model-package/${group}/1`;
}

interface PlannedResource {
    readonly type: string;
    readonly name: string;
    readonly parent?: string;
    readonly inputs: Record<string, unknown>;
}

export interface PlanResult {
    readonly stack: string;
    readonly resources: PlannedResource[];
    readonly outputs: Record<string, unknown>;
    readonly files: string[];
}

/** Runs the program for one stack on mocks and writes the plan; returns what it declared. */
export async function runPlan(
    stack: string,
    options: { projectDir: string; outDir: string; registry: RegistryScenario; log?: (line: string) => void },
): Promise<PlanResult> {
    const log = options.log ?? ((line: string) => console.log(line));
    const config = readStackFile(options.projectDir, stack);
    const stackOutputs = config.promotion ? { [config.promotion.sourceStack]: stagingOutputsFor(config, options.registry) } : {};
    const declared = useMocks(stack, { region: config.region, stackOutputs });

    // Parents are not part of what mocks see, so a (legacy, SDK-side) transformation records them.
    const labels = new Map<pulumi.Resource, string>();
    const parents = new Map<string, string>();
    const recordParent: pulumi.ResourceTransformation = ({ resource, type, name, opts }) => {
        const label = `${type}::${name}`;
        labels.set(resource, label);
        if (opts.parent && labels.has(opts.parent)) parents.set(label, labels.get(opts.parent)!);
        return undefined;
    };

    const { createPlatform } = await import("../stacks/platform");
    const platform = await createPlatform(
        config,
        { registry: offlineRegistry(options.registry, config.region), gitCommit: "offline-plan" },
        { transformations: [recordParent] },
    );
    const outputs = (await unwrapOutput(pulumi.output(platform.outputs))) as Record<string, unknown>;
    await settled(declared);

    const resources: PlannedResource[] = declared.map((r: DeclaredResource) => ({
        type: r.type,
        name: r.name,
        parent: parents.get(`${r.type}::${r.name}`),
        inputs: r.inputs,
    }));
    const files = writePlanFiles(options.outDir, stack, config, resources, outputs);

    log(`Offline plan for stack "${stack}" (${config.environment}, ${config.region}); registry: ${describeScenario(options.registry)}`);
    log("");
    for (const line of resourceTree(resources)) log(line);
    for (const { name, definition } of pipelinesOf(resources)) {
        log("");
        log(`Pipeline ${name}:`);
        for (const line of stepGraph(definition)) log(`  ${line}`);
    }
    log("");
    log(`${resources.length} resources. Written: ${files.map((f) => relative(process.cwd(), f)).join(", ")}`);
    return { stack, resources, outputs, files };
}

function describeScenario(s: RegistryScenario): string {
    switch (s) {
        case "sample":
            return "offline stand-in, each model has package v1 Approved (--registry pending|empty to see the other cases)";
        case "pending":
            return "offline stand-in, each model has package v1 PendingManualApproval";
        case "empty":
            return "offline stand-in, no model registered yet";
    }
}

/** What staging would export for prod's StackReference under the same registry scenario. */
function stagingOutputsFor(config: PlatformConfig, scenario: RegistryScenario): Record<string, unknown> {
    const served = Object.fromEntries(
        Object.keys(config.models).map((m) => [
            m,
            scenario === "empty" ? null : samplePackageArn(config.region, modelPackageGroupName("staging", m)),
        ]),
    );
    return {
        [SERVED_PACKAGES_OUTPUT]: served,
        dataKeyArn: `arn:aws:kms:${config.region}:${OFFLINE_ACCOUNT}:key/staging-data-key`,
    };
}

function writePlanFiles(
    outDir: string,
    stack: string,
    config: PlatformConfig,
    resources: PlannedResource[],
    outputs: Record<string, unknown>,
): string[] {
    mkdirSync(join(outDir, "pipelines"), { recursive: true });
    const planFile = join(outDir, "plan.json");
    writeAtomically(
        planFile,
        JSON.stringify({ stack, environment: config.environment, region: config.region, outputs, resources }, null, 2),
    );
    const pipelineFiles = pipelinesOf(resources).map(({ name, definition }) => {
        const file = join(outDir, "pipelines", `${name}.json`);
        writeAtomically(file, JSON.stringify(definition, null, 2));
        return file;
    });
    return [planFile, ...pipelineFiles];
}

/** Every SageMaker pipeline the stack declares, by its physical name, with its parsed definition. */
function pipelinesOf(resources: readonly PlannedResource[]): Array<{ name: string; definition: PipelineDefinition }> {
    return resources
        .filter((r) => r.type === "aws:sagemaker/pipeline:Pipeline")
        .map((r) => ({ name: String(r.inputs.pipelineName), definition: JSON.parse(String(r.inputs.pipelineDefinition)) }));
}

function writeAtomically(path: string, content: string): void {
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, content);
    renameSync(tmp, path);
}

/** Inputs worth a glance in the tree, per resource kind. */
const KEY_INPUTS = [
    "bucket",
    "name",
    "endpointName",
    "pipelineName",
    "modelPackageGroupName",
    "scheduleExpression",
    "enableKeyRotation",
    "eventbridge",
    "targetPrefix",
    "protocol",
    "endpoint",
    "region",
];

/** The resource tree, children indented under their parent, like a preview. */
export function resourceTree(resources: readonly PlannedResource[]): string[] {
    const byParent = new Map<string | undefined, PlannedResource[]>();
    for (const r of resources) {
        const list = byParent.get(r.parent) ?? [];
        list.push(r);
        byParent.set(r.parent, list);
    }
    const lines: string[] = [];
    const walk = (parent: string | undefined, indent: string) => {
        const children = byParent.get(parent) ?? [];
        children.forEach((r, i) => {
            const last = i === children.length - 1;
            const details = KEY_INPUTS.filter((k) => r.inputs[k] !== undefined && typeof r.inputs[k] !== "object")
                .filter((k) => k !== "bucket" || r.type === "aws:s3/bucket:Bucket")
                .slice(0, 3)
                .map((k) => `${k}=${r.inputs[k]}`)
                .join(" ");
            lines.push(`${indent}${last ? "└─" : "├─"} ${r.type}  ${r.name}${details ? `  (${details})` : ""}`);
            walk(`${r.type}::${r.name}`, `${indent}${last ? "   " : "│  "}`);
        });
    };
    walk(undefined, "");
    return lines;
}

async function main(): Promise<void> {
    const { values, positionals } = parseArgs({
        allowPositionals: true,
        options: { out: { type: "string" }, registry: { type: "string", default: "sample" }, help: { type: "boolean" } },
    });
    if (values.help) {
        console.log(USAGE);
        return;
    }
    const stack = positionals[0];
    if (!stack || positionals.length > 1) {
        console.error(USAGE);
        process.exitCode = 2;
        return;
    }
    const registry = values.registry as RegistryScenario;
    if (!["sample", "pending", "empty"].includes(registry)) {
        console.error(`--registry: "${registry}" is not one of sample, pending, empty`);
        process.exitCode = 2;
        return;
    }
    const projectDir = resolve(process.env.VISION_MLOPS_PROJECT_DIR ?? join(__dirname, ".."));
    try {
        await runPlan(stack, { projectDir, outDir: resolve(values.out ?? join(projectDir, ".plan", stack)), registry });
    } catch (e) {
        if (e instanceof ConfigError || e instanceof PromotionRefused || e instanceof StackFileError) {
            console.error(`error: ${e.message}`);
            process.exitCode = 1;
            return;
        }
        throw e;
    }
}

if (require.main === module) {
    main().catch((e) => {
        console.error(e);
        process.exitCode = 1;
    });
}
