import { expect } from "chai";
import { ModelMonitor, ModelMonitorArgs } from "../../components/model-monitor";
import { monitorAlarmSpecs } from "../../infra/monitoring/alarms";
import { monitoringPipelineDefinition } from "../../infra/monitoring/pipeline-engine";
import { monitorJobPolicy } from "../../infra/monitoring/policy";
import { schedulerExpression } from "../../infra/monitoring/schedule";
import { writeActionsWithWildcardResource } from "../../infra/iam";
import { allowedBy, parsePolicy } from "../../infra/policy-evaluation";
import { decodeMonitorThresholds } from "../../jobs/monitor/settings";
import {
    JOBS_ENTRYPOINT,
    MODEL_MONITOR_NAMESPACE,
    MONITOR_THRESHOLDS_ENV,
    MonitorThresholds,
    PROCESSING_PATHS,
} from "../../infra/job-contract";
import { resolveSettings } from "../../jobs/monitor/settings";
import { DeclaredResource, find, ofType, settled, TEST_ACCOUNT, useMocks } from "../support/mocks";
import { DOCUMENTED_DRIFT_DEFAULTS } from "../support/drift-defaults";
import { componentTree } from "./support/component-tree";

const KEY = `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/data-key`;
const REPO = `arn:aws:ecr:us-east-1:${TEST_ACCOUNT}:repository/vision-mlops-jobs`;
const IMAGE = `${TEST_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/vision-mlops-jobs@sha256:${"a".repeat(64)}`;
const BASELINE = "s3://vision-mlops-staging-artifacts-123456789012-us-east-1/signs/executions/abc/evaluation/monitoring_baseline.json";
const CAPTURE = "vision-mlops-staging-capture-123456789012-us-east-1";
const TOPIC = `arn:aws:sns:us-east-1:${TEST_ACCOUNT}:vision-mlops-staging-alerts`;
const TRAINING = `arn:aws:sagemaker:us-east-1:${TEST_ACCOUNT}:pipeline/vision-mlops-staging-signs-training`;

/** The drift thresholds' documented defaults, and an inference confidence threshold of 0.7. */
const DRIFT = DOCUMENTED_DRIFT_DEFAULTS;
const THRESHOLDS: MonitorThresholds = { ...DRIFT, confidenceThreshold: 0.7 };
/** The pipeline engine's namespace for this endpoint. */
const OWN_NAMESPACE = "VisionMLOps/Monitoring/vision-mlops-staging-signs";

function args(over: Partial<ModelMonitorArgs> = {}): ModelMonitorArgs {
    return {
        environment: "staging",
        model: "signs",
        schedule: "hourly",
        thresholds: THRESHOLDS,
        endpointName: "vision-mlops-staging-signs",
        captureBucket: CAPTURE,
        kmsKeyArn: KEY,
        monitoringBaselineUri: BASELINE,
        jobsImageUri: IMAGE,
        jobsRepositoryArn: REPO,
        alarmTopicArn: TOPIC,
        accountId: TEST_ACCOUNT,
        region: "us-east-1",
        ...over,
    };
}

async function declare(a: ModelMonitorArgs): Promise<{ declared: DeclaredResource[]; monitor: ModelMonitor }> {
    const declared = useMocks("staging");
    const monitor = new ModelMonitor("signs-monitor", a);
    await settled(declared, monitor.alarmNames);
    return { declared, monitor };
}

