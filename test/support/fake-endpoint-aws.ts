import type { AlarmHistoryItem } from "@aws-sdk/client-cloudwatch";
import type { CreateEndpointConfigInput, CreateModelInput, DeploymentConfig } from "@aws-sdk/client-sagemaker";
import type { AutoScalingCalls, CloudWatchCalls, DeploymentTiming, EndpointClients, SageMakerCalls } from "../../infra/endpoint-deployer";

/**
 * A stand-in for the parts of SageMaker, Application Auto Scaling and CloudWatch an endpoint update touches,
 * with the behaviours AWS documents and moto does not have: UpdateEndpoint refuses an instance-type change
 * on a variant registered for autoscaling ("Update endpoints that use auto scaling"); RetainAllVariantProperties
 * keeps the live instance count and capture unless excluded (UpdateEndpoint API reference); a deployment
 * takes a few polls; a blue/green deployment whose alarm fires rolls back to the old config and returns to
 * InService, with the ALARM transition in the alarm's history (and, as terraform-provider-aws #48997 reports,
 * no FailureReason); RegisterScalableTarget moves the live count into its bounds; deregistering a target
 * deletes its policies. Every call is recorded, in order.
 */

interface Endpoint {
    name: string;
    configName: string;
    status: string;
    desiredCount: number;
    samplingPercent: number;
    failureReason?: string;
    deploymentConfig?: DeploymentConfig;
    /** The deployment under way: what the endpoint ends on once `pollsLeft` DescribeEndpoint calls have passed. */
    pending?: { pollsLeft: number; configName: string; desiredCount: number; samplingPercent: number; rollBack?: RollBack; fail?: string };
}

/** A deployment whose alarm fires: SageMaker rolls it back. */
export interface RollBack {
    readonly alarm: string;
    readonly reason: string;
}

const error = (name: string, message: string) => Object.assign(new Error(message), { name });

export class FakeEndpointAws {
    readonly calls: string[] = [];
    /** Requests by call name, in order. */
    readonly requests: Record<string, unknown[]> = {};
    readonly models = new Map<string, CreateModelInput>();
    readonly configs = new Map<string, { input: CreateEndpointConfigInput; created: Date }>();
    readonly endpoints = new Map<string, Endpoint>();
    readonly targets = new Map<string, { min: number; max: number }>();
    readonly policies = new Map<string, Map<string, unknown>>();
    readonly alarms = new Map<string, { state: string; reason?: string; updated: Date; history: AlarmHistoryItem[] }>();
    /** The next UpdateEndpoint rolls back because this alarm fires. */
    rollBackNextUpdate?: RollBack;
    /** The next deployment (create, update, resize) ends Failed with this reason. */
    failNextDeployment?: string;
    /** DescribeEndpoint calls a deployment takes. */
    pollsPerDeployment = 2;
    private clock = new Date("2026-03-01T10:00:00Z").getTime();

    now(): Date {
        return new Date(this.clock);
    }

    /** A timing that advances this clock instead of sleeping. */
    timing(): DeploymentTiming {
        return {
            sleep: async (ms) => {
                this.clock += ms;
            },
            now: () => this.now(),
            pollSeconds: 30,
        };
    }

    clients(): EndpointClients {
        return { sagemaker: this.sagemaker, autoscaling: this.autoscaling, cloudwatch: this.cloudwatch };
    }

    /** Application Auto Scaling at work: the fleet grew (or shrank) to `count`, within the registered bounds. */
    autoscaleTo(endpointName: string, variant: string, count: number): void {
        const t = this.targets.get(`endpoint/${endpointName}/variant/${variant}`);
        if (!t || count < t.min || count > t.max) throw new Error(`autoscaling cannot take ${endpointName} to ${count}`);
        this.endpoint(endpointName).desiredCount = count;
    }

    endpoint(name: string): Endpoint {
        const e = this.endpoints.get(name);
        if (!e) throw error("ValidationException", `Could not find endpoint "${name}".`);
        return e;
    }

    /** The instance type of the config an endpoint serves. */
    servingInstanceType(name: string): string | undefined {
        return this.configs.get(this.endpoint(name).configName)?.input.ProductionVariants?.[0]?.InstanceType;
    }

    defineAlarm(name: string): void {
        this.alarms.set(name, { state: "OK", updated: this.now(), history: [] });
    }

    private call(name: string, input: unknown): void {
        this.calls.push(name);
        (this.requests[name] ??= []).push(JSON.parse(JSON.stringify(input ?? {})));
    }

