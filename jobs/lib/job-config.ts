import { readFileSync, statSync } from "fs";
import { join } from "path";
import { z } from "zod";
import { JOB_CONFIG_FILE, JobModelConfig, jobModelConfig, PROCESSING_PATHS } from "../../infra/job-contract";
import { readStackFile } from "../../infra/stack-file";
import { modelOf, projectDir } from "../cli/common";
import { JobError } from "./errors";

const fraction = z.number().min(0).max(1);

/** The parts of `model.json` the data jobs rely on; anything else in the file is passed through. */
const jobModelConfigSchema = z.looseObject({
    model: z.string().min(1),
    classes: z.array(z.string().min(1)).min(2),
    imageShape: z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]),
    split: z.object({ validation: fraction, test: fraction }),
    seed: z.number().int(),
    minImageSide: z.number().int().positive().optional(),
    minAccuracy: fraction,
    maxRegression: fraction,
    confidenceThreshold: fraction,
});

export interface ConfigFlags {
    /** `model.json`, or a folder holding it. */
    readonly config?: string;
    /** Build the config from `Pulumi.<stack>.yaml` instead (local runs). */
    readonly stack?: string;
    readonly model?: string;
}

/**
 * The model settings of a job run: `--config FILE|DIR`, else `--stack S --model M` from the stack file, else the
 * `model.json` the pipeline mounts at `PROCESSING_PATHS.config`.
 */
export function loadJobModelConfig(flags: ConfigFlags): JobModelConfig {
    if (flags.stack !== undefined) {
        const config = readStackFile(projectDir(), flags.stack);
        return jobModelConfig(flags.model!, modelOf({ stack: flags.stack, config }, flags.model));
    }
    let path = flags.config ?? join(PROCESSING_PATHS.config, JOB_CONFIG_FILE);
    try {
        if (statSync(path).isDirectory()) path = join(path, JOB_CONFIG_FILE);
    } catch {
        throw new JobError(
            `model config ${path} does not exist; pass --config model.json, or --stack <stack> --model <model> to read it from Pulumi.<stack>.yaml`,
        );
    }
    let doc: unknown;
    try {
        doc = JSON.parse(readFileSync(path, "utf8"));
    } catch (e) {
        throw new JobError(`model config ${path} cannot be read as JSON: ${(e as Error).message}`);
    }
    const parsed = jobModelConfigSchema.safeParse(doc);
    if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(top level)"}: ${i.message}`);
        throw new JobError(`model config ${path} is not a valid model.json: ${problems.join("; ")}`);
    }
    return parsed.data as unknown as JobModelConfig;
}
