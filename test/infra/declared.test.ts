import { expect } from "chai";
import { declarationOf, ResourceRecord } from "../../infra/declared";

const PIPELINE = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/vision-mlops-staging-signs-training";

/** An EventBridge rule and its target that starts the pipeline. */
function starter(name: string, rule: Record<string, string>): ResourceRecord[] {
    return [
        { type: "aws:cloudwatch/eventRule:EventRule", name, inputs: { name, ...rule } },
        { type: "aws:cloudwatch/eventTarget:EventTarget", name: `${name}-target`, inputs: { rule: name, arn: PIPELINE } },
    ];
}

describe("declarationOf: what a stack declares", () => {
    it("lists a pipeline's starters in one order however the program happened to declare them: schedules first, then by name", () => {
        const schedule = starter("vision-mlops-staging-signs-retrain", { scheduleExpression: "rate(7 days)" });
        const batch = starter("vision-mlops-staging-signs-batch-manifest", { eventPattern: JSON.stringify({ source: ["aws.s3"] }) });
        const drift = starter("vision-mlops-staging-signs-retrain-on-drift", {
            eventPattern: JSON.stringify({ source: ["aws.cloudwatch"] }),
        });
        const naming = { environment: "staging" as const, models: ["signs"] };
        const orders = [
            [...schedule, ...batch, ...drift],
            [...drift, ...batch, ...schedule],
            [...batch, ...drift, ...schedule],
        ];
        for (const resources of orders)
            expect(declarationOf(resources, naming).triggers.map((t) => t.name)).to.deep.equal([
                "vision-mlops-staging-signs-retrain",
                "vision-mlops-staging-signs-batch-manifest",
                "vision-mlops-staging-signs-retrain-on-drift",
            ]);
    });
});

const arn = (name: string) => `arn:aws:sagemaker:us-east-1:123456789012:pipeline/${name}`;
const deployment = (inputs: Record<string, unknown>): ResourceRecord => ({ type: "pulumi-nodejs:dynamic:Resource", name: "d", inputs });
const pipeline = (name: string, steps: unknown[]): ResourceRecord => ({
    type: "aws:sagemaker/pipeline:Pipeline",
    name,
    inputs: { pipelineName: name, pipelineDefinition: JSON.stringify({ Version: "2020-12-01", Steps: steps }) },
});
const rule = (name: string, inputs: Record<string, unknown>, target = arn("vision-mlops-staging-m1-training")): ResourceRecord[] => [
    { type: "aws:cloudwatch/eventRule:EventRule", name, inputs: { name, ...inputs } },
    { type: "aws:cloudwatch/eventTarget:EventTarget", name: `${name}-t`, inputs: { rule: name, arn: target } },
];