describe("ModelMonitor", () => {
    describe("pipeline engine", () => {
        it("runs the monitor job in a one-step pipeline with the window parameters, thresholds and encryption", async () => {
            const { declared, monitor } = await declare(args());
            expect(monitor.engine).to.equal("pipeline");
            expect(monitor.dashboardModel).to.deep.include({
                endpointName: "vision-mlops-staging-signs",
                scheduleName: "vision-mlops-staging-signs-monitor",
                engine: "pipeline",
                monitoringPipelineName: "vision-mlops-staging-signs-monitoring",
            });
            const pipeline = find(declared, "aws:sagemaker/pipeline:Pipeline", "signs-monitor-pipeline").inputs;
            expect(pipeline.pipelineName).to.equal("vision-mlops-staging-signs-monitoring");
            expect(pipeline.roleArn).to.match(/role\/vision-mlops-staging-signs-monitor$/);
            const definition = JSON.parse(pipeline.pipelineDefinition);
            expect(definition.Parameters).to.deep.equal([
                { Name: "StartTime", Type: "String", DefaultValue: "auto" },
                { Name: "EndTime", Type: "String", DefaultValue: "auto" },
            ]);
            expect(definition.Steps).to.have.length(1);
            const step = definition.Steps[0].Arguments;
            expect(step.AppSpecification.ImageUri).to.equal(IMAGE);
            expect(step.AppSpecification.ContainerEntrypoint).to.deep.equal([...JOBS_ENTRYPOINT, "monitor"]);
            const argv: unknown[] = step.AppSpecification.ContainerArguments;
            const flag = (f: string) => argv[argv.indexOf(f) + 1];
            expect(flag("--capture")).to.equal(`s3://${CAPTURE}/signs/capture/`);
            expect(flag("--ground-truth")).to.equal(`s3://${CAPTURE}/signs/ground-truth/`);
            expect(flag("--upload")).to.equal(
                `s3://${CAPTURE}/signs/monitoring/vision-mlops-staging-signs/vision-mlops-staging-signs-monitor/`,
            );
            expect(flag("--start-time")).to.deep.equal({ Get: "Parameters.StartTime" });
            expect(flag("--execution-time")).to.deep.equal({ Get: "Execution.StartDateTime" });
            expect(flag("--put-metrics")).to.equal(OWN_NAMESPACE);
            expect(flag("--kms-key")).to.equal(KEY);
            expect(decodeMonitorThresholds(step.Environment[MONITOR_THRESHOLDS_ENV])).to.include({
                confidenceThreshold: 0.7,
                minRecords: 30,
                classPsi: 0.1,
            });
            expect(step.ProcessingInputs[0].S3Input).to.include({ S3Uri: BASELINE, LocalPath: PROCESSING_PATHS.monitor.baseline });
            expect(step.ProcessingResources.ClusterConfig).to.include({ InstanceType: "ml.m5.large", VolumeKmsKeyId: KEY });
            expect(step.NetworkConfig.EnableInterContainerTrafficEncryption).to.equal(true);
            expect(step.StoppingCondition.MaxRuntimeInSeconds).to.equal(3000);
        });

        it("starts the pipeline hourly from EventBridge Scheduler with a role that can start only that pipeline", async () => {
            const { declared } = await declare(args());
            const schedule = find(declared, "aws:scheduler/schedule:Schedule", "signs-monitor-schedule").inputs;
            expect(schedule.name).to.equal("vision-mlops-staging-signs-monitor");
            expect(schedule.scheduleExpression).to.equal("cron(10 * * * ? *)");
            expect(schedule.scheduleExpressionTimezone).to.equal("UTC");
            expect(schedule.target.arn).to.match(/pipeline\/vision-mlops-staging-signs-monitoring$/);
            expect(schedule.target.sagemakerPipelineParameters.pipelineParameters).to.deep.equal([
                { name: "StartTime", value: "auto" },
                { name: "EndTime", value: "auto" },
            ]);
            const role = find(declared, "aws:iam/role:Role", "signs-monitor-scheduler-role").inputs;
            expect(JSON.parse(role.assumeRolePolicy).Statement[0].Principal.Service).to.deep.equal(["scheduler.amazonaws.com"]);
            const policy = JSON.parse(find(declared, "aws:iam/rolePolicy:RolePolicy", "signs-monitor-scheduler-role-policy").inputs.policy);
            expect(policy.Statement).to.deep.equal([
                { Sid: "StartPipeline", Effect: "Allow", Action: ["sagemaker:StartPipelineExecution"], Resource: [schedule.target.arn] },
            ]);
            expect(declared.filter(ofType("aws:sagemaker/monitoringSchedule:MonitoringSchedule"))).to.have.length(0);
        });

        it("scopes the job role to the model's prefixes, the baseline object, one key, one repository and one namespace", async () => {
            const { declared } = await declare(args());
            const doc = JSON.parse(find(declared, "aws:iam/rolePolicy:RolePolicy", "signs-monitor-role-policy").inputs.policy);
            expect(writeActionsWithWildcardResource(doc)).to.deep.equal([]);
            const resourcesOf = (action: string) =>
                doc.Statement.filter((s: any) => s.Action.includes(action)).flatMap((s: any) => s.Resource);
            expect(resourcesOf("s3:GetObject")).to.have.members([
                `arn:aws:s3:::${CAPTURE}/signs/capture/*`,
                `arn:aws:s3:::${CAPTURE}/signs/ground-truth/*`,
                `arn:aws:s3:::${CAPTURE}/signs/monitoring/*`,
                "arn:aws:s3:::vision-mlops-staging-artifacts-123456789012-us-east-1/signs/executions/abc/evaluation/monitoring_baseline.json*",
            ]);
            expect(resourcesOf("s3:PutObject")).to.deep.equal([`arn:aws:s3:::${CAPTURE}/signs/monitoring/*`]);
            expect(doc.Statement.some((s: any) => s.Action.some((a: string) => a.startsWith("s3:Delete")))).to.equal(false);
            expect(resourcesOf("kms:Decrypt")).to.deep.equal([KEY]);
            expect(resourcesOf("ecr:BatchGetImage")).to.deep.equal([REPO]);
            expect(doc.Statement.find((s: any) => s.Action.includes("cloudwatch:PutMetricData")).Condition).to.deep.equal({
                StringEquals: { "cloudwatch:namespace": [OWN_NAMESPACE] },
            });
            expect(resourcesOf("sagemaker:CreateProcessingJob")).to.deep.equal([
                `arn:aws:sagemaker:us-east-1:${TEST_ACCOUNT}:processing-job/pipelines-*`,
            ]);
            expect(resourcesOf("iam:PassRole")).to.deep.equal([`arn:aws:iam::${TEST_ACCOUNT}:role/vision-mlops-staging-signs-monitor`]);
        });

        it("tags every job of the pipeline with its name, and lets the role create, describe and stop only jobs so tagged", async () => {
            // Written out: the tag key, this model's monitoring pipeline and another model's.
            const TAG = "vision-mlops:pipeline";
            const own = "vision-mlops-staging-signs-monitoring";
            const other = "vision-mlops-staging-birds-monitoring";
            const { declared } = await declare(args({ instanceCount: 2 }));
            const definition = JSON.parse(
                find(declared, "aws:sagemaker/pipeline:Pipeline", "signs-monitor-pipeline").inputs.pipelineDefinition,
            );
            expect(definition.Steps.map((s: any) => s.Name)).to.deep.equal(["ListCapture", "Monitor", "Merge"]);
            for (const s of definition.Steps) expect(s.Arguments.Tags, s.Name).to.deep.equal([{ Key: TAG, Value: own }]);
            const doc = parsePolicy(find(declared, "aws:iam/rolePolicy:RolePolicy", "signs-monitor-role-policy").inputs.policy);
            const job = `arn:aws:sagemaker:us-east-1:${TEST_ACCOUNT}:processing-job/pipelines-0abc123def45-Monitor-AbCdEf1234`;
            const can = (action: string, context: Record<string, string> = {}) =>
                allowedBy(doc, { action: `sagemaker:${action}`, resource: job, context });
            for (const action of ["CreateProcessingJob", "AddTags"]) {
                expect(can(action, { [`aws:RequestTag/${TAG}`]: own }), action).to.equal(true);
                expect(can(action, { [`aws:RequestTag/${TAG}`]: other }), `${action} for another pipeline`).to.equal(false);
                expect(can(action), `${action} untagged`).to.equal(false);
            }
            for (const action of ["DescribeProcessingJob", "StopProcessingJob"]) {
                expect(can(action, { [`aws:ResourceTag/${TAG}`]: own }), action).to.equal(true);
                expect(can(action, { [`aws:ResourceTag/${TAG}`]: other }), `${action} on another pipeline's job`).to.equal(false);
                expect(can(action), `${action} on an untagged job`).to.equal(false);
            }
        });

        it("alarms on the job's verdicts and on failed runs, to the alert topic", async () => {
            const { declared, monitor } = await declare(args());
            const alarms = declared.filter(ofType("aws:cloudwatch/metricAlarm:MetricAlarm")).map((r) => r.inputs);
            const byName = Object.fromEntries(alarms.map((a) => [a.name, a]));
            expect(await new Promise((r) => monitor.alarmNames.apply(r))).to.have.members(alarms.map((a) => a.name));
            const drift = byName["vision-mlops-staging-signs-monitor-drift"];
            expect(drift).to.include({
                namespace: OWN_NAMESPACE,
                metricName: "drift_detected",
                threshold: 1,
                period: 3600,
                evaluationPeriods: 1,
                treatMissingData: "notBreaching",
            });
            expect(drift.dimensions).to.deep.equal({
                Endpoint: "vision-mlops-staging-signs",
                MonitoringSchedule: "vision-mlops-staging-signs-monitor",
            });
            expect(drift.alarmActions).to.deep.equal([TOPIC]);
            expect(byName["vision-mlops-staging-signs-monitor-low-confidence"]).to.include({
                metricName: "low_confidence_rate",
                threshold: 0.2,
                comparisonOperator: "GreaterThanThreshold",
            });
            expect(byName["vision-mlops-staging-signs-monitor-accuracy-drop"]).to.include({ metricName: "accuracy_drop", threshold: 0.05 });
            expect(byName["vision-mlops-staging-signs-monitor-decode-errors"]).to.include({
                metricName: "decode_error_rate",
                threshold: 0.01,
            });
            expect(byName["vision-mlops-staging-signs-monitor-run-failed"]).to.include({
                namespace: "AWS/Sagemaker/ModelBuildingPipeline",
                metricName: "ExecutionFailed",
            });
            expect(byName["vision-mlops-staging-signs-monitor-run-failed"].dimensions).to.deep.equal({
                PipelineName: "vision-mlops-staging-signs-monitoring",
            });
            expect(declared.filter(ofType("aws:cloudwatch/eventRule:EventRule"))).to.have.length(0);
        });

        it("sends every alarm and its recovery to the topic, alarming only when each evaluated period breaches", async () => {
            const { declared } = await declare(args({ retrainOnDrift: { afterPeriods: 3, trainingPipelineArn: TRAINING } }));
            const alarms = declared.filter(ofType("aws:cloudwatch/metricAlarm:MetricAlarm")).map((r) => r.inputs);
            expect(alarms.map((a) => a.name)).to.have.members(
                [
                    "run-failed",
                    "drift",
                    "low-confidence",
                    "decode-errors",
                    "unseen-content-types",
                    "not-judged",
                    "accuracy-drop",
                    "drift-persistent",
                ].map((id) => `vision-mlops-staging-signs-monitor-${id}`),
            );
            for (const a of alarms) {
                expect(a.alarmActions, a.name).to.deep.equal([TOPIC]);
                expect(a.okActions, a.name).to.deep.equal([TOPIC]);
                expect(a.datapointsToAlarm, a.name).to.equal(a.evaluationPeriods);
                expect(a.alarmDescription, a.name).to.be.a("string").and.not.equal("");
            }
        });

        it("parents its roles, pipeline, schedule, alarms and retraining rule to itself, and registers its names", async () => {
            const { declared, orphans, outputs } = await componentTree(
                (opts) =>
                    new ModelMonitor("signs-monitor", args({ retrainOnDrift: { afterPeriods: 3, trainingPipelineArn: TRAINING } }), opts),
            );
            expect(declared.filter(ofType("aws:cloudwatch/eventTarget:EventTarget"))).to.have.length(1);
            expect(orphans).to.deep.equal([]);
            expect(outputs).to.deep.include({
                engine: "pipeline",
                scheduleName: "vision-mlops-staging-signs-monitor",
                pipelineName: "vision-mlops-staging-signs-monitoring",
            });
            expect(outputs.alarmNames).to.include.members([
                "vision-mlops-staging-signs-monitor-drift",
                "vision-mlops-staging-signs-monitor-drift-persistent",
            ]);
        });

        it("builds a pipeline the monitor job's own flag parser accepts", () => {
            const definition = monitoringPipelineDefinition({
                model: "signs",
                endpointName: "ep",
                scheduleName: "sch",
                period: "daily",
                roleArn: `arn:aws:iam::${TEST_ACCOUNT}:role/r`,
                captureBucket: CAPTURE,
                baselineUri: BASELINE,
                kmsKeyArn: KEY,
                jobsImageUri: IMAGE,
                instanceType: "ml.m5d.large",
                volumeSizeGb: 30,
                maxRuntimeSeconds: 600,
                thresholdsJson: "{}",
                metricsNamespace: OWN_NAMESPACE,
                pipelineName: "vision-mlops-staging-signs-monitoring",
                imageSampleSize: 1500,
                instanceCount: 1,
                classCount: 3,
            });
            const step = definition.Steps[0].Arguments as any;
            // As SageMaker would resolve them on 2026-01-10 at 00:30 with the default parameters.
            const resolved = step.AppSpecification.ContainerArguments.map((a: any) =>
                typeof a === "string" ? a : a.Get === "Execution.StartDateTime" ? "2026-01-10T00:30:05Z" : "auto",
            );
            const s = resolveSettings(resolved, {
                [MONITOR_THRESHOLDS_ENV]: JSON.stringify(THRESHOLDS),
            });
            expect(s.window).to.deep.equal({ start: new Date("2026-01-09T00:00:00Z"), end: new Date("2026-01-10T00:00:00Z") });
            expect(s.capture).to.equal(`s3://${CAPTURE}/signs/capture/`);
            expect(s).to.deep.include({ imageSampleSize: 1500, claimLeaseSeconds: 600, expectedClasses: { count: 3 } });
            expect(
                step.AppSpecification.ContainerArguments[step.AppSpecification.ContainerArguments.indexOf("--run-id") + 1],
            ).to.deep.equal({
                Get: "Execution.PipelineExecutionId",
            });
            expect(step.ProcessingResources.ClusterConfig.VolumeKmsKeyId, "NVMe instance: SageMaker rejects a volume key").to.equal(
                undefined,
            );
        });
    });

    describe("model-monitor engine", () => {
        it("declares a MonitoringSchedule running the same image with the Security Hub settings", async () => {
            const { declared } = await declare(args({ engine: "model-monitor", schedule: "daily" }));
            const schedule = find(declared, "aws:sagemaker/monitoringSchedule:MonitoringSchedule", "signs-monitor-schedule").inputs;
            expect(schedule.name).to.equal("vision-mlops-staging-signs-monitor");
            const config = schedule.monitoringScheduleConfig;
            expect(config.monitoringType).to.equal("DataQuality");
            expect(config.scheduleConfig.scheduleExpression).to.equal("cron(0 0 ? * * *)");
            const job = config.monitoringJobDefinition;
            expect(job.monitoringAppSpecification).to.deep.equal({
                imageUri: IMAGE,
                containerEntrypoints: [...JOBS_ENTRYPOINT, "monitor"],
                containerArguments: ["--image-sample", "2000", "--claim-lease", "14400"],
            });
            expect(job.networkConfig).to.deep.equal({ enableNetworkIsolation: true, enableInterContainerTrafficEncryption: true });
            expect(job.monitoringOutputConfig.kmsKeyId).to.equal(KEY);
            expect(job.monitoringOutputConfig.monitoringOutputs.s3Output).to.deep.equal({
                s3Uri: `s3://${CAPTURE}/signs/monitoring`,
                localPath: PROCESSING_PATHS.monitor.output,
                s3UploadMode: "EndOfJob",
            });
            expect(job.monitoringResources.clusterConfig).to.include({ volumeKmsKeyId: KEY, instanceCount: 1 });
            expect(job.stoppingConditions).to.deep.equal([{ maxRuntimeInSeconds: 4 * 3600 }]);
            expect(job.baseline).to.deep.equal({ statisticsResource: { s3Uri: BASELINE } });
            expect(job.monitoringInputs.endpointInput).to.include({
                endpointName: "vision-mlops-staging-signs",
                localPath: PROCESSING_PATHS.monitor.capture,
            });
            expect(job.environment.publish_cloudwatch_metrics).to.equal("Enabled");
            expect(job.environment[MONITOR_THRESHOLDS_ENV].length).to.be.at.most(256);
            expect(declared.filter(ofType("aws:sagemaker/pipeline:Pipeline"))).to.have.length(0);
            expect(declared.filter(ofType("aws:scheduler/schedule:Schedule"))).to.have.length(0);
            const alarm = declared
                .filter(ofType("aws:cloudwatch/metricAlarm:MetricAlarm"))
                .map((r) => r.inputs)
                .find((a) => a.metricName === "drift_detected");
            expect(alarm).to.include({ namespace: MODEL_MONITOR_NAMESPACE, period: 86400 });
        });

        it("refuses an hourly Model Monitor run longer than an hour", () => {
            useMocks("staging");
            expect(() => new ModelMonitor("m", args({ engine: "model-monitor", maxRuntimeSeconds: 4000 }))).to.throw(
                "maxRuntimeSeconds 4000: seconds per run are more than the 3600 an hourly Model Monitor schedule allows",
            );
        });
    });

    describe("retraining on persistent drift", () => {
        it("alarms after N drifting runs and starts the training pipeline from an EventBridge rule with its own role", async () => {
            const { declared } = await declare(args({ retrainOnDrift: { afterPeriods: 3, trainingPipelineArn: TRAINING } }));
            const persistent = find(declared, "aws:cloudwatch/metricAlarm:MetricAlarm", "signs-monitor-drift-persistent").inputs;
            expect(persistent).to.include({
                metricName: "drift_detected",
                evaluationPeriods: 3,
                datapointsToAlarm: 3,
                period: 3600,
                treatMissingData: "notBreaching",
            });
            const rule = find(declared, "aws:cloudwatch/eventRule:EventRule", "signs-monitor-retrain").inputs;
            const pattern = JSON.parse(rule.eventPattern);
            expect(pattern).to.deep.equal({
                source: ["aws.cloudwatch"],
                "detail-type": ["CloudWatch Alarm State Change"],
                resources: [`arn:aws:cloudwatch:us-east-1:${TEST_ACCOUNT}:metricalarm/vision-mlops-staging-signs-monitor-drift-persistent`],
                detail: { state: { value: ["ALARM"] } },
            });
            const target = find(declared, "aws:cloudwatch/eventTarget:EventTarget", "signs-monitor-retrain-target").inputs;
            expect(target.arn).to.equal(TRAINING);
            // Fixed values only: the pointer to the newest dataset, which the training pipeline's Dataset step resolves.
            expect(target.sagemakerPipelineTarget).to.deep.equal({
                pipelineParameterLists: [{ name: "BatchManifestKey", value: "signs/latest/dataset.json" }],
            });
            expect(target.roleArn).to.match(/role\/vision-mlops-staging-signs-retrain-on-drift$/);
            const policy = JSON.parse(find(declared, "aws:iam/rolePolicy:RolePolicy", "signs-monitor-retrain-role-policy").inputs.policy);
            expect(policy.Statement).to.deep.equal([
                { Sid: "StartPipeline", Effect: "Allow", Action: ["sagemaker:StartPipelineExecution"], Resource: [TRAINING] },
            ]);
        });

        it("refuses a persistence CloudWatch cannot evaluate (more than 7 days)", () => {
            useMocks("staging");
            expect(
                () =>
                    new ModelMonitor("m", args({ schedule: "daily", retrainOnDrift: { afterPeriods: 8, trainingPipelineArn: TRAINING } })),
            ).to.throw(
                "retrainAfterPeriods 8: daily periods are more than CloudWatch's 7-day alarm range; use at most 7 with a daily schedule",
            );
        });
    });

    it("pure parts: schedule expressions, the model-monitor role without pipeline rights, alarm specs", () => {
        expect(schedulerExpression("daily")).to.equal("cron(30 0 * * ? *)");
        const doc = monitorJobPolicy({
            engine: "model-monitor",
            model: "signs",
            region: "us-east-1",
            accountId: TEST_ACCOUNT,
            roleArn: `arn:aws:iam::${TEST_ACCOUNT}:role/r`,
            captureBucket: CAPTURE,
            baselineUri: BASELINE,
            kmsKeyArn: KEY,
            repositoryArn: REPO,
            metricsNamespace: MODEL_MONITOR_NAMESPACE,
        });
        const actions = doc.Statement.flatMap((s) => s.Action);
        // Each on its own: include.members would pass with one of them present.
        expect(actions).to.not.include("sagemaker:CreateProcessingJob");
        expect(actions).to.not.include("iam:PassRole");
        expect(doc.Statement.find((s) => s.Action.includes("cloudwatch:PutMetricData"))!.Condition).to.deep.equal({
            StringEquals: { "cloudwatch:namespace": [MODEL_MONITOR_NAMESPACE] },
        });
        const specs = monitorAlarmSpecs({
            engine: "model-monitor",
            model: "signs",
            endpointName: "e",
            scheduleName: "s",
            period: "hourly",
            thresholds: THRESHOLDS,
            namespace: MODEL_MONITOR_NAMESPACE,
        });
        // Model Monitor's inline job definition has no ground-truth input: no accuracy alarm that could never fire.
        expect(specs.map((s) => s.id)).to.deep.equal(["drift", "low-confidence", "decode-errors", "unseen-content-types", "not-judged"]);
    });
});

