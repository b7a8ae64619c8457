import { DescribeExecutionCommand, DescribeExecutionCommandOutput, SFNClient } from "@aws-sdk/client-sfn";
import { createHash } from "crypto";
import { readFile } from "fs/promises";
import { parseArgs } from "util";
import { imagePrefixes, incomingPrefix, OUTCOMES, stateMachineArn, stateMachineName } from "../../infra/inference-workflow";
import { IMAGE_EXTENSIONS, reviewKeys } from "../../infra/review-contract";
import { parseS3Uri, s3Uri } from "../../infra/s3-uri";
import { getText, putIfAbsent } from "../ingest/s3";
import { predictionKey, Sender, startForImage } from "../inference/workflow";
import { checkImage, ClassifyError } from "../lib/classify";
import { CliError, modelOf, runCli } from "./common";
import { annotateAwsCall } from "./lib/aws-errors";
import { awsClientConfig, CliDeps, clientSettingsFromEnvironment } from "./lib/clients";
import { openStack } from "./lib/stack";

export const CLASSIFY_USAGE = "npm run classify -- --stack <stack> --model <model> [--wait <seconds>] <FILE | s3://bucket/key>";
const HELP = [
    "Classifies one image with the model's inference workflow and prints the outcome: the top classes and",
    "where the prediction was written, or that the image went to review (and where its Label Studio task is).",
    "A local FILE is uploaded to <model>/inference/incoming/ in the raw bucket first; an s3:// image must be there",
    "or under the model's inference.triggerPrefix. The execution is named after the image's content, so the same",
    "image is classified once: asking again prints the first outcome.",
    "",
    "  --stack   stack to use (a Pulumi.<stack>.yaml)",
    "  --model   model name from the stack file",
    "  --wait    seconds to wait for the outcome (default 120; 0 starts and returns)",
    "",
    "Exit codes: 0 classified, sent to review or still running, 1 bad input, 2 the execution failed (bad image,",
    "review timed out), 4 throttled, 5 network, 6 permissions, 7 credentials, 8 AWS error.",
].join("\n");

export interface ClassifyOptions {
    readonly stack: string;
    readonly model: string;
    readonly image: string;
    readonly waitSeconds: number;
}

export function classifyOptions(argv: readonly string[], print: (text: string) => void = console.log): ClassifyOptions | undefined {
    let parsed;
    try {
        parsed = parseArgs({
            args: [...argv],
            options: {
                stack: { type: "string" },
                model: { type: "string" },
                wait: { type: "string" },
                help: { type: "boolean", short: "h" },
            },
            strict: true,
            allowPositionals: true,
        });
    } catch (e) {
        throw new CliError(`${(e as Error).message.replace(/\.$/, "")}\nusage: ${CLASSIFY_USAGE}`);
    }
    if (parsed.values.help) {
        print(`usage: ${CLASSIFY_USAGE}\n\n${HELP}`);
        return undefined;
    }
    const { stack, model, wait } = parsed.values;
    if (!stack) throw new CliError(`--stack is required\nusage: ${CLASSIFY_USAGE}`);
    if (!model) throw new CliError(`--model is required\nusage: ${CLASSIFY_USAGE}`);
    if (parsed.positionals.length !== 1)
        throw new CliError(`give exactly one image (a file or an s3:// URI), not ${parsed.positionals.length}\nusage: ${CLASSIFY_USAGE}`);
    const waitSeconds = wait === undefined ? 120 : Number(wait);
    if (!Number.isInteger(waitSeconds) || waitSeconds < 0 || waitSeconds > 3600)
        throw new CliError(`--wait ${JSON.stringify(wait)} must be a whole number of seconds from 0 to 3600`);
    return { stack, model, image: parsed.positionals[0], waitSeconds };
}

export interface ClassifyDeps extends CliDeps {
    /** Step Functions; defaults to a client for the stack's region (AWS_ENDPOINT_URL honoured). */
    readonly sfn?: Sender;
    /** Seconds between status checks. Defaults to 2. */
    readonly pollSeconds?: number;
}