describe("declarationOf: endpoints, jobs, starters and counted resources as the plan records them", () => {
    const naming = { environment: "staging" as const, models: ["m1", "m2", "m3", "m4", "m5"] };

    it("reads each endpoint's fleet, autoscaling bounds, capture share and blue/green policy, in the stack file's model order", () => {
        const resources = [
            deployment({
                endpointName: "vision-mlops-staging-m2",
                instanceType: "ml.m5.large",
                instanceCount: 2,
                scaling: { minCapacity: 1, maxCapacity: 3, targetInvocationsPerInstance: 100 },
                dataCapture: { EnableCapture: false, InitialSamplingPercentage: 50 },
                deploymentConfig: {
                    BlueGreenUpdatePolicy: {
                        TrafficRoutingConfiguration: { Type: "CANARY", CanarySize: { Type: "CAPACITY_PERCENT", Value: 25 } },
                        MaximumExecutionTimeoutInSeconds: 3600,
                    },
                    AutoRollbackConfiguration: { Alarms: [{ AlarmName: "a" }, { AlarmName: "b" }] },
                },
            }),
            deployment({
                endpointName: "vision-mlops-staging-m1",
                instanceType: "ml.c5.xlarge",
                instanceCount: 1,
                dataCapture: { EnableCapture: true, InitialSamplingPercentage: 30 },
                deploymentConfig: {
                    BlueGreenUpdatePolicy: {
                        TrafficRoutingConfiguration: { Type: "CANARY", CanarySize: { Type: "INSTANCE_COUNT", Value: 1 } },
                    },
                },
            }),
            deployment({
                endpointName: "vision-mlops-staging-m5",
                instanceType: "ml.c5.xlarge",
                instanceCount: 3,
                deploymentConfig: { BlueGreenUpdatePolicy: {}, AutoRollbackConfiguration: {} },
            }),
            deployment({
                endpointName: "vision-mlops-staging-m3",
                instanceType: "ml.c5.xlarge",
                instanceCount: 4,
                deploymentConfig: {
                    BlueGreenUpdatePolicy: {
                        TrafficRoutingConfiguration: { Type: "CANARY", CanarySize: { Type: "INSTANCE_COUNT", Value: 2 } },
                    },
                },
            }),
            deployment({ endpointName: "vision-mlops-staging-m4", instanceType: "ml.m5.large", instanceCount: 1 }),
            // Other dynamic resources, and a deployment whose spec has no fleet, are not endpoints.
            deployment({ endpointName: "vision-mlops-staging-m9" }),
            deployment({ instanceType: "ml.m5.large", instanceCount: 1 }),
        ];
        expect(declarationOf(resources, naming).endpoints).to.deep.equal([
            {
                model: "m1",
                endpointName: "vision-mlops-staging-m1",
                instanceType: "ml.c5.xlarge",
                instanceCount: 1,
                minInstances: 1,
                maxInstances: 1,
                targetInvocationsPerInstance: undefined,
                capturePercent: 30,
                blueGreen: { canary: "1 instance", maxUpdateSeconds: 0, rollbackAlarms: 0 },
            },
            {
                model: "m2",
                endpointName: "vision-mlops-staging-m2",
                instanceType: "ml.m5.large",
                instanceCount: 2,
                minInstances: 1,
                maxInstances: 3,
                targetInvocationsPerInstance: 100,
                capturePercent: undefined,
                blueGreen: { canary: "25% of capacity", maxUpdateSeconds: 3600, rollbackAlarms: 2 },
            },
            {
                model: "m3",
                endpointName: "vision-mlops-staging-m3",
                instanceType: "ml.c5.xlarge",
                instanceCount: 4,
                minInstances: 4,
                maxInstances: 4,
                targetInvocationsPerInstance: undefined,
                capturePercent: undefined,
                blueGreen: { canary: "2 instances", maxUpdateSeconds: 0, rollbackAlarms: 0 },
            },
            {
                model: "m4",
                endpointName: "vision-mlops-staging-m4",
                instanceType: "ml.m5.large",
                instanceCount: 1,
                minInstances: 1,
                maxInstances: 1,
                targetInvocationsPerInstance: undefined,
                capturePercent: undefined,
                blueGreen: undefined,
            },
            {
                model: "m5",
                endpointName: "vision-mlops-staging-m5",
                instanceType: "ml.c5.xlarge",
                instanceCount: 3,
                minInstances: 3,
                maxInstances: 3,
                targetInvocationsPerInstance: undefined,
                capturePercent: undefined,
                blueGreen: { canary: "all at once", maxUpdateSeconds: 0, rollbackAlarms: 0 },
            },
        ]);
    });

    it("reads each pipeline's purpose, model, jobs (instances, time limit, spot) and steps from its definition", () => {
        const processing = {
            Name: "preprocess",
            Type: "Processing",
            Arguments: {
                ProcessingResources: { ClusterConfig: { InstanceType: "ml.m5.xlarge", InstanceCount: 2, VolumeSizeInGB: 30 } },
                StoppingCondition: { MaxRuntimeInSeconds: 3600 },
            },
        };
        const steps = [
            processing,
            {
                Name: "train",
                Type: "Training",
                Arguments: {
                    ResourceConfig: { InstanceType: "ml.g4dn.xlarge", InstanceCount: 1 },
                    StoppingCondition: { MaxRuntimeInSeconds: 7200, MaxWaitTimeInSeconds: 14400 },
                    EnableManagedSpotTraining: true,
                },
            },
            // Spot only when the request says so in as many words.
            {
                Name: "train-again",
                Type: "Training",
                Arguments: { ResourceConfig: { InstanceType: "ml.g4dn.xlarge", InstanceCount: 1 }, EnableManagedSpotTraining: "true" },
            },
            { Name: "gate", Type: "Condition", Arguments: { Conditions: [] } },
            { Name: "transform", Type: "Transform", Arguments: { TransformResources: { InstanceType: "ml.c5.xlarge", InstanceCount: 1 } } },
            { Name: "register", Type: "RegisterModel" },
            {
                Name: "unlimited",
                Type: "Processing",
                Arguments: { ProcessingResources: { ClusterConfig: { InstanceType: "ml.m5.large", InstanceCount: 1 } } },
            },
        ];
        const d = declarationOf(
            [
                pipeline("vision-mlops-staging-m1-training", steps),
                pipeline("vision-mlops-staging-m2-monitoring", [processing]),
                pipeline("someone-elses-pipeline", []),
            ],
            naming,
        );
        expect(d.pipelines.map((p) => [p.model, p.pipelineName, p.purpose, p.steps])).to.deep.equal([
            [
                "m1",
                "vision-mlops-staging-m1-training",
                "training",
                ["preprocess", "train", "train-again", "gate", "transform", "register", "unlimited"],
            ],
            ["m2", "vision-mlops-staging-m2-monitoring", "monitoring", ["preprocess"]],
            [undefined, "someone-elses-pipeline", "other", []],
        ]);
        expect(d.pipelines[0].jobs).to.deep.equal([
            {
                step: "preprocess",
                kind: "processing",
                instanceType: "ml.m5.xlarge",
                instanceCount: 2,
                maxRuntimeSeconds: 3600,
                spot: false,
            },
            { step: "train", kind: "training", instanceType: "ml.g4dn.xlarge", instanceCount: 1, maxRuntimeSeconds: 7200, spot: true },
            {
                step: "train-again",
                kind: "training",
                instanceType: "ml.g4dn.xlarge",
                instanceCount: 1,
                maxRuntimeSeconds: undefined,
                spot: false,
            },
            { step: "transform", kind: "transform", instanceType: "ml.c5.xlarge", instanceCount: 1, spot: false },
            {
                step: "unlimited",
                kind: "processing",
                instanceType: "ml.m5.large",
                instanceCount: 1,
                maxRuntimeSeconds: undefined,
                spot: false,
            },
        ]);
    });

    it("reads what starts each pipeline or job: schedules, the event each rule reacts to, Model Monitor schedules", () => {
        const resources: ResourceRecord[] = [
            {
                type: "aws:scheduler/schedule:Schedule",
                name: "s1",
                inputs: {
                    name: "vision-mlops-staging-m2-monitoring",
                    scheduleExpression: "rate(1 hour)",
                    scheduleExpressionTimezone: "Europe/Paris",
                    target: { arn: arn("vision-mlops-staging-m2-monitoring") },
                },
            },
            { type: "aws:scheduler/schedule:Schedule", name: "s2", inputs: { name: "no-target", scheduleExpression: "rate(1 day)" } },
            {
                type: "aws:scheduler/schedule:Schedule",
                name: "s3",
                inputs: {
                    name: "a-lambda",
                    scheduleExpression: "rate(2 days)",
                    target: { arn: "arn:aws:lambda:us-east-1:123456789012:function:f" },
                },
            },
            ...rule("r-batch", {
                eventPattern: JSON.stringify({ source: ["aws.s3"], detail: { object: { key: [{ prefix: "batches/" }] } } }),
            }),
            ...rule("r-exact", {
                eventPattern: JSON.stringify({ source: ["aws.s3"], detail: { object: { key: ["datasets/latest.json"] } } }),
            }),
            ...rule("r-drift", {
                eventPattern: JSON.stringify({
                    source: ["aws.cloudwatch"],
                    resources: ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:vision-mlops-staging-m1-drift"],
                }),
                description: "retrain on drift",
            }),
            ...rule("r-alarm-any", { eventPattern: JSON.stringify({ source: ["aws.cloudwatch"] }) }),
            ...rule("r-package", {
                eventPattern: JSON.stringify({ source: ["aws.sagemaker"], "detail-type": ["SageMaker Model Package State Change"] }),
            }),
            ...rule("r-custom", { eventPattern: JSON.stringify({ source: ["my.app"] }) }),
            ...rule("r-weekly", { scheduleExpression: "rate(7 days)" }),
            // A target that starts no pipeline, and one whose rule the plan does not hold.
            ...rule("r-topic", { eventPattern: "{}" }, "arn:aws:sns:us-east-1:123456789012:t"),
            {
                type: "aws:cloudwatch/eventTarget:EventTarget",
                name: "orphan",
                inputs: { rule: "r-gone", arn: arn("vision-mlops-staging-m1-training") },
            },
            {
                type: "aws:sagemaker/monitoringSchedule:MonitoringSchedule",
                name: "m",
                inputs: {
                    name: "vision-mlops-staging-m3-monitor",
                    monitoringScheduleConfig: {
                        scheduleConfig: { scheduleExpression: "cron(0 * ? * * *)" },
                        monitoringJobDefinition: {
                            monitoringResources: { clusterConfig: { instanceType: "ml.m5.xlarge", instanceCount: 2 } },
                            stoppingConditions: [{ maxRuntimeInSeconds: 1800 }],
                        },
                    },
                },
            },
            {
                type: "aws:sagemaker/monitoringSchedule:MonitoringSchedule",
                name: "m-bare",
                inputs: {
                    name: "vision-mlops-staging-m4-monitor",
                    monitoringScheduleConfig: {
                        monitoringJobDefinition: {
                            monitoringResources: { clusterConfig: { instanceType: "ml.m5.large" } },
                            stoppingConditions: [],
                        },
                    },
                },
            },
            { type: "aws:sagemaker/monitoringSchedule:MonitoringSchedule", name: "m-empty", inputs: { name: "elsewhere" } },
        ];
        const training = "vision-mlops-staging-m1-training";
        const monitorJob = (instanceType: string, instanceCount: number, maxRuntimeSeconds?: number) => ({
            step: "Model Monitor job",
            kind: "processing",
            instanceType,
            instanceCount,
            maxRuntimeSeconds,
            spot: false,
        });
        expect(declarationOf(resources, naming).triggers).to.deep.equal([
            {
                model: "m2",
                via: "scheduler",
                name: "vision-mlops-staging-m2-monitoring",
                schedule: "rate(1 hour)",
                timezone: "Europe/Paris",
                pipelineName: "vision-mlops-staging-m2-monitoring",
            },
            {
                model: undefined,
                via: "scheduler",
                name: "no-target",
                schedule: "rate(1 day)",
                timezone: undefined,
                pipelineName: undefined,
            },
            {
                model: undefined,
                via: "scheduler",
                name: "a-lambda",
                schedule: "rate(2 days)",
                timezone: undefined,
                pipelineName: undefined,
            },
            ...[
                ["r-weekly", "rate(7 days)", undefined, undefined],
                ["r-alarm-any", undefined, "the alarm  going off", undefined],
                ["r-batch", undefined, "a new object batches/", undefined],
                ["r-custom", undefined, "my.app event", undefined],
                ["r-drift", undefined, "the alarm vision-mlops-staging-m1-drift going off", "retrain on drift"],
                ["r-exact", undefined, "a new object datasets/latest.json", undefined],
                ["r-gone", undefined, undefined, undefined],
                ["r-package", undefined, "aws.sagemaker event SageMaker Model Package State Change", undefined],
            ].map(([name, schedule, event, description]) => ({
                model: "m1",
                via: "eventbridge",
                name,
                schedule,
                event,
                description,
                pipelineName: training,
            })),
            {
                model: "m3",
                via: "model-monitor",
                name: "vision-mlops-staging-m3-monitor",
                schedule: "cron(0 * ? * * *)",
                timezone: "UTC",
                job: monitorJob("ml.m5.xlarge", 2, 1800),
            },
            {
                model: "m4",
                via: "model-monitor",
                name: "vision-mlops-staging-m4-monitor",
                schedule: undefined,
                timezone: "UTC",
                job: monitorJob("ml.m5.large", 1),
            },
            {
                model: undefined,
                via: "model-monitor",
                name: "elsewhere",
                schedule: undefined,
                timezone: "UTC",
                job: monitorJob("undefined", 1),
            },
        ]);
    });

    it("counts the resources billed per month, and reads each budget's limit and cost filters", () => {
        const of = (type: string, n: number, inputs: Record<string, unknown> = {}): ResourceRecord[] =>
            Array.from({ length: n }, (_, i) => ({ type, name: `${type}-${i}`, inputs }));
        const d = declarationOf(
            [
                ...of("aws:kms/key:Key", 2),
                ...of("aws:cloudwatch/metricAlarm:MetricAlarm", 5),
                ...of("aws:cloudwatch/dashboard:Dashboard", 1),
                ...of("aws:s3/bucket:Bucket", 4),
                ...of("aws:ecr/repository:Repository", 1),
                ...of("aws:sns/topic:Topic", 3),
                ...of("aws:kms/alias:Alias", 7),
                {
                    type: "aws:budgets/budget:Budget",
                    name: "b1",
                    inputs: {
                        name: "vision-mlops-staging",
                        limitAmount: "250.50",
                        costFilters: [
                            { name: "TagKeyValue", values: ["user:environment$staging", "user:project$vision-mlops"] },
                            { name: "Region", values: ["us-east-1"] },
                        ],
                    },
                },
                { type: "aws:budgets/budget:Budget", name: "b2", inputs: { name: "everything", limitAmount: "1000" } },
            ],
            naming,
        );
        expect(d.counts).to.deep.equal({ kmsKeys: 2, alarms: 5, dashboards: 1, buckets: 4, ecrRepositories: 1, budgets: 2, snsTopics: 3 });
        expect(d.budgets).to.deep.equal([
            {
                name: "vision-mlops-staging",
                limitUsd: 250.5,
                filters: ["TagKeyValue=user:environment$staging", "TagKeyValue=user:project$vision-mlops", "Region=us-east-1"],
            },
            { name: "everything", limitUsd: 1000, filters: [] },
        ]);
        expect(d.endpoints).to.deep.equal([]);
        expect(d.pipelines).to.deep.equal([]);
        expect(d.triggers).to.deep.equal([]);
    });
});
