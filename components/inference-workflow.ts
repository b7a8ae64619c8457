import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { logDeliveryStatement, policyDocument, xrayWriteStatement } from "../infra/iam";
import {
    annotationEventPattern,
    batchPolicy,
    callbackPolicy,
    classifyPolicy,
    correctionEventPattern,
    heartbeatRate,
    imagePrefixes,
    INFERENCE_CLASSES_FILE,
    INFERENCE_ENV,
    INFERENCE_METRICS,
    inferenceNamespace,
    inferenceFunctionName,
    inferenceWorkflowDefinition,
    invokeStatement,
    reviewPolicy,
    startPolicy,
    stateMachineArn,
    stateMachineName,
    triggerEventPattern,
    WorkflowScope,
} from "../infra/inference-workflow";
import { Environment, iamName } from "../infra/naming";
import { LambdaFunction } from "./lambda-function";
import { ServiceRole } from "./service-role";

export interface InferenceWorkflowArgs {
    readonly environment: Environment;
    readonly model: string;
    /** Class names in class-map order (the served package was trained on them). */
    readonly classes: readonly string[];
    /** The endpoint the workflow invokes (and the only one its classify function may). */
    readonly endpointName: string;
    /** The package the endpoint serves, recorded with every prediction and review. */
    readonly modelPackageArn?: pulumi.Input<string>;
    /** Top-1 confidence at or above which a prediction stands. */
    readonly confidenceThreshold: number;
    /** And the lead over the second class at least this. Defaults to none. */
    readonly confidenceMargin?: number;
    /** Ranked classes kept per prediction. Defaults to 5. */
    readonly topK?: number;
    readonly reviewTimeoutSeconds: number;
    readonly reviewHeartbeatSeconds: number;
    readonly reviewBatchSize: number;
    /** EventBridge schedule that also batches whatever is reviewed. Defaults to none. */
    readonly reviewBatchSchedule?: string;
    /** Raw-bucket prefix whose images start executions. Defaults to none. */
    readonly triggerPrefix?: string;
    /** Share of low-confidence predictions in an hour above which the alarm fires. */
    readonly lowConfidenceAlarmRate: number;
    readonly rawBucket: pulumi.Input<string>;
    /** The lake's key (raw objects and the alert topic). */
    readonly dataKeyArn: pulumi.Input<string>;
    /** Key of the log groups (`LogsKey`). */
    readonly logsKmsKeyArn: pulumi.Input<string>;
    readonly alarmTopicArn: pulumi.Input<string>;
    readonly accountId: pulumi.Input<string>;
    readonly region: string;
}

/**
 * A model's inference workflow: the Standard state machine (infra/inference-workflow.ts's definition) with
 * logging and X-Ray, its Lambda functions (classify, review, callback, batch, start), the EventBridge rules that
 * feed them (annotations, heartbeat, corrections, batch schedule, trigger), and the alarm on the
 * low-confidence rate. Every role is a ServiceRole that may touch this model's objects and endpoint only.
 */
export class InferenceWorkflow extends pulumi.ComponentResource {
    public readonly stateMachine: aws.sfn.StateMachine;
    public readonly functions: Record<string, LambdaFunction>;
    public readonly lowConfidenceAlarm: aws.cloudwatch.MetricAlarm;
    public readonly stateMachineArn: pulumi.Output<string>;
    public readonly stateMachineName: string;

