import { existsSync, statSync } from "fs";
import { isAbsolute, join, normalize } from "path";
import { z } from "zod";
import { instanceTypeProblem, InstanceUse, suggestion } from "./instance-types";
import {
    PYTORCH_ENTRY_POINT,
    PYTORCH_SCRIPT_HYPERPARAMETERS,
    PYTORCH_STEP_HYPERPARAMETERS,
    PYTORCH_WEIGHTS,
    TORCHVISION_ARCHITECTURES,
} from "./pipeline/pytorch";
import { BUDGET_FILTERS, BudgetFilter } from "./budget";
import { describeInstanceTypes, InstanceUse as PricedUse, isPricedFor, pricedInstanceTypes } from "./prices";
import { defaultMaxRuntime, monitoringLimitProblems } from "./monitoring/schedule";
import { ENVIRONMENTS, Environment } from "./naming";
import { DEFAULT_PYTORCH_VERSION, isPyTorchVersion, PYTORCH_VERSIONS } from "./pytorch-images";
import { isSageMakerRegion, SAGEMAKER_REGIONS } from "./regions";

/**
 * The typed stack configuration: one schema, the only place defaults live.
 *
 * Stack files carry it as Pulumi config keys in the `vision-mlops:` namespace (`environment`, `tags`,
 * `budget`, `alerts`, `promotion`, `monitoring`, `models`) plus `aws:region`. `parsePlatformConfig`
 * validates all of it at once and reports every bad value with its key path, the value and what is allowed.
 */

export { ENVIRONMENTS, Environment };

export { BUDGET_FILTERS, BudgetFilter };

/** GPU families the built-in image-classification algorithm trains on. */
export const TRAINING_GPU_FAMILIES = ["p2", "p3", "p3dn", "g4dn", "g5"] as const;
/** The policy-pack rule (the platform's guardrail; no Security Hub or Checkov control covers it) that training runs on GPUs. */
export const TRAINING_GPU_RULE = "sagemaker-training-gpu";

/** `builtin`: SageMaker's image-classification algorithm (MXNet, RecordIO); `pytorch`: a PyTorch script (script mode). */
export const TRAINING_ALGORITHMS = ["builtin", "pytorch"] as const;
export type TrainingAlgorithm = (typeof TRAINING_ALGORITHMS)[number];
/** `training` keys that only the PyTorch path reads. */
const PYTORCH_ONLY_KEYS = ["architecture", "frameworkVersion", "weights", "hyperparameters", "sourceDir"] as const;
/** `training` keys that only the built-in algorithm reads (they have defaults, so the stack file is checked for them). */
const BUILTIN_ONLY_KEYS = ["numLayers", "augmentationType"] as const;
const S3_WEIGHTS_URI = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/\S+\.(pth|pt)$/;
/** A state dict under the model's own prefix of the artifacts bucket, which its training role reads already. */
const ARTIFACT_WEIGHTS_KEY = /^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._/-]*\.(pth|pt)$/;
const HYPERPARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,255}$/;
/** CreateTrainingJob: at most 100 hyperparameters, values of at most 2500 characters. */
const MAX_HYPERPARAMETERS = 100;
const MAX_HYPERPARAMETER_VALUE = 2500;

const RESNET_DEPTHS = [18, 34, 50, 101, 152, 200];
const MODEL_NAME = /^[a-z][a-z0-9-]*[a-z0-9]$/;
/**
 * Class names become folder names (`<class>/<image>`) and S3 key segments (`<model>/batches/<id>/<class>/...`),
 * so they are kept to characters that mean nothing to a path, a URL or a list file.
 */
export const CLASS_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const SCHEDULE_EXPRESSION = /^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(.+\))$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const MODEL_PACKAGE_ARN = /^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package\/[a-zA-Z0-9-]+\/\d+$/;

const fraction = (what: string) =>
    z
        .number({ error: `must be a number from 0 to 1 (${what})` })
        .min(0, { error: `must be from 0 to 1 (${what})` })
        .max(1, { error: `must be from 0 to 1 (${what})` });
const positiveInt = (what: string) =>
    z
        .number({ error: `must be a whole number >= 1 (${what})` })
        .int({ error: `must be a whole number (${what})` })
        .min(1, { error: `must be >= 1 (${what})` });
/**
 * An instance type every one of `uses` accepts (the lists of the SageMaker API model), with a "did you mean";
 * then one the cost estimate can price (`priced`), since an unpriced one is refused, not guessed.
 */
const instanceType = (uses: InstanceUse | readonly InstanceUse[], example: string, priced: PricedUse) =>
    z.string({ error: `must be a SageMaker instance type such as ${example}` }).superRefine((type, ctx) => {
        const problem = instanceTypeProblem(uses, type);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
        // A CPU training type gets the GPU message alone (below).
        else if ((priced !== "training" || isTrainingGpuInstance(type)) && !isPricedFor(priced, type))
            ctx.addIssue({
                code: "custom",
                message: `has no price in infra/prices.ts for ${priced} use; priced ${priced} instances: ${describeInstanceTypes(pricedInstanceTypes(priced))} (add a row with its source to use another)`,
            });
    });
/** A held-out share: above 0, because every class needs at least one image in each held-out split. */
const heldOut = (what: string, why: string) =>
    fraction("share of each class").gt(0, {
        error: `must be > 0: every class needs at least one ${what} image ${why} (and one ${what === "test" ? "validation" : "test"} image), so each class needs at least 3 images`,
    });
