import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
    endpointAlarms,
    endpointRolePolicy,
    fleetSpec,
    servedModelFamily,
    servedRevision,
    ServedRevisionInput,
} from "../infra/endpoint-serving";
import { sagemakerArn, ServiceTrust } from "../infra/iam";
import { endpointName, iamName, prefixes } from "../infra/naming";
import { EndpointDeployment, EndpointDeploymentArgs } from "./endpoint-deployment";
import { ServiceRole } from "./service-role";

/** The endpoint and what it serves (`ServedRevisionInput`: model, package, fleet, capture), and where it runs. */
export interface ModelEndpointArgs extends ServedRevisionInput {
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

        const role = new ServiceRole(
            `${name}-role`,
            {
                roleName: iamName(env, args.model, "endpoint"),
                description: `Runs the ${args.model} endpoint: reads its model, writes captured traffic`,
                // SageMaker assumes it to host this endpoint's models, all named `<family>-<hash>`.
                trust: pulumi.output(args.accountId).apply((account): ServiceTrust[] => [
                    {
                        service: "sagemaker.amazonaws.com",
                        sourceAccount: account,
                        sourceArns: [
                            sagemakerArn(args.region, account, "endpoint", physicalName),
                            sagemakerArn(args.region, account, "model", `${servedModelFamily(env, args.model)}-*`),
                        ],
                    },
                ]),
                policy: pulumi
                    .all({
                        capture: args.captureBucket,
                        key: args.kmsKeyArn,
                        modelDataKey: args.modelDataKmsKeyArn ?? args.kmsKeyArn,
                        account: args.accountId,
                    })
                    .apply(({ capture, key, modelDataKey, account }) =>
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
            },
            child,
        );
        this.role = role.role;

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
            .all({ roleArn: role.arn, kmsKeyArn: args.kmsKeyArn, captureDestination: captureS3Uri })
            .apply(({ roleArn, kmsKeyArn, captureDestination }) => servedRevision({ ...args, roleArn, kmsKeyArn, captureDestination }));
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
            dependsOn: [role, this.errorAlarm, this.latencyAlarm],
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
