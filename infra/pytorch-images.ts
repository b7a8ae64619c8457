import { isGpuInstance } from "./instance-types";

/**
 * The SageMaker PyTorch Deep Learning Containers: which framework versions exist for both training and
 * inference, with which Python, and which ECR registry serves them in each region. Source: the SageMaker
 * Python SDK's image-URI table (sagemaker-core/src/sagemaker/core/image_uri_config/pytorch.json, `training`
 * and `inference` scopes); the registries are the same for every version below in every region of
 * `SAGEMAKER_REGIONS`, as the SDK's table has them. A URI is `<registry>.dkr.ecr.<region>.<domain>/
 * pytorch-<training|inference>:<version>-<cpu|gpu>-<py>`, the tag the SDK's `image_uris.retrieve` builds.
 */

export const PYTORCH_IMAGES_SOURCE = "sagemaker-python-sdk sagemaker-core/src/sagemaker/core/image_uri_config/pytorch.json";

/**
 * Versions with a training and an inference image (the SDK's `version_aliases` map each `major.minor` to the
 * full version), from 1.13, the first whose torchvision has `get_model`, which train.py and inference.py use.
 */
export const PYTORCH_VERSIONS = {
    "1.13": { full: "1.13.1", py: "py39" },
    "2.0": { full: "2.0.1", py: "py310" },
    "2.1": { full: "2.1.0", py: "py310" },
    "2.2": { full: "2.2.0", py: "py310" },
    "2.3": { full: "2.3.0", py: "py311" },
    "2.4": { full: "2.4.0", py: "py311" },
    "2.5": { full: "2.5.1", py: "py311" },
    "2.6": { full: "2.6.0", py: "py312" },
} as const satisfies Record<string, { full: string; py: string }>;
export type PyTorchVersion = keyof typeof PYTORCH_VERSIONS;

/** The newest version with both images (training images go further, to 2.8, but a model must be servable). */
export const DEFAULT_PYTORCH_VERSION: PyTorchVersion = "2.6";

const REGISTRY_REGIONS: Record<string, readonly string[]> = {
    "763104351884": [
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-south-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "ca-central-1",
        "eu-central-1",
        "eu-north-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "sa-east-1",
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
    ],
    "626614931356": ["af-south-1"],
    "871362719292": ["ap-east-1"],
    "975050140332": ["ap-east-2"],
    "364406365360": ["ap-northeast-3"],
    "772153158452": ["ap-south-2"],
    "907027046896": ["ap-southeast-3"],
    "457447274322": ["ap-southeast-4"],
    "550225433462": ["ap-southeast-5"],
    "633930458069": ["ap-southeast-6"],
    "590183813437": ["ap-southeast-7"],
    "204538143572": ["ca-west-1"],
    "727897471807": ["cn-north-1", "cn-northwest-1"],
    "380420809688": ["eu-central-2"],
    "692866216735": ["eu-south-1"],
    "503227376785": ["eu-south-2"],
    "780543022126": ["il-central-1"],
    "914824155844": ["me-central-1"],
    "217643126080": ["me-south-1"],
    "637423239942": ["mx-central-1"],
    "446045086412": ["us-gov-east-1"],
    "442386744353": ["us-gov-west-1"],
};

const REGISTRY_BY_REGION: ReadonlyMap<string, string> = new Map(
    Object.entries(REGISTRY_REGIONS).flatMap(([account, regions]) => regions.map((r) => [r, account] as const)),
);

export function isPyTorchVersion(version: string): version is PyTorchVersion {
    return Object.prototype.hasOwnProperty.call(PYTORCH_VERSIONS, version);
}

/** The ECR account that serves the PyTorch containers in a region, or undefined where the SDK's table has none. */
export function pytorchRegistry(region: string): string | undefined {
    return REGISTRY_BY_REGION.get(region);
}

export interface PyTorchImage {
    readonly scope: "training" | "inference";
    readonly version: PyTorchVersion;
    readonly region: string;
    /** GPU images for GPU instances, CPU images otherwise. */
    readonly processor: "cpu" | "gpu";
}

/** The image URI, as the SDK resolves it; throws naming what is missing for a version or region outside the table. */
export function pytorchImageUri(image: PyTorchImage): string {
    const version = PYTORCH_VERSIONS[image.version];
    if (!version)
        throw new Error(
            `PyTorch ${image.version} has no SageMaker training and inference images; use one of ${Object.keys(PYTORCH_VERSIONS).join(", ")}`,
        );
    const registry = pytorchRegistry(image.region);
    if (!registry) throw new Error(`the SageMaker PyTorch containers are not published in ${image.region} (${PYTORCH_IMAGES_SOURCE})`);
    const domain = image.region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
    return `${registry}.dkr.ecr.${image.region}.${domain}/pytorch-${image.scope}:${version.full}-${image.processor}-${version.py}`;
}

/** The container version of a PyTorch model: its `frameworkVersion`, or the newest the platform knows. */
export function pytorchVersion(training: { readonly frameworkVersion?: string }): PyTorchVersion {
    return (training.frameworkVersion as PyTorchVersion | undefined) ?? DEFAULT_PYTORCH_VERSION;
}

/**
 * The images a PyTorch model runs: training on GPU; its model, batch transform and registered package on the kind
 * of instance batch transform runs on (its processing instance type), so the package serves as it was evaluated.
 */
export function pytorchModelImages(
    training: { readonly frameworkVersion?: string; readonly processingInstanceType: string },
    region: string,
): { trainingImageUri: string; inferenceImageUri: string } {
    const version = pytorchVersion(training);
    return {
        trainingImageUri: pytorchImageUri({ scope: "training", version, region, processor: "gpu" }),
        inferenceImageUri: pytorchImageUri({
            scope: "inference",
            version,
            region,
            processor: isGpuInstance(training.processingInstanceType) ? "gpu" : "cpu",
        }),
    };
}

/** The repository ARN of an image URI from `pytorchImageUri`, for the roles that pull it. */
export function pytorchRepositoryArn(image: Pick<PyTorchImage, "scope" | "region">, partition = "aws"): string {
    const registry = pytorchRegistry(image.region);
    if (!registry) throw new Error(`the SageMaker PyTorch containers are not published in ${image.region} (${PYTORCH_IMAGES_SOURCE})`);
    return `arn:${partition}:ecr:${image.region}:${registry}:repository/pytorch-${image.scope}`;
}
