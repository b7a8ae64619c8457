import * as aws from "@pulumi/aws";
import { ReportViolation, ResourceValidationArgs, validateResourceOfType } from "@pulumi/policy";
import { TRAINING_GPU_RULE } from "../../infra/config";
import { isAcceleratedTrainingInstance } from "../../infra/instance-types";
import { hasInstanceStorage } from "../../infra/instance-storage";
import { PIPELINE_TAG_KEY } from "../../infra/tags";
import { describe, environmentLabel, environmentOf, message, PlatformRule } from "../support";
import { endpointValidations } from "./endpoints";

/**
 * SageMaker rules: Security Hub's SageMaker.4/5/9/11/13/14/22/25 and Checkov's CKV_AWS_98/367-370, keyed
 * on `@pulumi/aws` 7's resources, and the same settings on the jobs of SageMaker pipeline definitions
 * (which Security Hub cannot see: they only exist once a pipeline runs).
 */

/** A step of a SageMaker pipeline definition; its Arguments are the SageMaker API request of its kind. */
export interface PipelineStep {
    readonly Name: string;
    readonly Type: string;
    // The request of the step's job type, with pipeline expressions where values come from parameters or steps.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    readonly Arguments?: any;
}

/**
 * The steps of a pipeline resource's definition, those in condition branches included; a definition that is not
 * inline JSON is reported, since no rule could check the jobs it runs.
 */
export function pipelineSteps(
    pipeline: aws.sagemaker.PipelineArgs | { pipelineDefinition?: unknown; pipelineDefinitionS3Location?: unknown },
    args: ResourceValidationArgs,
    report: ReportViolation,
    controls: readonly string[],
): PipelineStep[] {
    const what = describe(args.type, args.name);
    if (pipeline.pipelineDefinition === undefined) {
        report(
            message(
                controls,
                `${what} reads its definition from S3 (pipelineDefinitionS3Location), so the jobs it runs cannot be checked`,
                "pass the definition inline as pipelineDefinition (the platform builds it in infra/pipeline/)",
            ),
        );
        return [];
    }
    try {
        const definition = JSON.parse(String(pipeline.pipelineDefinition)) as { Steps?: PipelineStep[] };
        // Steps in a condition's branches run jobs too.
        const flat = (steps: readonly PipelineStep[]): PipelineStep[] =>
            steps.flatMap((s) => [
                s,
                ...(s.Type === "Condition" ? flat([...(s.Arguments?.IfSteps ?? []), ...(s.Arguments?.ElseSteps ?? [])]) : []),
            ]);
        return flat(definition.Steps ?? []);
    } catch (e) {
        report(
            message(
                controls,
                `${what} has a pipelineDefinition that is not JSON (${(e as Error).message})`,
                "pass the definition as JSON text",
            ),
        );
        return [];
    }
}

/**
 * Whether an instance type's storage is local NVMe, where SageMaker refuses a KMS key (the hardware encrypts
 * it); undefined when the rule cannot tell: the type is not a literal (a pipeline parameter) or its family's
 * storage is not classified in infra/instance-storage.ts.
 */
function localStorage(instanceType: unknown): boolean | undefined {
    if (typeof instanceType !== "string") return undefined;
    try {
        return hasInstanceStorage(instanceType);
    } catch {
        return undefined;
    }
}

/** The violation for a KMS key asked for on local NVMe storage, which SageMaker rejects (the CreateX call fails). */
function refusedKey(controls: readonly string[], label: string, instanceTypes: string, field: string): string {
    return message(
        controls,
        `${label} asks for a KMS key on ${instanceTypes}, whose local NVMe storage SageMaker encrypts in hardware and refuses a key for`,
        `leave ${field} out for these instance types (infra/instance-storage.ts decides it)`,
    );
}

function where(args: ResourceValidationArgs, step?: PipelineStep): string {
    const resource = describe(args.type, args.name);
    return step ? `${step.Type} step ${step.Name} of ${resource}` : resource;
}

// -------------------------------------------------------------------------------------------------------

