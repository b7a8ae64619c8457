import type {
    ProcessingInstanceType,
    ProductionVariantInstanceType,
    TrainingInstanceType,
    TransformInstanceType,
} from "@aws-sdk/client-sagemaker";
import { createHash } from "crypto";
import { DATASET_ENV, jobModelConfig, JOBS_ENTRYPOINT, PROCESSING_PATHS, PROPERTY_FILES, PROPERTY_PATHS } from "../job-contract";
import { Environment, modelPackageGroupName, pipelineName, prefixes } from "../naming";
import { compare, execution, Expression, join, jsonGet, PipelineBuilder, PipelineDefinition, RetryPolicy } from "./builder";
import { volumeKmsKey } from "../instance-storage";
import { maxWaitSeconds, TrainingModelSettings } from "./training-model";
import {
    PYTORCH_CHECKPOINT_DIR,
    PYTORCH_IMAGE_FOLDERS_DIR,
    PYTORCH_METRIC_DEFINITIONS,
    pytorchServingEnvironment,
    pytorchTrainingJob,
} from "./pytorch";

/**
 * The training pipeline of one image-classification model:
 *
 * Dataset -> Preprocess -> Train -> CreateModel -> Transform -> Evaluate -> QualityGate -> Register | Fail
 *
 * Dataset resolves the `BatchManifestKey` parameter (a batch manifest, or the model's latest/dataset.json
 * pointer that schedules and drift start with) to the immutable manifest the run trains on; Preprocess reads
 * that manifest (every image of the model's dataset so far) and writes RecordIO train/validation sets, test
 * images with labels and the dataset statistics; Train runs the built-in image-classification algorithm on a GPU (managed spot with
 * checkpoints); Transform predicts the test images; Evaluate scores the predictions, looks up the Approved
 * champion and writes evaluation.json; QualityGate compares plain numbers from it; Register adds a
 * PendingManualApproval package with the evaluation evidence attached.
 *
 * Layout per execution (`<id>` = the pipeline execution id):
 * - curated bucket `<model>/executions/<id>/{train,validation,test,metadata,predictions}/`
 * - artifacts bucket `<model>/executions/<id>/{model,evaluation,checkpoints}/`, and `<model>/config/model-<hash>.json`.
 *
 * Step caching: SageMaker reuses a successful Preprocess run whose AppSpecification, Environment and
 * ProcessingInputs are the same (the values, not the objects they name). Its inputs therefore name only
 * things that never change under their name: the resolved manifest (batch manifests are created once, merged
 * ones are named by their hash) and the model config, named by the hash of its content; the manifest's hash
 * is in its Environment. The same dataset and settings may hit the cache; new data or new classes never do.
 */

/**
 * The parameter the trigger and operators set: the raw-bucket key of the batch manifest to train on, or of the
 * model's latest/dataset.json pointer (the default: the newest complete dataset, resolved when the run starts).
 */
export const BATCH_MANIFEST_PARAMETER = "BatchManifestKey";

/** Step names, stable because execution history, alarms and the plan refer to them. */
export const STEP_NAMES = {
    dataset: "Dataset",
    preprocess: "Preprocess",
    train: "Train",
    createModel: "CreateModel",
    transform: "Transform",
    evaluate: "Evaluate",
    qualityGate: "QualityGate",
    register: "Register",
    fail: "Fail",
} as const;

/** CustomerMetadataProperties keys the Register step writes (kebab-case like the approval CLI's). */
export const PACKAGE_METADATA_KEYS = {
    batchManifestKey: "batch-manifest-key",
    gitCommit: "git-commit",
    pipelineExecution: "pipeline-execution-arn",
} as const;

/** Content types the registered model accepts (the algorithm's image input) and returns. */
export const INFERENCE_CONTENT_TYPES = ["application/x-image", "image/jpeg", "image/png"] as const;
export const INFERENCE_RESPONSE_TYPES = ["application/json"] as const;