    private setAlarm(name: string, state: string, reason: string): void {
        const a = this.alarms.get(name) ?? { state: "OK", updated: this.now(), history: [] };
        a.history.push({
            AlarmName: name,
            Timestamp: this.now(),
            HistoryItemType: "StateUpdate",
            HistoryData: JSON.stringify({
                version: "1.0",
                oldState: { stateValue: a.state },
                newState: { stateValue: state, stateReason: reason },
            }),
            HistorySummary: `Alarm updated from ${a.state} to ${state}`,
        });
        Object.assign(a, { state, reason, updated: this.now() });
        this.alarms.set(name, a);
    }

    private configVariant(configName: string) {
        const c = this.configs.get(configName);
        if (!c) throw error("ValidationException", `Could not find endpoint configuration "${configName}".`);
        return { variant: c.input.ProductionVariants![0], capture: c.input.DataCaptureConfig };
    }

    private takeFailure(): string | undefined {
        const reason = this.failNextDeployment;
        this.failNextDeployment = undefined;
        return reason;
    }

    private clampToTarget(e: Endpoint): void {
        const t = this.targets.get(`endpoint/${e.name}/variant/AllTraffic`);
        if (t && e.status === "InService") e.desiredCount = Math.min(t.max, Math.max(t.min, e.desiredCount));
    }

    private describedEndpoint(e: Endpoint) {
        return {
            EndpointName: e.name,
            EndpointArn: `arn:aws:sagemaker:us-east-1:123456789012:endpoint/${e.name}`,
            EndpointConfigName: e.configName,
            EndpointStatus: e.status as never,
            FailureReason: e.failureReason,
            ProductionVariants: [{ VariantName: "AllTraffic", DesiredInstanceCount: e.desiredCount, CurrentInstanceCount: e.desiredCount }],
            DataCaptureConfig: {
                EnableCapture: true,
                CaptureStatus: "Started" as const,
                CurrentSamplingPercentage: e.samplingPercent,
                DestinationS3Uri: "s3://capture/",
                KmsKeyId: undefined,
            },
            LastDeploymentConfig: e.deploymentConfig,
            CreationTime: this.now(),
            LastModifiedTime: this.now(),
        };
    }