const emails = z.array(z.string().regex(EMAIL, { error: "must be an e-mail address such as ml-oncall@example.com" }), {
    error: "must be a list of e-mail addresses",
});

export function isTrainingGpuInstance(type: string): boolean {
    const family = type.split(".")[1];
    return (TRAINING_GPU_FAMILIES as readonly string[]).includes(family);
}

/** The checks of the PyTorch keys that need more than one key's value. */
function pytorchProblems(t: {
    readonly algorithm: TrainingAlgorithm;
    readonly architecture?: string;
    readonly frameworkVersion?: string;
    readonly weights?: string;
    readonly hyperparameters?: Record<string, string | number | boolean>;
    readonly sourceDir?: string;
    readonly instanceType: string;
    readonly instanceCount: number;
}): { path: (string | number)[]; message: string }[] {
    const problems: { path: (string | number)[]; message: string }[] = [];
    const add = (path: (string | number)[], message: string) => problems.push({ path, message });
    if (t.algorithm !== "pytorch") {
        for (const key of PYTORCH_ONLY_KEYS)
            if (t[key] !== undefined) add([key], "applies to training.algorithm pytorch only; set algorithm: pytorch or remove it");
        return problems;
    }
    const ownScript = t.sourceDir !== undefined;
    if (t.architecture === undefined)
        add(
            ["architecture"],
            "is required when training.algorithm is pytorch: a torchvision model name such as resnet50, efficientnet_b0 or vit_b_16",
        );
    else if (!ownScript && !(TORCHVISION_ARCHITECTURES as readonly string[]).includes(t.architecture))
        add(
            ["architecture"],
            `is not a torchvision classification model${suggestion(t.architecture, TORCHVISION_ARCHITECTURES, "")}; for example resnet50, efficientnet_b0, vit_b_16 (with training.sourceDir your own train.py may take other names)`,
        );
    if (t.frameworkVersion !== undefined && !isPyTorchVersion(t.frameworkVersion))
        add(
            ["frameworkVersion"],
            `must be one of ${Object.keys(PYTORCH_VERSIONS).join(", ")}: the versions SageMaker publishes both a PyTorch training and an inference image for`,
        );
    if (
        t.weights !== undefined &&
        !(PYTORCH_WEIGHTS as readonly string[]).includes(t.weights) &&
        !S3_WEIGHTS_URI.test(t.weights) &&
        !ARTIFACT_WEIGHTS_KEY.test(t.weights)
    )
        add(
            ["weights"],
            "must be none, imagenet, a .pth key under the model's prefix of the artifacts bucket (pretrained/resnet50.pth), or the S3 URI of a state dict such as s3://my-bucket/weights/resnet50.pth",
        );
    const hyperparameters = Object.entries(t.hyperparameters ?? {});
    if (hyperparameters.length + PYTORCH_STEP_HYPERPARAMETERS.length > MAX_HYPERPARAMETERS)
        add(
            ["hyperparameters"],
            `has ${hyperparameters.length} entries; a training job takes ${MAX_HYPERPARAMETERS} hyperparameters, ${PYTORCH_STEP_HYPERPARAMETERS.length} of them set by the platform`,
        );
    for (const [name, value] of hyperparameters) {
        if (!HYPERPARAMETER_NAME.test(name))
            add(
                ["hyperparameters", name],
                "names must be letters, digits, _ and -, starting with a letter or _ (they become --name arguments)",
            );
        else if (name.startsWith("sagemaker_")) add(["hyperparameters", name], "is a name SageMaker's script mode reserves (sagemaker_*)");
        else if ((PYTORCH_STEP_HYPERPARAMETERS as readonly string[]).includes(name))
            add(
                ["hyperparameters", name],
                `is set from the other training keys (${PYTORCH_STEP_HYPERPARAMETERS.join(", ")} come from architecture, imageShape, epochs, learningRate, miniBatchSize, earlyStopping, seed, weights); set it there`,
            );
        else if (!ownScript && !(PYTORCH_SCRIPT_HYPERPARAMETERS as readonly string[]).includes(name))
            add(
                ["hyperparameters", name],
                `is not an option of the platform's train.py, which takes ${PYTORCH_SCRIPT_HYPERPARAMETERS.join(", ")} (or bring your own with training.sourceDir)`,
            );
        if (String(value).length > MAX_HYPERPARAMETER_VALUE)
            add(["hyperparameters", name], `is ${String(value).length} characters; SageMaker takes at most ${MAX_HYPERPARAMETER_VALUE}`);
    }
    if (ownScript) {
        const dir = t.sourceDir!;
        if (isAbsolute(dir) || normalize(dir).split(/[\\/]/)[0] === "..")
            add(["sourceDir"], "must be a folder inside the project, as a relative path such as models/dog-breeds");
        else if (!existsSync(dir) || !statSync(dir).isDirectory())
            add(["sourceDir"], `is not a folder (looked for ${join(process.cwd(), dir)})`);
        else if (!existsSync(join(dir, PYTORCH_ENTRY_POINT)))
            add(["sourceDir"], `has no ${PYTORCH_ENTRY_POINT}, the script the training job runs`);
    } else if (t.instanceCount > 1)
        add(
            ["instanceCount"],
            "must be 1 with the platform's train.py, which trains on one instance (bring a distributed script with training.sourceDir)",
        );
    if (t.instanceType.startsWith("ml.p2."))
        add(
            ["instanceType"],
            "has K80 GPUs, which the PyTorch 2 containers do not support; use ml.g4dn, ml.g5 or ml.p3 (for example ml.g4dn.xlarge)",
        );
    return problems;
}

