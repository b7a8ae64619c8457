import type { ContainerDefinition, DataCaptureConfig, DeploymentConfig } from "@aws-sdk/client-sagemaker";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { EndpointConfig, Environment } from "../infra/config";
import { EndpointSpec } from "../infra/endpoint-update";
import {
    assumeRolePolicy,
    ecrPullStatements,
    kmsUseStatement,
    policyDocument,
    s3BucketArn,
    s3ReadStatements,
    s3WriteStatements,
    sagemakerLogsStatement,
} from "../infra/iam";
import { hasInstanceStorage } from "../infra/instance-storage";
import { endpointName, iamName, prefixes, versionedName } from "../infra/naming";
import { ecrRepositoryArnOfImage, SERVED_PACKAGE_ENVIRONMENT_VARIABLE } from "../infra/registry";
import { parseS3Uri } from "../infra/s3-uri";
import { EndpointDeployment, EndpointDeploymentArgs } from "./endpoint-deployment";

/** The variant name; blue/green updates and retained variant properties require it to stay the same across endpoint configs. */
export const VARIANT_NAME = "AllTraffic";

/** Endpoint configs kept for rolling back, the serving one included, when the stack does not say. */
export const DEFAULT_RETAINED_ENDPOINT_CONFIGS = 3;

export interface ModelEndpointArgs {
    readonly environment: Environment;
    /** Model name from config; names the endpoint and scopes the capture prefix. */
    readonly model: string;
    /** Instance type/count, autoscaling bounds, latency alarm threshold. */
    readonly endpoint: EndpointConfig;
    /** Percent of requests captured (config's value or the environment default). */
    readonly capturePercent: number;
    /** The registered model package version to serve. */
    readonly modelPackageArn: string;
    /**
     * `package` (default): the model is created from the package ARN, which SageMaker allows only for
     * Approved versions. `artifacts`: the model runs the package's image and model artifact directly and
     * records the package ARN in its container environment; staging uses this to serve candidates before
     * anyone approved them.
     */
    readonly deployFrom?: "package" | "artifacts";
    /** The package's model artifact (`s3://.../model.tar.gz`); the only object the endpoint may read. */
    readonly modelDataUrl: string;
    /** The package's serving image; the only repository the endpoint may pull from. */
    readonly servingImage: string;
    /** Encrypts the instance volumes and the captured data. */
    readonly kmsKeyArn: pulumi.Input<string>;
    /** Key the model artifact is encrypted with, when it is another stack's (prod serves staging's models). Defaults to kmsKeyArn. */
    readonly modelDataKmsKeyArn?: pulumi.Input<string>;
    /** Bucket receiving captured requests and responses (under `<model>/capture/`). */
    readonly captureBucket: pulumi.Input<string>;
    /** Topic for the endpoint's alarms. */
    readonly alarmTopicArn: pulumi.Input<string>;
    readonly accountId: pulumi.Input<string>;
    readonly region: string;
    /**
     * Blue/green canary deployment with automatic rollback on this endpoint's alarms. Defaults to false:
     * every update lands at once (what staging wants).
     */
    readonly blueGreen?: boolean;
    /** Endpoint configs (and their models) kept for rolling back, the serving one included; at least 2. Defaults to 3. */
    readonly retainedEndpointConfigs?: number;
    /**
     * Tags on the endpoint, its models and its endpoint configs. The deployment creates those itself, so an
     * AWS provider's default tags do not reach them. Defaults to none.
     */
    readonly tags?: Record<string, string>;
}

/**
 * One model's real-time endpoint: a model built from a registered package (by ARN, or from its image and
 * artifact while it awaits approval) with network isolation, an endpoint configuration with KMS and data
 * capture, the endpoint under a stable name, target-tracking autoscaling, and alarms on server errors and
 * p99 latency. With `blueGreen`, updates go blue/green with a canary and roll back when those alarms fire.
 * Every update is verified (see EndpointDeployment): the live instance count is kept, autoscaling is taken
 * off and put back around an instance-type change, and a rollback fails `pulumi up`.
 */