const SM4 = ["SageMaker.4"];
export const prodVariantsHaveSeveralInstances: PlatformRule = {
    name: "sagemaker-prod-variants-several-instances",
    description: "Production variants of prod endpoints run more than one instance, and autoscaling never takes them below two.",
    controls: SM4,
    enforcementLevel: "mandatory",
    remediationSteps: "Set models.<model>.endpoint.instanceCount (and autoscaling.minCapacity) to 2 or more in Pulumi.prod.yaml.",
    validateResource: [
        ...endpointValidations((endpoint, args, report) => {
            const environment = environmentOf(args);
            if (environment === "staging") return;
            const inEnv = `in ${environmentLabel(environment, "prod")}`;
            for (const variant of endpoint.variants) {
                const label = `${endpoint.label} variant ${variant.name} ${inEnv}`;
                if (variant.serverless)
                    report(
                        message(
                            SM4,
                            `${label} is serverless, which has no instance count to spread over zones`,
                            `serve prod from instances: set instanceType and ${endpoint.countField} >= 2`,
                        ),
                    );
                else if ((variant.instanceCount ?? 0) < 2)
                    report(
                        message(
                            SM4,
                            `${label} starts ${variant.instanceCount ?? 0} instance, so one failure takes the endpoint down`,
                            `set ${endpoint.countField} >= 2 (models.<model>.endpoint.instanceCount in the stack file)`,
                        ),
                    );
            }
            if (endpoint.scaling && endpoint.scaling.minCapacity < 2)
                report(
                    message(
                        SM4,
                        `${endpoint.label} lets autoscaling take it down to ${endpoint.scaling.minCapacity} instance ${inEnv}`,
                        "set scaling.minCapacity >= 2 (models.<model>.endpoint.autoscaling.minCapacity)",
                    ),
                );
        }),
        validateResourceOfType(aws.appautoscaling.Target, (target, args, report) => {
            if (target.serviceNamespace !== "sagemaker" || target.scalableDimension !== "sagemaker:variant:DesiredInstanceCount") return;
            const environment = environmentOf(args);
            if (environment === "staging") return;
            if (target.minCapacity < 2)
                report(
                    message(
                        SM4,
                        `${where(args)} lets autoscaling take ${target.resourceId} down to ${target.minCapacity} instance in ${environmentLabel(environment, "prod")}`,
                        "set minCapacity >= 2 (models.<model>.endpoint.autoscaling.minCapacity)",
                    ),
                );
        }),
    ],
};

const SM5 = ["SageMaker.5", "CKV_AWS_370"];
export const modelsHaveNetworkIsolation: PlatformRule = {
    name: "sagemaker-model-network-isolation",
    description: "SageMaker models (those endpoint deployments and pipelines create included) run with network isolation.",
    controls: SM5,
    enforcementLevel: "mandatory",
    remediationSteps:
        "Set enableNetworkIsolation: true on aws.sagemaker.Model, model.EnableNetworkIsolation on an EndpointDeployment, and EnableNetworkIsolation on pipeline Model steps.",
    validateResource: [
        validateResourceOfType(aws.sagemaker.Model, (model, args, report) => {
            if (model.enableNetworkIsolation !== true)
                report(
                    message(
                        SM5,
                        `${where(args)} runs without network isolation, so its container can reach the internet`,
                        "set enableNetworkIsolation: true",
                    ),
                );
        }),
        ...endpointValidations((endpoint, _args, report) => {
            if ("modelIsolation" in endpoint && endpoint.modelIsolation !== true)
                report(
                    message(
                        SM5,
                        `${endpoint.label} creates its model without network isolation, so the container can reach the internet`,
                        "set model.EnableNetworkIsolation: true",
                    ),
                );
        }),
        validateResourceOfType(aws.sagemaker.Pipeline, (pipeline, args, report) => {
            for (const step of pipelineSteps(pipeline, args, report, SM5).filter((s) => s.Type === "Model"))
                if (step.Arguments?.EnableNetworkIsolation !== true)
                    report(
                        message(
                            SM5,
                            `${where(args, step)} creates a model without network isolation`,
                            "set Arguments.EnableNetworkIsolation: true",
                        ),
                    );
        }),
    ],
};