/** The built-in algorithm's ECR repository and tag, for `aws.sagemaker.getPrebuiltEcrImage`. */
export const ALGORITHM_IMAGE = { repositoryName: "image-classification", imageTag: "1" } as const;

/**
 * The model's job settings (`model.json` for the jobs), written by the component and mounted into preprocess
 * and evaluate, under a key named by the hash of the content: settings that change (a class added, a new
 * split) get a new key, so a cached Preprocess run made with the old ones is never reused.
 */
export function modelConfigObject(model: string, config: TrainingModelSettings): { key: string; content: string } {
    const content = `${JSON.stringify(jobModelConfig(model, config), null, 2)}\n`;
    const hash = createHash("sha256").update(content).digest("hex").slice(0, 16);
    return { key: `${prefixes.artifactsModel(model)}config/model-${hash}.json`, content };
}

/**
 * What schedules, drift and parameterless starts train on (`prefixes.latestDataset`): the pointer ingest
 * moves to the newest complete dataset, resolved by the Dataset step when the run starts.
 */
export function latestDatasetKey(model: string): string {
    return prefixes.latestDataset(model);
}

export interface ImageClassificationPipelineArgs {
    readonly environment: Environment;
    /** Model name from the stack config (up to 48 characters). */
    readonly model: string;
    readonly config: TrainingModelSettings;
    /** Region of the registry the evaluate job asks for the champion. */
    readonly region: string;
    /** The execution role every job of the pipeline runs with. */
    readonly roleArn: string;
    /** Data lake bucket names (not ARNs). */
    readonly buckets: { readonly raw: string; readonly curated: string; readonly artifacts: string };
    /** The data lake key: job volumes (where the instance has EBS), outputs, model artifacts. */
    readonly kmsKeyArn: string;
    /** The jobs image (preprocess, evaluate), by digest. */
    readonly jobsImageUri: string;
    /** The built-in image-classification algorithm image of the stack's region (`ALGORITHM_IMAGE`). */
    readonly algorithmImageUri: string;
    /**
     * Required for a model with `training.algorithm: pytorch`: the PyTorch training image (GPU), the inference image
     * its package and batch transform run (`pytorchImageUri`), and the script's `sourcedir.tar.gz` in S3.
     */
    readonly pytorch?: { readonly trainingImageUri: string; readonly inferenceImageUri: string; readonly sourceBundleUri: string };
    /** Recorded in every registered package. Defaults to "unknown". */
    readonly gitCommit?: string;
    /** Endpoint instance types the package declares for real-time inference. Defaults to the model's endpoint type. */
    readonly realtimeInstanceTypes?: readonly string[];
}

const METADATA_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,256}$/u;

/** Jobs that did not start for lack of capacity or failed inside SageMaker are worth another try; so is throttling. */
const JOB_RETRIES: RetryPolicy[] = [
    { ExceptionType: ["SageMaker.CAPACITY_ERROR", "SageMaker.JOB_INTERNAL_ERROR"], IntervalSeconds: 60, BackoffRate: 2, MaxAttempts: 3 },
    { ExceptionType: ["Step.THROTTLING", "Step.SERVICE_FAULT"], IntervalSeconds: 5, BackoffRate: 2, MaxAttempts: 5 },
];
const API_RETRIES: RetryPolicy[] = [
    { ExceptionType: ["Step.THROTTLING", "Step.SERVICE_FAULT"], IntervalSeconds: 5, BackoffRate: 2, MaxAttempts: 5 },
];

/** Preprocess results stay reusable for a month: the same manifest and settings give the same split. */
const PREPROCESS_CACHE = "P30D";

/**
 * Instance types a registered package declares it can serve on, besides the registering stack's own: prod
 * usually serves the same package on larger instances than staging did.
 */
