import { createHash } from "crypto";
import { readdirSync, readFileSync } from "fs";
import { join } from "path";
import { LatestDataset, PROCESSING_PATHS, PROPERTY_FILES, ResolvedDataset } from "../../infra/job-contract";
import { prefixes } from "../../infra/naming";
import { parseFlags, stringFlag } from "../lib/args";
import { ensureWritableFolders, writeJsonAtomic } from "../lib/atomic";
import { JobError } from "../lib/errors";

const paths = PROCESSING_PATHS.dataset;

export const USAGE = `usage: dataset [flags]    (--model and --requested are required)

Says which dataset a training run trains on. The run is started with the raw-bucket key of a batch manifest
(an ingest's trigger) or of the model's latest/dataset.json pointer (schedules, drift, a start without
parameters); SageMaker mounts that object. This job writes resolved.json naming the manifest itself, so the
steps after it (and Preprocess's step cache) see one immutable dataset, never a pointer that moves.

  --model NAME         the model; the manifest must lie under its prefix
  --requested KEY      the key the run was started with
  --input DIR          where the requested object is mounted (default ${paths.requested})
  --output DIR         where resolved.json goes (default ${paths.output})`;

export async function main(argv: string[]): Promise<void> {
    const flags = parseFlags(
        argv,
        { model: { type: "string" }, requested: { type: "string" }, input: { type: "string" }, output: { type: "string" } },
        USAGE,
        {},
    );
    if (!flags) return;
    const model = stringFlag(flags, "model");
    const requested = stringFlag(flags, "requested");
    if (!model || !requested) throw new JobError(`--model and --requested are required\n\n${USAGE}`);
    const output = stringFlag(flags, "output") ?? paths.output;
    await ensureWritableFolders([output]);
    const resolved = resolveDataset(model, requested, stringFlag(flags, "input") ?? paths.requested);
    await writeJsonAtomic(join(output, PROPERTY_FILES.resolvedDataset), resolved);
    console.log(`dataset ${model}: ${resolved.manifest_key} (sha256 ${resolved.manifest_sha256}, via ${resolved.via})`);
}

/** The manifest behind the mounted object: the object itself when it is a manifest, what it names when it is the pointer. */
export function resolveDataset(model: string, requested: string, input: string): ResolvedDataset {
    const modelPrefix = prefixes.rawModel(model);
    if (!requested.startsWith(modelPrefix))
        throw new JobError(`requested key ${requested} is not under ${modelPrefix}, the raw data of model ${model}`);
    let files: string[];
    try {
        files = readdirSync(input).filter((f) => !f.startsWith("."));
    } catch {
        throw new JobError(`nothing is mounted at ${input}: the run was started with ${requested}, which does not exist in the raw bucket`);
    }
    if (files.length !== 1)
        throw new JobError(
            `expected one object for ${requested} at ${input}, found ${files.length} (${files.join(", ") || "none"}); ` +
                "start the run with the key of a batch manifest or of the model's latest/dataset.json",
        );
    const bytes = readFileSync(join(input, files[0]));
    let doc: unknown;
    try {
        doc = JSON.parse(bytes.toString("utf8"));
    } catch (e) {
        throw new JobError(`${requested} is not JSON (${(e as Error).message}); expected a batch manifest or latest/dataset.json`);
    }
    if (Array.isArray(doc) && typeof (doc[0] as { prefix?: unknown })?.prefix === "string")
        return { manifest_key: requested, manifest_sha256: createHash("sha256").update(bytes).digest("hex"), requested, via: "manifest" };
    const pointer = doc as Partial<LatestDataset>;
    if (typeof pointer?.manifest_key === "string" && typeof pointer.manifest_sha256 === "string") {
        if (!pointer.manifest_key.startsWith(modelPrefix))
            throw new JobError(`${requested} names ${pointer.manifest_key}, which is not under ${modelPrefix}`);
        return { manifest_key: pointer.manifest_key, manifest_sha256: pointer.manifest_sha256, requested, via: "latest" };
    }
    throw new JobError(
        `${requested} is neither a SageMaker manifest (a list starting with {"prefix": ...}) nor a latest/dataset.json pointer`,
    );
}
