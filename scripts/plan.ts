/**
 * Offline plan: `npm run plan -- <stack> [--out DIR] [--registry sample|pending|empty]`.
 *
 * Runs the real program for `Pulumi.<stack>.yaml` (from VISION_MLOPS_PROJECT_DIR, default this project) in-process on Pulumi mocks (no cloud, no credentials, no
 * Pulumi CLI) and prints what will run (per model: endpoint, training pipeline and its triggers, monitoring),
 * the stack outputs, the monthly cost estimate, then the resource tree like a preview; it writes a JSON plan
 * of every resource's inputs, the outputs and the estimate, and each pipeline definition; then it runs the
 * policy pack (policy/) over every declared resource and lists every violation.
 * Config problems are printed all at once and the exit code is 1; an unapproved model for prod is refused
 * exactly as `pulumi up` would refuse it; a mandatory policy violation (one not on policy/open-items.ts)
 * also exits 1, after the plan is written.
 */
import { ModelApprovalStatus } from "@aws-sdk/client-sagemaker";
import * as pulumi from "@pulumi/pulumi";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "fs";
import { join, relative, resolve } from "path";
import { parseArgs } from "util";
import { ConfigError, PlatformConfig } from "../infra/config";
import { defaultPlanDir, estimateStack, formatEstimate, StackEstimate, stackFileSha256 } from "../infra/cost";
import { declarationOf, StackDeclaration } from "../infra/declared";
import { stateMachineName } from "../infra/inference-workflow";
import { bucketName, modelPackageGroupName } from "../infra/naming";
import { ModelRegistry, PromotionRefused, promotionSourceStack, SERVED_PACKAGES_OUTPUT } from "../infra/promotion";
import { PipelineDefinition, stepGraph } from "../infra/pipeline/builder";
import { groupOfPackageArn, parsePackageArn } from "../infra/registry";
import { pytorchModelImages, pytorchVersion } from "../infra/pytorch-images";
import { readStackFile, StackFileError } from "../infra/stack-file";
import { DeclaredForPolicy, formatPolicyReport, mandatoryViolations, PolicyReport, runPolicies } from "../policy/offline";
import { DeclaredResource, OFFLINE_ACCOUNT, SELF_MANAGED_ORGANIZATION, settled, unwrapOutput, useMocks } from "../stacks/offline";

const USAGE = "usage: npm run plan -- <stack> [--out DIR] [--registry sample|pending|empty]";

/** Which registry the plan pretends to see; stated in the output so nobody mistakes it for the real one. */
export type RegistryScenario = "sample" | "pending" | "empty";

/**
 * A registry stand-in: with `sample` every model's group holds version 1, Approved, and prod serves nothing
 * yet; with `pending` version 2 waits for approval while prod's endpoints serve version 1 (prod keeps it and
 * says what waits); with `empty` nothing was registered yet. Each package carries the image its model's pipeline
 * registers: `servingImages` by model, else the built-in algorithm's.
 */
export function offlineRegistry(
    scenario: RegistryScenario,
    region: string,
    servingImages: Readonly<Record<string, string>> = {},
): ModelRegistry {
    return {
        async newestRegisteredPackage(group) {
            return scenario === "empty" ? undefined : samplePackageArn(region, group, newestVersion(scenario));
        },
        async describePackage(arn) {
            const version = parsePackageArn(arn).version;
            return {
                arn,
                group: groupOfPackageArn(arn),
                version,
                approvalStatus: version === 1 ? ModelApprovalStatus.APPROVED : ModelApprovalStatus.PENDING_MANUAL_APPROVAL,
                customerMetadata: {},
                image: servingImages[modelOfGroup(arn)] ?? `${ALGORITHM_REGISTRY}.dkr.ecr.${region}.amazonaws.com/image-classification:1`,
                modelDataUrl: `s3://${bucketName("staging", "artifacts", OFFLINE_ACCOUNT, region)}/${modelOfGroup(arn)}/executions/offline/model/train/output/model.tar.gz`,
                monitoringBaselineUri: `s3://${bucketName("staging", "artifacts", OFFLINE_ACCOUNT, region)}/${modelOfGroup(arn)}/executions/offline/evaluation/monitoring_baseline.json`,
            };
        },
        async packageServedBy(endpoint) {
            const model = /^vision-mlops-prod-(.+)$/.exec(endpoint)?.[1];
            return scenario === "pending" && model ? samplePackageArn(region, modelPackageGroupName("staging", model), 1) : undefined;
        },
    };
}

