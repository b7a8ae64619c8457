import { suggestion } from "./instance-types";
import { describeInstanceTypes, InstanceUse as PricedUse, pricedInstanceTypes } from "./prices";

/**
 * Every message the stack-config schema (infra/config.ts) gives the person deploying, in one place, so each can
 * be read and reworded here without touching the schema. A message is shown after the key path and the value
 * (`models.traffic-signs.training.epochs: 0 must be >= 1 (epochs)`), so each starts with what the value must be
 * or what is wrong with it. Limits and lists come in as arguments: the schema owns them.
 */

/** Messages of the value kinds and bounds many keys share. */
export const VALUE = {
    fractionType: (what: string) => `must be a number from 0 to 1 (${what})`,
    fractionRange: (what: string) => `must be from 0 to 1 (${what})`,
    positiveIntType: (what: string) => `must be a whole number >= 1 (${what})`,
    wholeNumberOf: (what: string) => `must be a whole number (${what})`,
    atLeastOne: (what: string) => `must be >= 1 (${what})`,
    boolean: "must be true or false",
    number: "must be a number",
    wholeNumber: "must be a whole number",
    positive: "must be > 0",
    atMost: (limit: number, unit?: string) => `must be at most ${limit}${unit === undefined ? "" : ` (${unit})`}`,
    notAbove: (limit: number, why?: string) => `must be <= ${limit}${why === undefined ? "" : ` (${why})`}`,
    notBelow: (limit: number, why: string) => `must be >= ${limit} (${why})`,
    oneOf: (values: readonly (string | number)[], why?: string) =>
        `must be one of ${values.join(", ")}${why === undefined ? "" : ` (${why})`}`,
    email: "must be an e-mail address such as ml-oncall@example.com",
    emails: "must be a list of e-mail addresses",
    instanceType: (example: string) => `must be a SageMaker instance type such as ${example}`,
    /** An instance type the cost estimate cannot price is refused, not guessed. */
    unpricedInstanceType: (use: PricedUse) =>
        `has no price in infra/prices.ts for ${use} use; priced ${use} instances: ${describeInstanceTypes(pricedInstanceTypes(use))} (add a row with its source to use another)`,
} as const;

/** What each held-out split is for, in the message that refuses an empty one. */
const HELD_OUT_USE = { validation: "for early stopping and choosing the best epoch", test: "for the quality gate to judge" } as const;

/** `models.<name>.training`: the built-in algorithm's keys and the ones both algorithms read. */
export const TRAINING = {
    notGpu: (rule: string, families: readonly string[]) =>
        `is not a GPU instance, which policy rule ${rule} requires; the image-classification algorithm trains on ${families
            .map((f) => `ml.${f}`)
            .join(", ")} (for example ml.g4dn.xlarge)`,
    maxRuntime: (seconds: number) => `must be at most ${seconds / (24 * 3600)} days (${seconds})`,
    heldOut: (what: "validation" | "test") =>
        `must be > 0: every class needs at least one ${what} image ${HELD_OUT_USE[what]} (and one ${what === "test" ? "validation" : "test"} image), so each class needs at least 3 images`,
    retrainSchedule: "must be rate(N minutes|hours|days) or cron(...)",
    maxWaitSpotOnly: "applies to spot training only; set spot: true or remove it",
    maxWaitBelowRuntime: (maxRuntimeSeconds: number) => `must be >= training.maxRuntimeSeconds (${maxRuntimeSeconds})`,
    splitLeavesTooLittle: "validation + test must leave at least 10% of each class for training",
    /** Keys of the built-in algorithm that a PyTorch model sets. */
    builtinOnly: {
        numLayers: "applies to the built-in algorithm only; with pytorch the network is training.architecture (e.g. resnet50)",
        augmentationType:
            "applies to the built-in algorithm only; with pytorch set training.hyperparameters.augmentation (none, crop, crop_flip)",
    },
} as const;

/** `models.<name>.training` with `algorithm: pytorch`. */
export const PYTORCH = {
    architectureType: "must be a torchvision model name such as resnet50",
    frameworkVersionType: (example: string) => `must be a quoted version such as "${example}" (YAML reads 2.10 as the number 2.1)`,
    weightsType: "must be imagenet, none or an S3 URI of a .pth state dict",
    hyperparametersType: "must be a map of hyperparameter name to a string, number or true/false",
    sourceDirType: "must be a folder path relative to the project, such as models/dog-breeds",
    pytorchOnly: "applies to training.algorithm pytorch only; set algorithm: pytorch or remove it",
    architectureRequired:
        "is required when training.algorithm is pytorch: a torchvision model name such as resnet50, efficientnet_b0 or vit_b_16",
    notTorchvision: (architecture: string, architectures: readonly string[]) =>
        `is not a torchvision classification model${suggestion(architecture, architectures, "")}; for example resnet50, efficientnet_b0, vit_b_16 (with training.sourceDir your own train.py may take other names)`,
    frameworkVersion: (versions: readonly string[]) =>
        `must be one of ${versions.join(", ")}: the versions SageMaker publishes both a PyTorch training and an inference image for`,
    weights:
        "must be none, imagenet, a .pth key under the model's prefix of the artifacts bucket (pretrained/resnet50.pth), or the S3 URI of a state dict such as s3://my-bucket/weights/resnet50.pth",
    tooManyHyperparameters: (entries: number, max: number, setByPlatform: number) =>
        `has ${entries} entries; a training job takes ${max} hyperparameters, ${setByPlatform} of them set by the platform`,
    hyperparameterName: "names must be letters, digits, _ and -, starting with a letter or _ (they become --name arguments)",
    reservedHyperparameter: "is a name SageMaker's script mode reserves (sagemaker_*)",
    stepHyperparameter: (setByStep: readonly string[]) =>
        `is set from the other training keys (${setByStep.join(", ")} come from architecture, imageShape, epochs, learningRate, miniBatchSize, earlyStopping, seed, weights); set it there`,
    unknownHyperparameter: (options: readonly string[]) =>
        `is not an option of the platform's train.py, which takes ${options.join(", ")} (or bring your own with training.sourceDir)`,
    hyperparameterTooLong: (length: number, max: number) => `is ${length} characters; SageMaker takes at most ${max}`,
    sourceDirOutside: "must be a folder inside the project, as a relative path such as models/dog-breeds",
    sourceDirMissing: (lookedFor: string) => `is not a folder (looked for ${lookedFor})`,
    sourceDirWithoutEntryPoint: (entryPoint: string) => `has no ${entryPoint}, the script the training job runs`,
    oneInstance:
        "must be 1 with the platform's train.py, which trains on one instance (bring a distributed script with training.sourceDir)",
    k80: "has K80 GPUs, which the PyTorch 2 containers do not support; use ml.g4dn, ml.g5 or ml.p3 (for example ml.g4dn.xlarge)",
    imageTooSmall: "must be at least 32x32 with training.algorithm pytorch: torchvision's networks downsample by 32",
    vitImageShape: (channels: number, architecture: string) =>
        `must be [${channels}, 224, 224] for ${architecture}, whose position embeddings are built for 224x224 images; or choose another architecture`,
} as const;

