import { Environment } from "./config";
import { endpointName, monitoringScheduleName, pipelineName } from "./naming";

/**
 * What a stack declares that runs and bills, read from the resources the program declared (the offline
 * plan's record of every resource's inputs): endpoints with their fleets, SageMaker pipelines with each
 * job's instances and time limits, what starts them, and the counted resources with a monthly price.
 * Reading the declared resources rather than the config means the estimate prices what would be deployed,
 * defaults and component choices included, and cannot drift from it.
 */

/** A declared resource as the plan records it. */
export interface ResourceRecord {
    readonly type: string;
    readonly name: string;
    // Inputs are shaped by each provider's schema; they are walked as JSON.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    readonly inputs: Record<string, any>;
}

export interface EndpointDeclaration {
    readonly model?: string;
    readonly endpointName: string;
    readonly instanceType: string;
    readonly instanceCount: number;
    /** Autoscaling bounds; both equal the instance count without autoscaling. */
    readonly minInstances: number;
    readonly maxInstances: number;
    readonly targetInvocationsPerInstance?: number;
    readonly capturePercent?: number;
    /** Blue/green updates: the canary and the longest an update may keep two fleets. */
    readonly blueGreen?: { readonly canary: string; readonly maxUpdateSeconds: number; readonly rollbackAlarms: number };
}

export type JobKind = "processing" | "training" | "transform";

export interface JobDeclaration {
    readonly step: string;
    readonly kind: JobKind;
    readonly instanceType: string;
    readonly instanceCount: number;
    /** The job's own time limit; a transform job has none. */
    readonly maxRuntimeSeconds?: number;
    readonly spot: boolean;
}

export interface PipelineDeclaration {
    readonly model?: string;
    readonly pipelineName: string;
    readonly purpose: "training" | "monitoring" | "other";
    readonly jobs: readonly JobDeclaration[];
    /** Step names in definition order, for the summary. */
    readonly steps: readonly string[];
}

/** Something that starts a pipeline or a job: a schedule, or an event rule. */
export interface TriggerDeclaration {
    readonly model?: string;
    readonly via: "scheduler" | "eventbridge" | "model-monitor";
    readonly name: string;
    /** Schedule expression (rate/cron), when it is a schedule. */
    readonly schedule?: string;
    readonly timezone?: string;
    /** What the rule reacts to, in a few words, when it is not a schedule. */
    readonly event?: string;
    readonly description?: string;
    /** The pipeline it starts (by name); model-monitor schedules run `job` instead. */
    readonly pipelineName?: string;
    readonly job?: JobDeclaration;
}

export interface CountedResources {
    readonly kmsKeys: number;
    readonly alarms: number;
    readonly dashboards: number;
    readonly buckets: number;
    readonly ecrRepositories: number;
    readonly budgets: number;
    readonly snsTopics: number;
}

export interface StackDeclaration {
    readonly endpoints: readonly EndpointDeclaration[];
    readonly pipelines: readonly PipelineDeclaration[];
    readonly triggers: readonly TriggerDeclaration[];
    readonly counts: CountedResources;
    readonly budgets: readonly BudgetDeclaration[];
}

export interface BudgetDeclaration {
    readonly name: string;
    readonly limitUsd: number;
    /** Cost filters as `Name=value` strings, e.g. `TagKeyValue=user:environment$staging`. */
    readonly filters: readonly string[];
}

const T = {
    /** An endpoint with its model, configs and autoscaling (components/endpoint-deployment.ts). */
    endpointDeployment: "pulumi-nodejs:dynamic:Resource",
    pipeline: "aws:sagemaker/pipeline:Pipeline",
    schedule: "aws:scheduler/schedule:Schedule",
    rule: "aws:cloudwatch/eventRule:EventRule",
    ruleTarget: "aws:cloudwatch/eventTarget:EventTarget",
    monitoringSchedule: "aws:sagemaker/monitoringSchedule:MonitoringSchedule",
    kmsKey: "aws:kms/key:Key",
    alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
    dashboard: "aws:cloudwatch/dashboard:Dashboard",
    bucket: "aws:s3/bucket:Bucket",
    ecr: "aws:ecr/repository:Repository",
    budget: "aws:budgets/budget:Budget",
    topic: "aws:sns/topic:Topic",
} as const;

