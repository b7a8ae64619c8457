import type { MetricDefinition } from "@aws-sdk/client-sagemaker";

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
