import * as aws from "@pulumi/aws";
import type { Unwrap } from "@pulumi/pulumi";
import { ReportViolation, ResourceValidation, ResourceValidationArgs, validateResourceOfType } from "@pulumi/policy";
import type { EndpointSpec } from "../../infra/endpoint-update";
import { describe } from "../support";

/**
 * Endpoints come in two shapes: the AWS provider's `aws.sagemaker.EndpointConfiguration` (with
 * `aws.appautoscaling.Target` for scaling), and the platform's `EndpointDeployment`, a Pulumi dynamic
 * resource (`pulumi-nodejs:dynamic:Resource`) whose inputs are an `EndpointSpec` (infra/endpoint-update.ts)
 * and which creates the model, the endpoint configs and the scaling registration itself. The endpoint rules
 * read both through one view.
 */
export interface EndpointView {
    /** How messages name the resource. */
    readonly label: string;
    /** The key of the instance volumes, and the property that sets it. */
    readonly kmsKeyId?: string;
    readonly kmsField: string;
    readonly variants: readonly {
        readonly name: string;
        readonly instanceType?: string;
        readonly instanceCount?: number;
        readonly serverless: boolean;
        readonly acceleratorType?: string;
    }[];
    /** The property that sets a variant's instance count. */
    readonly countField: string;
    readonly capture?: {
        readonly enabled: boolean;
        readonly percent: number;
        readonly kmsKeyId?: string;
        readonly destination?: string;
        /** The property that sets the capture's key, for messages. */
        readonly kmsField: string;
    };
    /** Autoscaling bounds, where the resource declares them itself (EndpointDeployment). */
    readonly scaling?: { readonly minCapacity: number; readonly maxCapacity: number };
    /** Whether the model runs network-isolated, where the resource creates the model (EndpointDeployment). */
    readonly modelIsolation?: unknown;
}

/** The type token every Pulumi dynamic resource of a Node.js program has. */
export const DYNAMIC_RESOURCE = "pulumi-nodejs:dynamic:Resource";
const SPEC_KEYS: readonly (keyof EndpointSpec)[] = [
    "endpointName",
    "endpointConfigName",
    "variantName",
    "model",
    "instanceType",
    "dataCapture",
];

/** Whether a dynamic resource's properties are an EndpointSpec (read by key, so no unknown value is touched). */
export function isEndpointDeployment(type: string, props: Record<string, unknown>): boolean {
    if (type !== DYNAMIC_RESOURCE) return false;
    const keys = Object.keys(props);
    return SPEC_KEYS.every((k) => keys.includes(k));
}

/**
 * Each field is read when a rule asks for it: in a first preview the model, config name, key and capture
 * depend on resources not created yet and are unknown, while the fleet is known, so the fleet rules still run.
 */
function deploymentView(label: string, spec: EndpointSpec): EndpointView {
    return {
        label,
        kmsField: "kmsKeyId",
        countField: "instanceCount",
        get kmsKeyId() {
            return spec.kmsKeyId;
        },
        get variants() {
            return [{ name: spec.variantName, instanceType: spec.instanceType, instanceCount: spec.instanceCount, serverless: false }];
        },
        get capture() {
            const capture = spec.dataCapture;
            return (
                capture && {
                    enabled: capture.EnableCapture !== false,
                    percent: Number(capture.InitialSamplingPercentage),
                    kmsKeyId: capture.KmsKeyId,
                    destination: capture.DestinationS3Uri,
                    kmsField: "dataCapture.KmsKeyId",
                }
            );
        },
        get scaling() {
            return spec.scaling && { minCapacity: spec.scaling.minCapacity, maxCapacity: spec.scaling.maxCapacity };
        },
        get modelIsolation() {
            return spec.model.EnableNetworkIsolation;
        },
    };
}

/** An endpoint configuration's properties, as plain values (the engine has resolved every input it can). */
type ConfigurationProps = Unwrap<aws.sagemaker.EndpointConfigurationArgs>;

function configurationView(label: string, c: ConfigurationProps): EndpointView {
    return {
        label,
        kmsField: "kmsKeyArn",
        countField: "initialInstanceCount",
        get kmsKeyId() {
            return c.kmsKeyArn;
        },
        get variants() {
            return (c.productionVariants ?? []).map((v) => ({
                name: v.variantName ?? "(unnamed)",
                instanceType: v.instanceType,
                instanceCount: v.initialInstanceCount,
                serverless: Boolean(v.serverlessConfig),
                acceleratorType: v.acceleratorType,
            }));
        },
        get capture() {
            const capture = c.dataCaptureConfig;
            return (
                capture && {
                    enabled: capture.enableCapture !== false,
                    percent: capture.initialSamplingPercentage,
                    kmsKeyId: capture.kmsKeyId,
                    destination: capture.destinationS3Uri,
                    kmsField: "dataCaptureConfig.kmsKeyId",
                }
            );
        },
    };
}

/** The endpoint a resource declares, in either shape; undefined for anything else. */
export function endpointViewOf(resource: {
    readonly type: string;
    readonly name: string;
    readonly props: Record<string, unknown>;
}): EndpointView | undefined {
    const label = describe(resource.type, resource.name);
    if (resource.type === (aws.sagemaker.EndpointConfiguration as unknown as { __pulumiType: string }).__pulumiType)
        return configurationView(label, resource.props as unknown as ConfigurationProps);
    if (isEndpointDeployment(resource.type, resource.props))
        return deploymentView(`EndpointDeployment "${resource.name}"`, resource.props as unknown as EndpointSpec);
    return undefined;
}

/** One validation per endpoint shape, each running `check` on the endpoint's view. */
export function endpointValidations(
    check: (endpoint: EndpointView, args: ResourceValidationArgs, report: ReportViolation) => void,
): ResourceValidation[] {
    const run = (args: ResourceValidationArgs, report: ReportViolation) => {
        const view = endpointViewOf(args);
        if (view) check(view, args, report);
        else args.notApplicable("not an endpoint");
    };
    const deployments: ResourceValidation = (args, report) => run(args, report);
    // The engine skips a validation for other types by this token, as it does for validateResourceOfType's.
    (deployments as { __pulumiType?: string }).__pulumiType = DYNAMIC_RESOURCE;
    return [validateResourceOfType(aws.sagemaker.EndpointConfiguration, (_config, args, report) => run(args, report)), deployments];
}
