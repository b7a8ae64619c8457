import { existsSync, statSync } from "fs";
import { isAbsolute, join, normalize } from "path";
import { z } from "zod";
import {
    ConfigError,
    ConfigProblem,
    ENDPOINT,
    formatProblem,
    INFERENCE,
    MODEL,
    MONITORING,
    PYTORCH,
    STACK,
    STACK_FILE,
    TRAINING,
    VALUE,
    WEB,
} from "./config-messages";
import { instanceTypeProblem, InstanceUse } from "./instance-types";
import {
    PYTORCH_ENTRY_POINT,
    PYTORCH_SCRIPT_HYPERPARAMETERS,
    PYTORCH_STEP_HYPERPARAMETERS,
    PYTORCH_WEIGHTS,
    TORCHVISION_ARCHITECTURES,
} from "./pipeline/pytorch";
import { BUDGET_FILTERS, BudgetFilter } from "./budget";
import { InstanceUse as PricedUse, isPricedFor } from "./prices";
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
 * The messages themselves are in infra/config-messages.ts.
 */

export { ENVIRONMENTS, Environment };

export { BUDGET_FILTERS, BudgetFilter };

export { ConfigError, ConfigProblem, formatProblem };

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
const AUGMENTATION_TYPES = ["none", "crop", "crop_color", "crop_color_transform"] as const;
/** CreateTrainingJob: MaxRuntimeInSeconds is at most 28 days. */
const MAX_TRAINING_SECONDS = 28 * 24 * 3600;
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
        .number({ error: VALUE.fractionType(what) })
        .min(0, { error: VALUE.fractionRange(what) })
        .max(1, { error: VALUE.fractionRange(what) });
const positiveInt = (what: string) =>
    z
        .number({ error: VALUE.positiveIntType(what) })
        .int({ error: VALUE.wholeNumberOf(what) })
        .min(1, { error: VALUE.atLeastOne(what) });
/** A whole number from 1 to `limit`. */
const positiveIntUpTo = (what: string, limit: number, unit?: string) => positiveInt(what).max(limit, { error: VALUE.atMost(limit, unit) });
/**
 * An instance type every one of `uses` accepts (the lists of the SageMaker API model), with a "did you mean";
 * then one the cost estimate can price (`priced`), since an unpriced one is refused, not guessed.
 */
const instanceType = (uses: InstanceUse | readonly InstanceUse[], example: string, priced: PricedUse) =>
    z.string({ error: VALUE.instanceType(example) }).superRefine((type, ctx) => {
        const problem = instanceTypeProblem(uses, type);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
        // A CPU training type gets the GPU message alone (below).
        else if ((priced !== "training" || isTrainingGpuInstance(type)) && !isPricedFor(priced, type))
            ctx.addIssue({ code: "custom", message: VALUE.unpricedInstanceType(priced) });
    });