/** The version staging serves in a scenario: v2 waits for approval in `pending`. */
const newestVersion = (scenario: RegistryScenario) => (scenario === "pending" ? 2 : 1);

/** The account SageMaker's built-in algorithms are published from in us-east-1. */
const ALGORITHM_REGISTRY = "811284229777";

/** `vision-mlops-staging-<model>` -> `<model>`. */
function modelOfGroup(packageArn: string): string {
    return groupOfPackageArn(packageArn).replace(/^vision-mlops-staging-/, "");
}

function samplePackageArn(region: string, group: string, version: number): string {
    return `arn:aws:sagemaker:${region}:${OFFLINE_ACCOUNT}:model-package/${group}/${version}`;
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
    readonly cost: StackEstimate;
    readonly files: string[];
    /** Files of an earlier plan of this stack that this one no longer writes, now removed. */
    readonly removed: string[];
    /** The policy pack's verdict on every declared resource. */
    readonly policy: PolicyReport;
    /** What the pack ran over: every declaration with its id, provider and parent. */
    readonly policyInputs: readonly DeclaredForPolicy[];
    /** Every declaration's URN as the engine forms it, and the URNs its aliases name: what a `pulumi up` adopts. */
    readonly urns: readonly PlannedUrn[];
}

export interface PlannedUrn {
    readonly urn: string;
    /** Its own aliases, and those it inherits from its parents' (the engine derives a child's aliases from its parent's). */
    readonly aliases: readonly string[];
}

/** Runs the program for one stack on mocks and writes the plan; returns what it declared. */
export async function runPlan(
    stack: string,
    options: {
        projectDir: string;
        outDir: string;
        registry: RegistryScenario;
        log?: (line: string) => void;
        /** What the program warns about (a package prod did not take from staging). Defaults to pulumi.log.warn. */
        warn?: (line: string) => void;
    },
): Promise<PlanResult> {
    const log = options.log ?? ((line: string) => console.log(line));
    const config = readStackFile(options.projectDir, stack);
    const source = promotionSourceStack(config.promotion?.sourceStack, SELF_MANAGED_ORGANIZATION, "vision-mlops");
    const stackOutputs = config.environment === "prod" ? { [source.name]: stagingOutputsFor(config, options.registry) } : {};
    const declared = useMocks(stack, { region: config.region, stackOutputs });

    // Parents are not part of what mocks see, so a (legacy, SDK-side) transformation records them.
    const labels = new Map<pulumi.Resource, string>();
    const parents = new Map<string, string>();
    const aliases = new Map<string, readonly (pulumi.Alias | string)[]>();
    const recordParent: pulumi.ResourceTransformation = ({ resource, type, name, opts }) => {
        const label = `${type}::${name}`;
        labels.set(resource, label);
        if (opts.parent && labels.has(opts.parent)) parents.set(label, labels.get(opts.parent)!);
        if (opts.aliases?.length) aliases.set(label, opts.aliases as (pulumi.Alias | string)[]);
        return undefined;
    };

    const { createPlatform } = await import("../stacks/platform");
    const platform = await createPlatform(
        config,
        {
            registry: offlineRegistry(options.registry, config.region, registeredImages(config)),
            gitCommit: "offline-plan",
            log: options.warn,
        },
        { transformations: [recordParent] },
    );
    const outputs = (await unwrapOutput(pulumi.output(platform.outputs))) as Record<string, unknown>;
    await settled(declared);

    const resources: PlannedResource[] = declared.map((r: DeclaredResource) => ({
        type: r.type,
        name: r.name,
        parent: parents.get(`${r.type}::${r.name}`),
        inputs: withoutProviderCode(r.inputs),
    }));
    const declaration = declarationOf(resources, { environment: config.environment, models: Object.keys(config.models) });
    const cost = estimateStack(declaration, { region: config.region, budgetMonthlyUsd: config.budget?.monthlyUsd });
    const sha256 = stackFileSha256(options.projectDir, stack);
    const policyInputs = declared.map((r) => ({ ...r, parent: parents.get(`${r.type}::${r.name}`) }));
    const policy = await runPolicies(policyInputs, { stack });
    const { files, removed } = writePlanFiles(options.outDir, { stack, config, resources, outputs, cost, policy, stackFileSha256: sha256 });

    log(`Offline plan for stack "${stack}" (${config.environment}, ${config.region}); registry: ${describeScenario(options.registry)}`);
    log("");
    for (const line of whatRuns(config, declaration, outputs)) log(line);
    log("");
    for (const line of formatEstimate(cost)) log(line);
    for (const line of budgetFilterNotes(config, declaration)) log(line);
    log("");
    log("Resources:");
    for (const line of resourceTree(resources)) log(line);
    for (const { name, definition } of pipelinesOf(resources)) {
        log("");
        log(`Pipeline ${name}:`);
        for (const line of stepGraph(definition)) log(`  ${line}`);
    }
    log("");
    for (const line of formatPolicyReport(policy)) log(line);
    log("");
    log(`${resources.length} resources. ${writtenSummary(options.outDir, files, removed)}`);
    const urns = plannedUrns(resources, aliases, labels, `urn:pulumi:${stack}::${pulumi.getProject()}::`);
    return { stack, resources, outputs, cost, files, removed, policy, policyInputs, urns };
}

