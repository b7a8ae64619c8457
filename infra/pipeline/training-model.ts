import type { DriftThresholds } from "../job-contract";

/**
 * What a training pipeline needs to know about the model it trains, as its own documented type: a program
 * that is not this one (no stack file, no config schema) builds it by hand; the platform's stack maps its
 * stack config onto it. The stack config's model settings have this shape, so the mapping is field by field.
 */

/** How the model is trained. */
export interface TrainingSettings {
    /** GPU instance the algorithm trains on, e.g. ml.g4dn.xlarge. */
    readonly instanceType: string;
    readonly instanceCount: number;
    /** Managed spot training, with checkpoints in the artifacts bucket. */
    readonly spot: boolean;
    /** Hard cap on training time. */
    readonly maxRuntimeSeconds: number;
    /** Spot only: total time including waiting for capacity. Defaults to twice maxRuntimeSeconds. */
    readonly maxWaitSeconds?: number;
    readonly volumeSizeGb: number;
    readonly epochs: number;
    /** ResNet depth for transfer learning. */
    readonly numLayers: number;
    readonly learningRate: number;
    readonly miniBatchSize: number;
    readonly earlyStopping: { readonly enabled: boolean; readonly patience: number; readonly minEpochs: number };
    /** The algorithm's `augmentation_type`, or "none". */
    readonly augmentationType: "none" | "crop" | "crop_color" | "crop_color_transform";
    /** CPU instance of the preprocess and evaluate jobs and of the test set's batch transform. */
    readonly processingInstanceType: string;
    /** Images whose shorter side is below this are dropped and reported instead of upscaled. Off when absent. */
    readonly minImageSide?: number;
    /** Shares of each class held out for validation and test (each > 0); train is the rest. */
    readonly split: { readonly validation: number; readonly test: number };
    /** Seed of the stratified split. */
    readonly seed: number;
    /** `builtin`: SageMaker's image-classification algorithm; `pytorch`: a script in the SageMaker PyTorch containers. */
    readonly algorithm: "builtin" | "pytorch";
    /** pytorch: the torchvision network (or a name the script in `sourceDir` takes). */
    readonly architecture?: string;
    /** pytorch: the PyTorch container version. Defaults to DEFAULT_PYTORCH_VERSION. */
    readonly frameworkVersion?: string;
    /** pytorch: `none`, `imagenet`, a key under the model's artifacts prefix or an S3 URI of a state dict. Defaults to none. */
    readonly weights?: string;
    /** pytorch: more arguments for the script. */
    readonly hyperparameters?: Readonly<Record<string, string | number | boolean>>;
    /** pytorch: the folder with the script (train.py). Defaults to jobs/pytorch. */
    readonly sourceDir?: string;
}

/** One image-classification model, as its training pipeline trains, judges and registers it. */
export interface TrainingModelSettings {
    /** Description of the model package group and of every package. */
    readonly description?: string;
    /** Class names, in label order. */
    readonly classes: readonly string[];
    /** [channels, height, width] the model trains on. */
    readonly imageShape: readonly [number, number, number];
    readonly training: TrainingSettings;
    /** The quality gate: accuracy on the test set, and how far below the Approved champion a challenger may be. */
    readonly quality: { readonly minAccuracy: number; readonly maxRegression: number };
    /** The instance type the registered package declares first for real-time inference. */
    readonly endpoint: { readonly instanceType: string };
    /** Predictions below this confidence count as low-confidence in the evaluation report. */
    readonly inference: { readonly confidenceThreshold: number };
    readonly monitoring: { readonly drift: DriftThresholds };
}

/** Spot wait cap when a model does not set one: twice the runtime cap. */
export function maxWaitSeconds(training: Pick<TrainingSettings, "maxWaitSeconds" | "maxRuntimeSeconds">): number {
    return training.maxWaitSeconds ?? 2 * training.maxRuntimeSeconds;
}