const CKV98 = ["CKV_AWS_98"];
export const endpointConfigsUseKms: PlatformRule = {
    name: "sagemaker-endpoint-config-kms",
    description:
        "Endpoint configurations encrypt their instances' storage with a KMS key, except on instance types whose local NVMe storage SageMaker refuses a key for.",
    controls: CKV98,
    enforcementLevel: "mandatory",
    remediationSteps:
        "Set kmsKeyArn on the aws.sagemaker.EndpointConfiguration, or kmsKeyId on the EndpointDeployment (ModelEndpoint passes the data lake key).",
    validateResource: endpointValidations((endpoint, _args, report) => {
        const local = endpoint.variants.filter((v) => localStorage(v.instanceType) === true).map((v) => v.instanceType);
        if (local.length > 0) {
            if (endpoint.kmsKeyId) report(refusedKey(CKV98, endpoint.label, local.join(", "), endpoint.kmsField));
            return;
        }
        if (!endpoint.kmsKeyId)
            report(
                message(
                    CKV98,
                    `${endpoint.label} stores model and instance data without a customer-managed key`,
                    `set ${endpoint.kmsField} to the data lake key`,
                ),
            );
    }),
};

const CAPTURE_KMS = ["CKV_AWS_98", "S3.17"];
export const dataCaptureUsesKms: PlatformRule = {
    name: "sagemaker-data-capture-kms",
    description: "Endpoint data capture encrypts the captured requests and responses with a KMS key.",
    controls: CAPTURE_KMS,
    enforcementLevel: "mandatory",
    remediationSteps: "Set the data capture's KMS key (dataCaptureConfig.kmsKeyId, or dataCapture.KmsKeyId on an EndpointDeployment).",
    validateResource: endpointValidations((endpoint, _args, report) => {
        const capture = endpoint.capture;
        if (capture?.enabled && !capture.kmsKeyId)
            report(
                message(
                    CAPTURE_KMS,
                    `${endpoint.label} captures ${capture.percent}% of requests and responses (user images and predictions) without a KMS key`,
                    `set ${capture.kmsField} to the data lake key`,
                ),
            );
    }),
};

// -------------------------------------------------------------------------------------------------------
// Model Monitor: schedules with an inline job definition, and data quality job definitions

interface MonitoringJob {
    /** Which Security Hub controls cover this kind of job: [network isolation, inter-container encryption]. */
    readonly controls: { readonly isolation: string; readonly encryption: string };
    readonly isolation?: boolean;
    readonly interContainerEncryption?: boolean;
    readonly outputKms?: string;
    readonly volumeKms?: string;
    readonly instanceType?: string;
}

/** The monitoring job a resource defines: a schedule's inline definition, or a data quality job definition. */
function monitoringJobOf(args: ResourceValidationArgs): MonitoringJob | undefined {
    const schedule = args.asType(aws.sagemaker.MonitoringSchedule);
    if (schedule) {
        // A schedule that names a separate job definition is checked through that definition.
        const job = schedule.monitoringScheduleConfig.monitoringJobDefinition;
        if (!job) return undefined;
        const cluster = job.monitoringResources.clusterConfig;
        return {
            controls: { isolation: "SageMaker.14", encryption: "SageMaker.22" },
            isolation: job.networkConfig?.enableNetworkIsolation,
            interContainerEncryption: job.networkConfig?.enableInterContainerTrafficEncryption,
            outputKms: job.monitoringOutputConfig.kmsKeyId,
            volumeKms: cluster.volumeKmsKeyId,
            instanceType: cluster.instanceType,
        };
    }
    const definition = args.asType(aws.sagemaker.DataQualityJobDefinition);
    if (definition) {
        const cluster = definition.jobResources.clusterConfig;
        return {
            controls: { isolation: "SageMaker.11", encryption: "SageMaker.9" },
            isolation: definition.networkConfig?.enableNetworkIsolation,
            interContainerEncryption: definition.networkConfig?.enableInterContainerTrafficEncryption,
            outputKms: definition.dataQualityJobOutputConfig.kmsKeyId,
            volumeKms: cluster.volumeKmsKeyId,
            instanceType: cluster.instanceType,
        };
    }
    return undefined;
}