/** Names of a stack's models, to label what belongs to which. */
export interface NamingContext {
    readonly environment: Environment;
    readonly models: readonly string[];
}

export function declarationOf(resources: readonly ResourceRecord[], naming: NamingContext): StackDeclaration {
    const of = (type: string) => resources.filter((r) => r.type === type);
    const modelBy = (name: (m: string) => string) => (physical: string | undefined) => naming.models.find((m) => name(m) === physical);
    const endpointModel = modelBy((m) => endpointName(naming.environment, m));
    const pipelineModel = (physical: string) =>
        naming.models.find(
            (m) =>
                pipelineName(naming.environment, m, "training") === physical ||
                pipelineName(naming.environment, m, "monitoring") === physical,
        );

    // The deployment's inputs are its endpoint spec (infra/endpoint-update.ts), in the SageMaker API's shapes.
    const endpoints = of(T.endpointDeployment)
        .filter((d) => d.inputs.endpointName !== undefined && d.inputs.instanceType !== undefined)
        .map((d): EndpointDeclaration => {
            const spec = d.inputs;
            const bg = spec.deploymentConfig?.BlueGreenUpdatePolicy;
            const canary = bg?.TrafficRoutingConfiguration?.CanarySize;
            return {
                model: endpointModel(spec.endpointName),
                endpointName: String(spec.endpointName),
                instanceType: String(spec.instanceType),
                instanceCount: Number(spec.instanceCount),
                minInstances: Number(spec.scaling?.minCapacity ?? spec.instanceCount),
                maxInstances: Number(spec.scaling?.maxCapacity ?? spec.instanceCount),
                targetInvocationsPerInstance: spec.scaling?.targetInvocationsPerInstance,
                capturePercent: spec.dataCapture?.EnableCapture ? spec.dataCapture.InitialSamplingPercentage : undefined,
                blueGreen: bg && {
                    canary: canary
                        ? canary.Type === "INSTANCE_COUNT"
                            ? `${canary.Value} instance${canary.Value === 1 ? "" : "s"}`
                            : `${canary.Value}% of capacity`
                        : "all at once",
                    maxUpdateSeconds: Number(bg.MaximumExecutionTimeoutInSeconds ?? 0),
                    rollbackAlarms: spec.deploymentConfig?.AutoRollbackConfiguration?.Alarms?.length ?? 0,
                },
            };
        })
        // Deployments register once their model's names resolve, in no fixed order; list them as the stack file does.
        .sort((a, b) => naming.models.indexOf(a.model ?? "") - naming.models.indexOf(b.model ?? ""));

    const pipelines = of(T.pipeline).map((p): PipelineDeclaration => {
        const name = String(p.inputs.pipelineName);
        const definition = JSON.parse(String(p.inputs.pipelineDefinition)) as { Steps: PipelineStep[] };
        const purpose = naming.models.some((m) => pipelineName(naming.environment, m, "training") === name)
            ? "training"
            : naming.models.some((m) => pipelineName(naming.environment, m, "monitoring") === name)
              ? "monitoring"
              : "other";
        return {
            model: pipelineModel(name),
            pipelineName: name,
            purpose,
            jobs: definition.Steps.map(jobOfStep).filter((j): j is JobDeclaration => j !== undefined),
            steps: definition.Steps.map((s) => s.Name),
        };
    });

    const pipelineOfArn = (arn: unknown) => /:pipeline\/(.+)$/.exec(String(arn))?.[1];
    const rules = new Map(of(T.rule).map((r) => [String(r.inputs.name), r.inputs]));
    const triggers: TriggerDeclaration[] = [
        ...of(T.schedule).map((s): TriggerDeclaration => {
            const pipeline = pipelineOfArn(s.inputs.target?.arn);
            return {
                model: pipeline ? pipelineModel(pipeline) : undefined,
                via: "scheduler",
                name: String(s.inputs.name),
                schedule: s.inputs.scheduleExpression,
                timezone: s.inputs.scheduleExpressionTimezone,
                pipelineName: pipeline,
            };
        }),
        ...of(T.ruleTarget)
            .filter((t) => pipelineOfArn(t.inputs.arn))
            .map((t): TriggerDeclaration => {
                const rule = rules.get(String(t.inputs.rule)) ?? {};
                const pipeline = pipelineOfArn(t.inputs.arn)!;
                return {
                    model: pipelineModel(pipeline),
                    via: "eventbridge",
                    name: String(t.inputs.rule),
                    schedule: rule.scheduleExpression,
                    event: rule.eventPattern ? eventOf(String(rule.eventPattern)) : undefined,
                    description: rule.description,
                    pipelineName: pipeline,
                };
            })
            // Declarations arrive in whatever order their inputs resolve; what the plan prints must not.
            .sort((a, b) => Number(a.schedule === undefined) - Number(b.schedule === undefined) || a.name.localeCompare(b.name)),
        ...of(T.monitoringSchedule).map((s): TriggerDeclaration => {
            const config = s.inputs.monitoringScheduleConfig ?? {};
            const def = config.monitoringJobDefinition ?? {};
            const cluster = def.monitoringResources?.clusterConfig ?? {};
            return {
                model: modelBy((m) => monitoringScheduleName(naming.environment, m))(s.inputs.name),
                via: "model-monitor",
                name: String(s.inputs.name),
                schedule: config.scheduleConfig?.scheduleExpression,
                timezone: "UTC",
                job: {
                    step: "Model Monitor job",
                    kind: "processing",
                    instanceType: String(cluster.instanceType),
                    instanceCount: Number(cluster.instanceCount ?? 1),
                    maxRuntimeSeconds: def.stoppingConditions?.[0]?.maxRuntimeInSeconds,
                    spot: false,
                },
            };
        }),
    ];

    const budgets = of(T.budget).map((b): BudgetDeclaration => ({
        name: String(b.inputs.name),
        limitUsd: Number(b.inputs.limitAmount),
        filters: (b.inputs.costFilters ?? []).flatMap((f: { name: string; values: string[] }) => f.values.map((v) => `${f.name}=${v}`)),
    }));

    return {
        endpoints,
        pipelines,
        triggers,
        budgets,
        counts: {
            kmsKeys: of(T.kmsKey).length,
            alarms: of(T.alarm).length,
            dashboards: of(T.dashboard).length,
            buckets: of(T.bucket).length,
            ecrRepositories: of(T.ecr).length,
            budgets: budgets.length,
            snsTopics: of(T.topic).length,
        },
    };
}