describe("ModelMonitor: whom its roles trust, where it publishes, what its alarms promise", () => {
    const sm = (type: string, name: string) => `arn:aws:sagemaker:us-east-1:${TEST_ACCOUNT}:${type}/${name}`;
    const trustOf = (declared: DeclaredResource[], name: string) =>
        JSON.parse(find(declared, "aws:iam/role:Role", name).inputs.assumeRolePolicy).Statement;

    it("pipeline engine: SageMaker for this account's monitoring pipeline and its jobs; Scheduler for the account's default group", async () => {
        const { declared } = await declare(args());
        expect(trustOf(declared, "signs-monitor-role")).to.deep.equal([
            {
                Effect: "Allow",
                Principal: { Service: ["sagemaker.amazonaws.com"] },
                Action: ["sts:AssumeRole"],
                Condition: {
                    StringEquals: { "aws:SourceAccount": TEST_ACCOUNT },
                    ArnLike: {
                        "aws:SourceArn": [
                            sm("pipeline", "vision-mlops-staging-signs-monitoring"),
                            sm("pipeline", "vision-mlops-staging-signs-monitoring/execution/*"),
                            sm("processing-job", "pipelines-*"),
                        ],
                    },
                },
            },
        ]);
        expect(trustOf(declared, "signs-monitor-scheduler-role")).to.deep.equal([
            {
                Effect: "Allow",
                Principal: { Service: ["scheduler.amazonaws.com"] },
                Action: ["sts:AssumeRole"],
                Condition: {
                    StringEquals: { "aws:SourceAccount": TEST_ACCOUNT },
                    ArnLike: { "aws:SourceArn": [`arn:aws:scheduler:us-east-1:${TEST_ACCOUNT}:schedule-group/default`] },
                },
            },
        ]);
    });

    it("model-monitor engine: SageMaker for this account's monitoring schedule and the jobs Model Monitor names", async () => {
        const { declared } = await declare(args({ engine: "model-monitor" }));
        expect(trustOf(declared, "signs-monitor-role")).to.deep.equal([
            {
                Effect: "Allow",
                Principal: { Service: ["sagemaker.amazonaws.com"] },
                Action: ["sts:AssumeRole"],
                Condition: {
                    StringEquals: { "aws:SourceAccount": TEST_ACCOUNT },
                    ArnLike: {
                        "aws:SourceArn": [
                            sm("monitoring-schedule", "vision-mlops-staging-signs-monitor"),
                            sm("processing-job", "model-monitoring-*"),
                        ],
                    },
                },
            },
        ]);
    });

    it("retraining: EventBridge for this account's drift rule only", async () => {
        const { declared } = await declare(args({ retrainOnDrift: { afterPeriods: 3, trainingPipelineArn: TRAINING } }));
        expect(trustOf(declared, "signs-monitor-retrain-role")).to.deep.equal([
            {
                Effect: "Allow",
                Principal: { Service: ["events.amazonaws.com"] },
                Action: ["sts:AssumeRole"],
                Condition: {
                    StringEquals: { "aws:SourceAccount": TEST_ACCOUNT },
                    ArnLike: {
                        "aws:SourceArn": [`arn:aws:events:us-east-1:${TEST_ACCOUNT}:rule/vision-mlops-staging-signs-retrain-on-drift`],
                    },
                },
            },
        ]);
    });

    it("publishes the pipeline engine's metrics to a namespace of this endpoint's own, and alarms on that namespace", async () => {
        const { declared } = await declare(args());
        const own = "VisionMLOps/Monitoring/vision-mlops-staging-signs";
        const doc = JSON.parse(find(declared, "aws:iam/rolePolicy:RolePolicy", "signs-monitor-role-policy").inputs.policy);
        expect(doc.Statement.filter((s: any) => s.Action.includes("cloudwatch:PutMetricData")).map((s: any) => s.Condition)).to.deep.equal([
            { StringEquals: { "cloudwatch:namespace": [own] } },
        ]);
        const step = JSON.parse(find(declared, "aws:sagemaker/pipeline:Pipeline", "signs-monitor-pipeline").inputs.pipelineDefinition)
            .Steps[0].Arguments;
        const argv: unknown[] = step.AppSpecification.ContainerArguments;
        expect(argv[argv.indexOf("--put-metrics") + 1]).to.equal(own);
        const namespaces = declared
            .filter(ofType("aws:cloudwatch/metricAlarm:MetricAlarm"))
            .filter((r) => r.inputs.metricName !== "ExecutionFailed")
            .map((r) => r.inputs.namespace);
        expect(namespaces).to.have.length(6);
        expect(new Set(namespaces)).to.deep.equal(new Set([own]));
    });

    it("declares the persistent-drift alarm only with the rule that starts retraining on it", async () => {
        const without = (await declare(args())).declared;
        const alarms = without.filter(ofType("aws:cloudwatch/metricAlarm:MetricAlarm"));
        expect(alarms.map((r) => r.name)).to.not.include("signs-monitor-drift-persistent");
        for (const a of alarms) expect(a.inputs.alarmDescription, a.name).to.not.match(/training pipeline/);
        expect(without.filter(ofType("aws:cloudwatch/eventRule:EventRule"))).to.deep.equal([]);
        const retraining = (await declare(args({ retrainOnDrift: { afterPeriods: 3, trainingPipelineArn: TRAINING } }))).declared;
        expect(
            find(retraining, "aws:cloudwatch/metricAlarm:MetricAlarm", "signs-monitor-drift-persistent").inputs.alarmDescription,
        ).to.equal("signs: drift in 3 consecutive hourly runs; the training pipeline is started");
        expect(find(retraining, "aws:cloudwatch/eventTarget:EventTarget", "signs-monitor-retrain-target").inputs.arn).to.equal(TRAINING);
    });
});

