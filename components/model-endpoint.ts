import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { EndpointConfig, Environment } from "../infra/config";
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
import { endpointName, iamName, prefixes, versionedName } from "../infra/naming";
import { hasInstanceStorage } from "../infra/instance-storage";
import { ecrRepositoryArnOfImage, SERVED_PACKAGE_ENVIRONMENT_VARIABLE } from "../infra/registry";
import { parseS3Uri } from "../infra/s3-uri";

/** The variant name; blue/green updates require it to stay the same across endpoint configs. */
export const VARIANT_NAME = "AllTraffic";

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
     * Blue/green canary deployment with automatic rollback on this endpoint's alarms. Defaults to true in
     * prod and false in staging (where every update should land at once).
     */
    readonly blueGreen?: boolean;
}

/**
 * One model's real-time endpoint: a model built from a registered package (by ARN, or from its image and
 * artifact while it awaits approval) with network isolation, an endpoint configuration with KMS and data capture, the endpoint under a stable name, target-tracking
 * autoscaling, and alarms on server errors and p99 latency. In prod, updates go blue/green with a canary
 * and roll back automatically when those alarms fire.
 */
export class ModelEndpoint extends pulumi.ComponentResource {
    public readonly role: aws.iam.Role;
    public readonly model: aws.sagemaker.Model;
    public readonly endpointConfig: aws.sagemaker.EndpointConfiguration;
    public readonly endpoint: aws.sagemaker.Endpoint;
    public readonly errorAlarm: aws.cloudwatch.MetricAlarm;
    public readonly latencyAlarm: aws.cloudwatch.MetricAlarm;
    public readonly endpointName: pulumi.Output<string>;
    public readonly endpointArn: pulumi.Output<string>;
    public readonly modelPackageArn: pulumi.Output<string>;
    /** Where SageMaker writes captured traffic: `<uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl`. */
    public readonly captureS3Uri: pulumi.Output<string>;

    constructor(name: string, args: ModelEndpointArgs, opts?: pulumi.ComponentResourceOptions) {
        super("vision-mlops:serving:ModelEndpoint", name, {}, opts);
        const child = { parent: this };
        const env = args.environment;
        const physicalName = endpointName(env, args.model);
        const captureS3Uri = pulumi.interpolate`s3://${args.captureBucket}/${prefixes.captureModel(args.model)}`;

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
                            }),
                        ),
                    ),
            },
            child,
        );

        const container = modelContainer(args);
        // SageMaker checks at creation that the role can read the model artifact, so the policy comes first.
        const afterPolicy = { parent: this, dependsOn: [rolePolicy] };
        this.model = new aws.sagemaker.Model(
            `${name}-model`,
            {
                name: this.role.arn.apply((role) => versionedName(env, [args.model], { role, container, isolation: true })),
                executionRoleArn: this.role.arn,
                enableNetworkIsolation: true,
                primaryContainer: container,
            },
            afterPolicy,
        );

        // Every change replaces an endpoint config; its name follows its content so the new one never collides.
        const configContent = pulumi.all([this.model.name, args.kmsKeyArn, captureS3Uri]).apply(([modelName, kmsKeyArn, destination]) => ({
            // Instances with local NVMe storage encrypt it in hardware; SageMaker refuses a key for them.
            kmsKeyArn: hasInstanceStorage(args.endpoint.instanceType) ? undefined : kmsKeyArn,
            productionVariants: [
                {
                    variantName: VARIANT_NAME,
                    modelName,
                    instanceType: args.endpoint.instanceType,
                    initialInstanceCount: args.endpoint.instanceCount,
                    initialVariantWeight: 1,
                },
            ],
            dataCaptureConfig: {
                enableCapture: true,
                initialSamplingPercentage: args.capturePercent,
                destinationS3Uri: destination,
                kmsKeyId: kmsKeyArn,
                captureOptions: [{ captureMode: "Input" }, { captureMode: "Output" }],
                // The algorithm answers JSON; without this header it would be captured base64-encoded.
                captureContentTypeHeader: { jsonContentTypes: ["application/json"] },
            },
        }));
        this.endpointConfig = new aws.sagemaker.EndpointConfiguration(
            `${name}-config`,
            {
                name: configContent.apply((c) => versionedName(env, [args.model], c)),
                kmsKeyArn: configContent.kmsKeyArn,
                productionVariants: configContent.productionVariants,
                dataCaptureConfig: configContent.dataCaptureConfig,
            },
            afterPolicy,
        );

        const alarms = endpointAlarms(physicalName, args.endpoint.latencyP99Ms);
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

        const blueGreen = args.blueGreen ?? env === "prod";
        this.endpoint = new aws.sagemaker.Endpoint(
            `${name}-endpoint`,
            {
                name: physicalName,
                endpointConfigName: this.endpointConfig.name,
                deploymentConfig: blueGreen
                    ? canaryDeployment([alarms.errors.name, alarms.latency.name], args.endpoint.instanceCount)
                    : undefined,
            },
            { parent: this, dependsOn: [this.errorAlarm, this.latencyAlarm] },
        );

        const scaling = args.endpoint.autoscaling;
        if (scaling) {
            const target = new aws.appautoscaling.Target(
                `${name}-scaling-target`,
                {
                    serviceNamespace: "sagemaker",
                    resourceId: pulumi.interpolate`endpoint/${this.endpoint.name}/variant/${VARIANT_NAME}`,
                    scalableDimension: "sagemaker:variant:DesiredInstanceCount",
                    minCapacity: scaling.minCapacity,
                    maxCapacity: scaling.maxCapacity,
                },
                child,
            );
            new aws.appautoscaling.Policy(
                `${name}-scaling-policy`,
                {
                    policyType: "TargetTrackingScaling",
                    serviceNamespace: target.serviceNamespace,
                    resourceId: target.resourceId,
                    scalableDimension: target.scalableDimension,
                    targetTrackingScalingPolicyConfiguration: {
                        predefinedMetricSpecification: { predefinedMetricType: "SageMakerVariantInvocationsPerInstance" },
                        targetValue: scaling.targetInvocationsPerInstance,
                        scaleInCooldown: scaling.scaleInCooldownSeconds,
                        scaleOutCooldown: scaling.scaleOutCooldownSeconds,
                    },
                },
                child,
            );
        }

        this.endpointName = this.endpoint.name;
        this.endpointArn = this.endpoint.arn;
        this.modelPackageArn = pulumi.output(args.modelPackageArn);
        this.captureS3Uri = captureS3Uri;
        this.registerOutputs({
            endpointName: this.endpointName,
            endpointArn: this.endpointArn,
            modelPackageArn: this.modelPackageArn,
            captureS3Uri: this.captureS3Uri,
        });
    }
}