/** `a new object matching <key>` for an S3 event, `the alarm <name>` for an alarm state change. */
function eventOf(pattern: string): string {
    const p = JSON.parse(pattern);
    const source = p.source?.[0];
    if (source === "aws.s3") {
        const key = p.detail?.object?.key?.[0];
        return `a new object ${typeof key === "object" ? Object.values(key)[0] : key}`;
    }
    if (source === "aws.cloudwatch")
        return `the alarm ${String(p.resources?.[0] ?? "")
            .split(/[:/]/)
            .pop()} going off`;
    return `${source} event ${p["detail-type"]?.[0] ?? ""}`.trim();
}

interface PipelineStep {
    readonly Name: string;
    readonly Type: string;
    // A step's arguments are the SageMaker request of its job type.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    readonly Arguments?: any;
}

function jobOfStep(s: PipelineStep): JobDeclaration | undefined {
    const a = s.Arguments ?? {};
    switch (s.Type) {
        case "Processing":
            return {
                step: s.Name,
                kind: "processing",
                instanceType: a.ProcessingResources.ClusterConfig.InstanceType,
                instanceCount: a.ProcessingResources.ClusterConfig.InstanceCount,
                maxRuntimeSeconds: a.StoppingCondition?.MaxRuntimeInSeconds,
                spot: false,
            };
        case "Training":
            return {
                step: s.Name,
                kind: "training",
                instanceType: a.ResourceConfig.InstanceType,
                instanceCount: a.ResourceConfig.InstanceCount,
                maxRuntimeSeconds: a.StoppingCondition?.MaxRuntimeInSeconds,
                spot: a.EnableManagedSpotTraining === true,
            };
        case "Transform":
            return {
                step: s.Name,
                kind: "transform",
                instanceType: a.TransformResources.InstanceType,
                instanceCount: a.TransformResources.InstanceCount,
                spot: false,
            };
        // Stryker disable next-line ConditionalExpression: without the default the switch falls through to the same undefined
        default:
            return undefined;
    }
}