/** `Written: .plan/staging/plan.json and 4 pipeline definitions in .plan/staging/pipelines/`, not every name. */
function writtenSummary(outDir: string, files: readonly string[], removed: readonly string[]): string {
    const shown = (f: string) => relative(process.cwd(), f) || ".";
    const pipelines = files.length - 1;
    const stale = removed.length
        ? `; removed ${removed.length} stale file${removed.length === 1 ? "" : "s"} of an earlier plan (${removed.map(shown).join(", ")})`
        : "";
    return `Written: ${shown(files[0])} and ${pipelines} pipeline definition${pipelines === 1 ? "" : "s"} in ${shown(join(outDir, "pipelines"))}/${stale}`;
}

/**
 * What the stack runs, per model: the endpoint (fleet, autoscaling, capture, how updates roll out), the
 * training pipeline with its jobs and what starts it, and the monitoring; then the stack's outputs.
 */
export function whatRuns(config: PlatformConfig, d: StackDeclaration, outputs: Record<string, unknown>): string[] {
    const env = config.environment;
    const models = (outputs.models ?? {}) as Record<string, { servedPackage: string | null; serving: string }>;
    const lines = [`What runs (${env}, ${config.region}):`];
    for (const model of Object.keys(config.models)) {
        lines.push(`  ${model}`);
        const e = d.endpoints.find((x) => x.model === model);
        const row = (label: string, text: string) => lines.push(`    ${label.padEnd(11)}${text}`);
        if (e) {
            const scaling =
                e.minInstances === e.maxInstances
                    ? "no autoscaling"
                    : `autoscaling ${e.minInstances}..${e.maxInstances}${e.targetInvocationsPerInstance ? ` at ${e.targetInvocationsPerInstance} invocations/instance/min` : ""}`;
            const updates = e.blueGreen
                ? `blue/green updates, canary ${e.blueGreen.canary}, rollback on ${e.blueGreen.rollbackAlarms} alarms`
                : "updates land at once (no canary)";
            const capture = e.capturePercent === undefined ? "no capture" : `capture ${e.capturePercent}%`;
            row("endpoint", `${e.endpointName}: ${e.instanceType} x ${e.instanceCount}, ${scaling}, ${capture}, ${updates}`);
        } else row("endpoint", models[model]?.serving ?? "none: no package served");

        const training = d.pipelines.find((p) => p.model === model && p.purpose === "training");
        if (training) {
            const jobs = training.jobs.map((j) => `${j.step} ${j.instanceType}${j.spot ? " spot" : ""}`).join(", ");
            row("training", `${training.pipelineName} (${trainingAlgorithm(config.models[model].training)}): ${jobs}`);
            const starters = d.triggers.filter((t) => t.pipelineName === training.pipelineName);
            row(
                "",
                `started by ${starters.map((t) => (t.schedule ? `the schedule ${t.schedule}` : (t.event ?? t.name))).join("; ") || "nothing (start it by hand)"}`,
            );
        } else row("training", env === "prod" ? "none in prod: it serves what staging trained and a person approved" : "none");

        const monitors = d.triggers.filter(
            (t) =>
                t.model === model &&
                (t.via === "model-monitor" || d.pipelines.some((p) => p.pipelineName === t.pipelineName && p.purpose === "monitoring")),
        );
        for (const t of monitors) {
            const job = t.job ?? d.pipelines.find((p) => p.pipelineName === t.pipelineName)?.jobs[0];
            const limit = job?.maxRuntimeSeconds ? `, at most ${Math.round(job.maxRuntimeSeconds / 60)} min a run` : "";
            const when = `${config.models[model].monitoring.schedule} (${t.schedule}${t.timezone ? ` ${t.timezone}` : ""})`;
            const what = t.via === "model-monitor" ? `Model Monitor schedule ${t.name}` : `EventBridge Scheduler starts ${t.pipelineName}`;
            row("monitoring", `${config.monitoring.engine} engine, ${when}: ${what}${job ? ` on ${job.instanceType}${limit}` : ""}`);
        }
        if (monitors.length === 0) row("monitoring", e ? "none" : "none until an endpoint serves a package");

        const i = config.models[model].inference;
        if (e) {
            const margin = i.confidenceMargin === undefined ? "" : ` or a lead under ${percent(i.confidenceMargin)} over the second`;
            row(
                "inference",
                `${stateMachineName(env, model)}: to review below ${percent(i.confidenceThreshold)} top-1${margin}; ${training ? "a training batch" : "an ingest batch (nothing trains here)"} every ${i.reviewBatchSize} reviewed images${i.reviewBatchSchedule ? ` and on ${i.reviewBatchSchedule}` : ""}`,
            );
            row(
                "",
                `started by npm run classify; a correction from the prediction page${i.triggerPrefix ? `; an image under ${i.triggerPrefix}` : ""}`,
            );
        } else row("inference", "none until an endpoint serves a package");
    }
    lines.push("Stack outputs:");
    const width = Math.max(...Object.keys(config.models).map((m) => m.length));
    for (const model of Object.keys(config.models)) {
        const m = models[model];
        lines.push(
            `  ${model.padEnd(width)}  ${m?.servedPackage ? `serves ${m.servedPackage} (${m.serving})` : (m?.serving ?? "not planned")}`,
        );
    }
    const buckets = Object.keys((outputs.buckets ?? {}) as Record<string, string>);
    if (buckets.length)
        lines.push(`  buckets: ${buckets.join(", ")}; alerts: ${outputs.alertTopicArn}; dashboard: ${outputs.dashboardName}`);
    return lines;
}

