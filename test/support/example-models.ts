import { readFileSync } from "fs";
import { join } from "path";
import { parse } from "yaml";
import { ModelConfig, parsePlatformConfig } from "../../infra/config";

/** docs/examples/pytorch-models.yaml (dog-breeds, birds-200) as a stack of the given environment would parse it. */
export function exampleModels(environment: "staging" | "prod" = "staging"): Record<string, ModelConfig> {
    const { models } = parse(readFileSync(join(__dirname, "..", "..", "docs", "examples", "pytorch-models.yaml"), "utf8"));
    if (environment === "prod") for (const m of Object.values(models) as any[]) m.endpoint = { ...m.endpoint, instanceCount: 2 };
    return parsePlatformConfig({ environment, region: "us-east-1", models }).models;
}