/** `models.<name>`: classes, image shape, endpoint, monitoring, inference. */
export const MODEL = {
    name: "model names must be 2-48 characters of lowercase letters, digits and hyphens, starting with a letter",
    classNameType: "class names must be strings",
    className:
        'must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit (class names become folder names and S3 key segments)',
    classesType: "must be a list of class names",
    tooFewClasses: "needs at least 2 classes",
    tooManyClasses: "allows at most 1000 classes",
    duplicateClasses: "has duplicate class names",
    classesDifferingInCase: (clashes: readonly string[]) =>
        `has class names that differ only in case (${clashes.join("; ")}); their folders would be one folder on macOS and Windows`,
    channels: "channels must be 1 or 3",
    heightMin: "height must be >= 8",
    heightMax: "height must be <= 1024",
    widthMin: "width must be >= 8",
    widthMax: "width must be <= 1024",
    imageShapeType: "must be [channels, height, width], for example [3, 224, 224]",
} as const;

export const ENDPOINT = {
    dataCapturePercentType: "must be a whole number from 1 to 100",
    dataCapturePercentRange: "must be from 1 to 100",
    modelPackageArn: "must be a model package version ARN such as arn:aws:sagemaker:us-east-1:123456789012:model-package/my-group/3",
    minAboveMax: (maxCapacity: number) => `must be <= maxCapacity (${maxCapacity})`,
    outsideAutoscaling: (minCapacity: number, maxCapacity: number) => `must be within autoscaling bounds ${minCapacity}..${maxCapacity}`,
    prodInstanceCount: "must be >= 2 in prod (Security Hub SageMaker.4: prod variants need more than one instance)",
    prodMinCapacity: "must be >= 2 in prod (Security Hub SageMaker.4)",
} as const;

export const MONITORING = {
    schedule: "must be hourly or daily",
    engine: "must be pipeline or model-monitor",
    prodRetraining:
        "applies to staging only: prod trains nothing, so drift in prod cannot start a retraining; set it in the staging stack file",
} as const;

export const INFERENCE = {
    reviewBatchSchedule: "must be an EventBridge schedule such as rate(1 day) or cron(0 6 * * ? *)",
    triggerPrefix: 'must be a key prefix ending in "/" without a leading "/", e.g. incoming/traffic-signs/',
    heartbeatNotBelowTimeout: (reviewTimeoutSeconds: number) =>
        `must be below reviewTimeoutSeconds (${reviewTimeoutSeconds}); a heartbeat longer than the wait never matters`,
    triggerPrefixInModelData: (prefix: string) =>
        `${JSON.stringify(prefix)} lies in a model's training data or review queue; drop images somewhere else, e.g. incoming/<model>/`,
} as const;

/** `web`: the prediction page and its API. */
export const WEB = {
    positiveRate: "must be a positive number of requests per second",
} as const;

/** The stack-wide keys. */
export const STACK = {
    regionType: "is required (set aws:region), for example us-east-1",
    region: (region: string, regions: readonly string[]) =>
        `must be an AWS region such as us-east-1, one where SageMaker is available${suggestion(region, regions, `: ${regions.join(", ")}`)}`,
    tagValue: "tag values must be strings",
    budgetAmount: "must be a positive amount in USD",
    sourceStack: "must be a stack name such as my-org/vision-mlops/staging",
    removeEndpointsType: "must be a list of model names",
    removeEndpointNotAModel: (models: readonly string[]) =>
        `is not a model of this stack; it has: ${models.join(", ")} (a model taken out of models loses its endpoint anyway)`,
    modelsType: "must be a map of model name to model settings",
    noModels: "must declare at least one model",
    promotionInStaging: "applies to prod only; staging serves the newest registered package",
} as const;

/** What the reading of a stack file adds to the schema's own messages. */
export const STACK_FILE = {
    unknownKey: (allowed: string | undefined) => `is not a known setting${allowed ? `; allowed here: ${allowed}` : ""}`,
    unknownKeys: (allowed: string | undefined) => `are not known settings${allowed ? `; allowed here: ${allowed}` : ""}`,
    /** A missing value whose message does not say so already. */
    required: (detail: string) => `is required (${detail})`,
    outsideNamespace: (namespace: string) => `is not a ${namespace} setting; use the ${namespace}: namespace`,
} as const;

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
