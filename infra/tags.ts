import { Environment } from "./config";
import { PROJECT } from "./naming";

/**
 * Tags every resource carries, applied once through the AWS provider's `defaultTags`. The user's own tags
 * come first so they cannot overwrite the platform's bookkeeping keys.
 */
export function platformTags(environment: Environment, userTags: Readonly<Record<string, string>> = {}): Record<string, string> {
    return { ...userTags, project: PROJECT, environment, "managed-by": "pulumi" };
}

/** Extra tags for resources that belong to one model. */
export function modelTags(model: string): Record<string, string> {
    return { model };
}