const trainingSchema = z
    .strictObject({
        /** GPU instance for the built-in algorithm. Defaults to ml.g4dn.xlarge. */
        instanceType: instanceType("training", "ml.g4dn.xlarge", "training")
            .refine((t) => instanceTypeProblem("training", t) !== undefined || isTrainingGpuInstance(t), {
                error: `is not a GPU instance, which policy rule ${TRAINING_GPU_RULE} requires; the image-classification algorithm trains on ${TRAINING_GPU_FAMILIES.map(
                    (f) => `ml.${f}`,
                ).join(", ")} (for example ml.g4dn.xlarge)`,
            })
            .default("ml.g4dn.xlarge"),
        instanceCount: positiveInt("training instances").max(8, { error: "must be at most 8" }).default(1),
        /** Managed spot training with checkpoints. Defaults to true. */
        spot: z.boolean({ error: "must be true or false" }).default(true),
        /** Hard cap on training time. Defaults to 4 hours. */
        maxRuntimeSeconds: positiveInt("seconds")
            .max(28 * 24 * 3600, { error: "must be at most 28 days (2419200)" })
            .default(4 * 3600),
        /** Spot only: total time including waiting for capacity; must be >= maxRuntimeSeconds. Defaults to 2x runtime. */
        maxWaitSeconds: positiveInt("seconds").optional(),
        volumeSizeGb: positiveInt("GiB").max(16384, { error: "must be at most 16384" }).default(50),
        epochs: positiveInt("epochs").max(1000, { error: "must be at most 1000" }).default(30),
        /** ResNet depth for transfer learning. Defaults to 18. */
        numLayers: z
            .number()
            .refine((n) => RESNET_DEPTHS.includes(n), {
                error: `must be one of ${RESNET_DEPTHS.join(", ")} (pretrained ResNet depths)`,
            })
            .default(18),
        learningRate: z
            .number({ error: "must be a number" })
            .gt(0, { error: "must be > 0" })
            .max(1, { error: "must be <= 1" })
            .default(0.001),
        miniBatchSize: positiveInt("images per batch").max(4096, { error: "must be at most 4096" }).default(32),
        earlyStopping: z
            .strictObject({
                enabled: z.boolean().default(true),
                patience: positiveInt("epochs").default(5),
                minEpochs: positiveInt("epochs").default(10),
            })
            .default({ enabled: true, patience: 5, minEpochs: 10 }),
        augmentationType: z
            .enum(["none", "crop", "crop_color", "crop_color_transform"], {
                error: "must be one of none, crop, crop_color, crop_color_transform",
            })
            .default("crop_color_transform"),
        /** CPU instance for the preprocess and evaluate jobs and the test set's batch transform. Defaults to ml.m5.xlarge. */
        processingInstanceType: instanceType(["processing", "transform"], "ml.m5.xlarge", "processing").default("ml.m5.xlarge"),
        /**
         * Images whose shorter side is below this many pixels are dropped and reported instead of upscaled to the
         * image shape. Off by default: every image is used, smaller ones upscaled.
         */
        minImageSide: positiveInt("pixels").max(4096, { error: "must be at most 4096 (pixels)" }).optional(),
        /** Fractions of each class held out (each > 0); train is the rest. Defaults to 0.1 and 0.1. */
        split: z
            .strictObject({
                validation: heldOut("validation", "for early stopping and choosing the best epoch").default(0.1),
                test: heldOut("test", "for the quality gate to judge").default(0.1),
            })
            .default({ validation: 0.1, test: 0.1 }),
        seed: z.number().int({ error: "must be a whole number" }).default(42),
        /** EventBridge schedule expression for periodic retraining, e.g. rate(7 days). Off by default. */
        retrainSchedule: z.string().regex(SCHEDULE_EXPRESSION, { error: "must be rate(N minutes|hours|days) or cron(...)" }).optional(),
        /** `builtin` (default): SageMaker's image-classification algorithm; `pytorch`: a script in the SageMaker PyTorch containers. */
        algorithm: z.enum(TRAINING_ALGORITHMS, { error: `must be one of ${TRAINING_ALGORITHMS.join(", ")}` }).default("builtin"),
        /** pytorch, required: the torchvision model to train, e.g. resnet50, efficientnet_b0, vit_b_16. */
        architecture: z.string({ error: "must be a torchvision model name such as resnet50" }).optional(),
        /** pytorch: version of the SageMaker PyTorch training and inference containers. Defaults to DEFAULT_PYTORCH_VERSION. */
        frameworkVersion: z
            .string({ error: `must be a quoted version such as "${DEFAULT_PYTORCH_VERSION}" (YAML reads 2.10 as the number 2.1)` })
            .optional(),
        /**
         * pytorch: the starting weights. `none` (default): random initialisation; a `.pth` key under the model's prefix
         * of the artifacts bucket (`pretrained/resnet50.pth` is `s3://<artifacts>/<model>/pretrained/resnet50.pth`) or
         * an S3 URI: a state dict the job reads as its `weights` channel; `imagenet`: torchvision's pretrained weights,
         * downloaded by the job, which then needs network access (the policy pack refuses training without isolation).
         */
        weights: z.string({ error: "must be imagenet, none or an S3 URI of a .pth state dict" }).optional(),
        /** pytorch: further arguments of train.py (`--name value`), e.g. {optimizer: sgd, weight_decay: 0.0005}. */
        hyperparameters: z
            .record(z.string(), z.union([z.string(), z.number(), z.boolean()]), {
                error: "must be a map of hyperparameter name to a string, number or true/false",
            })
            .optional(),
        /** pytorch: a folder of the project with your own train.py (and whatever it imports), instead of jobs/pytorch. */
        sourceDir: z.string({ error: "must be a folder path relative to the project, such as models/dog-breeds" }).optional(),
    })
    .superRefine((t, ctx) => {
        for (const problem of pytorchProblems(t)) ctx.addIssue({ code: "custom", ...problem });
        if (t.maxWaitSeconds !== undefined && !t.spot)
            ctx.addIssue({
                code: "custom",
                path: ["maxWaitSeconds"],
                message: "applies to spot training only; set spot: true or remove it",
            });
        if (t.maxWaitSeconds !== undefined && t.maxWaitSeconds < t.maxRuntimeSeconds)
            ctx.addIssue({
                code: "custom",
                path: ["maxWaitSeconds"],
                message: `must be >= training.maxRuntimeSeconds (${t.maxRuntimeSeconds})`,
            });
        if (t.split.validation + t.split.test >= 0.9)
            ctx.addIssue({
                code: "custom",
                path: ["split"],
                message: "validation + test must leave at least 10% of each class for training",
            });
    });