export class ModelEndpoint extends pulumi.ComponentResource {
    public readonly role: aws.iam.Role;
    public readonly errorAlarm: aws.cloudwatch.MetricAlarm;
    public readonly latencyAlarm: aws.cloudwatch.MetricAlarm;
    /** The endpoint with its model, configs and scaling, deployed and verified. */
    public readonly endpoint: EndpointDeployment;
    public readonly endpointName: pulumi.Output<string>;
    public readonly endpointArn: pulumi.Output<string>;
    /** The endpoint config that serves (the requested one once a deployment is verified). */
    public readonly endpointConfigName: pulumi.Output<string>;
    /** The model package that serves: what the endpoint reports, never merely what was requested. */
    public readonly modelPackageArn: pulumi.Output<string>;
    /** Where SageMaker writes captured traffic: `<uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl`. */
    public readonly captureS3Uri: pulumi.Output<string>;

    constructor(name: string, args: ModelEndpointArgs, opts?: pulumi.ComponentResourceOptions) {
        super("vision-mlops:serving:ModelEndpoint", name, {}, opts);
        const child = { parent: this };
        const env = args.environment;
        const physicalName = endpointName(env, args.model);
        const captureS3Uri = pulumi.interpolate`s3://${args.captureBucket}/${prefixes.captureModel(args.model)}`;
        const alarms = endpointAlarms(physicalName, args.endpoint.latencyP99Ms);
        const rollbackAlarms = args.blueGreen ? [alarms.errors.name, alarms.latency.name] : [];

        this.role = new aws.iam.Role(
            `${name}-role`,
            {
                name: iamName(env, args.model, "endpoint"),
                description: `Runs the ${args.model} endpoint: reads its model, writes captured traffic`,
                assumeRolePolicy: JSON.stringify(assumeRolePolicy("sagemaker.amazonaws.com")),
            },
            child,
        );
        const rolePolicy = new aws.iam.RolePolicy(
            `${name}-role-policy`,
            {
                role: this.role.id,
                policy: pulumi
                    .all([args.captureBucket, args.kmsKeyArn, args.modelDataKmsKeyArn ?? args.kmsKeyArn, args.accountId])
                    .apply(([capture, key, modelDataKey, account]) =>
                        JSON.stringify(
                            endpointRolePolicy({
                                model: args.model,
                                modelDataUrl: args.modelDataUrl,
                                captureBucket: capture,
                                kmsKeyArn: key,
                                modelDataKmsKeyArn: modelDataKey,
                                servingImage: args.servingImage,
                                accountId: account,
                                region: args.region,
                                rollbackAlarms,
                            }),
                        ),
                    ),
            },
            child,
        );

        this.errorAlarm = new aws.cloudwatch.MetricAlarm(
            `${name}-5xx`,
            {
                ...alarms.errors,
                alarmActions: [args.alarmTopicArn],
                okActions: [args.alarmTopicArn],
            },
            child,
        );
        this.latencyAlarm = new aws.cloudwatch.MetricAlarm(
            `${name}-latency`,
            {
                ...alarms.latency,
                alarmActions: [args.alarmTopicArn],
                okActions: [args.alarmTopicArn],
            },
            child,
        );

        // Only the model and config depend on other resources; the rest stays known in a preview.
        const revision = pulumi
            .all([this.role.arn, args.kmsKeyArn, captureS3Uri])
            .apply(([roleArn, kmsKeyArn, captureDestination]) => servedRevision({ ...args, roleArn, kmsKeyArn, captureDestination }));
        const spec: EndpointDeploymentArgs = {
            ...fleetSpec({ ...args, endpointName: physicalName, rollbackAlarms }),
            modelName: revision.modelName,
            model: revision.model,
            endpointConfigName: revision.endpointConfigName,
            kmsKeyId: revision.apply((r) => r.kmsKeyId),
            dataCapture: revision.dataCapture,
        };
        // SageMaker checks at model creation that the role can read the artifact, and a blue/green update that
        // its alarms exist, so the policy and the alarms come first.
        this.endpoint = new EndpointDeployment(`${name}-endpoint`, spec, {
            parent: this,
            dependsOn: [rolePolicy, this.errorAlarm, this.latencyAlarm],
        });

        this.endpointName = this.endpoint.endpointName;
        this.endpointArn = this.endpoint.endpointArn;
        this.endpointConfigName = this.endpoint.endpointConfigName;
        this.modelPackageArn = this.endpoint.modelPackageArn;
        this.captureS3Uri = captureS3Uri;
        this.registerOutputs({
            endpointName: this.endpointName,
            endpointArn: this.endpointArn,
            endpointConfigName: this.endpointConfigName,
            modelPackageArn: this.modelPackageArn,
            captureS3Uri: this.captureS3Uri,
        });
    }
}