/** The training job's algorithm as a person names it: the built-in algorithm, or PyTorch's version and model. */
function trainingAlgorithm(t: PlatformConfig["models"][string]["training"]): string {
    return t.algorithm === "pytorch" ? `PyTorch ${pytorchVersion(t)} ${t.architecture}` : "built-in image-classification";
}

const percent = (fraction: number) => `${Math.round(fraction * 1000) / 10}%`;

/** What the stack's budget counts, and what it takes for AWS to count it. */
export function budgetFilterNotes(config: PlatformConfig, d: StackDeclaration): string[] {
    if (!config.budget) return ["No budget (set budget.monthlyUsd to get alerts at 80% and 100% of a monthly limit)."];
    return d.budgets
        .map((b) => {
            if (b.filters.some((f) => f.startsWith("TagKeyValue=")))
                return [
                    `Budget ${b.name} counts only spend tagged environment=${config.environment}, and AWS counts a tag only once it is`,
                    `  activated as a cost allocation tag, and only for spend after that (until then the budget sees $0): Billing and Cost`,
                    `  Management > Cost allocation tags, or from the management account:`,
                    `    aws ce update-cost-allocation-tags-status --cost-allocation-tags-status TagKey=environment,Status=Active`,
                    `  budget.filter: account counts all of the account's ${config.region} spend instead and needs no activation.`,
                ];
            return [
                `Budget ${b.name} counts every cost of its account in ${config.region} (${b.filters.join(", ")}): no tag activation needed,`,
                `  but stacks that share the account share the figure.`,
            ];
        })
        .flat();
}