const autoscalingSchema = z.strictObject({
    minCapacity: positiveInt("instances"),
    maxCapacity: positiveInt("instances"),
    /** Target invocations per instance per minute. Defaults to 100. */
    targetInvocationsPerInstance: positiveInt("invocations per instance per minute").default(100),
    scaleInCooldownSeconds: z.number().int().min(0).default(300),
    scaleOutCooldownSeconds: z.number().int().min(0).default(60),
});

const endpointSchema = z.strictObject({
    instanceType: instanceType("endpoint", "ml.m5.large", "endpoint").default("ml.m5.large"),
    instanceCount: positiveInt("instances").default(1),
    autoscaling: autoscalingSchema.optional(),
    /** Share of requests captured. Defaults to 100 in staging and 80 in prod (see `defaultCapturePercent`). */
    dataCapturePercent: z
        .number({ error: "must be a whole number from 1 to 100" })
        .int({ error: "must be a whole number from 1 to 100" })
        .min(1, { error: "must be from 1 to 100" })
        .max(100, { error: "must be from 1 to 100" })
        .optional(),
    /** Serve this package instead of the newest (staging) or staging's (prod); prod still requires Approved. */
    modelPackageArn: z
        .string()
        .regex(MODEL_PACKAGE_ARN, {
            error: "must be a model package version ARN such as arn:aws:sagemaker:us-east-1:123456789012:model-package/my-group/3",
        })
        .optional(),
    /** p99 model latency alarm threshold in milliseconds. Defaults to 500. */
    latencyP99Ms: positiveInt("milliseconds").default(500),
});

const driftSchema = z.strictObject({
    /**
     * PSI of the predicted-class distribution above which a significant shift is reported as drift. Defaults to
     * 0.1: PSI is at least 4 x (share of mass moved)^2, so 0.1 lets every shift of 16% of the mass or more
     * through, where 0.2 would hide a 20% shift between two classes (PSI 0.16).
     */
    classPsi: z.number().positive().default(0.1),
    /**
     * False-alarm rate of the drift tests: the predicted-class test runs at this p-value, the confidence and
     * image-property tests share it. Defaults to 0.01.
     */
    chiSquarePValue: fraction("p-value").default(0.01),
    /** As classPsi, for the top-class confidence histogram. Defaults to 0.1. */
    confidencePsi: z.number().positive().default(0.1),
    /** As classPsi, for each image property's histogram. Defaults to 0.1. */
    imagePropertyPsi: z.number().positive().default(0.1),
    /** Share of predictions below the inference confidence threshold that counts as a violation. Defaults to 0.2. */
    lowConfidenceRate: fraction("share of requests").default(0.2),
    decodeErrorRate: fraction("share of requests").default(0.01),
    /** Accuracy drop against the evaluation baseline when labels arrive. Defaults to 0.05. */
    accuracyDrop: fraction("accuracy points").default(0.05),
    minRecords: positiveInt("records").default(30),
});

const monitoringSchema = z.strictObject({
    schedule: z.enum(["hourly", "daily"], { error: "must be hourly or daily" }).default("hourly"),
    drift: driftSchema.default(driftSchema.parse({})),
    /** Start the training pipeline when drift alarms stay on for this many periods. Off by default. */
    retrainAfterPeriods: positiveInt("periods").max(24, { error: "must be at most 24" }).optional(),
    /**
     * Images decoded per monitoring window at most (a uniform sample); image-property drift is judged on it, while
     * predictions and confidence are read from every record. Defaults to 2000, which keeps the property tests'
     * power (a 20% shift is seen at least 90% of the time against a baseline of 300 images or more).
     */
    imageSampleSize: positiveInt("images").max(100_000, { error: "must be at most 100000" }).default(2000),
    /**
     * Processing instances per monitoring run (pipeline engine). Above 1 the window's capture files are sharded
     * over the instances (ShardedByS3Key) and a merge step judges their summed statistics. Defaults to 1.
     */
    instanceCount: positiveInt("instances").max(20, { error: "must be at most 20" }).default(1),
    /**
     * Alarm when this many monitoring periods in a row are not judged (no records, or fewer than minRecords) or
     * publish nothing: a served endpoint whose capture broke is an incident. Defaults to 3.
     */
    unjudgedPeriods: positiveInt("periods").max(24, { error: "must be at most 24" }).default(3),
    alertEmails: emails.default([]),
});