    readonly sagemaker: SageMakerCalls = {
        createModel: async (input) => {
            this.call("CreateModel", input);
            if (this.models.has(input.ModelName!))
                throw error("ValidationException", `Cannot create already existing model "${input.ModelName}".`);
            this.models.set(input.ModelName!, input);
            return { ModelArn: `arn:aws:sagemaker:us-east-1:123456789012:model/${input.ModelName}`, $metadata: {} };
        },
        describeModel: async (input) => {
            this.call("DescribeModel", input);
            const m = this.models.get(input.ModelName!);
            if (!m) throw error("ValidationException", `Could not find model "${input.ModelName}".`);
            return {
                ...m,
                ModelArn: `arn:aws:sagemaker:us-east-1:123456789012:model/${input.ModelName}`,
                CreationTime: this.now(),
            } as never;
        },
        deleteModel: async (input) => {
            this.call("DeleteModel", input);
            if (!this.models.delete(input.ModelName!)) throw error("ValidationException", `Could not find model "${input.ModelName}".`);
            return {};
        },
        createEndpointConfig: async (input) => {
            this.call("CreateEndpointConfig", input);
            if (this.configs.has(input.EndpointConfigName!))
                throw error("ValidationException", `Cannot create already existing endpoint configuration "${input.EndpointConfigName}".`);
            for (const v of input.ProductionVariants ?? [])
                if (!this.models.has(v.ModelName!)) throw error("ValidationException", `Could not find model "${v.ModelName}".`);
            this.clock += 1000;
            this.configs.set(input.EndpointConfigName!, { input, created: this.now() });
            return { EndpointConfigArn: `arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/${input.EndpointConfigName}` };
        },
        describeEndpointConfig: async (input) => {
            this.call("DescribeEndpointConfig", input);
            const c = this.configs.get(input.EndpointConfigName!);
            if (!c) throw error("ValidationException", `Could not find endpoint configuration "${input.EndpointConfigName}".`);
            return { ...c.input, CreationTime: c.created } as never;
        },
        deleteEndpointConfig: async (input) => {
            this.call("DeleteEndpointConfig", input);
            if (!this.configs.delete(input.EndpointConfigName!))
                throw error("ValidationException", `Could not find endpoint configuration "${input.EndpointConfigName}".`);
            return {};
        },
        listEndpointConfigs: async (input) => {
            this.call("ListEndpointConfigs", input);
            const all = [...this.configs.entries()]
                .filter(([n]) => !input.NameContains || n.includes(input.NameContains))
                .sort((a, b) => b[1].created.getTime() - a[1].created.getTime());
            return {
                EndpointConfigs: all.map(([n, c]) => ({ EndpointConfigName: n, EndpointConfigArn: `arn:${n}`, CreationTime: c.created })),
            };
        },
        createEndpoint: async (input) => {
            this.call("CreateEndpoint", input);
            if (this.endpoints.has(input.EndpointName!))
                throw error("ValidationException", `Cannot create already existing endpoint "${input.EndpointName}".`);
            const { variant, capture } = this.configVariant(input.EndpointConfigName!);
            this.endpoints.set(input.EndpointName!, {
                name: input.EndpointName!,
                configName: input.EndpointConfigName!,
                status: "Creating",
                desiredCount: variant.InitialInstanceCount!,
                samplingPercent: capture?.InitialSamplingPercentage ?? 0,
                deploymentConfig: input.DeploymentConfig,
                pending: {
                    pollsLeft: this.pollsPerDeployment,
                    configName: input.EndpointConfigName!,
                    desiredCount: variant.InitialInstanceCount!,
                    samplingPercent: capture?.InitialSamplingPercentage ?? 0,
                    fail: this.takeFailure(),
                },
            });
            return { EndpointArn: `arn:aws:sagemaker:us-east-1:123456789012:endpoint/${input.EndpointName}` };
        },
        describeEndpoint: async (input) => {
            this.call("DescribeEndpoint", input);
            const e = this.endpoint(input.EndpointName!);
            if (e.pending && --e.pending.pollsLeft < 0) {
                const p = e.pending;
                e.pending = undefined;
                if (p.fail) {
                    // A new endpoint ends Failed; one in service stays on its old config with the reason (#39099).
                    e.failureReason = p.fail;
                    e.status = e.status === "Creating" ? "Failed" : "InService";
                    return this.describedEndpoint(e);
                }
                if (p.rollBack) {
                    // The alarm fired during the bake; traffic went back to the old fleet, which never stopped serving.
                    this.setAlarm(p.rollBack.alarm, "ALARM", p.rollBack.reason);
                    this.clock += 60_000;
                    this.setAlarm(p.rollBack.alarm, "OK", "Threshold Crossed: no datapoints were breaching");
                } else Object.assign(e, { configName: p.configName, desiredCount: p.desiredCount, samplingPercent: p.samplingPercent });
                e.status = "InService";
            }
            if (e.status === "Deleting") {
                this.endpoints.delete(e.name);
                throw error("ValidationException", `Could not find endpoint "${e.name}".`);
            }
            return this.describedEndpoint(e);
        },
        updateEndpoint: async (input) => {
            this.call("UpdateEndpoint", input);
            const e = this.endpoint(input.EndpointName!);
            if (e.status !== "InService")
                throw error(
                    "ValidationException",
                    `Cannot update in-progress endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/${e.name}".`,
                );
            const current = this.configVariant(e.configName).variant;
            const { variant, capture } = this.configVariant(input.EndpointConfigName!);
            if (this.targets.has(`endpoint/${e.name}/variant/${variant.VariantName}`) && variant.InstanceType !== current.InstanceType)
                throw error(
                    "ValidationException",
                    `The variant(s) "[${variant.VariantName}]" must be deregistered as scalable targets with AWS Application Auto Scaling before they can be removed or have their instance type updated.`,
                );
            const excluded = (input.ExcludeRetainedVariantProperties ?? []).map((p) => p.VariantPropertyType);
            const retain = (p: string) => input.RetainAllVariantProperties === true && !excluded.includes(p as never);
            e.status = "Updating";
            e.deploymentConfig = input.DeploymentConfig ?? e.deploymentConfig;
            e.pending = {
                pollsLeft: this.pollsPerDeployment,
                configName: input.EndpointConfigName!,
                desiredCount: retain("DesiredInstanceCount") ? e.desiredCount : variant.InitialInstanceCount!,
                samplingPercent: retain("DataCaptureConfig") ? e.samplingPercent : (capture?.InitialSamplingPercentage ?? 0),
                rollBack: this.rollBackNextUpdate,
                fail: this.takeFailure(),
            };
            this.rollBackNextUpdate = undefined;
            return { EndpointArn: `arn:aws:sagemaker:us-east-1:123456789012:endpoint/${e.name}` };
        },
        updateEndpointWeightsAndCapacities: async (input) => {
            this.call("UpdateEndpointWeightsAndCapacities", input);
            const e = this.endpoint(input.EndpointName!);
            if (e.status !== "InService") throw error("ValidationException", `Cannot update in-progress endpoint "${e.name}".`);
            e.status = "Updating";
            e.pending = {
                pollsLeft: this.pollsPerDeployment,
                configName: e.configName,
                desiredCount: input.DesiredWeightsAndCapacities![0].DesiredInstanceCount!,
                samplingPercent: e.samplingPercent,
                fail: this.takeFailure(),
            };
            return { EndpointArn: `arn:aws:sagemaker:us-east-1:123456789012:endpoint/${e.name}` };
        },
        deleteEndpoint: async (input) => {
            this.call("DeleteEndpoint", input);
            const e = this.endpoint(input.EndpointName!);
            e.status = "Deleting";
            e.pending = undefined;
            for (const [id] of this.targets) if (id.startsWith(`endpoint/${e.name}/`)) this.targets.delete(id);
            return {};
        },
    };