describe("ModelMonitor: a monitor that judges nothing is an incident", () => {
    for (const engine of ["pipeline", "model-monitor"] as const)
        it(`alarms when ${engine} runs judge nothing for N periods in a row, or publish nothing`, async () => {
            const { declared } = await declare(args({ engine, unjudgedPeriods: 4 }));
            const alarm = find(declared, "aws:cloudwatch/metricAlarm:MetricAlarm", "signs-monitor-not-judged").inputs;
            expect(alarm).to.include({
                metricName: "not_judged",
                comparisonOperator: "GreaterThanOrEqualToThreshold",
                threshold: 1,
                evaluationPeriods: 4,
                datapointsToAlarm: 4,
                period: 3600,
                treatMissingData: "breaching",
                namespace: engine === "pipeline" ? OWN_NAMESPACE : MODEL_MONITOR_NAMESPACE,
            });
            expect(alarm.alarmActions).to.deep.equal([TOPIC]);
            expect(alarm.dimensions).to.deep.equal({
                Endpoint: "vision-mlops-staging-signs",
                MonitoringSchedule: "vision-mlops-staging-signs-monitor",
            });
        });

    it("defaults to three periods and refuses more than CloudWatch's 7-day range", async () => {
        const { declared } = await declare(args());
        expect(find(declared, "aws:cloudwatch/metricAlarm:MetricAlarm", "signs-monitor-not-judged").inputs.evaluationPeriods).to.equal(3);
        expect(() => new ModelMonitor("x", args({ schedule: "daily", unjudgedPeriods: 8 }))).to.throw(
            "unjudgedPeriods 8: daily periods are more than CloudWatch's 7-day alarm range; use at most 7 with a daily schedule",
        );
    });
});