export async function classify(opts: ClassifyOptions, deps: ClassifyDeps = {}): Promise<number> {
    const print = deps.print ?? console.log;
    const { ctx, clients } = await openStack(opts.stack, deps.makeClients);
    const settings = modelOf(ctx, opts.model);
    const bucket = ctx.buckets.raw;
    const allowed = imagePrefixes(opts.model, settings.inference.triggerPrefix);
    let key: string;
    if (opts.image.startsWith("s3://")) {
        const where = parseS3Uri(opts.image);
        if (where.bucket !== bucket || !allowed.some((p) => where.key.startsWith(p)))
            throw new CliError(
                `${opts.image} is not where the workflow classifies images: put it under s3://${bucket}/ ${allowed.join(" or ")}, or pass a local file`,
            );
        key = where.key;
    } else {
        let bytes: Buffer;
        try {
            bytes = await readFile(opts.image);
        } catch (e) {
            throw new CliError(`cannot read ${opts.image}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
        let contentType: string;
        try {
            contentType = checkImage(bytes);
        } catch (e) {
            if (e instanceof ClassifyError) throw new CliError(`${opts.image}: ${e.message}`);
            throw e;
        }
        const digest = createHash("sha256").update(bytes).digest();
        key = `${incomingPrefix(opts.model)}${digest.toString("hex")}${IMAGE_EXTENSIONS[contentType]}`;
        await putIfAbsent(clients.s3, {
            Bucket: bucket,
            Key: key,
            Body: bytes,
            ContentType: contentType,
            ChecksumSHA256: digest.toString("base64"),
        });
    }
    const sfn = deps.sfn ?? defaultSfn(ctx.region);
    const machine = stateMachineArn(ctx.region, ctx.accountId, stateMachineName(ctx.config.environment, opts.model));
    const started = await startForImage({ s3: clients.s3, sfn }, machine, bucket, key);
    print(`${started.started ? "started" : "already classified:"} ${started.executionArn}`);
    const deadline = Date.now() + opts.waitSeconds * 1000;
    for (;;) {
        const execution = (await sfn.send(
            new DescribeExecutionCommand({ executionArn: started.executionArn }),
        )) as DescribeExecutionCommandOutput;
        if (execution.status === "SUCCEEDED") return report(print, execution, bucket, key);
        if (execution.status && execution.status !== "RUNNING") {
            print(`${execution.status.toLowerCase()}: ${execution.error ?? ""}${execution.cause ? `: ${execution.cause}` : ""}`);
            return 2;
        }
        if (await getText(clients.s3, bucket, reviewKeys.task(opts.model, started.name))) {
            print(
                `sent to review: the model is unsure; a reviewer labels it in Label Studio (task ${s3Uri(bucket, reviewKeys.task(opts.model, started.name))})`,
            );
            return 0;
        }
        if (Date.now() >= deadline) {
            print(`still running after ${opts.waitSeconds} s; see ${started.executionArn}`);
            return 0;
        }
        await new Promise((r) => setTimeout(r, (deps.pollSeconds ?? 2) * 1000));
    }
}

function report(print: (line: string) => void, execution: DescribeExecutionCommandOutput, bucket: string, key: string): number {
    const output = JSON.parse(execution.output ?? "{}") as {
        top?: Array<{ label: string; confidence: number }>;
        review?: { verdict: string; label?: string; reviewer?: string };
    };
    const top = (output.top ?? []).map((t) => `${t.label} ${(t.confidence * 100).toFixed(1)}%`).join(", ");
    if (output.review?.verdict === "label")
        print(`${OUTCOMES.labelled}: ${output.review.label} (by ${output.review.reviewer}); the model said ${top}`);
    else if (output.review?.verdict === "invalid")
        print(`${OUTCOMES.notAValidImage}: ${output.review.reviewer} marked it not a valid image`);
    else print(`${OUTCOMES.classified}: ${top} (prediction in ${s3Uri(bucket, predictionKey(key))})`);
    return 0;
}

function defaultSfn(region: string): Sender {
    const sfn = new SFNClient(
        awsClientConfig(region, { endpoint: process.env.AWS_ENDPOINT_URL || undefined, settings: clientSettingsFromEnvironment() }),
    );
    annotateAwsCall(sfn, "Step Functions");
    return sfn;
}

if (require.main === module) {
    runCli(async () => {
        const opts = classifyOptions(process.argv.slice(2));
        if (opts) process.exitCode = await classify(opts);
    });
}