/** One validation per monitoring resource type, so the engine's per-type fast path applies to each. */
function monitoringValidations(check: (job: MonitoringJob, args: ResourceValidationArgs, report: ReportViolation) => void) {
    const run = (args: ResourceValidationArgs, report: ReportViolation) => {
        const job = monitoringJobOf(args);
        if (job) check(job, args, report);
    };
    return [
        validateResourceOfType(aws.sagemaker.MonitoringSchedule, (_schedule, args, report) => run(args, report)),
        validateResourceOfType(aws.sagemaker.DataQualityJobDefinition, (_definition, args, report) => run(args, report)),
    ];
}

// @pulumi/aws 7 has no ModelQualityJobDefinition resource; SageMaker.13/25 (model quality jobs) apply to the
// schedules here too, since the platform's monitor job computes model quality in the same run.
const MONITOR_ISOLATION = ["SageMaker.11", "SageMaker.14", "SageMaker.25"];
export const monitoringJobsHaveNetworkIsolation: PlatformRule = {
    name: "sagemaker-monitoring-network-isolation",
    description: "Monitoring schedules and data quality job definitions run their containers with network isolation.",
    controls: MONITOR_ISOLATION,
    enforcementLevel: "mandatory",
    remediationSteps: "Set networkConfig.enableNetworkIsolation: true on the monitoring job definition.",
    validateResource: monitoringValidations((job, args, report) => {
        if (job.isolation !== true)
            report(
                message(
                    [job.controls.isolation, "SageMaker.25"],
                    `${where(args)} runs its monitoring job with network access`,
                    "set networkConfig.enableNetworkIsolation: true (Model Monitor mounts the capture data and publishes the metrics itself)",
                ),
            );
    }),
};

const MONITOR_ENCRYPTION = ["SageMaker.9", "SageMaker.13", "SageMaker.22", "CKV_AWS_369"];
export const monitoringJobsEncryptTraffic: PlatformRule = {
    name: "sagemaker-monitoring-inter-container-encryption",
    description: "Monitoring schedules and data quality job definitions encrypt traffic between their instances.",
    controls: MONITOR_ENCRYPTION,
    enforcementLevel: "mandatory",
    remediationSteps: "Set networkConfig.enableInterContainerTrafficEncryption: true on the monitoring job definition.",
    validateResource: monitoringValidations((job, args, report) => {
        if (job.interContainerEncryption !== true)
            report(
                message(
                    [job.controls.encryption, "SageMaker.13", "CKV_AWS_369"],
                    `${where(args)} sends monitoring data between instances unencrypted`,
                    "set networkConfig.enableInterContainerTrafficEncryption: true",
                ),
            );
    }),
};

const MONITOR_KMS = ["CKV_AWS_367", "CKV_AWS_368"];
export const monitoringJobsUseKms: PlatformRule = {
    name: "sagemaker-monitoring-kms",
    description: "Monitoring jobs encrypt their outputs and (on EBS-backed instances) their volumes with a KMS key.",
    controls: MONITOR_KMS,
    enforcementLevel: "mandatory",
    remediationSteps: "Set the output config's kmsKeyId and the cluster's volumeKmsKeyId to the data lake key.",
    validateResource: monitoringValidations((job, args, report) => {
        if (!job.outputKms)
            report(
                message(
                    ["CKV_AWS_367"],
                    `${where(args)} writes its reports without a KMS key`,
                    "set the monitoring output config's kmsKeyId",
                ),
            );
        const local = localStorage(job.instanceType);
        if (local === false && !job.volumeKms)
            report(
                message(
                    ["CKV_AWS_368"],
                    `${where(args)} leaves the ${job.instanceType} job volume without a KMS key`,
                    "set clusterConfig.volumeKmsKeyId",
                ),
            );
        if (local === true && job.volumeKms) report(refusedKey(["CKV_AWS_368"], where(args), String(job.instanceType), "volumeKmsKeyId"));
    }),
};

// -------------------------------------------------------------------------------------------------------
// Jobs of pipeline definitions, and training jobs

const JOBS = ["CKV_AWS_367/368/369 for pipeline jobs"];

interface JobSettings {
    readonly interContainerEncryption?: unknown;
    readonly instanceType?: unknown;
    readonly volumeKms?: unknown;
    /** The output's key, or `false` when the job declares no outputs. */
    readonly outputKms: unknown;
    readonly outputLabel: string;
    readonly volumeLabel: string;
}