describe("ModelMonitor: sharded monitoring runs", () => {
    it("lists the capture, runs the monitor on N instances over a ShardedByS3Key manifest, and merges", async () => {
        const { declared } = await declare(args({ classCount: 3, instanceCount: 4, imageSampleSize: 3000 }));
        const definition = JSON.parse(
            find(declared, "aws:sagemaker/pipeline:Pipeline", "signs-monitor-pipeline").inputs.pipelineDefinition,
        );
        expect(definition.Steps.map((s: any) => s.Name)).to.deep.equal(["ListCapture", "Monitor", "Merge"]);
        const [list, monitor, merge] = definition.Steps.map((s: any) => s.Arguments);
        expect(list.ProcessingResources.ClusterConfig.InstanceCount).to.equal(1);
        expect(monitor.ProcessingResources.ClusterConfig.InstanceCount).to.equal(4);
        expect(merge.ProcessingResources.ClusterConfig.InstanceCount).to.equal(1);
        const capture = monitor.ProcessingInputs.find((i: any) => i.InputName === "capture").S3Input;
        expect(capture).to.deep.include({
            S3DataType: "ManifestFile",
            S3DataDistributionType: "ShardedByS3Key",
            LocalPath: PROCESSING_PATHS.monitor.capture,
            S3InputMode: "File",
        });
        expect(capture.S3Uri).to.deep.equal({
            "Std:Join": {
                On: "",
                Values: [{ Get: "Steps.ListCapture.ProcessingOutputConfig.Outputs['manifest'].S3Output.S3Uri" }, "/manifest.json"],
            },
        });
        expect(merge.ProcessingInputs.find((i: any) => i.InputName === "partials").S3Input.S3Uri).to.deep.equal({
            Get: "Steps.Monitor.ProcessingOutputConfig.Outputs['partial'].S3Output.S3Uri",
        });
        for (const step of [list, monitor]) expect(step.ProcessingOutputConfig.KmsKeyId).to.equal(KEY);

        // Each step's arguments as SageMaker resolves them, through the job's own flag parser.
        const env = { [MONITOR_THRESHOLDS_ENV]: JSON.stringify(THRESHOLDS) };
        const resolve = (step: any) =>
            resolveSettings(
                step.AppSpecification.ContainerArguments.map((a: any) =>
                    typeof a === "string"
                        ? a
                        : a.Get === "Execution.StartDateTime"
                          ? "2026-01-10T13:10:05Z"
                          : a.Get === "Execution.PipelineExecutionId"
                            ? "exec-1"
                            : "auto",
                ),
                env,
            );
        const [l, m, g] = [list, monitor, merge].map(resolve);
        expect(l).to.deep.include({
            listManifest: "/opt/ml/processing/manifest",
            shards: 4,
            capture: `s3://${CAPTURE}/signs/capture/`,
            runId: "exec-1",
        });
        expect(m).to.deep.include({
            partialOutput: "/opt/ml/processing/partial",
            capture: `${PROCESSING_PATHS.monitor.capture}/capture`,
            imageSampleSize: 3000,
        });
        expect(g).to.deep.include({
            mergeFrom: "/opt/ml/processing/input/partials",
            putMetricsNamespace: OWN_NAMESPACE,
            runId: "exec-1",
        });
        expect(g.upload).to.equal(`s3://${CAPTURE}/signs/monitoring/vision-mlops-staging-signs/vision-mlops-staging-signs-monitor/`);
        for (const s of [l, m, g])
            expect(s.window).to.deep.equal({ start: new Date("2026-01-10T12:00:00Z"), end: new Date("2026-01-10T13:00:00Z") });
    });

    it("refuses more than one instance with Model Monitor, which has no merge step", () => {
        expect(() => new ModelMonitor("x", args({ engine: "model-monitor", instanceCount: 2 }))).to.throw(
            "instances need the pipeline engine",
        );
    });

    it("passes the image sample, the claim lease and the class count to a Model Monitor job too", async () => {
        const { declared } = await declare(args({ engine: "model-monitor", classCount: 3, imageSampleSize: 500 }));
        const spec = find(declared, "aws:sagemaker/monitoringSchedule:MonitoringSchedule", "signs-monitor-schedule").inputs
            .monitoringScheduleConfig.monitoringJobDefinition.monitoringAppSpecification;
        expect(spec.containerArguments).to.deep.equal(["--image-sample", "500", "--claim-lease", "3000", "--class-count", "3"]);
    });

    it("lets the job read its monitoring prefix (claims, completion records, shard work files)", () => {
        const doc = monitorJobPolicy({
            engine: "pipeline",
            model: "signs",
            region: "us-east-1",
            accountId: TEST_ACCOUNT,
            roleArn: "arn:aws:iam::123456789012:role/r",
            captureBucket: CAPTURE,
            baselineUri: BASELINE,
            kmsKeyArn: KEY,
            repositoryArn: REPO,
            metricsNamespace: OWN_NAMESPACE,
            pipelineName: "vision-mlops-staging-signs-monitoring",
        });
        const read = doc.Statement.filter((s) => s.Action.includes("s3:GetObject")).flatMap((s) => s.Resource);
        expect(read).to.include(`arn:aws:s3:::${CAPTURE}/signs/monitoring/*`);
    });
});

