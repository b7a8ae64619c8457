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

/**
 * The tag every job and model a SageMaker pipeline of the platform creates carries, valued with the pipeline's name.
 * SageMaker names those jobs `pipelines-<execution>-<step>-...` whatever the pipeline, so this tag is what scopes a
 * pipeline role to its own jobs (`pipelineJobStatements` in infra/iam.ts). Pipelines adds tags of its own
 * (`sagemaker:pipeline-execution-arn`), so policies test this key, never the whole set of tag keys.
 */
export const PIPELINE_TAG_KEY = "vision-mlops:pipeline";

/** The tag naming the pipeline a job or model belongs to. */
export function pipelineTag(pipelineName: string): { Key: string; Value: string } {
    if (!/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$/.test(pipelineName))
        throw new Error(`${JSON.stringify(pipelineName)} is not a SageMaker pipeline name (letters, digits and hyphens, at most 256)`);
    return { Key: PIPELINE_TAG_KEY, Value: pipelineName };
}
