import type { ContainerDefinition } from "@aws-sdk/client-sagemaker";

/**
 * Set on a model's container when it runs a package's image and artifact directly (staging, where the
 * package is not Approved yet and SageMaker deploys only Approved versioned packages by ARN): the package
 * it came from, so "which package does this endpoint serve" has one answer either way.
 */
export const SERVED_PACKAGE_ENVIRONMENT_VARIABLE = "VISION_MLOPS_MODEL_PACKAGE_ARN";

/** The package a model's container serves: its ModelPackageName, or the package it records. */
export function packageOfContainer(
    container: Pick<ContainerDefinition, "ModelPackageName" | "Environment"> | undefined,
): string | undefined {
    return container?.ModelPackageName ?? container?.Environment?.[SERVED_PACKAGE_ENVIRONMENT_VARIABLE];
}