const HOURS_PER_MONTH = 730;
const DAYS_PER_MONTH = HOURS_PER_MONTH / 24;

/**
 * How many times a month a schedule expression fires (a month is 730 hours): `rate(7 days)` -> 4.35,
 * `cron(10 * * * ? *)` -> 730. Undefined for cron features whose count depends on the calendar (L, W, #).
 */
export function runsPerMonth(expression: string): number | undefined {
    const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression.trim());
    if (rate) {
        const hours = { minute: 1 / 60, hour: 1, day: 24 }[rate[2].replace(/s$/, "") as "minute" | "hour" | "day"];
        return HOURS_PER_MONTH / (Number(rate[1]) * hours);
    }
    const cron = /^cron\((.+)\)$/.exec(expression.trim());
    if (!cron) return undefined;
    const [minutes, hours, dayOfMonth, month, dayOfWeek] = cron[1].trim().split(/\s+/);
    const perHour = countField(minutes, 0, 59);
    const perDay = countField(hours, 0, 23);
    const months = countField(month, 1, 12, MONTHS);
    if (perHour === undefined || perDay === undefined || months === undefined) return undefined;
    const anyDay = (f: string) => f === "*" || f === "?";
    let days: number | undefined;
    if (anyDay(dayOfMonth) && anyDay(dayOfWeek)) days = DAYS_PER_MONTH;
    else if (anyDay(dayOfWeek)) days = countField(dayOfMonth, 1, 31);
    else if (anyDay(dayOfMonth)) {
        const weekdays = countField(dayOfWeek, 1, 7, WEEKDAYS);
        days = weekdays === undefined ? undefined : (weekdays * DAYS_PER_MONTH) / 7;
    }
    if (days === undefined) return undefined;
    return perHour * perDay * days * (months / 12);
}

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const WEEKDAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/** How many values of [lo, hi] a cron field selects: `*`, `5`, `1,3`, `1-5`, `*\/15`, `MON-FRI`. */
function countField(field: string, lo: number, hi: number, names: readonly string[] = []): number | undefined {
    const value = (v: string) => {
        const named = names.indexOf(v.toUpperCase());
        const n = named >= 0 ? named + 1 : Number(v);
        return Number.isInteger(n) && n >= lo && n <= hi ? n : undefined;
    };
    const selected = new Set<number>();
    for (const part of field.split(",")) {
        const [range, stepText] = part.split("/");
        const step = stepText === undefined ? 1 : Number(stepText);
        if (!Number.isInteger(step) || step < 1) return undefined;
        let from: number | undefined;
        let to: number | undefined;
        if (range === "*" || range === "?") [from, to] = [lo, hi];
        else if (range.includes("-")) [from, to] = range.split("-").map(value);
        else [from, to] = [value(range), stepText === undefined ? value(range) : hi];
        if (from === undefined || to === undefined || from > to) return undefined;
        for (let v = from; v <= to; v += step) selected.add(v);
    }
    return selected.size;
}