/** The serving container: the package by ARN, or its image and artifact with the package recorded. */
export function modelContainer(
    args: Pick<ModelEndpointArgs, "deployFrom" | "modelPackageArn" | "servingImage" | "modelDataUrl">,
): aws.types.input.sagemaker.ModelPrimaryContainer {
    return (args.deployFrom ?? "package") === "package"
        ? { modelPackageName: args.modelPackageArn }
        : {
              image: args.servingImage,
              modelDataUrl: args.modelDataUrl,
              environment: { [SERVED_PACKAGE_ENVIRONMENT_VARIABLE]: args.modelPackageArn },
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
 * Blue/green with a one-instance canary (never more than half the fleet, as SageMaker requires), a
 * ten-minute bake, and rollback when any of the alarms fires during the update.
 */
export function canaryDeployment(alarmNames: readonly string[], instanceCount: number): aws.types.input.sagemaker.EndpointDeploymentConfig {
    const canary = instanceCount >= 2 ? { type: "INSTANCE_COUNT", value: 1 } : { type: "CAPACITY_PERCENT", value: 50 };
    return {
        blueGreenUpdatePolicy: {
            trafficRoutingConfiguration: { type: "CANARY", canarySize: canary, waitIntervalInSeconds: 600 },
            terminationWaitInSeconds: 600,
            maximumExecutionTimeoutInSeconds: 3600,
        },
        autoRollbackConfiguration: { alarms: alarmNames.map((alarmName) => ({ alarmName })) },
    };
}

/**
 * What the endpoint's execution role may do: read its one model artifact, pull its one image, write its
 * capture prefix, use the keys involved, and log.
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
}) {
    const artifact = parseS3Uri(p.modelDataUrl);
    return policyDocument(
        s3ReadStatements([{ bucketArn: s3BucketArn(artifact.bucket), prefixes: [artifact.key] }], "ModelArtifact"),
        s3WriteStatements([{ bucketArn: s3BucketArn(p.captureBucket), prefixes: [prefixes.captureModel(p.model)] }], "DataCapture"),
        kmsUseStatement(p.kmsKeyArn, { grants: true }),
        p.modelDataKmsKeyArn === p.kmsKeyArn ? [] : kmsUseStatement(p.modelDataKmsKeyArn, { sid: "ModelArtifactKey" }),
        ecrPullStatements(ecrRepositoryArnOfImage(p.servingImage), "ServingImage"),
        sagemakerLogsStatement(p.region, p.accountId),
    );
}