/** A dynamic resource's inputs carry its provider's serialized code; the plan names its size instead. */
function withoutProviderCode(inputs: Record<string, unknown>): Record<string, unknown> {
    const code = inputs.__provider;
    return typeof code === "string" ? { ...inputs, __provider: `<serialized dynamic provider, ${code.length} characters>` } : inputs;
}

function describeScenario(s: RegistryScenario): string {
    switch (s) {
        case "sample":
            return "offline stand-in, each model has package v1 Approved (--registry pending|empty to see the other cases)";
        case "pending":
            return "offline stand-in, each model has package v1 Approved (what prod serves) and v2 PendingManualApproval (what staging serves)";
        case "empty":
            return "offline stand-in, no model registered yet";
    }
}

/** What staging would export for prod's StackReference under the same registry scenario. */
/** The inference image each PyTorch model's pipeline registers (the built-in models' comes from the stand-in itself). */
function registeredImages(config: PlatformConfig): Record<string, string> {
    return Object.fromEntries(
        Object.entries(config.models)
            .filter(([, m]) => m.training.algorithm === "pytorch")
            .map(([name, m]) => [name, pytorchModelImages(m.training, config.region).inferenceImageUri]),
    );
}

function stagingOutputsFor(config: PlatformConfig, scenario: RegistryScenario): Record<string, unknown> {
    const served = Object.fromEntries(
        Object.keys(config.models).map((m) => [
            m,
            scenario === "empty" ? null : samplePackageArn(config.region, modelPackageGroupName("staging", m), newestVersion(scenario)),
        ]),
    );
    return {
        [SERVED_PACKAGES_OUTPUT]: served,
        dataKeyArn: `arn:aws:kms:${config.region}:${OFFLINE_ACCOUNT}:key/staging-data-key`,
    };
}

interface PlanDocument {
    readonly stack: string;
    readonly config: PlatformConfig;
    readonly resources: PlannedResource[];
    readonly outputs: Record<string, unknown>;
    readonly cost: StackEstimate;
    readonly policy: PolicyReport;
    /** Of the stack file the plan was made from, so `status` can tell a current plan from a stale one. */
    readonly stackFileSha256: string;
}

/**
 * Writes plan.json and one file per pipeline definition, and removes the pipeline files an earlier plan of the
 * same stack wrote that this one does not (a model taken out of the config, a renamed pipeline). Only a
 * folder whose plan.json names this stack is cleaned, so `--out` pointed at any other folder loses nothing.
 */
function writePlanFiles(outDir: string, doc: PlanDocument): { files: string[]; removed: string[] } {
    const planFile = join(outDir, "plan.json");
    const pipelinesDir = join(outDir, "pipelines");
    const earlierOfThisStack = existsSync(planFile) && planStack(planFile) === doc.stack;
    mkdirSync(pipelinesDir, { recursive: true });
    const { stack, config, resources, outputs, cost, policy, stackFileSha256 } = doc;
    writeAtomically(
        planFile,
        JSON.stringify(
            { stack, environment: config.environment, region: config.region, stackFileSha256, outputs, cost, policy, resources },
            null,
            2,
        ),
    );
    const pipelineFiles = pipelinesOf(resources).map(({ name, definition }) => {
        const file = join(pipelinesDir, `${name}.json`);
        writeAtomically(file, JSON.stringify(definition, null, 2));
        return file;
    });
    const kept = new Set(pipelineFiles);
    const removed = earlierOfThisStack
        ? readdirSync(pipelinesDir)
              .map((f) => join(pipelinesDir, f))
              .filter((f) => f.endsWith(".json") && !kept.has(f))
        : [];
    for (const f of removed) unlinkSync(f);
    return { files: [planFile, ...pipelineFiles], removed };
}