/** What an endpoint runs: its model and endpoint config, each named after its content. */
export type ServedRevision = Pick<EndpointSpec, "modelName" | "model" | "endpointConfigName" | "kmsKeyId" | "dataCapture">;

/**
 * The model and endpoint config, as plain values. Both are named after their content, so a change gets a
 * new name and a repeated one (rolling back to a kept config) the same name; the config's name leaves out
 * the instance count, which is live state (autoscaling's, or resized in place).
 */
export function servedRevision(
    p: Pick<
        ModelEndpointArgs,
        "environment" | "model" | "endpoint" | "capturePercent" | "modelPackageArn" | "deployFrom" | "modelDataUrl" | "servingImage"
    > & {
        readonly roleArn: string;
        readonly kmsKeyArn: string;
        readonly captureDestination: string;
    },
): ServedRevision {
    const container = modelContainer(p);
    const modelName = versionedName(p.environment, [p.model], { role: p.roleArn, container, isolation: true });
    // Instances with local NVMe storage encrypt it in hardware; SageMaker refuses a key for them.
    const kmsKeyId = hasInstanceStorage(p.endpoint.instanceType) ? undefined : p.kmsKeyArn;
    const dataCapture: DataCaptureConfig = {
        EnableCapture: true,
        InitialSamplingPercentage: p.capturePercent,
        DestinationS3Uri: p.captureDestination,
        KmsKeyId: p.kmsKeyArn,
        CaptureOptions: [{ CaptureMode: "Input" }, { CaptureMode: "Output" }],
        // The algorithm answers JSON; without this header it would be captured base64-encoded.
        CaptureContentTypeHeader: { JsonContentTypes: ["application/json"] },
    };
    const endpointConfigName = versionedName(p.environment, [p.model], {
        modelName,
        variant: VARIANT_NAME,
        instanceType: p.endpoint.instanceType,
        kmsKeyId,
        dataCapture,
    });
    return {
        modelName,
        model: { ExecutionRoleArn: p.roleArn, PrimaryContainer: container, EnableNetworkIsolation: true },
        endpointConfigName,
        kmsKeyId,
        dataCapture,
    };
}

/** How the endpoint runs, known when the program is declared: fleet, scaling, deployment policy, retention, tags. */
export function fleetSpec(
    p: Pick<ModelEndpointArgs, "endpoint" | "modelPackageArn" | "region" | "retainedEndpointConfigs" | "tags"> & {
        readonly endpointName: string;
        /** Alarms a blue/green deployment rolls back on; none: updates land all at once. */
        readonly rollbackAlarms: readonly string[];
    },
): Omit<EndpointSpec, keyof ServedRevision> {
    const scaling = p.endpoint.autoscaling;
    return {
        region: p.region,
        endpointName: p.endpointName,
        variantName: VARIANT_NAME,
        modelPackageArn: p.modelPackageArn,
        instanceType: p.endpoint.instanceType,
        instanceCount: p.endpoint.instanceCount,
        deploymentConfig:
            p.rollbackAlarms.length > 0 ? canaryDeployment(p.rollbackAlarms, scaling?.minCapacity ?? p.endpoint.instanceCount) : undefined,
        scaling: scaling && {
            minCapacity: scaling.minCapacity,
            maxCapacity: scaling.maxCapacity,
            targetInvocationsPerInstance: scaling.targetInvocationsPerInstance,
            scaleInCooldownSeconds: scaling.scaleInCooldownSeconds,
            scaleOutCooldownSeconds: scaling.scaleOutCooldownSeconds,
        },
        retainedEndpointConfigs: p.retainedEndpointConfigs ?? DEFAULT_RETAINED_ENDPOINT_CONFIGS,
        tags: p.tags ?? {},
    };
}

/** The serving container: the package by ARN, or its image and artifact with the package recorded. */
export function modelContainer(
    args: Pick<ModelEndpointArgs, "deployFrom" | "modelPackageArn" | "servingImage" | "modelDataUrl">,
): ContainerDefinition {
    return (args.deployFrom ?? "package") === "package"
        ? { ModelPackageName: args.modelPackageArn }
        : {
              Image: args.servingImage,
              ModelDataUrl: args.modelDataUrl,
              Environment: { [SERVED_PACKAGE_ENVIRONMENT_VARIABLE]: args.modelPackageArn },
          };
}

