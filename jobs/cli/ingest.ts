import { S3Client } from "@aws-sdk/client-s3";
import { STSClient } from "@aws-sdk/client-sts";
import { readStackFile } from "../../infra/stack-file";
import { BatchRecord, defaultBatchId, ingest } from "../ingest";
import { Progress } from "../ingest/progress";
import { parseFlags, stringFlag } from "../lib/args";
import { JobError, listSome } from "../lib/errors";
import { CliError, modelOf, projectDir, resolveStack, runCli } from "./common";

export const USAGE = `usage: npm run ingest -- --stack STACK --model MODEL DIR [--labels export.json] [--bucket NAME] [--batch-id ID]

Uploads the images under DIR (one folder per class, or any layout with a Label Studio JSON export) to the
model's raw data as a new batch, skipping images already uploaded, then writes the batch manifest that starts
the training pipeline.

  --stack NAME         stack whose Pulumi.<stack>.yaml names the model's classes and region
  --model NAME         the model the images are for
  --labels FILE        Label Studio JSON export giving each image's class
  --bucket NAME        raw bucket (default: derived from the stack and your AWS account, as the program names it)
  --batch-id ID        default: the UTC time, yyyymmddThhmmssZ`;

/** Clients the CLI talks to; tests pass emulator-backed ones. */
export interface IngestDeps {
    readonly s3?: Pick<S3Client, "send">;
    readonly sts?: Pick<STSClient, "send">;
    readonly stderr?: { write(text: string): unknown; isTTY?: boolean };
    readonly stdout?: { write(text: string): unknown };
}

export async function main(argv: string[], deps: IngestDeps = {}): Promise<void> {
    let parsed;
    try {
        parsed = parseFlags(
            argv,
            {
                stack: { type: "string" },
                model: { type: "string" },
                labels: { type: "string" },
                bucket: { type: "string" },
                "batch-id": { type: "string" },
            },
            USAGE,
            { positionals: true },
        );
    } catch (e) {
        throw new CliError((e as Error).message);
    }
    if (!parsed) return;
    const { flags, positionals } = parsed;
    const stack = stringFlag(flags, "stack");
    if (!stack) throw new CliError(`--stack is required\n\n${USAGE}`);
    if (positionals.length !== 1) throw new CliError(`give exactly one folder of images (got ${positionals.length})\n\n${USAGE}`);
    const modelName = stringFlag(flags, "model");
    let bucket = stringFlag(flags, "bucket");
    let config;
    if (bucket) config = readStackFile(projectDir(), stack);
    else {
        const ctx = await resolveStack(stack, deps.sts ?? new STSClient({}));
        config = ctx.config;
        bucket = ctx.buckets.raw;
    }
    const model = modelOf({ stack, config }, modelName);
    const batchId = stringFlag(flags, "batch-id") ?? defaultBatchId();
    const stderr = deps.stderr ?? process.stderr;
    try {
        const result = await ingest({
            s3: deps.s3 ?? new S3Client({ region: config.region }),
            bucket,
            model: modelName!,
            classes: model.classes,
            dir: positionals[0],
            labels: stringFlag(flags, "labels"),
            batchId,
            progress: new Progress(stderr),
        });
        const b = result.batch;
        if (b.label_conflicts.length > 0) stderr.write(`warning: ${conflictWarning(b.label_conflicts)}\n`);
        if (b.skipped.length > 0) stderr.write(`skipped ${b.skipped.length} files (see batch.json skipped)\n`);
        const stdout = deps.stdout ?? process.stdout;
        stdout.write(
            `batch ${batchId}: ${b.new_images} new images uploaded, ${b.already_uploaded} already uploaded, ` +
                `${b.duplicates_in_batch} duplicates in the folder; ${b.total_images} images in the dataset\n`,
        );
        stdout.write(`manifest: s3://${bucket}/${result.manifestKey}\n`);
    } catch (e) {
        if (e instanceof JobError) throw new CliError(e.message);
        throw e;
    }
}

/** One line naming the first few conflicting images and what preprocess does with them. */
export function conflictWarning(conflicts: BatchRecord["label_conflicts"]): string {
    const shown = listSome(
        conflicts.map((c) => `${c.file} is also ${c.other_classes.join(", ")}`),
        5,
    );
    return (
        `${conflicts.length} image${conflicts.length === 1 ? " has" : "s have"} the same content as an image of another class (${shown}); ` +
        "preprocess leaves every copy out of training until the wrong one is removed from the raw bucket (see batch.json label_conflicts)"
    );
}

if (require.main === module) runCli(() => main(process.argv.slice(2)));