/** What a pipeline step's job asks for, by step type; undefined for steps that run no job. */
function jobOfStep(step: PipelineStep): JobSettings | undefined {
    const a = step.Arguments ?? {};
    switch (step.Type) {
        case "Processing":
            return {
                interContainerEncryption: a.NetworkConfig?.EnableInterContainerTrafficEncryption,
                instanceType: a.ProcessingResources?.ClusterConfig?.InstanceType,
                volumeKms: a.ProcessingResources?.ClusterConfig?.VolumeKmsKeyId,
                outputKms: a.ProcessingOutputConfig?.Outputs?.length ? a.ProcessingOutputConfig.KmsKeyId : false,
                outputLabel: "ProcessingOutputConfig.KmsKeyId",
                volumeLabel: "ProcessingResources.ClusterConfig.VolumeKmsKeyId",
            };
        case "Training":
            return {
                interContainerEncryption: a.EnableInterContainerTrafficEncryption,
                instanceType: a.ResourceConfig?.InstanceType,
                volumeKms: a.ResourceConfig?.VolumeKmsKeyId,
                outputKms: a.OutputDataConfig?.KmsKeyId,
                outputLabel: "OutputDataConfig.KmsKeyId",
                volumeLabel: "ResourceConfig.VolumeKmsKeyId",
            };
        case "Transform":
            return {
                // A transform job runs one container per instance and has no inter-container traffic setting.
                interContainerEncryption: true,
                instanceType: a.TransformResources?.InstanceType,
                volumeKms: a.TransformResources?.VolumeKmsKeyId,
                outputKms: a.TransformOutput?.KmsKeyId,
                outputLabel: "TransformOutput.KmsKeyId",
                volumeLabel: "TransformResources.VolumeKmsKeyId",
            };
        default:
            return undefined;
    }
}

function checkJob(job: JobSettings, label: string, report: ReportViolation): void {
    if (job.interContainerEncryption !== true)
        report(message(JOBS, `${label} sends data between its instances unencrypted`, "set inter-container traffic encryption to true"));
    if (job.outputKms === undefined || job.outputKms === "")
        report(message(JOBS, `${label} writes its outputs to S3 without a KMS key`, `set ${job.outputLabel} to the data lake key`));
    const local = localStorage(job.instanceType);
    if (local === false && !job.volumeKms)
        report(
            message(
                JOBS,
                `${label} leaves its ${String(job.instanceType)} volume without a KMS key`,
                `set ${job.volumeLabel} to the data lake key`,
            ),
        );
    if (local === true && job.volumeKms) report(refusedKey(JOBS, label, String(job.instanceType), job.volumeLabel));
}

export const pipelineJobsEncrypt: PlatformRule = {
    name: "sagemaker-pipeline-job-encryption",
    description:
        "Processing, training and transform jobs (pipeline steps and training jobs) encrypt outputs, volumes and inter-container traffic.",
    controls: JOBS,
    enforcementLevel: "mandatory",
    remediationSteps:
        "Give every job step the data lake key for its outputs and (EBS-backed instances) its volume, and turn on inter-container traffic encryption.",
    validateResource: [
        validateResourceOfType(aws.sagemaker.Pipeline, (pipeline, args, report) => {
            for (const step of pipelineSteps(pipeline, args, report, JOBS)) {
                const job = jobOfStep(step);
                if (job) checkJob(job, where(args, step), report);
            }
        }),
        validateResourceOfType(aws.sagemaker.TrainingJob, (job, args, report) =>
            checkJob(
                {
                    interContainerEncryption: job.enableInterContainerTrafficEncryption,
                    instanceType: job.resourceConfig?.instanceType,
                    volumeKms: job.resourceConfig?.volumeKmsKeyId,
                    outputKms: job.outputDataConfig?.kmsKeyId,
                    outputLabel: "outputDataConfig.kmsKeyId",
                    volumeLabel: "resourceConfig.volumeKmsKeyId",
                },
                where(args),
                report,
            ),
        ),
    ],
};

