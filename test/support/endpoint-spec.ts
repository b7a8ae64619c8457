import type { EndpointSpec } from "../../infra/endpoint-update";

/** Endpoint specs as the ModelEndpoint component builds them, for the deployer's tests. */

export const ENDPOINT = "vision-mlops-prod-traffic-signs";
export const pkg = (v: number) => `arn:aws:sagemaker:us-east-1:123456789012:model-package/vision-mlops-staging-traffic-signs/${v}`;
/** A versioned name of the endpoint's family (`versionedName` shape: prefix, hyphen, 8 hex digits). */
export const versioned = (n: number) => `${ENDPOINT}-${n.toString(16).padStart(8, "0")}`;
export const ALARMS = [`${ENDPOINT}-5xx`, `${ENDPOINT}-latency-p99`];

/** The prod traffic-signs endpoint: package v`version`, ml.m5.xlarge, 2 instances, autoscaling 2..6, blue/green. */
export function prodSpec(version: number, options: Partial<EndpointSpec> & { samplingPercent?: number } = {}): EndpointSpec {
    const { samplingPercent, ...overrides } = options;
    const instanceType = overrides.instanceType ?? "ml.m5.xlarge";
    const sampling = samplingPercent ?? 80;
    return {
        region: "us-east-1",
        endpointName: ENDPOINT,
        variantName: "AllTraffic",
        modelPackageArn: pkg(version),
        modelName: versioned(0x1000 + version),
        model: {
            ExecutionRoleArn: "arn:aws:iam::123456789012:role/vision-mlops-prod-traffic-signs-endpoint",
            PrimaryContainer: { ModelPackageName: pkg(version) },
            EnableNetworkIsolation: true,
        },
        // Named after what the config serves, as the component names it.
        endpointConfigName: versioned(0x2000 + version * 16 + (instanceType === "ml.m5.xlarge" ? 0 : 1) + (sampling === 80 ? 0 : 2)),
        instanceType,
        instanceCount: 2,
        kmsKeyId: "arn:aws:kms:us-east-1:123456789012:key/prod",
        dataCapture: {
            EnableCapture: true,
            InitialSamplingPercentage: sampling,
            DestinationS3Uri: "s3://vision-mlops-prod-capture-123456789012-us-east-1/traffic-signs/capture/",
            KmsKeyId: "arn:aws:kms:us-east-1:123456789012:key/prod",
            CaptureOptions: [{ CaptureMode: "Input" }, { CaptureMode: "Output" }],
            CaptureContentTypeHeader: { JsonContentTypes: ["application/json"] },
        },
        deploymentConfig: {
            BlueGreenUpdatePolicy: {
                TrafficRoutingConfiguration: {
                    Type: "CANARY",
                    CanarySize: { Type: "INSTANCE_COUNT", Value: 1 },
                    WaitIntervalInSeconds: 600,
                },
                TerminationWaitInSeconds: 600,
                MaximumExecutionTimeoutInSeconds: 3600,
            },
            AutoRollbackConfiguration: { Alarms: ALARMS.map((AlarmName) => ({ AlarmName })) },
        },
        scaling: {
            minCapacity: 2,
            maxCapacity: 6,
            targetInvocationsPerInstance: 200,
            scaleInCooldownSeconds: 300,
            scaleOutCooldownSeconds: 60,
        },
        retainedEndpointConfigs: 3,
        tags: { environment: "prod", model: "traffic-signs" },
        ...overrides,
    };
}