/** The alarms that guard an endpoint and roll a prod deployment back. */
export function endpointAlarms(endpoint: string, latencyP99Ms: number) {
    const dimensions = { EndpointName: endpoint, VariantName: VARIANT_NAME };
    return {
        errors: {
            name: `${endpoint}-5xx`,
            alarmDescription: `${endpoint} returned server errors (5XX) in 2 of the last 3 minutes`,
            namespace: "AWS/SageMaker",
            metricName: "Invocation5XXErrors",
            dimensions,
            statistic: "Sum",
            period: 60,
            evaluationPeriods: 3,
            datapointsToAlarm: 2,
            threshold: 1,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
            treatMissingData: "notBreaching",
        },
        latency: {
            name: `${endpoint}-latency-p99`,
            alarmDescription: `${endpoint} p99 model latency above ${latencyP99Ms} ms for 3 minutes`,
            namespace: "AWS/SageMaker",
            metricName: "ModelLatency",
            dimensions,
            extendedStatistic: "p99",
            period: 60,
            evaluationPeriods: 3,
            // ModelLatency is reported in microseconds.
            threshold: latencyP99Ms * 1000,
            comparisonOperator: "GreaterThanThreshold",
            treatMissingData: "notBreaching",
        },
    };
}

/**
 * Blue/green with a one-instance canary (never more than half the smallest fleet, as SageMaker requires), a
 * ten-minute bake, and rollback when any of the alarms fires during the update.
 */
export function canaryDeployment(alarmNames: readonly string[], smallestFleet: number): DeploymentConfig {
    const canary = smallestFleet >= 2 ? { Type: "INSTANCE_COUNT" as const, Value: 1 } : { Type: "CAPACITY_PERCENT" as const, Value: 50 };
    return {
        BlueGreenUpdatePolicy: {
            TrafficRoutingConfiguration: { Type: "CANARY", CanarySize: canary, WaitIntervalInSeconds: 600 },
            TerminationWaitInSeconds: 600,
            MaximumExecutionTimeoutInSeconds: 3600,
        },
        AutoRollbackConfiguration: { Alarms: alarmNames.map((AlarmName) => ({ AlarmName })) },
    };
}

/**
 * What the endpoint's execution role may do: read its one model artifact, pull its one image, write its
 * capture prefix, use the keys involved, log, and (blue/green) read the alarms it rolls back on, which the
 * SageMaker developer guide asks of the execution role ("Auto-Rollback Configuration and Monitoring").
 */
export function endpointRolePolicy(p: {
    model: string;
    modelDataUrl: string;
    servingImage: string;
    captureBucket: string;
    kmsKeyArn: string;
    modelDataKmsKeyArn: string;
    accountId: string;
    region: string;
    /** Alarms a blue/green deployment watches; SageMaker reads them with the endpoint's role. */
    rollbackAlarms?: readonly string[];
}) {
    const artifact = parseS3Uri(p.modelDataUrl);
    const alarms = p.rollbackAlarms ?? [];
    return policyDocument(
        s3ReadStatements([{ bucketArn: s3BucketArn(artifact.bucket), prefixes: [artifact.key] }], "ModelArtifact"),
        s3WriteStatements([{ bucketArn: s3BucketArn(p.captureBucket), prefixes: [prefixes.captureModel(p.model)] }], "DataCapture"),
        kmsUseStatement(p.kmsKeyArn, { grants: true }),
        p.modelDataKmsKeyArn === p.kmsKeyArn ? [] : kmsUseStatement(p.modelDataKmsKeyArn, { sid: "ModelArtifactKey" }),
        ecrPullStatements(ecrRepositoryArnOfImage(p.servingImage), "ServingImage"),
        sagemakerLogsStatement(p.region, p.accountId),
        alarms.length === 0
            ? []
            : {
                  Sid: "RollbackAlarms",
                  Effect: "Allow",
                  Action: ["cloudwatch:DescribeAlarms"],
                  Resource: alarms.map((a) => `arn:aws:cloudwatch:${p.region}:${p.accountId}:alarm:${a}`),
              },
    );
}