    readonly autoscaling: AutoScalingCalls = {
        describeScalableTargets: async (input) => {
            this.call("DescribeScalableTargets", input);
            return {
                ScalableTargets: (input.ResourceIds ?? [])
                    .filter((id) => this.targets.has(id))
                    .map((id) => ({
                        ServiceNamespace: "sagemaker",
                        ResourceId: id,
                        ScalableDimension: "sagemaker:variant:DesiredInstanceCount",
                        MinCapacity: this.targets.get(id)!.min,
                        MaxCapacity: this.targets.get(id)!.max,
                        RoleARN:
                            "arn:aws:iam::123456789012:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
                        CreationTime: this.now(),
                    })),
            };
        },
        registerScalableTarget: async (input) => {
            this.call("RegisterScalableTarget", input);
            this.targets.set(input.ResourceId!, { min: input.MinCapacity!, max: input.MaxCapacity! });
            const name = /^endpoint\/([^/]+)\//.exec(input.ResourceId!)![1];
            this.clampToTarget(this.endpoint(name));
            return {};
        },
        deregisterScalableTarget: async (input) => {
            this.call("DeregisterScalableTarget", input);
            if (!this.targets.delete(input.ResourceId!))
                throw error("ObjectNotFoundException", `No scalable target registered for ${input.ResourceId}`);
            this.policies.delete(input.ResourceId!);
            return {};
        },
        describeScalingPolicies: async (input) => {
            this.call("DescribeScalingPolicies", input);
            const mine = this.policies.get(input.ResourceId!) ?? new Map();
            return {
                ScalingPolicies: [...mine.entries()].map(([PolicyName, config]) => ({
                    PolicyName,
                    PolicyARN: `arn:policy/${PolicyName}`,
                    ServiceNamespace: "sagemaker",
                    ResourceId: input.ResourceId,
                    ScalableDimension: "sagemaker:variant:DesiredInstanceCount",
                    PolicyType: "TargetTrackingScaling",
                    TargetTrackingScalingPolicyConfiguration: config as never,
                    CreationTime: this.now(),
                })) as never,
            };
        },
        putScalingPolicy: async (input) => {
            this.call("PutScalingPolicy", input);
            if (!this.targets.has(input.ResourceId!))
                throw error("ObjectNotFoundException", `No scalable target registered for ${input.ResourceId}`);
            const mine = this.policies.get(input.ResourceId!) ?? new Map();
            mine.set(input.PolicyName!, input.TargetTrackingScalingPolicyConfiguration);
            this.policies.set(input.ResourceId!, mine);
            return { PolicyARN: `arn:policy/${input.PolicyName}` };
        },
        deleteScalingPolicy: async (input) => {
            this.call("DeleteScalingPolicy", input);
            if (!this.policies.get(input.ResourceId!)?.delete(input.PolicyName!))
                throw error(
                    "ObjectNotFoundException",
                    `No scaling policy found for service namespace: sagemaker, resource ID: ${input.ResourceId}`,
                );
            return {};
        },
    };

    readonly cloudwatch: CloudWatchCalls = {
        describeAlarmHistory: async (input) => {
            this.call("DescribeAlarmHistory", input);
            const items = this.alarms.get(input.AlarmName!)?.history ?? [];
            return { AlarmHistoryItems: items.filter((i) => !input.StartDate || i.Timestamp! >= input.StartDate) };
        },
        describeAlarms: async (input) => {
            this.call("DescribeAlarms", input);
            return {
                MetricAlarms: (input.AlarmNames ?? [])
                    .filter((n) => this.alarms.has(n))
                    .map((n) => {
                        const a = this.alarms.get(n)!;
                        return { AlarmName: n, StateValue: a.state as never, StateReason: a.reason, StateUpdatedTimestamp: a.updated };
                    }),
            };
        },
    };
}