const qualitySchema = z.strictObject({
    /** Accuracy on the held-out test set required to register a model. */
    minAccuracy: fraction("accuracy"),
    /** How far below the Approved champion's accuracy a challenger may be. Defaults to 0.01. */
    maxRegression: fraction("accuracy points").default(0.01),
});

/** Seconds in a day, for the review wait's defaults. */
const DAY_SECONDS = 24 * 3600;
/** A Standard Step Functions execution runs for at most a year, and so does a task waiting for its token. */
const STANDARD_EXECUTION_MAX_SECONDS = 365 * DAY_SECONDS;

const inferenceSchema = z
    .strictObject({
        /** Predictions below this top-class confidence go to human review. Defaults to 0.8. */
        confidenceThreshold: fraction("confidence").default(0.8),
        /**
         * Also send to review when the top class leads the second by less than this (top-1 minus top-2
         * confidence). Defaults to none: the threshold alone decides.
         */
        confidenceMargin: fraction("confidence points").optional(),
        /** Ranked classes kept with a prediction and shown to a reviewer. Defaults to 5. */
        topK: positiveInt("classes").max(20, { error: "must be <= 20 (classes)" }).default(5),
        /** How long an image waits for a reviewer before its execution ends as timed out. Defaults to 7 days. */
        reviewTimeoutSeconds: positiveInt("seconds")
            .max(STANDARD_EXECUTION_MAX_SECONDS, { error: `must be <= ${STANDARD_EXECUTION_MAX_SECONDS} (a Standard execution's year)` })
            .default(7 * DAY_SECONDS),
        /**
         * The waiting execution expects a heartbeat this often; the heartbeat is sent while the image is still
         * queued, so an item whose queue entry was removed ends early. At least 300. Defaults to 1 hour.
         */
        reviewHeartbeatSeconds: positiveInt("seconds").min(300, { error: "must be >= 300 (seconds)" }).default(3600),
        /** Reviewed images that make an ingest batch (and so a training run). Defaults to 50. */
        reviewBatchSize: positiveInt("images").max(1000, { error: "must be <= 1000 (images)" }).default(50),
        /** Also batch whatever is reviewed on this EventBridge schedule, e.g. `rate(1 day)`. Defaults to none. */
        reviewBatchSchedule: z
            .string()
            .regex(SCHEDULE_EXPRESSION, { error: "must be an EventBridge schedule such as rate(1 day) or cron(0 6 * * ? *)" })
            .optional(),
        /**
         * Raw-bucket key prefix, e.g. `incoming/traffic-signs/`: every JPEG or PNG image dropped under it is
         * classified. Defaults to none (executions start from the classify command or the API).
         */
        triggerPrefix: z
            .string()
            .regex(/^[A-Za-z0-9!_.'()-][A-Za-z0-9!_.'()/-]*\/$/, {
                error: 'must be a key prefix ending in "/" without a leading "/", e.g. incoming/traffic-signs/',
            })
            .optional(),
    })
    .superRefine((c, ctx) => {
        if (c.reviewHeartbeatSeconds >= c.reviewTimeoutSeconds)
            ctx.addIssue({
                code: "custom",
                path: ["reviewHeartbeatSeconds"],
                message: `must be below reviewTimeoutSeconds (${c.reviewTimeoutSeconds}); a heartbeat longer than the wait never matters`,
            });
        if (c.triggerPrefix !== undefined && /^[^/]+\/(batches|review|latest|datasets|inference)\//.test(c.triggerPrefix))
            ctx.addIssue({
                code: "custom",
                path: ["triggerPrefix"],
                message: `${JSON.stringify(c.triggerPrefix)} lies in a model's training data or review queue; drop images somewhere else, e.g. incoming/<model>/`,
            });
    });

const modelSchema = z.strictObject({
    description: z.string().max(256).optional(),
    classes: z
        .array(
            z.string({ error: "class names must be strings" }).regex(CLASS_NAME, {
                error: 'must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit (class names become folder names and S3 key segments)',
            }),
            { error: "must be a list of class names" },
        )
        .min(2, { error: "needs at least 2 classes" })
        .max(1000, { error: "allows at most 1000 classes" })
        .refine((c) => new Set(c).size === c.length, { error: "has duplicate class names" })
        .superRefine((classes, ctx) => {
            const byLower = new Map<string, string[]>();
            for (const c of new Set(classes)) byLower.set(c.toLowerCase(), [...(byLower.get(c.toLowerCase()) ?? []), c]);
            const clashes = [...byLower.values()].filter((names) => names.length > 1).map((names) => names.join(", "));
            if (clashes.length)
                ctx.addIssue({
                    code: "custom",
                    message: `has class names that differ only in case (${clashes.join("; ")}); their folders would be one folder on macOS and Windows`,
                });
        }),
    /** [channels, height, width] the algorithm trains on. */
    imageShape: z.tuple(
        [
            z.union([z.literal(1), z.literal(3)], { error: "channels must be 1 or 3" }),
            z.number().int().min(8, { error: "height must be >= 8" }).max(1024, { error: "height must be <= 1024" }),
            z.number().int().min(8, { error: "width must be >= 8" }).max(1024, { error: "width must be <= 1024" }),
        ],
        { error: "must be [channels, height, width], for example [3, 224, 224]" },
    ),
    training: trainingSchema.default(trainingSchema.parse({})),
    quality: qualitySchema,
    endpoint: endpointSchema.default(endpointSchema.parse({})),
    monitoring: monitoringSchema.default(monitoringSchema.parse({})),
    inference: inferenceSchema.default(inferenceSchema.parse({})),
});

/** The prediction page and its API (components/prediction-app.ts). */
const webSchema = z.strictObject({
    /**
     * Open the page and API to anyone, for demo stacks: no sign-in, a WAF per-address rate limit instead.
     * Defaults to false: a Cognito user pool with its hosted UI, and a JWT authorizer on every route.
     */
    public: z.boolean({ error: "must be true or false" }).default(false),
    /** Requests per second the API takes from all callers together. Defaults to 10. */
    rateLimit: z
        .number({ error: "must be a number" })
        .positive({ error: "must be a positive number of requests per second" })
        .max(10_000, { error: "must be <= 10000 (API Gateway's default account limit)" })
        .default(10),
    /** Requests the API takes at once above the rate. Defaults to 20. */
    burstLimit: positiveInt("burst").max(5_000, { error: "must be <= 5000 (API Gateway's default account burst)" }).default(20),
    /** Public stacks: requests one address may make in 5 minutes before WAF blocks it. Defaults to 300. */
    wafRequestsPer5Minutes: z
        .number({ error: "must be a number" })
        .int({ error: "must be a whole number" })
        .min(10, { error: "must be >= 10 (WAF's smallest rate-based limit)" })
        .max(2_000_000_000)
        .default(300),
});

const platformSchema = z
    .strictObject({
        environment: z.enum(ENVIRONMENTS, { error: `must be one of ${ENVIRONMENTS.join(", ")}` }),
        region: z.string({ error: "is required (set aws:region), for example us-east-1" }).superRefine((region, ctx) => {
            if (!isSageMakerRegion(region))
                ctx.addIssue({
                    code: "custom",
                    message: `must be an AWS region such as us-east-1, one where SageMaker is available${suggestion(
                        region,
                        SAGEMAKER_REGIONS,
                        `: ${SAGEMAKER_REGIONS.join(", ")}`,
                    )}`,
                });
        }),
        tags: z.record(z.string(), z.string({ error: "tag values must be strings" })).default({}),
        alerts: z.strictObject({ emails: emails.default([]) }).default({ emails: [] }),
        budget: z
            .strictObject({
                monthlyUsd: z.number().positive({ error: "must be a positive amount in USD" }),
                /** Percent of the budget at which forecast and actual alerts fire. Defaults to [80, 100]. */
                alertAtPercent: z.array(z.number().positive()).default([80, 100]),
                /**
                 * What the budget counts. `tag` (default): spend tagged environment=<environment>, which AWS counts only
                 * once `environment` is activated as a cost allocation tag. `account`: all of the account's spend in the
                 * stack's region, which needs no activation and fits a stack with an account of its own.
                 */
                filter: z.enum(BUDGET_FILTERS, { error: `must be one of ${BUDGET_FILTERS.join(", ")}` }).default("tag"),
            })
            .optional(),
        promotion: z
            .strictObject({
                /**
                 * Fully qualified name of the stack prod promotes from. Defaults to `<prod's organization>/<project>/staging`
                 * (on Pulumi Cloud `<your-org>/vision-mlops/staging`; on a self-managed backend `organization/vision-mlops/staging`).
                 */
                sourceStack: z
                    .string()
                    .regex(/^[\w.-]+(\/[\w.-]+){0,2}$/, { error: "must be a stack name such as my-org/vision-mlops/staging" })
                    .optional(),
                /**
                 * Models whose prod endpoint is to be removed (or never created) although the model stays in this file.
                 * Without it prod keeps serving what it serves when staging serves nothing for a model. Defaults to none.
                 */
                removeEndpoints: z.array(z.string(), { error: "must be a list of model names" }).default([]),
            })
            .optional(),
        monitoring: z
            .strictObject({
                /** `pipeline` (default): our scheduled SageMaker pipeline; `model-monitor`: MonitoringSchedule. */
                engine: z.enum(["pipeline", "model-monitor"], { error: "must be pipeline or model-monitor" }).default("pipeline"),
            })
            .default({ engine: "pipeline" }),
        models: z.record(z.string(), modelSchema, { error: "must be a map of model name to model settings" }),
        web: webSchema.default(webSchema.parse({})),
    })
    .superRefine((c, ctx) => {
        const modelNames = Object.keys(c.models ?? {});
        if (modelNames.length === 0) ctx.addIssue({ code: "custom", path: ["models"], message: "must declare at least one model" });
        for (const name of modelNames) {
            if (!MODEL_NAME.test(name) || name.length > 48)
                ctx.addIssue({
                    code: "custom",
                    path: ["models", name],
                    message: "model names must be 2-48 characters of lowercase letters, digits and hyphens, starting with a letter",
                });
            const m = c.models[name];
            if (m.training.algorithm === "pytorch") {
                const [, height, width] = m.imageShape;
                const architecture = m.training.architecture ?? "";
                if (height < 32 || width < 32)
                    ctx.addIssue({
                        code: "custom",
                        path: ["models", name, "imageShape"],
                        message: "must be at least 32x32 with training.algorithm pytorch: torchvision's networks downsample by 32",
                    });
                else if (architecture.startsWith("vit_") && m.training.sourceDir === undefined && (height !== 224 || width !== 224))
                    ctx.addIssue({
                        code: "custom",
                        path: ["models", name, "imageShape"],
                        message: `must be [${m.imageShape[0]}, 224, 224] for ${architecture}, whose position embeddings are built for 224x224 images; or choose another architecture`,
                    });
            }
            const ep = m.endpoint;
            const a = ep.autoscaling;
            if (a && a.minCapacity > a.maxCapacity)
                ctx.addIssue({
                    code: "custom",
                    path: ["models", name, "endpoint", "autoscaling", "minCapacity"],
                    message: `must be <= maxCapacity (${a.maxCapacity})`,
                });
            if (a && (ep.instanceCount < a.minCapacity || ep.instanceCount > a.maxCapacity))
                ctx.addIssue({
                    code: "custom",
                    path: ["models", name, "endpoint", "instanceCount"],
                    message: `must be within autoscaling bounds ${a.minCapacity}..${a.maxCapacity}`,
                });
            for (const p of monitoringLimitProblems({
                engine: c.monitoring.engine,
                period: m.monitoring.schedule,
                retrainAfterPeriods: m.monitoring.retrainAfterPeriods,
                unjudgedPeriods: m.monitoring.unjudgedPeriods,
                instanceCount: m.monitoring.instanceCount,
                maxRuntimeSeconds: defaultMaxRuntime(m.monitoring.schedule),
            }))
                ctx.addIssue({ code: "custom", path: ["models", name, "monitoring", p.key], message: p.message });
            if (c.environment === "prod" && m.monitoring.retrainAfterPeriods !== undefined)
                ctx.addIssue({
                    code: "custom",
                    path: ["models", name, "monitoring", "retrainAfterPeriods"],
                    message:
                        "applies to staging only: prod trains nothing, so drift in prod cannot start a retraining; set it in the staging stack file",
                });
            if (c.environment === "prod") {
                if (ep.instanceCount < 2)
                    ctx.addIssue({
                        code: "custom",
                        path: ["models", name, "endpoint", "instanceCount"],
                        input: ep.instanceCount,
                        params: { defaulted: true },
                        message: "must be >= 2 in prod (Security Hub SageMaker.4: prod variants need more than one instance)",
                    });
                if (a && a.minCapacity < 2)
                    ctx.addIssue({
                        code: "custom",
                        path: ["models", name, "endpoint", "autoscaling", "minCapacity"],
                        message: "must be >= 2 in prod (Security Hub SageMaker.4)",
                    });
            }
        }
        (c.promotion?.removeEndpoints ?? []).forEach((m, i) => {
            if (!(m in (c.models ?? {})))
                ctx.addIssue({
                    code: "custom",
                    path: ["promotion", "removeEndpoints", i],
                    message: `is not a model of this stack; it has: ${modelNames.join(", ")} (a model taken out of models loses its endpoint anyway)`,
                });
        });
        if (c.environment === "staging" && c.promotion)
            ctx.addIssue({
                code: "custom",
                path: ["promotion"],
                message: "applies to prod only; staging serves the newest registered package",
            });
    });

export type PlatformConfig = z.output<typeof platformSchema>;
export type ModelConfig = PlatformConfig["models"][string];
export type TrainingConfig = ModelConfig["training"];
export type EndpointConfig = ModelConfig["endpoint"];
export type MonitoringConfig = ModelConfig["monitoring"];
export type DriftThresholds = MonitoringConfig["drift"];

/** Data capture percent when a model does not set one: every request in staging, 80% in prod. */
export function defaultCapturePercent(environment: Environment): number {
    return environment === "prod" ? 80 : 100;
}

export interface ConfigProblem {
    /** Dotted key path, e.g. models.traffic-signs.training.instanceType. */
    readonly path: string;
    readonly value: unknown;
    readonly message: string;
    /** The value was not set in the stack file; `value` is the default the schema applied. */
    readonly defaulted?: boolean;
}

export class ConfigError extends Error {
    constructor(
        public readonly problems: readonly ConfigProblem[],
        source = "stack config",
    ) {
        super(
            `${source} has ${problems.length} problem${problems.length === 1 ? "" : "s"}; nothing was deployed:\n` +
                problems.map((p) => `  - ${formatProblem(p)}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

export function formatProblem(p: ConfigProblem): string {
    const shown = p.value === undefined ? "missing" : `${JSON.stringify(p.value)}${p.defaulted ? " (the default)" : ""}`;
    return `${p.path || "(root)"}: ${shown} ${p.message}`;
}

/** The `vision-mlops:` keys a stack file may set, and the project namespace they live in. */
export const CONFIG_NAMESPACE = "vision-mlops";

/**
 * Turns flattened Pulumi config (`{"vision-mlops:models": ..., "aws:region": "us-east-1"}`, values as
 * objects or JSON strings, as the engine passes them) into the object the schema validates.
 */
export function fromPulumiConfig(flat: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const unknownKeys: ConfigProblem[] = [];
    for (const [key, raw] of Object.entries(flat)) {
        const value = typeof raw === "string" ? parseMaybeJson(raw) : raw;
        if (key === "aws:region") out.region = value;
        else if (key.startsWith(`${CONFIG_NAMESPACE}:`)) out[key.slice(CONFIG_NAMESPACE.length + 1)] = value;
        else if (!key.startsWith("aws:") && !key.startsWith("pulumi:"))
            unknownKeys.push({ path: key, value, message: `is not a ${CONFIG_NAMESPACE} setting; use the ${CONFIG_NAMESPACE}: namespace` });
    }
    if (unknownKeys.length) throw new ConfigError(unknownKeys);
    return out;
}

function parseMaybeJson(s: string): unknown {
    const t = s.trim();
    if (t.startsWith("{") || t.startsWith("[")) {
        try {
            return JSON.parse(t);
        } catch {
            return s;
        }
    }
    return s;
}

/** Validates a whole stack config; throws one ConfigError listing every problem. */
export function parsePlatformConfig(input: unknown, source?: string): PlatformConfig {
    const result = platformSchema.safeParse(input, { reportInput: true });
    const problems = [
        ...(result.success ? [] : result.error.issues.map((issue) => toProblem(input, issue))),
        ...builtinOnlyKeyProblems(input),
    ];
    if (result.success && problems.length === 0) return result.data;
    throw new ConfigError(problems, source);
}

/**
 * `numLayers` and `augmentationType` have defaults, so the parsed config cannot tell whether a PyTorch model set
 * them: the stack file itself is read for them.
 */
function builtinOnlyKeyProblems(input: unknown): ConfigProblem[] {
    const models = valueAt(input, ["models"]);
    if (models === null || typeof models !== "object") return [];
    const problems: ConfigProblem[] = [];
    for (const [name, model] of Object.entries(models as Record<string, unknown>)) {
        const training = valueAt(model, ["training"]) as Record<string, unknown> | undefined;
        if (training === null || typeof training !== "object" || training.algorithm !== "pytorch") continue;
        for (const key of BUILTIN_ONLY_KEYS)
            if (key in training)
                problems.push({
                    path: `models.${name}.training.${key}`,
                    value: training[key],
                    message:
                        key === "numLayers"
                            ? "applies to the built-in algorithm only; with pytorch the network is training.architecture (e.g. resnet50)"
                            : "applies to the built-in algorithm only; with pytorch set training.hyperparameters.augmentation (none, crop, crop_flip)",
                });
    }
    return problems;
}

/** Keys the stack file spells differently from the schema (the region is Pulumi's own `aws:region`). */
const STACK_FILE_KEYS: Record<string, string> = { region: "aws:region" };

function toProblem(input: unknown, issue: z.core.$ZodIssue): ConfigProblem {
    const problem = describeIssue(input, issue);
    return { ...problem, path: STACK_FILE_KEYS[problem.path] ?? problem.path };
}

function describeIssue(input: unknown, issue: z.core.$ZodIssue): ConfigProblem {
    const path = issue.path.map(String);
    if (issue.code === "unrecognized_keys") {
        const allowed = allowedKeysAt(path);
        return issue.keys.length === 1
            ? {
                  path: [...path, issue.keys[0]].join("."),
                  value: valueAt(input, [...path, issue.keys[0]]),
                  message: `is not a known setting${allowed ? `; allowed here: ${allowed}` : ""}`,
              }
            : { path: path.join("."), value: issue.keys, message: `are not known settings${allowed ? `; allowed here: ${allowed}` : ""}` };
    }
    const value = valueAt(input, path);
    if (value === undefined && issue.code === "custom" && issue.params?.defaulted)
        return { path: path.join("."), value: issue.input, message: issue.message, defaulted: true };
    let message = issue.message;
    if (issue.code === "invalid_type" && value === undefined && !/is required/.test(message))
        message = `is required (${message.replace(/^Invalid input: /, "")})`;
    return { path: path.join("."), value, message };
}

function valueAt(input: unknown, path: readonly string[]): unknown {
    let cur: unknown = input;
    for (const key of path) {
        if (cur === null || typeof cur !== "object") return undefined;
        cur = (cur as Record<string, unknown>)[key];
    }
    return cur;
}

function allowedKeysAt(path: readonly string[]): string | undefined {
    let schema: z.ZodType = platformSchema;
    for (const key of path) {
        schema = unwrap(schema);
        if (schema instanceof z.ZodObject) schema = (schema.shape as Record<string, z.ZodType>)[key];
        else if (schema instanceof z.ZodRecord) schema = schema.valueType as z.ZodType;
        else return undefined;
        if (!schema) return undefined;
    }
    schema = unwrap(schema);
    return schema instanceof z.ZodObject ? Object.keys(schema.shape).join(", ") : undefined;
}

function unwrap(schema: z.ZodType): z.ZodType {
    let s: z.ZodType = schema;
    for (;;) {
        if (s instanceof z.ZodDefault || s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
        else if (s instanceof z.ZodPipe) s = s.in as z.ZodType;
        else return s;
    }
}
