import type { MetricDefinition } from "@aws-sdk/client-sagemaker";
import type { Expression } from "./expressions";
import { SOURCE_BUNDLE_FILE } from "./source-bundle";

/**
 * The contract between the PyTorch training step and the platform's own script (jobs/pytorch/train.py): the
 * metric lines it prints, the file names it reads and writes, where its checkpoints go.
 */

/** Where the platform's train.py and inference.py live in the repository: the default `training.sourceDir`. */
export const PYTORCH_SOURCE_DIR = "jobs/pytorch";
/** The script SageMaker runs (`sagemaker_program`), in the platform's source folder and in a user's own. */
export const PYTORCH_ENTRY_POINT = "train.py";
/** The serving handler train.py copies into the model directory as `code/inference.py`. */
export const PYTORCH_INFERENCE_SCRIPT = "inference.py";
/** Where SageMaker syncs CheckpointConfig's S3 location; train.py's `--checkpoint_dir` default. */
export const PYTORCH_CHECKPOINT_DIR = "/opt/ml/checkpoints";
/** The folder of a training split's output that holds its `<class>/<image>` folders: what a channel names. */
export const PYTORCH_IMAGE_FOLDERS_DIR = "images";
/** The class list train.py reads from each image channel and writes into the model directory. */
export const PYTORCH_CLASS_MAP_FILE = "class_map.json";

/**
 * What SageMaker parses from the training log, so the console and CloudWatch show the same metric names as the
 * built-in algorithm's. train.py prints one line per epoch: `epoch=3 train_loss=... train_accuracy=...
 * validation_loss=... validation_accuracy=... best_validation_accuracy=... epoch_seconds=...`; the `\b` keeps
 * `validation_accuracy` from matching inside `best_validation_accuracy`.
 */
export const PYTORCH_METRIC_DEFINITIONS: readonly MetricDefinition[] = [
    { Name: "train:loss", Regex: "\\btrain_loss=([0-9.eE+-]+)" },
    { Name: "train:accuracy", Regex: "\\btrain_accuracy=([0-9.eE+-]+)" },
    { Name: "validation:loss", Regex: "\\bvalidation_loss=([0-9.eE+-]+)" },
    { Name: "validation:accuracy", Regex: "\\bvalidation_accuracy=([0-9.eE+-]+)" },
];

/**
 * torchvision's image-classification models (`torchvision.models.list_models(module=torchvision.models)` in
 * torchvision 0.14, the one the CPU tests run, which every container version of `PYTORCH_VERSIONS` has too):
 * the names `training.architecture` takes for the platform's train.py.
 */
export const TORCHVISION_ARCHITECTURES = [
    "alexnet",
    "convnext_base",
    "convnext_large",
    "convnext_small",
    "convnext_tiny",
    "densenet121",
    "densenet161",
    "densenet169",
    "densenet201",
    "efficientnet_b0",
    "efficientnet_b1",
    "efficientnet_b2",
    "efficientnet_b3",
    "efficientnet_b4",
    "efficientnet_b5",
    "efficientnet_b6",
    "efficientnet_b7",
    "efficientnet_v2_l",
    "efficientnet_v2_m",
    "efficientnet_v2_s",
    "googlenet",
    "inception_v3",
    "maxvit_t",
    "mnasnet0_5",
    "mnasnet0_75",
    "mnasnet1_0",
    "mnasnet1_3",
    "mobilenet_v2",
    "mobilenet_v3_large",
    "mobilenet_v3_small",
    "regnet_x_16gf",
    "regnet_x_1_6gf",
    "regnet_x_32gf",
    "regnet_x_3_2gf",
    "regnet_x_400mf",
    "regnet_x_800mf",
    "regnet_x_8gf",
    "regnet_y_128gf",
    "regnet_y_16gf",
    "regnet_y_1_6gf",
    "regnet_y_32gf",
    "regnet_y_3_2gf",
    "regnet_y_400mf",
    "regnet_y_800mf",
    "regnet_y_8gf",
    "resnet101",
    "resnet152",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnext101_32x8d",
    "resnext101_64x4d",
    "resnext50_32x4d",
    "shufflenet_v2_x0_5",
    "shufflenet_v2_x1_0",
    "shufflenet_v2_x1_5",
    "shufflenet_v2_x2_0",
    "squeezenet1_0",
    "squeezenet1_1",
    "swin_b",
    "swin_s",
    "swin_t",
    "swin_v2_b",
    "swin_v2_s",
    "swin_v2_t",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
    "vit_b_16",
    "vit_b_32",
    "vit_h_14",
    "vit_l_16",
    "vit_l_32",
    "wide_resnet101_2",
    "wide_resnet50_2",
] as const;

/**
 * Options of the platform's train.py the step sets from other `training` keys (architecture, image shape,
 * epochs, learning rate, batch size, early stopping, seed, weights), so `training.hyperparameters` may not.
 */
export const PYTORCH_STEP_HYPERPARAMETERS = [
    "architecture",
    "image_shape",
    "epochs",
    "learning_rate",
    "batch_size",
    "early_stopping",
    "patience",
    "min_epochs",
    "seed",
    "weights",
] as const;

/** Further options of the platform's train.py that `training.hyperparameters` may set. */
export const PYTORCH_SCRIPT_HYPERPARAMETERS = [
    "optimizer",
    "momentum",
    "weight_decay",
    "label_smoothing",
    "augmentation",
    "num_workers",
    "download_timeout",
] as const;