function planStack(planFile: string): string | undefined {
    try {
        return JSON.parse(readFileSync(planFile, "utf8")).stack;
    } catch {
        return undefined;
    }
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

/**
 * URNs as the engine forms them (`urn:pulumi:<stack>::<project>::<parent types>$<type>::<name>`, the root
 * stack's own type left out) and the URNs each resource's aliases name, inherited ones included, as the
 * engine derives them: for each alias of the parent, the child under that alias. The mocks' own URNs keep only
 * the last parent type, so they cannot show what an update adopts.
 */
export function plannedUrns(
    resources: readonly PlannedResource[],
    aliasSpecs: ReadonlyMap<string, readonly (pulumi.Alias | string)[]>,
    labels: ReadonlyMap<pulumi.Resource, string>,
    prefix: string,
): PlannedUrn[] {
    const byLabel = new Map(resources.map((r) => [`${r.type}::${r.name}`, r]));
    const typeChain = (label: string | undefined): string => {
        const r = label === undefined ? undefined : byLabel.get(label);
        if (!r) return "";
        const above = typeChain(r.parent);
        return above ? `${above}$${r.type}` : r.type;
    };
    const urnOf = (label: string) => `${prefix}${typeChain(label)}::${byLabel.get(label)!.name}`;
    const underParent = (parentTypes: string, type: string, name: string) =>
        `${prefix}${parentTypes ? `${parentTypes}$` : ""}${type}::${name}`;
    const byUrnOutput = new Map<unknown, pulumi.Resource>([...labels.keys()].map((res) => [res.urn, res]));
    const memo = new Map<string, string[]>();
    const aliasesOf = (label: string): string[] => {
        const known = memo.get(label);
        if (known) return known;
        const r = byLabel.get(label)!;
        const own = (aliasSpecs.get(label) ?? []).map((a) => {
            if (typeof a === "string") return a;
            // A parent given by its URN is that resource's own `urn` output (the mocks' URNs lack the upper parent types).
            const parentResource = pulumi.Resource.isInstance(a.parent)
                ? a.parent
                : a.parent !== undefined
                  ? byUrnOutput.get(a.parent)
                  : undefined;
            if (a.stack !== undefined || a.project !== undefined || (a.parent !== undefined && !parentResource))
                throw new Error(`${label}: the plan reads aliases by name, type and a parent resource or its urn only`);
            const parent = a.parent === undefined ? ("parent" in a ? undefined : r.parent) : labels.get(parentResource!);
            return underParent(typeChain(parent), (a.type as string | undefined) ?? r.type, (a.name as string | undefined) ?? r.name);
        });
        // A child named after its parent is named after the parent's alias under it (the engine's rule).
        const parentName = r.parent && byLabel.get(r.parent)!.name;
        const inherited = r.parent
            ? aliasesOf(r.parent).map((parentAlias) => {
                  const cut = parentAlias.lastIndexOf("::");
                  const name = r.name.startsWith(parentName!) ? parentAlias.slice(cut + 2) + r.name.slice(parentName!.length) : r.name;
                  return `${parentAlias.slice(0, cut)}$${r.type}::${name}`;
              })
            : [];
        const all = [...new Set([...own, ...inherited])];
        memo.set(label, all);
        return all;
    };
    return resources.map((r) => {
        const label = `${r.type}::${r.name}`;
        return { urn: urnOf(label), aliases: aliasesOf(label) };
    });
}

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

/** Why the plan fails on the policy pack's verdict (mandatory violations), or undefined when it passes. */
export function policyRefusal(policy: PolicyReport): string | undefined {
    const failing = mandatoryViolations(policy);
    if (failing.length === 0) return undefined;
    return `${failing.length} mandatory policy violation${failing.length === 1 ? "" : "s"} (listed above under "Policy pack"); a real preview with --policy-pack policy would refuse the same`;
}

const OPTIONS = {
    out: { type: "string" },
    registry: { type: "string", default: "sample" },
    help: { type: "boolean", short: "h" },
} as const;

/** The command line, or the one-line error a mistyped one gets (never a stack trace). */
export function planArguments(
    argv: readonly string[],
): { values: { out?: string; registry: string; help?: boolean }; positionals: string[] } | { error: string } {
    try {
        const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: OPTIONS });
        return { values: { out: values.out, registry: values.registry ?? "sample", help: values.help }, positionals };
    } catch (e) {
        const unknown = /Unknown option '(-{1,2}[^']+)'/.exec((e as Error).message)?.[1];
        if (unknown) {
            const guess = closestOption(unknown.replace(/^-+/, ""));
            return { error: `unknown option ${unknown}${guess ? ` (did you mean --${guess}?)` : ""}; ${USAGE}` };
        }
        return { error: `${(e as Error).message.split("\n")[0].replace(/\.$/, "")}; ${USAGE}` };
    }
}

