import { SageMakerClient } from "@aws-sdk/client-sagemaker";
import { sagemakerRegistry } from "../infra/promotion";
import { readPlatformConfig, sourceCommit } from "./config";
import { createPlatform } from "./platform";

/**
 * The Pulumi program (`main` in Pulumi.yaml): validate the stack config, look the served models up in
 * the registry, then declare the platform. A config problem or an unapproved model for prod stops the
 * update here, before any resource changes.
 */
export = async () => {
    const config = readPlatformConfig();
    const registry = sagemakerRegistry(new SageMakerClient({ region: config.region }));
    const platform = await createPlatform(config, { registry, gitCommit: sourceCommit() });
    return platform.outputs;
};