describe("ModelMonitor: what its schedule, roles and alarms are given", () => {
    it("names and describes the pipeline, its schedule and both roles; the schedule starts on time and retries for an hour", async () => {
        const { declared } = await declare(args());
        expect(find(declared, "aws:sagemaker/pipeline:Pipeline", "signs-monitor-pipeline").inputs).to.deep.include({
            pipelineDisplayName: "vision-mlops-staging-signs-monitoring",
            pipelineDescription: "Image-aware monitoring of vision-mlops-staging-signs, hourly",
        });
        const schedule = find(declared, "aws:scheduler/schedule:Schedule", "signs-monitor-schedule").inputs;
        expect(schedule.description).to.equal(
            "Starts vision-mlops-staging-signs-monitoring hourly; the job monitors the previous whole hour",
        );
        expect(schedule.flexibleTimeWindow).to.deep.equal({ mode: "OFF" });
        expect(schedule.target.roleArn).to.equal(`arn:aws:iam::${TEST_ACCOUNT}:role/vision-mlops-staging-signs-monitor-scheduler`);
        expect(schedule.target.retryPolicy).to.deep.equal({ maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 });
        expect(find(declared, "aws:iam/role:Role", "signs-monitor-role").inputs).to.deep.include({
            name: "vision-mlops-staging-signs-monitor",
            description: "Runs the pipeline monitor job of signs",
        });
        expect(find(declared, "aws:iam/role:Role", "signs-monitor-scheduler-role").inputs).to.deep.include({
            name: "vision-mlops-staging-signs-monitor-scheduler",
            description: "Lets EventBridge Scheduler start the monitoring pipeline of signs",
        });
    });

    it("describes a daily schedule by the day it monitors, and the model-monitor role by its engine", async () => {
        const daily = (await declare(args({ schedule: "daily" }))).declared;
        expect(find(daily, "aws:scheduler/schedule:Schedule", "signs-monitor-schedule").inputs.description).to.equal(
            "Starts vision-mlops-staging-signs-monitoring daily; the job monitors the previous whole day",
        );
        const mm = (await declare(args({ engine: "model-monitor" }))).declared;
        expect(find(mm, "aws:iam/role:Role", "signs-monitor-role").inputs.description).to.equal(
            "Runs the model-monitor monitor job of signs",
        );
    });

    it("runs the job on the instance, volume and time limit it is given", async () => {
        const { declared } = await declare(args({ instanceType: "ml.c5.xlarge", volumeSizeGb: 100, maxRuntimeSeconds: 1800 }));
        const step = JSON.parse(find(declared, "aws:sagemaker/pipeline:Pipeline", "signs-monitor-pipeline").inputs.pipelineDefinition)
            .Steps[0].Arguments;
        expect(step.ProcessingResources.ClusterConfig).to.deep.include({ InstanceType: "ml.c5.xlarge", VolumeSizeInGB: 100 });
        expect(step.StoppingCondition.MaxRuntimeInSeconds).to.equal(1800);
        const mm = (await declare(args({ engine: "model-monitor", instanceType: "ml.c5.xlarge", volumeSizeGb: 100 }))).declared;
        const job = find(mm, "aws:sagemaker/monitoringSchedule:MonitoringSchedule", "signs-monitor-schedule").inputs
            .monitoringScheduleConfig.monitoringJobDefinition;
        expect(job.monitoringResources.clusterConfig).to.deep.include({ instanceType: "ml.c5.xlarge", volumeSizeInGb: 100 });
        // The hourly default: 50 minutes, inside Model Monitor's hour.
        expect(job.stoppingConditions).to.deep.equal([{ maxRuntimeInSeconds: 3000 }]);
    });

    it("lets the job decrypt a baseline another stack's key encrypted, and its own data with its own key", async () => {
        const OTHER = "arn:aws:kms:us-east-1:210987654321:key/staging-artifacts";
        const { declared } = await declare(args({ baselineKmsKeyArn: OTHER }));
        const doc = parsePolicy(find(declared, "aws:iam/rolePolicy:RolePolicy", "signs-monitor-role-policy").inputs.policy);
        for (const key of [KEY, OTHER]) expect(allowedBy(doc, { action: "kms:Decrypt", resource: key }), key).to.equal(true);
        expect(allowedBy(doc, { action: "kms:Decrypt", resource: "arn:aws:kms:us-east-1:210987654321:key/another" })).to.equal(false);
    });

    it("names the retraining rule and role for the model, and says what starts the training pipeline", async () => {
        const { declared, monitor } = await declare(args({ retrainOnDrift: { afterPeriods: 3, trainingPipelineArn: TRAINING } }));
        expect(find(declared, "aws:cloudwatch/eventRule:EventRule", "signs-monitor-retrain").inputs).to.deep.include({
            name: "vision-mlops-staging-signs-retrain-on-drift",
            description: "Starts the training pipeline of signs when drift persists for 3 hourly runs",
        });
        expect(find(declared, "aws:cloudwatch/eventTarget:EventTarget", "signs-monitor-retrain-target").inputs.rule).to.equal(
            "vision-mlops-staging-signs-retrain-on-drift",
        );
        expect(find(declared, "aws:iam/role:Role", "signs-monitor-retrain-role").inputs).to.deep.include({
            name: "vision-mlops-staging-signs-retrain-on-drift",
            description: "Lets EventBridge start the training pipeline of signs",
        });
        expect(monitor.retrainRule).to.not.equal(undefined);
    });

    it("gives the dashboard the model, its thresholds and its engine; a Model Monitor schedule has no pipeline to name", async () => {
        const { monitor } = await declare(args({ engine: "model-monitor" }));
        expect(monitor.dashboardModel).to.deep.equal({
            model: "signs",
            endpointName: "vision-mlops-staging-signs",
            scheduleName: "vision-mlops-staging-signs-monitor",
            engine: "model-monitor",
            thresholds: THRESHOLDS,
            monitoringPipelineName: undefined,
        });
        expect(monitor.pipelineName).to.equal(undefined);
        expect(monitor.scheduleName).to.equal("vision-mlops-staging-signs-monitor");
    });

    it("takes each alarm's statistic and comparison from its spec", async () => {
        const { declared } = await declare(args());
        const drift = find(declared, "aws:cloudwatch/metricAlarm:MetricAlarm", "signs-monitor-drift").inputs;
        expect(drift).to.include({ statistic: "Maximum", comparisonOperator: "GreaterThanOrEqualToThreshold" });
        expect(drift.alarmDescription).to.be.a("string").and.include("signs");
    });
});