/** Where `training.weights` takes the starting weights from, besides an S3 URI of a state dict. */
export const PYTORCH_WEIGHTS = ["imagenet", "none"] as const;

/** Where SageMaker mounts the code channel: the training toolkit extracts `sourcedir.tar.gz` from there. */
export const PYTORCH_CODE_CHANNEL = { name: "code", dir: "/opt/ml/input/data/code" } as const;
/** The model directory's handler folder, where the inference container looks for inference.py. */
export const PYTORCH_MODEL_CODE_DIR = "/opt/ml/model/code";

/** The training settings the PyTorch step reads (the stack config's `training`, or a program's own). */
export interface PyTorchTrainingSettings {
    readonly architecture?: string;
    readonly weights?: string;
    readonly hyperparameters?: Readonly<Record<string, string | number | boolean>>;
    readonly epochs: number;
    readonly learningRate: number;
    readonly miniBatchSize: number;
    readonly earlyStopping: { readonly enabled: boolean; readonly patience: number; readonly minEpochs: number };
    readonly seed: number;
}

export interface PyTorchTrainingStepInput {
    readonly training: PyTorchTrainingSettings;
    readonly imageShape: readonly [number, number, number];
    readonly region: string;
    /** `sourcedir.tar.gz` in S3 (`SOURCE_BUNDLE_FILE` as the key's last segment). */
    readonly sourceBundleUri: string;
    readonly trainUri: string | Expression;
    readonly validationUri: string | Expression;
    /** Where a `weights` key that is no URI is read from: the model's prefix of the artifacts bucket (`s3://<bucket>/<model>/`). */
    readonly artifactsModelUri: string;
}

/**
 * The script-mode parts of a PyTorch training job: hyperparameters (JSON-encoded, as the SageMaker SDK writes
 * them and the training toolkit decodes them into `--name value` arguments), the channels (image folders, the
 * code, and the starting weights when they are an S3 object) and whether the job needs the network (only to
 * download torchvision's ImageNet weights).
 */
export function pytorchTrainingJob(input: PyTorchTrainingStepInput): {
    hyperParameters: Record<string, string>;
    channels: Channel[];
    enableNetworkIsolation: boolean;
} {
    const t = input.training;
    if (!t.architecture) throw new Error("a PyTorch training step needs training.architecture");
    const weights = t.weights ?? "none";
    const fromS3 = !(PYTORCH_WEIGHTS as readonly string[]).includes(weights);
    const weightsUri = weights.startsWith("s3://") ? weights : `${input.artifactsModelUri}${weights}`;
    const script: Record<string, string | number | boolean> = {
        ...(t.hyperparameters ?? {}),
        architecture: t.architecture,
        image_shape: input.imageShape.join(","),
        epochs: t.epochs,
        learning_rate: t.learningRate,
        batch_size: t.miniBatchSize,
        early_stopping: t.earlyStopping.enabled,
        patience: t.earlyStopping.patience,
        min_epochs: t.earlyStopping.minEpochs,
        seed: t.seed,
        // A weights channel takes precedence in train.py; `none` keeps it from trying a download besides.
        weights: fromS3 ? "none" : weights,
    };
    const hyperParameters: Record<string, string> = {
        ...Object.fromEntries(Object.entries(script).map(([k, v]) => [k, JSON.stringify(v)])),
        sagemaker_program: JSON.stringify(PYTORCH_ENTRY_POINT),
        // The code arrives as a channel, so a network-isolated job runs it as well as one with network access.
        sagemaker_submit_directory: JSON.stringify(`${PYTORCH_CODE_CHANNEL.dir}/${SOURCE_BUNDLE_FILE}`),
        sagemaker_region: JSON.stringify(input.region),
        sagemaker_container_log_level: "20",
    };
    const channel = (name: string, uri: string | Expression): Channel => ({
        ChannelName: name,
        InputMode: "File",
        CompressionType: "None",
        DataSource: { S3DataSource: { S3DataType: "S3Prefix", S3Uri: uri, S3DataDistributionType: "FullyReplicated" } },
    });
    return {
        hyperParameters,
        channels: [
            channel("train", input.trainUri),
            channel("validation", input.validationUri),
            channel(PYTORCH_CODE_CHANNEL.name, input.sourceBundleUri),
            ...(fromS3 ? [channel("weights", weightsUri)] : []),
        ],
        enableNetworkIsolation: weights !== "imagenet",
    };
}

/** The inference container of a PyTorch model: the PyTorch inference image running the model directory's code/inference.py. */
export function pytorchServingEnvironment(region: string): Record<string, string> {
    return {
        SAGEMAKER_PROGRAM: PYTORCH_INFERENCE_SCRIPT,
        SAGEMAKER_SUBMIT_DIRECTORY: PYTORCH_MODEL_CODE_DIR,
        SAGEMAKER_CONTAINER_LOG_LEVEL: "20",
        SAGEMAKER_REGION: region,
    };
}

type Channel = {
    ChannelName: string;
    InputMode: "File";
    CompressionType: "None";
    DataSource: { S3DataSource: { S3DataType: "S3Prefix"; S3Uri: string | Expression; S3DataDistributionType: "FullyReplicated" } };
};