export const SERVING_INSTANCE_TYPES = [
    "ml.t2.medium",
    "ml.m5.large",
    "ml.m5.xlarge",
    "ml.m5.2xlarge",
    "ml.m5.4xlarge",
    "ml.c5.large",
    "ml.c5.xlarge",
    "ml.c5.2xlarge",
    "ml.c5.4xlarge",
    "ml.g4dn.xlarge",
    "ml.g4dn.2xlarge",
    "ml.g5.xlarge",
    "ml.p3.2xlarge",
] as const;

export function imageClassificationPipeline(args: ImageClassificationPipelineArgs): PipelineDefinition {
    const { model, config, roleArn, buckets, kmsKeyArn: key } = args;
    const training = config.training;
    const gitCommit = args.gitCommit ?? "unknown";
    if (!METADATA_VALUE.test(gitCommit))
        throw new Error(
            `gitCommit ${JSON.stringify(gitCommit)} cannot be package metadata: use 1-256 letters, digits and _ . : / = + - @ (a commit hash)`,
        );
    const maxWait = maxWaitSeconds(training);
    if (training.spot && maxWait < training.maxRuntimeSeconds)
        throw new Error(
            `models.${model}.training.maxWaitSeconds (${maxWait}) must be >= maxRuntimeSeconds (${training.maxRuntimeSeconds}): spot training waits for capacity within that time`,
        );
    const group = modelPackageGroupName(args.environment, model);

    const execId = execution.pipelineExecutionId;
    const curated = (what: string): Expression =>
        join([`s3://${buckets.curated}/${prefixes.curatedModel(model)}executions/`, execId, `/${what}`]);
    const artifacts = (what: string): Expression =>
        join([`s3://${buckets.artifacts}/${prefixes.artifactsModel(model)}executions/`, execId, `/${what}`]);
    const modelConfigInput = (): {
        InputName: string;
        S3Input: {
            S3Uri: string;
            LocalPath: string;
            S3DataType: "S3Prefix";
            S3InputMode: "File";
            S3DataDistributionType: "FullyReplicated";
        };
    } => ({
        InputName: "config",
        S3Input: {
            S3Uri: `s3://${buckets.artifacts}/${modelConfigObject(model, config).key}`,
            LocalPath: PROCESSING_PATHS.config,
            S3DataType: "S3Prefix",
            S3InputMode: "File",
            S3DataDistributionType: "FullyReplicated",
        },
    });
    const processingResources = {
        ClusterConfig: {
            InstanceType: training.processingInstanceType as ProcessingInstanceType,
            InstanceCount: 1,
            VolumeSizeInGB: training.volumeSizeGb,
            ...volumeKmsKey(training.processingInstanceType, key),
        },
    };

    const p = new PipelineBuilder({ pipelineName: pipelineName(args.environment, model, "training") });
    const requestedKey = p.parameter(BATCH_MANIFEST_PARAMETER, "String", { default: latestDatasetKey(model) });

    // Not cached: where the latest pointer leads changes between runs with the same parameter.
    const dataset = p.processing(STEP_NAMES.dataset, {
        description: "Resolve BatchManifestKey (a batch manifest or the latest/dataset.json pointer) to the manifest this run trains on",
        arguments: {
            RoleArn: roleArn,
            AppSpecification: {
                ImageUri: args.jobsImageUri,
                ContainerEntrypoint: [
                    ...JOBS_ENTRYPOINT,
                    "dataset",
                    "--model",
                    model,
                    "--requested",
                    requestedKey,
                    "--input",
                    PROCESSING_PATHS.dataset.requested,
                    "--output",
                    PROCESSING_PATHS.dataset.output,
                ],
            },
            // It reads one small JSON object; the model's processing instance is one the config checked and the
            // cost estimate prices, and it bills for the minute or two the step takes.
            ProcessingResources: { ClusterConfig: { ...processingResources.ClusterConfig, VolumeSizeInGB: 1 } },
            StoppingCondition: { MaxRuntimeInSeconds: 600 },
            NetworkConfig: { EnableNetworkIsolation: true, EnableInterContainerTrafficEncryption: true },
            ProcessingInputs: [
                {
                    InputName: "requested",
                    S3Input: {
                        S3Uri: join([`s3://${buckets.raw}/`, requestedKey]),
                        LocalPath: PROCESSING_PATHS.dataset.requested,
                        S3DataType: "S3Prefix",
                        S3InputMode: "File",
                        S3DataDistributionType: "FullyReplicated",
                    },
                },
            ],
            ProcessingOutputConfig: {
                KmsKeyId: key,
                Outputs: [
                    {
                        OutputName: "dataset",
                        S3Output: { S3Uri: curated("dataset"), LocalPath: PROCESSING_PATHS.dataset.output, S3UploadMode: "EndOfJob" },
                    },
                ],
            },
        },
        propertyFiles: [{ PropertyFileName: "ResolvedDataset", OutputName: "dataset", FilePath: PROPERTY_FILES.resolvedDataset }],
        retryPolicies: JOB_RETRIES,
    });
    const resolved = dataset.propertyFile("ResolvedDataset");
    const manifestKey = jsonGet(resolved, PROPERTY_PATHS.manifestKey);
    const manifestSha256 = jsonGet(resolved, PROPERTY_PATHS.manifestSha256);

    const preprocess = p.processing(STEP_NAMES.preprocess, {
        description: "Decode, de-duplicate and split the batch; RecordIO train/validation, test images with labels, dataset statistics",
        arguments: {
            RoleArn: roleArn,
            AppSpecification: { ImageUri: args.jobsImageUri, ContainerEntrypoint: [...JOBS_ENTRYPOINT, "preprocess"] },
            // The manifest's content hash: part of the cache key, and recorded in dataset.json.
            Environment: { [DATASET_ENV.manifestKey]: manifestKey, [DATASET_ENV.manifestSha256]: manifestSha256 },
            ProcessingResources: processingResources,
            StoppingCondition: { MaxRuntimeInSeconds: training.maxRuntimeSeconds },
            // The job reads only its mounted inputs, so it runs without network access.
            NetworkConfig: { EnableNetworkIsolation: true, EnableInterContainerTrafficEncryption: true },
            ProcessingInputs: [
                {
                    InputName: "raw",
                    S3Input: {
                        S3Uri: join([`s3://${buckets.raw}/`, manifestKey]),
                        LocalPath: PROCESSING_PATHS.preprocess.raw,
                        S3DataType: "ManifestFile",
                        S3InputMode: "File",
                        S3DataDistributionType: "FullyReplicated",
                    },
                },
                modelConfigInput(),
            ],
            ProcessingOutputConfig: {
                KmsKeyId: key,
                Outputs: [
                    {
                        OutputName: "train",
                        S3Output: { S3Uri: curated("train"), LocalPath: PROCESSING_PATHS.preprocess.train, S3UploadMode: "EndOfJob" },
                    },
                    {
                        OutputName: "validation",
                        S3Output: {
                            S3Uri: curated("validation"),
                            LocalPath: PROCESSING_PATHS.preprocess.validation,
                            S3UploadMode: "EndOfJob",
                        },
                    },
                    {
                        OutputName: "test",
                        S3Output: { S3Uri: curated("test"), LocalPath: PROCESSING_PATHS.preprocess.test, S3UploadMode: "EndOfJob" },
                    },
                    {
                        OutputName: "metadata",
                        S3Output: { S3Uri: curated("metadata"), LocalPath: PROCESSING_PATHS.preprocess.metadata, S3UploadMode: "EndOfJob" },
                    },
                ],
            },
        },
        propertyFiles: [{ PropertyFileName: "Dataset", OutputName: "metadata", FilePath: PROPERTY_FILES.dataset }],
        cache: { expireAfter: PREPROCESS_CACHE },
        retryPolicies: JOB_RETRIES,
    });

    const [channels, height, width] = config.imageShape;
    const hyperParameters: Record<string, string | Expression> = {
        num_classes: String(config.classes.length),
        // Hyperparameters are strings; Std:Join turns the number read from dataset.json into one.
        num_training_samples: join([jsonGet(preprocess.propertyFile("Dataset"), PROPERTY_PATHS.numTrainingSamples)]),
        use_pretrained_model: "1",
        num_layers: String(training.numLayers),
        image_shape: `${channels},${height},${width}`,
        epochs: String(training.epochs),
        learning_rate: String(training.learningRate),
        mini_batch_size: String(training.miniBatchSize),
        ...(training.augmentationType !== "none" ? { augmentation_type: training.augmentationType } : {}),
        early_stopping: training.earlyStopping.enabled ? "True" : "False",
        ...(training.earlyStopping.enabled
            ? {
                  early_stopping_patience: String(training.earlyStopping.patience),
                  early_stopping_min_epochs: String(training.earlyStopping.minEpochs),
              }
            : {}),
        // No checkpoint_frequency: the algorithm packs every periodic checkpoint into model.tar.gz; spot
        // resumption uses CheckpointConfig's local folder, and the default keeps the best epoch.
    };
    // The preprocess output folder also holds .idx/.lst files; the channel names the .rec file alone.
    const recordChannel = (name: "train" | "validation") => ({
        ChannelName: name,
        ContentType: "application/x-recordio",
        CompressionType: "None" as const,
        // The .rec files are RecordIO already; wrapping them again would corrupt them.
        RecordWrapperType: "None" as const,
        InputMode: "File" as const,
        DataSource: {
            S3DataSource: {
                S3DataType: "S3Prefix" as const,
                S3Uri: join([preprocess.outputUri(name), `/${name}.rec`]),
                S3DataDistributionType: "FullyReplicated" as const,
            },
        },
    });

    const pytorch = training.algorithm === "pytorch" ? pytorchStep(args, preprocess) : undefined;
    const train = p.training(STEP_NAMES.train, {
        description: pytorch
            ? `PyTorch ${training.architecture} (script mode) on ${training.instanceType}${training.spot ? " (managed spot)" : ""}`
            : `Built-in image classification, ResNet-${training.numLayers} transfer learning on ${training.instanceType}${training.spot ? " (managed spot)" : ""}`,
        arguments: {
            RoleArn: roleArn,
            AlgorithmSpecification: pytorch
                ? { TrainingImage: pytorch.trainingImageUri, TrainingInputMode: "File", MetricDefinitions: [...PYTORCH_METRIC_DEFINITIONS] }
                : { TrainingImage: args.algorithmImageUri, TrainingInputMode: "File" },
            HyperParameters: pytorch ? pytorch.job.hyperParameters : hyperParameters,
            InputDataConfig: pytorch ? pytorch.job.channels : [recordChannel("train"), recordChannel("validation")],
            OutputDataConfig: { S3OutputPath: artifacts("model"), KmsKeyId: key },
            ResourceConfig: {
                InstanceType: training.instanceType as TrainingInstanceType,
                InstanceCount: training.instanceCount,
                VolumeSizeInGB: training.volumeSizeGb,
                ...volumeKmsKey(training.instanceType, key),
            },
            StoppingCondition: {
                MaxRuntimeInSeconds: training.maxRuntimeSeconds,
                ...(training.spot ? { MaxWaitTimeInSeconds: maxWait } : {}),
            },
            EnableManagedSpotTraining: training.spot,
            // train.py resumes from its checkpoint after a spot interruption and after a retried step alike.
            ...(pytorch
                ? { CheckpointConfig: { S3Uri: artifacts("checkpoints"), LocalPath: PYTORCH_CHECKPOINT_DIR } }
                : training.spot
                  ? { CheckpointConfig: { S3Uri: artifacts("checkpoints") } }
                  : {}),
            EnableNetworkIsolation: pytorch ? pytorch.job.enableNetworkIsolation : true,
            EnableInterContainerTrafficEncryption: true,
        },
        retryPolicies: JOB_RETRIES,
    });
    const servingContainer = pytorch
        ? { Image: pytorch.inferenceImageUri, ModelDataUrl: train.modelArtifacts, Environment: pytorchServingEnvironment(args.region) }
        : { Image: args.algorithmImageUri, ModelDataUrl: train.modelArtifacts };

    const createModel = p.model(STEP_NAMES.createModel, {
        arguments: {
            ExecutionRoleArn: roleArn,
            PrimaryContainer: servingContainer,
            EnableNetworkIsolation: true,
        },
        retryPolicies: API_RETRIES,
    });

    const transformInstance = training.processingInstanceType;
    const transform = p.transform(STEP_NAMES.transform, {
        description: "Predict every test image (one image per request, JSON probabilities per image)",
        arguments: {
            ModelName: createModel.modelName,
            BatchStrategy: "SingleRecord",
            MaxPayloadInMB: 6,
            TransformInput: {
                DataSource: { S3DataSource: { S3DataType: "S3Prefix", S3Uri: join([preprocess.outputUri("test"), "/images/"]) } },
                ContentType: "application/x-image",
                SplitType: "None",
                CompressionType: "None",
            },
            TransformOutput: { S3OutputPath: curated("predictions"), Accept: "application/json", AssembleWith: "None", KmsKeyId: key },
            TransformResources: {
                InstanceType: transformInstance as TransformInstanceType,
                InstanceCount: 1,
                ...volumeKmsKey(transformInstance, key),
            },
        },
        retryPolicies: JOB_RETRIES,
    });

    const evaluate = p.processing(STEP_NAMES.evaluate, {
        description:
            "Accuracy, per-class precision/recall/F1, confusion matrix; champion lookup; model-quality statistics and monitoring baseline",
        arguments: {
            RoleArn: roleArn,
            AppSpecification: {
                ImageUri: args.jobsImageUri,
                ContainerEntrypoint: [...JOBS_ENTRYPOINT, "evaluate", "--model-package-group", group, "--region", args.region],
            },
            ProcessingResources: processingResources,
            StoppingCondition: { MaxRuntimeInSeconds: 3600 },
            // Network stays on: the job asks the model registry for the Approved champion.
            NetworkConfig: { EnableNetworkIsolation: false, EnableInterContainerTrafficEncryption: true },
            ProcessingInputs: [
                {
                    InputName: "predictions",
                    S3Input: {
                        S3Uri: transform.outputPath,
                        LocalPath: PROCESSING_PATHS.evaluate.predictions,
                        S3DataType: "S3Prefix",
                        S3InputMode: "File",
                        S3DataDistributionType: "FullyReplicated",
                    },
                },
                {
                    InputName: "labels",
                    S3Input: {
                        // labels.jsonl and images/: evaluate keeps a few test images per class for monitoring reports.
                        S3Uri: preprocess.outputUri("test"),
                        LocalPath: PROCESSING_PATHS.evaluate.test,
                        S3DataType: "S3Prefix",
                        S3InputMode: "File",
                        S3DataDistributionType: "FullyReplicated",
                    },
                },
                {
                    InputName: "metadata",
                    S3Input: {
                        S3Uri: preprocess.outputUri("metadata"),
                        LocalPath: PROCESSING_PATHS.evaluate.metadata,
                        S3DataType: "S3Prefix",
                        S3InputMode: "File",
                        S3DataDistributionType: "FullyReplicated",
                    },
                },
                modelConfigInput(),
            ],
            ProcessingOutputConfig: {
                KmsKeyId: key,
                Outputs: [
                    {
                        OutputName: "evaluation",
                        S3Output: {
                            S3Uri: artifacts("evaluation"),
                            LocalPath: PROCESSING_PATHS.evaluate.evaluation,
                            S3UploadMode: "EndOfJob",
                        },
                    },
                ],
            },
        },
        propertyFiles: [{ PropertyFileName: "Evaluation", OutputName: "evaluation", FilePath: PROPERTY_FILES.evaluation }],
        retryPolicies: JOB_RETRIES,
    });

    const evaluationFile = evaluate.propertyFile("Evaluation");
    const accuracy = jsonGet(evaluationFile, PROPERTY_PATHS.accuracy);
    const championFloor = jsonGet(evaluationFile, PROPERTY_PATHS.championFloor);
    const evaluationUri = (file: string) => join([evaluate.outputUri("evaluation"), `/${file}`]);

    const register = p.registerModel(STEP_NAMES.register, {
        arguments: {
            ModelPackageGroupName: group,
            ...(config.description ? { ModelPackageDescription: config.description } : {}),
            ModelApprovalStatus: "PendingManualApproval",
            InferenceSpecification: {
                Containers: [servingContainer],
                SupportedContentTypes: [...INFERENCE_CONTENT_TYPES],
                SupportedResponseMIMETypes: [...INFERENCE_RESPONSE_TYPES],
                SupportedRealtimeInferenceInstanceTypes: [
                    ...new Set([config.endpoint.instanceType, ...(args.realtimeInstanceTypes ?? SERVING_INSTANCE_TYPES)]),
                ] as ProductionVariantInstanceType[],
                SupportedTransformInstanceTypes: [transformInstance as TransformInstanceType],
            },
            ModelMetrics: { ModelQuality: { Statistics: { ContentType: "application/json", S3Uri: evaluationUri("statistics.json") } } },
            DriftCheckBaselines: {
                ModelDataQuality: { Statistics: { ContentType: "application/json", S3Uri: evaluationUri("monitoring_baseline.json") } },
            },
            CustomerMetadataProperties: {
                [PACKAGE_METADATA_KEYS.batchManifestKey]: manifestKey,
                [PACKAGE_METADATA_KEYS.gitCommit]: gitCommit,
                [PACKAGE_METADATA_KEYS.pipelineExecution]: execution.pipelineExecutionArn,
            },
        },
        retryPolicies: API_RETRIES,
    });

    const minAccuracy = config.quality.minAccuracy;
    const fail = p.fail(
        STEP_NAMES.fail,
        join([
            `${model}: not registered; accuracy `,
            accuracy,
            ` must be >= the required ${minAccuracy} and >= the champion floor `,
            championFloor,
            ` (champion accuracy minus ${config.quality.maxRegression}; 0 without an Approved champion)`,
        ]),
    );

    p.condition(STEP_NAMES.qualityGate, {
        description: `accuracy >= ${minAccuracy} and not more than ${config.quality.maxRegression} below the Approved champion`,
        conditions: [compare.greaterThanOrEqualTo(accuracy, minAccuracy), compare.lessThanOrEqualTo(championFloor, accuracy)],
        ifSteps: [register],
        elseSteps: [fail],
    });

    return p.build();
}

/** The PyTorch training job of a model, reading the image folders preprocess writes for it. */
function pytorchStep(args: ImageClassificationPipelineArgs, preprocess: { outputUri(name: "train" | "validation"): Expression }) {
    if (!args.pytorch)
        throw new Error(
            `models.${args.model}: training.algorithm is pytorch, so the pipeline needs its PyTorch images and source bundle (args.pytorch)`,
        );
    return {
        ...args.pytorch,
        job: pytorchTrainingJob({
            training: args.config.training,
            imageShape: args.config.imageShape,
            region: args.region,
            sourceBundleUri: args.pytorch.sourceBundleUri,
            trainUri: join([preprocess.outputUri("train"), `/${PYTORCH_IMAGE_FOLDERS_DIR}`]),
            validationUri: join([preprocess.outputUri("validation"), `/${PYTORCH_IMAGE_FOLDERS_DIR}`]),
            artifactsModelUri: `s3://${args.buckets.artifacts}/${prefixes.artifactsModel(args.model)}`,
        }),
    };
}