const TRAINING_ISOLATION = ["network isolation of training jobs"];
export const trainingJobsHaveNetworkIsolation: PlatformRule = {
    name: "sagemaker-training-network-isolation",
    description: "Training jobs (pipeline Training steps and training jobs) run the algorithm container with network isolation.",
    controls: TRAINING_ISOLATION,
    enforcementLevel: "mandatory",
    remediationSteps:
        "Set EnableNetworkIsolation: true on the training step (the built-in algorithms and script mode with a code channel work isolated).",
    validateResource: [
        validateResourceOfType(aws.sagemaker.Pipeline, (pipeline, args, report) => {
            for (const step of pipelineSteps(pipeline, args, report, TRAINING_ISOLATION).filter((s) => s.Type === "Training"))
                if (step.Arguments?.EnableNetworkIsolation !== true)
                    report(
                        message(
                            TRAINING_ISOLATION,
                            `${where(args, step)} lets the training container reach the network`,
                            "set Arguments.EnableNetworkIsolation: true",
                        ),
                    );
        }),
        validateResourceOfType(aws.sagemaker.TrainingJob, (job, args, report) => {
            if (job.enableNetworkIsolation !== true)
                report(
                    message(
                        TRAINING_ISOLATION,
                        `${where(args)} lets the training container reach the network`,
                        "set enableNetworkIsolation: true",
                    ),
                );
        }),
    ],
};

const PROCESSING_ISOLATION = ["network isolation of processing jobs (as SageMaker.14 for schedules)"];
export const processingJobsHaveNetworkIsolation: PlatformRule = {
    name: "sagemaker-processing-network-isolation",
    description:
        "Processing steps run with network isolation where they need no AWS API beyond their mounted inputs and outputs. Advisory: no Security Hub control covers processing jobs, and jobs that call AWS APIs themselves cannot be isolated.",
    controls: PROCESSING_ISOLATION,
    enforcementLevel: "advisory",
    remediationSteps:
        "Set NetworkConfig.EnableNetworkIsolation: true, or keep the network and scope the job's role to exactly the calls it makes.",
    validateResource: validateResourceOfType(aws.sagemaker.Pipeline, (pipeline, args, report) => {
        for (const step of pipelineSteps(pipeline, args, report, PROCESSING_ISOLATION).filter((s) => s.Type === "Processing"))
            if (step.Arguments?.NetworkConfig?.EnableNetworkIsolation !== true)
                report(
                    message(
                        PROCESSING_ISOLATION,
                        `${where(args, step)} runs with network access (its own S3 reads and uploads, registry lookups or PutMetricData need it)`,
                        "isolate it when it only needs its ProcessingInputs and ProcessingOutputs; otherwise its role is what limits it",
                    ),
                );
    }),
};

const GPU_TRAINING = [TRAINING_GPU_RULE];

/** Why a training instance type is refused, or undefined for a GPU or accelerator type. */
function cpuTraining(instanceType: unknown, group?: unknown): string | undefined {
    const of = group === undefined ? "" : ` (instance group ${String(group)})`;
    if (instanceType === undefined) return `names no training instance type${of}`;
    if (typeof instanceType !== "string")
        return `trains on an instance type a pipeline parameter decides (${describeValue(instanceType)})${of}, which the rule cannot check`;
    return isAcceleratedTrainingInstance(instanceType)
        ? undefined
        : `trains on ${instanceType}${of}, which has no GPU or training accelerator`;
}

/** A step argument as text: a literal, or the pipeline expression that gives it at run time. */
function describeValue(value: unknown): string {
    const get = (value as { Get?: unknown } | null)?.Get;
    return typeof get === "string" ? get : JSON.stringify(value);
}

