import { readStackFile } from "../../infra/stack-file";
import { prefixes } from "../../infra/naming";
import { BatchRecord, ingest, IngestResult } from "../ingest";
import { Progress } from "../ingest/progress";
import { parseFlags, stringFlag } from "../lib/args";
import { JobError, listSome } from "../lib/errors";
import { CliError, modelOf, projectDir, runCli } from "./common";
import { CliDeps, clientsFromEnvironment } from "./lib/clients";
import { openStack } from "./lib/stack";

export const USAGE = `usage: npm run ingest -- --stack STACK --model MODEL DIR [--labels export.json] [--bucket NAME] [--batch-id ID] [--force]

Uploads the images under DIR (one folder per class, or any layout with a Label Studio JSON export) that the
model's dataset does not hold yet, as a new batch, then writes the batch manifest that starts the training
pipeline. Writes nothing (and starts no training) when DIR adds no image. If an ingest of DIR stopped part-way,
the same command resumes its batch.

  --stack NAME         stack whose Pulumi.<stack>.yaml names the model's classes and region
  --model NAME         the model the images are for
  --labels FILE        Label Studio JSON export giving each image's class
  --bucket NAME        raw bucket (default: derived from the stack and your AWS account, as the program names it)
  --batch-id ID        the batch to create or resume (default: DIR's incomplete batch, else the UTC time, yyyymmddThhmmssZ)
  --force              write a batch, and so start training on the dataset as it is, even when DIR adds nothing`;

/** What the CLI takes besides its flags; tests pass emulator-backed clients, a clock and streams. */
export interface IngestDeps extends Pick<CliDeps, "makeClients" | "now"> {
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
                force: { type: "boolean" },
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
    const makeClients = deps.makeClients ?? clientsFromEnvironment;
    let bucket = stringFlag(flags, "bucket");
    let config, s3;
    if (bucket) {
        config = readStackFile(projectDir(), stack);
        s3 = makeClients(config.region).s3;
    } else {
        const { ctx, clients } = await openStack(stack, makeClients);
        config = ctx.config;
        bucket = ctx.buckets.raw;
        s3 = clients.s3;
    }
    const model = modelOf({ stack, config }, modelName);
    const stderr = deps.stderr ?? process.stderr;
    const stdout = deps.stdout ?? process.stdout;
    let result: IngestResult;
    try {
        result = await ingest({
            s3,
            bucket,
            model: modelName!,
            classes: model.classes,
            dir: positionals[0],
            labels: stringFlag(flags, "labels"),
            batchId: stringFlag(flags, "batch-id"),
            force: flags.force === true,
            progress: new Progress(stderr),
            warn: (line) => stderr.write(`warning: ${line}\n`),
            now: deps.now,
        });
    } catch (e) {
        if (e instanceof JobError) throw new CliError(e.message);
        throw e;
    }
    if (result.status === "nothing-new") {
        stdout.write(
            `nothing new under ${positionals[0]}: its ${result.images} images are all in the dataset already; no batch written, ` +
                "no training started (--force starts one)\n",
        );
        return;
    }
    const b = result.batch;
    if (b.label_conflicts.length > 0) stderr.write(`warning: ${conflictWarning(b.label_conflicts)}\n`);
    if (b.skipped.length > 0) stderr.write(`skipped ${b.skipped.length} files (see batch.json skipped)\n`);
    stdout.write(
        `batch ${b.batch_id}: ${b.new_images} new images uploaded, ${b.already_uploaded} already uploaded, ` +
            `${b.duplicates_in_batch} duplicates in the folder; ${b.total_images} images in the dataset\n`,
    );
    if (result.resumedImages > 0)
        stdout.write(`resumed batch ${b.batch_id} (${result.resumedImages} of its images were uploaded by an earlier run)\n`);
    stdout.write(`manifest: s3://${bucket}/${result.manifestKey}\n`);
    const latest = `s3://${bucket}/${prefixes.latestDataset(modelName!)}`;
    stdout.write(
        result.latest === "updated"
            ? `${latest} now names this batch's dataset\n`
            : result.latest === "merged"
              ? `${latest} now names a dataset of this batch and the batches that completed while it uploaded\n`
              : `${latest} already names a dataset that includes this batch\n`,
    );
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