/** A held-out share: above 0, because every class needs at least one image in each held-out split. */
const heldOut = (what: "validation" | "test") => fraction("share of each class").gt(0, { error: TRAINING.heldOut(what) });
const emails = z.array(z.string().regex(EMAIL, { error: VALUE.email }), { error: VALUE.emails });

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
        for (const key of PYTORCH_ONLY_KEYS) if (t[key] !== undefined) add([key], PYTORCH.pytorchOnly);
        return problems;
    }
    const ownScript = t.sourceDir !== undefined;
    if (t.architecture === undefined) add(["architecture"], PYTORCH.architectureRequired);
    else if (!ownScript && !(TORCHVISION_ARCHITECTURES as readonly string[]).includes(t.architecture))
        add(["architecture"], PYTORCH.notTorchvision(t.architecture, TORCHVISION_ARCHITECTURES));
    if (t.frameworkVersion !== undefined && !isPyTorchVersion(t.frameworkVersion))
        add(["frameworkVersion"], PYTORCH.frameworkVersion(Object.keys(PYTORCH_VERSIONS)));
    if (
        t.weights !== undefined &&
        !(PYTORCH_WEIGHTS as readonly string[]).includes(t.weights) &&
        !S3_WEIGHTS_URI.test(t.weights) &&
        !ARTIFACT_WEIGHTS_KEY.test(t.weights)
    )
        add(["weights"], PYTORCH.weights);
    const hyperparameters = Object.entries(t.hyperparameters ?? {});
    if (hyperparameters.length + PYTORCH_STEP_HYPERPARAMETERS.length > MAX_HYPERPARAMETERS)
        add(
            ["hyperparameters"],
            PYTORCH.tooManyHyperparameters(hyperparameters.length, MAX_HYPERPARAMETERS, PYTORCH_STEP_HYPERPARAMETERS.length),
        );
    for (const [name, value] of hyperparameters) {
        if (!HYPERPARAMETER_NAME.test(name)) add(["hyperparameters", name], PYTORCH.hyperparameterName);
        else if (name.startsWith("sagemaker_")) add(["hyperparameters", name], PYTORCH.reservedHyperparameter);
        else if ((PYTORCH_STEP_HYPERPARAMETERS as readonly string[]).includes(name))
            add(["hyperparameters", name], PYTORCH.stepHyperparameter(PYTORCH_STEP_HYPERPARAMETERS));
        else if (!ownScript && !(PYTORCH_SCRIPT_HYPERPARAMETERS as readonly string[]).includes(name))
            add(["hyperparameters", name], PYTORCH.unknownHyperparameter(PYTORCH_SCRIPT_HYPERPARAMETERS));
        if (String(value).length > MAX_HYPERPARAMETER_VALUE)
            add(["hyperparameters", name], PYTORCH.hyperparameterTooLong(String(value).length, MAX_HYPERPARAMETER_VALUE));
    }
    if (ownScript) {
        const dir = t.sourceDir!;
        if (isAbsolute(dir) || normalize(dir).split(/[\\/]/)[0] === "..") add(["sourceDir"], PYTORCH.sourceDirOutside);
        else if (!existsSync(dir) || !statSync(dir).isDirectory()) add(["sourceDir"], PYTORCH.sourceDirMissing(join(process.cwd(), dir)));
        else if (!existsSync(join(dir, PYTORCH_ENTRY_POINT))) add(["sourceDir"], PYTORCH.sourceDirWithoutEntryPoint(PYTORCH_ENTRY_POINT));
    } else if (t.instanceCount > 1) add(["instanceCount"], PYTORCH.oneInstance);
    if (t.instanceType.startsWith("ml.p2.")) add(["instanceType"], PYTORCH.k80);
    return problems;
}

