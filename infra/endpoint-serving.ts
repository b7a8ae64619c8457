import type { ContainerDefinition, DataCaptureConfig, DeploymentConfig } from "@aws-sdk/client-sagemaker";
import { EndpointSpec } from "./endpoint-update";
import {
    ecrPullStatements,
    kmsUseStatement,
    policyDocument,
    s3BucketArn,
    s3ReadStatements,
    s3WriteStatements,
    sagemakerLogsStatement,
} from "./iam";
import { hasInstanceStorage } from "./instance-storage";
import { Environment, prefixes, versionedFamily, versionedName } from "./naming";
import { ecrRepositoryArnOfImage, SERVED_PACKAGE_ENVIRONMENT_VARIABLE } from "./registry";
import { parseS3Uri } from "./s3-uri";

/**
 * What a real-time endpoint serves and how, as plain values: its model and endpoint config (named after their
 * content), its fleet and deployment policy, its alarms and its execution role's permissions. ModelEndpoint
 * lifts these once; their tests need no mocks.
 */

/** The variant name; blue/green updates and retained variant properties require it to stay the same across endpoint configs. */
export const VARIANT_NAME = "AllTraffic";

/** Endpoint configs kept for rolling back, the serving one included, when the stack does not say. */
export const DEFAULT_RETAINED_ENDPOINT_CONFIGS = 3;

/** Target-tracking autoscaling of the variant on invocations per instance. */
export interface EndpointAutoscaling {
    readonly minCapacity: number;
    readonly maxCapacity: number;
    /** Target invocations per instance per minute. */
    readonly targetInvocationsPerInstance: number;
    readonly scaleInCooldownSeconds: number;
    readonly scaleOutCooldownSeconds: number;
}

/** The endpoint's fleet and its latency alarm. */
export interface EndpointFleet {
    readonly instanceType: string;
    /** Instances at creation; autoscaling (when set) owns the live count afterwards. */
    readonly instanceCount: number;
    /** None: the fleet keeps instanceCount. */
    readonly autoscaling?: EndpointAutoscaling;
    /** p99 model latency above which the latency alarm fires, in milliseconds. */
    readonly latencyP99Ms: number;
}

/** What an endpoint serves, and the names it serves under. */
export interface ServedRevisionInput {
    /** Environment name; part of every physical name. */
    readonly environment: Environment;
    /** Model name; names the endpoint and scopes the capture prefix. */
    readonly model: string;
    /** Instance type/count, autoscaling bounds, latency alarm threshold. */
    readonly endpoint: EndpointFleet;
    /** Percent of requests captured, 1-100. */
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
}

/** Every model an endpoint of this model may serve is named `<family>-<hash>`: the ARN pattern of the family. */
export function servedModelFamily(environment: Environment, model: string): string {
    return versionedFamily(versionedName(environment, [model], {}))!;
}

/** What an endpoint runs: its model and endpoint config, each named after its content. */
export type ServedRevision = Pick<EndpointSpec, "modelName" | "model" | "endpointConfigName" | "kmsKeyId" | "dataCapture">;

/**
 * The model and endpoint config, as plain values. Both are named after their content, so a change gets a
 * new name and a repeated one (rolling back to a kept config) the same name; the config's name leaves out
 * the instance count, which is live state (autoscaling's, or resized in place).
 */
export function servedRevision(
    p: ServedRevisionInput & {
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
export function fleetSpec(p: {
    readonly endpoint: EndpointFleet;
    readonly modelPackageArn: string;
    readonly region: string;
    /** Defaults to DEFAULT_RETAINED_ENDPOINT_CONFIGS. */
    readonly retainedEndpointConfigs?: number;
    /** Defaults to none. */
    readonly tags?: Record<string, string>;
    readonly endpointName: string;
    /** Alarms a blue/green deployment rolls back on; none: updates land all at once. */
    readonly rollbackAlarms: readonly string[];
}): Omit<EndpointSpec, keyof ServedRevision> {
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
    args: Pick<ServedRevisionInput, "deployFrom" | "modelPackageArn" | "servingImage" | "modelDataUrl">,
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