export const trainingRunsOnGpus: PlatformRule = {
    name: TRAINING_GPU_RULE,
    description:
        "Training (pipeline Training steps and training jobs) runs on GPU instances (ml.p*, ml.g*) or Trainium accelerators (ml.trn*): the image-classification algorithm and the PyTorch containers train on GPUs, and on CPUs a transfer-learning run takes many times longer and costs more for the same epochs.",
    controls: GPU_TRAINING,
    enforcementLevel: "mandatory",
    remediationSteps: "Set models.<model>.training.instanceType to a GPU type such as ml.g4dn.xlarge.",
    validateResource: [
        validateResourceOfType(aws.sagemaker.Pipeline, (pipeline, args, report) => {
            for (const step of pipelineSteps(pipeline, args, report, GPU_TRAINING).filter((s) => s.Type === "Training")) {
                const resources = step.Arguments?.ResourceConfig ?? {};
                const groups: { InstanceType?: unknown; InstanceGroupName?: unknown }[] = resources.InstanceGroups ?? [];
                const problems = groups.length
                    ? groups.map((g) => cpuTraining(g.InstanceType, g.InstanceGroupName))
                    : [cpuTraining(resources.InstanceType)];
                for (const problem of problems.filter((p) => p !== undefined))
                    report(
                        message(
                            GPU_TRAINING,
                            `${where(args, step)} ${problem}`,
                            "use a GPU instance type such as ml.g4dn.xlarge (models.<model>.training.instanceType)",
                        ),
                    );
            }
        }),
        validateResourceOfType(aws.sagemaker.TrainingJob, (job, args, report) => {
            const groups = job.resourceConfig?.instanceGroups ?? [];
            const problems = groups.length
                ? groups.map((g) => cpuTraining(g.instanceType, g.instanceGroupName))
                : [cpuTraining(job.resourceConfig?.instanceType)];
            for (const problem of problems.filter((p) => p !== undefined))
                report(
                    message(GPU_TRAINING, `${where(args)} ${problem}`, "use a GPU instance type such as ml.g4dn.xlarge in resourceConfig"),
                );
        }),
    ],
};

const JOB_TAG = ["cross-model reach: pipeline job tag"];
/** Steps whose call creates a job or model the pipeline's role is granted by tag. */
const TAGGED_STEP_TYPES = ["Processing", "Training", "Model", "Transform"];
export const pipelineJobsCarryTheirPipelineTag: PlatformRule = {
    name: "sagemaker-pipeline-jobs-tagged",
    description: `Every Processing, Training, Model and Transform step of a pipeline tags what it creates with ${PIPELINE_TAG_KEY} = the pipeline's name: the pipeline's role may create and stop only jobs so tagged (iam-pipeline-jobs-tag-scoped), so an untagged step fails when it runs.`,
    controls: JOB_TAG,
    enforcementLevel: "mandatory",
    remediationSteps: "Build the definition with PipelineBuilder({ pipelineName }) (infra/pipeline/builder.ts), which tags every job step.",
    validateResource: validateResourceOfType(aws.sagemaker.Pipeline, (pipeline, args, report) => {
        for (const step of pipelineSteps(pipeline, args, report, JOB_TAG).filter((s) => TAGGED_STEP_TYPES.includes(s.Type))) {
            const tags: { Key?: unknown; Value?: unknown }[] = Array.isArray(step.Arguments?.Tags) ? step.Arguments.Tags : [];
            const value = tags.find((t) => t.Key === PIPELINE_TAG_KEY)?.Value;
            if (value !== pipeline.pipelineName)
                report(
                    message(
                        JOB_TAG,
                        `${where(args, step)} ${value === undefined ? `creates its job untagged` : `tags its job ${PIPELINE_TAG_KEY}=${JSON.stringify(value)}`} instead of ${PIPELINE_TAG_KEY}=${JSON.stringify(pipeline.pipelineName)}: its role may create only jobs tagged for its own pipeline`,
                        "build the definition with PipelineBuilder({ pipelineName }) with the name the pipeline is deployed under",
                    ),
                );
        }
    }),
};

export const SAGEMAKER_RULES: readonly PlatformRule[] = [
    prodVariantsHaveSeveralInstances,
    modelsHaveNetworkIsolation,
    endpointConfigsUseKms,
    dataCaptureUsesKms,
    monitoringJobsHaveNetworkIsolation,
    monitoringJobsEncryptTraffic,
    monitoringJobsUseKms,
    pipelineJobsEncrypt,
    trainingJobsHaveNetworkIsolation,
    trainingRunsOnGpus,
    processingJobsHaveNetworkIsolation,
    pipelineJobsCarryTheirPipelineTag,
];