    constructor(name: string, args: InferenceWorkflowArgs, opts?: pulumi.ComponentResourceOptions) {
        super("vision-mlops:inference:InferenceWorkflow", name, {}, opts);
        const child = { parent: this };
        const env = args.environment;
        // In the code, not the environment: Lambda's 4 KB of variables cannot hold a 200-class list.
        const dataFiles = { [INFERENCE_CLASSES_FILE]: JSON.stringify(args.classes) };
        this.stateMachineName = stateMachineName(env, args.model);
        const machineArn = pulumi.output(args.accountId).apply((account) => stateMachineArn(args.region, account, this.stateMachineName));
        const scope: pulumi.Output<WorkflowScope> = pulumi
            .all({
                account: args.accountId,
                rawBucket: args.rawBucket,
                dataKeyArn: args.dataKeyArn,
                alertTopicArn: args.alarmTopicArn,
                stateMachineArn: machineArn,
            })
            .apply((deployed) => ({
                model: args.model,
                region: args.region,
                account: deployed.account,
                rawBucket: deployed.rawBucket,
                dataKeyArn: deployed.dataKeyArn,
                endpointName: args.endpointName,
                alertTopicArn: deployed.alertTopicArn,
                stateMachineArn: deployed.stateMachineArn,
                triggerPrefix: args.triggerPrefix,
            }));
        const environment = {
            [INFERENCE_ENV.environment]: env,
            [INFERENCE_ENV.model]: args.model,
            [INFERENCE_ENV.rawBucket]: args.rawBucket,
            [INFERENCE_ENV.endpointName]: args.endpointName,
            [INFERENCE_ENV.modelPackageArn]: args.modelPackageArn ?? "",
            [INFERENCE_ENV.topK]: String(args.topK ?? 5),
            [INFERENCE_ENV.alertTopicArn]: args.alarmTopicArn,
            [INFERENCE_ENV.stateMachineArn]: machineArn,
            [INFERENCE_ENV.reviewBatchSize]: String(args.reviewBatchSize),
            [INFERENCE_ENV.imagePrefixes]: JSON.stringify(imagePrefixes(args.model, args.triggerPrefix)),
        };
        const fn = (
            id: "classify" | "review" | "callback" | "batch" | "start",
            description: string,
            policy: (s: WorkflowScope) => ReturnType<typeof classifyPolicy>,
            extra: Partial<ConstructorParameters<typeof LambdaFunction>[1]> = {},
        ) =>
            new LambdaFunction(
                `${name}-${id}`,
                {
                    entry: "jobs/inference/handler.ts",
                    functionName: inferenceFunctionName(env, args.model, id),
                    description,
                    policy: scope.apply(policy),
                    accountId: args.accountId,
                    region: args.region,
                    environment: { ...environment, [INFERENCE_ENV.function]: id },
                    dataFiles,
                    logsKmsKeyArn: args.logsKmsKeyArn,
                    ...extra,
                },
                child,
            );
        const classify = fn(
            "classify",
            `${args.model}: reads an image by S3 URI and classifies it with ${args.endpointName}`,
            classifyPolicy,
            {
                timeoutSeconds: 90,
                memoryMb: 512,
            },
        );
        const review = fn("review", `${args.model}: prediction files and the review queue`, reviewPolicy, { timeoutSeconds: 60 });
        const callback = fn("callback", `${args.model}: resumes executions when Label Studio exports a review`, callbackPolicy, {
            timeoutSeconds: 300,
            deadLetterQueue: true,
        });
        // One batch at a time; room in /tmp for a batch of the largest images the endpoint takes (6 MB each).
        const batch = fn("batch", `${args.model}: reviewed images become an ingest batch`, batchPolicy, {
            timeoutSeconds: 900,
            memoryMb: 1024,
            ephemeralStorageMb: Math.min(10240, Math.max(512, args.reviewBatchSize * 6 + 512)),
            reservedConcurrency: 1,
            deadLetterQueue: true,
        });
        const start = fn(
            "start",
            `${args.model}: starts a review for each correction${args.triggerPrefix ? " and an execution for each image under the trigger prefix" : ""}`,
            startPolicy,
            { deadLetterQueue: true },
        );
        this.functions = { classify, review, callback, batch, start };

        const logGroup = new aws.cloudwatch.LogGroup(
            `${name}-logs`,
            { name: `/aws/vendedlogs/states/${this.stateMachineName}`, retentionInDays: 365, kmsKeyId: args.logsKmsKeyArn },
            child,
        );
        const functionArns = pulumi.all({ classify: classify.arn, review: review.arn, batch: batch.arn });
        const role = new ServiceRole(
            `${name}-role`,
            {
                roleName: iamName(env, args.model, "inference"),
                description: `State machine ${this.stateMachineName}`,
                trust: pulumi
                    .all([args.accountId, machineArn])
                    .apply(([account, arn]) => [{ service: "states.amazonaws.com", sourceAccount: account, sourceArns: [arn] }]),
                policy: functionArns.apply((arns) =>
                    policyDocument(invokeStatement([arns.classify, arns.review, arns.batch]), logDeliveryStatement(), xrayWriteStatement()),
                ),
            },
            child,
        );
        this.stateMachine = new aws.sfn.StateMachine(
            `${name}-state-machine`,
            {
                name: this.stateMachineName,
                type: "STANDARD",
                roleArn: role.arn,
                definition: functionArns.apply((arns) =>
                    JSON.stringify(
                        inferenceWorkflowDefinition({
                            classifyFunctionArn: arns.classify,
                            reviewFunctionArn: arns.review,
                            batchFunctionArn: arns.batch,
                            confidenceThreshold: args.confidenceThreshold,
                            confidenceMargin: args.confidenceMargin,
                            reviewTimeoutSeconds: args.reviewTimeoutSeconds,
                            reviewHeartbeatSeconds: args.reviewHeartbeatSeconds,
                            reviewBatchSize: args.reviewBatchSize,
                        }),
                    ),
                ),
                loggingConfiguration: { level: "ALL", includeExecutionData: true, logDestination: pulumi.interpolate`${logGroup.arn}:*` },
                tracingConfiguration: { enabled: true },
            },
            child,
        );
        this.stateMachineArn = this.stateMachine.arn;

        const invokedBy = (id: string, target: LambdaFunction, rule: aws.cloudwatch.EventRule) => {
            new aws.cloudwatch.EventTarget(
                `${name}-${id}-target`,
                { rule: rule.name, arn: target.arn, retryPolicy: { maximumRetryAttempts: 20, maximumEventAgeInSeconds: 24 * 3600 } },
                child,
            );
            new aws.lambda.Permission(
                `${name}-${id}-permission`,
                { action: "lambda:InvokeFunction", function: target.functionName, principal: "events.amazonaws.com", sourceArn: rule.arn },
                child,
            );
        };
        const rule = (id: string, description: string, spec: { eventPattern?: pulumi.Input<string>; scheduleExpression?: string }) =>
            new aws.cloudwatch.EventRule(`${name}-${id}`, { name: iamName(env, args.model, "inf", id), description, ...spec }, child);

        invokedBy(
            "annotations",
            callback,
            rule("annotations", `${args.model}: Label Studio exported a review`, {
                eventPattern: pulumi.output(args.rawBucket).apply((b) => JSON.stringify(annotationEventPattern(b, args.model))),
            }),
        );
        invokedBy(
            "heartbeat",
            callback,
            rule("heartbeat", `${args.model}: heartbeats executions whose image is still queued`, {
                scheduleExpression: heartbeatRate(args.reviewHeartbeatSeconds),
            }),
        );
        if (args.reviewBatchSchedule)
            invokedBy(
                "batch-schedule",
                batch,
                rule("batch-schedule", `${args.model}: batches whatever is reviewed`, { scheduleExpression: args.reviewBatchSchedule }),
            );
        invokedBy(
            "corrections",
            start,
            rule("corrections", `${args.model}: a correction from the prediction page`, {
                eventPattern: pulumi.output(args.rawBucket).apply((b) => JSON.stringify(correctionEventPattern(b, args.model))),
            }),
        );
        if (args.triggerPrefix) {
            const prefix = args.triggerPrefix;
            invokedBy(
                "trigger",
                start,
                rule("trigger", `${args.model}: images dropped under ${prefix}`, {
                    eventPattern: pulumi.output(args.rawBucket).apply((b) => JSON.stringify(triggerEventPattern(b, prefix))),
                }),
            );
        }

        const dimensions = { Environment: env, Model: args.model };
        const metric = (id: string, metricName: string) => ({
            id,
            metric: { namespace: inferenceNamespace(args.model), metricName, dimensions, period: 3600, stat: "Sum" },
        });
        this.lowConfidenceAlarm = new aws.cloudwatch.MetricAlarm(
            `${name}-low-confidence`,
            {
                name: iamName(env, args.model, "low-confidence-rate"),
                alarmDescription: `More than ${Math.round(args.lowConfidenceAlarmRate * 100)}% of ${args.model}'s images in an hour were below the confidence threshold (sent to review)`,
                metricQueries: [
                    metric("low", INFERENCE_METRICS.lowConfidence),
                    metric("high", INFERENCE_METRICS.classified),
                    { id: "rate", expression: "low / (low + high)", label: "Low-confidence rate", returnData: true },
                ],
                comparisonOperator: "GreaterThanThreshold",
                threshold: args.lowConfidenceAlarmRate,
                evaluationPeriods: 1,
                treatMissingData: "notBreaching",
                alarmActions: [args.alarmTopicArn],
                okActions: [args.alarmTopicArn],
            },
            child,
        );
        this.registerOutputs({ stateMachineArn: this.stateMachineArn });
    }
}