const trainingSchema = z
    .strictObject({
        /** GPU instance for the built-in algorithm. Defaults to ml.g4dn.xlarge. */
        instanceType: instanceType("training", "ml.g4dn.xlarge", "training")
            .refine((t) => instanceTypeProblem("training", t) !== undefined || isTrainingGpuInstance(t), {
                error: TRAINING.notGpu(TRAINING_GPU_RULE, TRAINING_GPU_FAMILIES),
            })
            .default("ml.g4dn.xlarge"),
        instanceCount: positiveIntUpTo("training instances", 8).default(1),
        /** Managed spot training with checkpoints. Defaults to true. */
        spot: z.boolean({ error: VALUE.boolean }).default(true),
        /** Hard cap on training time. Defaults to 4 hours. */
        maxRuntimeSeconds: positiveInt("seconds")
            .max(MAX_TRAINING_SECONDS, { error: TRAINING.maxRuntime(MAX_TRAINING_SECONDS) })
            .default(4 * 3600),
        /** Spot only: total time including waiting for capacity; must be >= maxRuntimeSeconds. Defaults to 2x runtime. */
        maxWaitSeconds: positiveInt("seconds").optional(),
        volumeSizeGb: positiveIntUpTo("GiB", 16384).default(50),
        epochs: positiveIntUpTo("epochs", 1000).default(30),
        /** ResNet depth for transfer learning. Defaults to 18. */
        numLayers: z
            .number()
            .refine((n) => RESNET_DEPTHS.includes(n), { error: VALUE.oneOf(RESNET_DEPTHS, "pretrained ResNet depths") })
            .default(18),
        learningRate: z
            .number({ error: VALUE.number })
            .gt(0, { error: VALUE.positive })
            .max(1, { error: VALUE.notAbove(1) })
            .default(0.001),
        miniBatchSize: positiveIntUpTo("images per batch", 4096).default(32),
        earlyStopping: z
            .strictObject({
                enabled: z.boolean().default(true),
                patience: positiveInt("epochs").default(5),
                minEpochs: positiveInt("epochs").default(10),
            })
            .default({ enabled: true, patience: 5, minEpochs: 10 }),
        augmentationType: z.enum(AUGMENTATION_TYPES, { error: VALUE.oneOf(AUGMENTATION_TYPES) }).default("crop_color_transform"),
        /** CPU instance for the preprocess and evaluate jobs and the test set's batch transform. Defaults to ml.m5.xlarge. */
        processingInstanceType: instanceType(["processing", "transform"], "ml.m5.xlarge", "processing").default("ml.m5.xlarge"),
        /**
         * Images whose shorter side is below this many pixels are dropped and reported instead of upscaled to the
         * image shape. Off by default: every image is used, smaller ones upscaled.
         */
        minImageSide: positiveIntUpTo("pixels", 4096, "pixels").optional(),
        /** Fractions of each class held out (each > 0); train is the rest. Defaults to 0.1 and 0.1. */
        split: z
            .strictObject({
                validation: heldOut("validation").default(0.1),
                test: heldOut("test").default(0.1),
            })
            .default({ validation: 0.1, test: 0.1 }),
        seed: z.number().int({ error: VALUE.wholeNumber }).default(42),
        /** EventBridge schedule expression for periodic retraining, e.g. rate(7 days). Off by default. */
        retrainSchedule: z.string().regex(SCHEDULE_EXPRESSION, { error: TRAINING.retrainSchedule }).optional(),
        /** `builtin` (default): SageMaker's image-classification algorithm; `pytorch`: a script in the SageMaker PyTorch containers. */
        algorithm: z.enum(TRAINING_ALGORITHMS, { error: VALUE.oneOf(TRAINING_ALGORITHMS) }).default("builtin"),
        /** pytorch, required: the torchvision model to train, e.g. resnet50, efficientnet_b0, vit_b_16. */
        architecture: z.string({ error: PYTORCH.architectureType }).optional(),
        /** pytorch: version of the SageMaker PyTorch training and inference containers. Defaults to DEFAULT_PYTORCH_VERSION. */
        frameworkVersion: z.string({ error: PYTORCH.frameworkVersionType(DEFAULT_PYTORCH_VERSION) }).optional(),
        /**
         * pytorch: the starting weights. `none` (default): random initialisation; a `.pth` key under the model's prefix
         * of the artifacts bucket (`pretrained/resnet50.pth` is `s3://<artifacts>/<model>/pretrained/resnet50.pth`) or
         * an S3 URI: a state dict the job reads as its `weights` channel; `imagenet`: torchvision's pretrained weights,
         * downloaded by the job, which then needs network access (the policy pack refuses training without isolation).
         */
        weights: z.string({ error: PYTORCH.weightsType }).optional(),
        /** pytorch: further arguments of train.py (`--name value`), e.g. {optimizer: sgd, weight_decay: 0.0005}. */
        hyperparameters: z
            .record(z.string(), z.union([z.string(), z.number(), z.boolean()]), { error: PYTORCH.hyperparametersType })
            .optional(),
        /** pytorch: a folder of the project with your own train.py (and whatever it imports), instead of jobs/pytorch. */
        sourceDir: z.string({ error: PYTORCH.sourceDirType }).optional(),
    })
    .superRefine((t, ctx) => {
        for (const problem of pytorchProblems(t)) ctx.addIssue({ code: "custom", ...problem });
        if (t.maxWaitSeconds !== undefined && !t.spot)
            ctx.addIssue({ code: "custom", path: ["maxWaitSeconds"], message: TRAINING.maxWaitSpotOnly });
        if (t.maxWaitSeconds !== undefined && t.maxWaitSeconds < t.maxRuntimeSeconds)
            ctx.addIssue({ code: "custom", path: ["maxWaitSeconds"], message: TRAINING.maxWaitBelowRuntime(t.maxRuntimeSeconds) });
        if (t.split.validation + t.split.test >= 0.9)
            ctx.addIssue({ code: "custom", path: ["split"], message: TRAINING.splitLeavesTooLittle });
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
        .number({ error: ENDPOINT.dataCapturePercentType })
        .int({ error: ENDPOINT.dataCapturePercentType })
        .min(1, { error: ENDPOINT.dataCapturePercentRange })
        .max(100, { error: ENDPOINT.dataCapturePercentRange })
        .optional(),
    /** Serve this package instead of the newest (staging) or staging's (prod); prod still requires Approved. */
    modelPackageArn: z.string().regex(MODEL_PACKAGE_ARN, { error: ENDPOINT.modelPackageArn }).optional(),
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
    schedule: z.enum(["hourly", "daily"], { error: MONITORING.schedule }).default("hourly"),
    drift: driftSchema.default(driftSchema.parse({})),
    /** Start the training pipeline when drift alarms stay on for this many periods. Off by default. */
    retrainAfterPeriods: positiveIntUpTo("periods", 24).optional(),
    /**
     * Images decoded per monitoring window at most (a uniform sample); image-property drift is judged on it, while
     * predictions and confidence are read from every record. Defaults to 2000, which keeps the property tests'
     * power (a 20% shift is seen at least 90% of the time against a baseline of 300 images or more).
     */
    imageSampleSize: positiveIntUpTo("images", 100_000).default(2000),
    /**
     * Processing instances per monitoring run (pipeline engine). Above 1 the window's capture files are sharded
     * over the instances (ShardedByS3Key) and a merge step judges their summed statistics. Defaults to 1.
     */
    instanceCount: positiveIntUpTo("instances", 20).default(1),
    /**
     * Alarm when this many monitoring periods in a row are not judged (no records, or fewer than minRecords) or
     * publish nothing: a served endpoint whose capture broke is an incident. Defaults to 3.
     */
    unjudgedPeriods: positiveIntUpTo("periods", 24).default(3),
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
        topK: positiveInt("classes")
            .max(20, { error: VALUE.notAbove(20, "classes") })
            .default(5),
        /** How long an image waits for a reviewer before its execution ends as timed out. Defaults to 7 days. */
        reviewTimeoutSeconds: positiveInt("seconds")
            .max(STANDARD_EXECUTION_MAX_SECONDS, { error: VALUE.notAbove(STANDARD_EXECUTION_MAX_SECONDS, "a Standard execution's year") })
            .default(7 * DAY_SECONDS),
        /**
         * The waiting execution expects a heartbeat this often; the heartbeat is sent while the image is still
         * queued, so an item whose queue entry was removed ends early. At least 300. Defaults to 1 hour.
         */
        reviewHeartbeatSeconds: positiveInt("seconds")
            .min(300, { error: VALUE.notBelow(300, "seconds") })
            .default(3600),
        /** Reviewed images that make an ingest batch (and so a training run). Defaults to 50. */
        reviewBatchSize: positiveInt("images")
            .max(1000, { error: VALUE.notAbove(1000, "images") })
            .default(50),
        /** Also batch whatever is reviewed on this EventBridge schedule, e.g. `rate(1 day)`. Defaults to none. */
        reviewBatchSchedule: z.string().regex(SCHEDULE_EXPRESSION, { error: INFERENCE.reviewBatchSchedule }).optional(),
        /**
         * Raw-bucket key prefix, e.g. `incoming/traffic-signs/`: every JPEG or PNG image dropped under it is
         * classified. Defaults to none (executions start from the classify command or the API).
         */
        triggerPrefix: z
            .string()
            .regex(/^[A-Za-z0-9!_.'()-][A-Za-z0-9!_.'()/-]*\/$/, { error: INFERENCE.triggerPrefix })
            .optional(),
    })
    .superRefine((c, ctx) => {
        if (c.reviewHeartbeatSeconds >= c.reviewTimeoutSeconds)
            ctx.addIssue({
                code: "custom",
                path: ["reviewHeartbeatSeconds"],
                message: INFERENCE.heartbeatNotBelowTimeout(c.reviewTimeoutSeconds),
            });
        if (c.triggerPrefix !== undefined && /^[^/]+\/(batches|review|latest|datasets|inference)\//.test(c.triggerPrefix))
            ctx.addIssue({ code: "custom", path: ["triggerPrefix"], message: INFERENCE.triggerPrefixInModelData(c.triggerPrefix) });
    });

const modelSchema = z.strictObject({
    description: z.string().max(256).optional(),
    classes: z
        .array(z.string({ error: MODEL.classNameType }).regex(CLASS_NAME, { error: MODEL.className }), { error: MODEL.classesType })
        .min(2, { error: MODEL.tooFewClasses })
        .max(1000, { error: MODEL.tooManyClasses })
        .refine((c) => new Set(c).size === c.length, { error: MODEL.duplicateClasses })
        .superRefine((classes, ctx) => {
            const byLower = new Map<string, string[]>();
            for (const c of new Set(classes)) byLower.set(c.toLowerCase(), [...(byLower.get(c.toLowerCase()) ?? []), c]);
            const clashes = [...byLower.values()].filter((names) => names.length > 1).map((names) => names.join(", "));
            if (clashes.length) ctx.addIssue({ code: "custom", message: MODEL.classesDifferingInCase(clashes) });
        }),
    /** [channels, height, width] the algorithm trains on. */
    imageShape: z.tuple(
        [
            z.union([z.literal(1), z.literal(3)], { error: MODEL.channels }),
            z.number().int().min(8, { error: MODEL.heightMin }).max(1024, { error: MODEL.heightMax }),
            z.number().int().min(8, { error: MODEL.widthMin }).max(1024, { error: MODEL.widthMax }),
        ],
        { error: MODEL.imageShapeType },
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
    public: z.boolean({ error: VALUE.boolean }).default(false),
    /** Requests per second the API takes from all callers together. Defaults to 10. */
    rateLimit: z
        .number({ error: VALUE.number })
        .positive({ error: WEB.positiveRate })
        .max(10_000, { error: VALUE.notAbove(10_000, "API Gateway's default account limit") })
        .default(10),
    /** Requests the API takes at once above the rate. Defaults to 20. */
    burstLimit: positiveInt("burst")
        .max(5_000, { error: VALUE.notAbove(5_000, "API Gateway's default account burst") })
        .default(20),
    /** Public stacks: requests one address may make in 5 minutes before WAF blocks it. Defaults to 300. */
    wafRequestsPer5Minutes: z
        .number({ error: VALUE.number })
        .int({ error: VALUE.wholeNumber })
        .min(10, { error: VALUE.notBelow(10, "WAF's smallest rate-based limit") })
        .max(2_000_000_000)
        .default(300),
});

const platformSchema = z
    .strictObject({
        environment: z.enum(ENVIRONMENTS, { error: VALUE.oneOf(ENVIRONMENTS) }),
        region: z.string({ error: STACK.regionType }).superRefine((region, ctx) => {
            if (!isSageMakerRegion(region)) ctx.addIssue({ code: "custom", message: STACK.region(region, SAGEMAKER_REGIONS) });
        }),
        tags: z.record(z.string(), z.string({ error: STACK.tagValue })).default({}),
        alerts: z.strictObject({ emails: emails.default([]) }).default({ emails: [] }),
        budget: z
            .strictObject({
                monthlyUsd: z.number().positive({ error: STACK.budgetAmount }),
                /** Percent of the budget at which forecast and actual alerts fire. Defaults to [80, 100]. */
                alertAtPercent: z.array(z.number().positive()).default([80, 100]),
                /**
                 * What the budget counts. `tag` (default): spend tagged environment=<environment>, which AWS counts only
                 * once `environment` is activated as a cost allocation tag. `account`: all of the account's spend in the
                 * stack's region, which needs no activation and fits a stack with an account of its own.
                 */
                filter: z.enum(BUDGET_FILTERS, { error: VALUE.oneOf(BUDGET_FILTERS) }).default("tag"),
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
                    .regex(/^[\w.-]+(\/[\w.-]+){0,2}$/, { error: STACK.sourceStack })
                    .optional(),
                /**
                 * Models whose prod endpoint is to be removed (or never created) although the model stays in this file.
                 * Without it prod keeps serving what it serves when staging serves nothing for a model. Defaults to none.
                 */
                removeEndpoints: z.array(z.string(), { error: STACK.removeEndpointsType }).default([]),
            })
            .optional(),
        monitoring: z
            .strictObject({
                /** `pipeline` (default): our scheduled SageMaker pipeline; `model-monitor`: MonitoringSchedule. */
                engine: z.enum(["pipeline", "model-monitor"], { error: MONITORING.engine }).default("pipeline"),
            })
            .default({ engine: "pipeline" }),
        models: z.record(z.string(), modelSchema, { error: STACK.modelsType }),
        web: webSchema.default(webSchema.parse({})),
    })
    .superRefine((c, ctx) => {
        const modelNames = Object.keys(c.models ?? {});
        if (modelNames.length === 0) ctx.addIssue({ code: "custom", path: ["models"], message: STACK.noModels });
        for (const name of modelNames) {
            if (!MODEL_NAME.test(name) || name.length > 48) ctx.addIssue({ code: "custom", path: ["models", name], message: MODEL.name });
            const m = c.models[name];
            if (m.training.algorithm === "pytorch") {
                const [, height, width] = m.imageShape;
                const architecture = m.training.architecture ?? "";
                if (height < 32 || width < 32)
                    ctx.addIssue({ code: "custom", path: ["models", name, "imageShape"], message: PYTORCH.imageTooSmall });
                else if (architecture.startsWith("vit_") && m.training.sourceDir === undefined && (height !== 224 || width !== 224))
                    ctx.addIssue({
                        code: "custom",
                        path: ["models", name, "imageShape"],
                        message: PYTORCH.vitImageShape(m.imageShape[0], architecture),
                    });
            }
            const ep = m.endpoint;
            const a = ep.autoscaling;
            if (a && a.minCapacity > a.maxCapacity)
                ctx.addIssue({
                    code: "custom",
                    path: ["models", name, "endpoint", "autoscaling", "minCapacity"],
                    message: ENDPOINT.minAboveMax(a.maxCapacity),
                });
            if (a && (ep.instanceCount < a.minCapacity || ep.instanceCount > a.maxCapacity))
                ctx.addIssue({
                    code: "custom",
                    path: ["models", name, "endpoint", "instanceCount"],
                    message: ENDPOINT.outsideAutoscaling(a.minCapacity, a.maxCapacity),
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
                    message: MONITORING.prodRetraining,
                });
            if (c.environment === "prod") {
                if (ep.instanceCount < 2)
                    ctx.addIssue({
                        code: "custom",
                        path: ["models", name, "endpoint", "instanceCount"],
                        input: ep.instanceCount,
                        params: { defaulted: true },
                        message: ENDPOINT.prodInstanceCount,
                    });
                if (a && a.minCapacity < 2)
                    ctx.addIssue({
                        code: "custom",
                        path: ["models", name, "endpoint", "autoscaling", "minCapacity"],
                        message: ENDPOINT.prodMinCapacity,
                    });
            }
        }
        (c.promotion?.removeEndpoints ?? []).forEach((m, i) => {
            if (!(m in (c.models ?? {})))
                ctx.addIssue({
                    code: "custom",
                    path: ["promotion", "removeEndpoints", i],
                    message: STACK.removeEndpointNotAModel(modelNames),
                });
        });
        if (c.environment === "staging" && c.promotion)
            ctx.addIssue({
                code: "custom",
                path: ["promotion"],
                message: STACK.promotionInStaging,
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
            unknownKeys.push({ path: key, value, message: STACK_FILE.outsideNamespace(CONFIG_NAMESPACE) });
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
                    message: TRAINING.builtinOnly[key],
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
                  message: STACK_FILE.unknownKey(allowed),
              }
            : { path: path.join("."), value: issue.keys, message: STACK_FILE.unknownKeys(allowed) };
    }
    const value = valueAt(input, path);
    if (value === undefined && issue.code === "custom" && issue.params?.defaulted)
        return { path: path.join("."), value: issue.input, message: issue.message, defaulted: true };
    let message = issue.message;
    if (issue.code === "invalid_type" && value === undefined && !/is required/.test(message))
        message = STACK_FILE.required(message.replace(/^Invalid input: /, ""));
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