/** The option a typo most likely meant: within two edits. */
function closestOption(typed: string): string | undefined {
    const distance = (a: string, b: string) => {
        const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
        for (let j = 1; j <= b.length; j++) d[0][j] = j;
        for (let i = 1; i <= a.length; i++)
            for (let j = 1; j <= b.length; j++)
                d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        return d[a.length][b.length];
    };
    const [best] = Object.keys(OPTIONS)
        .map((o) => [o, distance(typed, o)] as const)
        .sort((x, y) => x[1] - y[1]);
    return best && best[1] <= 2 ? best[0] : undefined;
}

/** Where the command prints, and the environment it reads VISION_MLOPS_PROJECT_DIR from. */
export interface PlanIo {
    readonly log: (line: string) => void;
    readonly error: (line: string) => void;
    readonly env: NodeJS.ProcessEnv;
}

/** The command: `npm run plan -- <argv>`; resolves to its exit code. */
export async function planCommand(argv: readonly string[], io: PlanIo): Promise<number> {
    const parsed = planArguments(argv);
    if ("error" in parsed) {
        io.error(`error: ${parsed.error}`);
        return 2;
    }
    const { values, positionals } = parsed;
    if (values.help) {
        io.log(USAGE);
        return 0;
    }
    const stack = positionals[0];
    if (!stack || positionals.length > 1) {
        io.error(USAGE);
        return 2;
    }
    const registry = values.registry as RegistryScenario;
    if (!["sample", "pending", "empty"].includes(registry)) {
        io.error(`--registry: "${registry}" is not one of sample, pending, empty`);
        return 2;
    }
    const projectDir = resolve(io.env.VISION_MLOPS_PROJECT_DIR ?? join(__dirname, ".."));
    try {
        const { policy } = await runPlan(stack, {
            projectDir,
            outDir: resolve(values.out ?? defaultPlanDir(projectDir, stack)),
            registry,
            log: io.log,
            warn: (line) => io.error(`warning: ${line}`),
        });
        const refusal = policyRefusal(policy);
        if (refusal) {
            io.error(`error: ${refusal}`);
            return 1;
        }
        return 0;
    } catch (e) {
        if (e instanceof ConfigError || e instanceof PromotionRefused || e instanceof StackFileError) {
            io.error(`error: ${e.message}`);
            return 1;
        }
        throw e;
    }
}

if (require.main === module) {
    planCommand(process.argv.slice(2), { log: (line) => console.log(line), error: (line) => console.error(line), env: process.env }).then(
        (code) => {
            process.exitCode = code;
        },
        (e) => {
            console.error(e);
            process.exitCode = 1;
        },
    );
}
