import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { dirname, join } from "path";
import { JOBS_ENTRYPOINT } from "../../../../infra/job-contract";
import { allSteps, PipelineDefinition, referencesIn, StepDefinition } from "../../../../infra/pipeline/builder";
import { parseS3Uri } from "../../../../infra/s3-uri";
import { run as runJob } from "../../../../jobs/main";

/**
 * A small stand-in for SageMaker Pipelines, enough to see what a Processing step's cache key would be: it
 * evaluates pipeline expressions (parameters with their defaults, execution variables, Std:Join, Std:JsonGet
 * of property files, step output URIs) and, for the property files a step depends on, runs the processing
 * steps before it as SageMaker would: their S3Prefix inputs downloaded from S3 into their local paths, the
 * container entry point run with the jobs' own code, the property files read from the outputs.
 *
 * The cache key of a Processing step is its AppSpecification, Environment and ProcessingInputs (SageMaker
 * Developer Guide, "Default cache key attributes by pipeline step type"), compared as values: the guide's
 * "Caching pipeline steps" looks for a previous run "with the same values for certain attributes", and the
 * SageMaker Python SDK's "Caching Configuration" section says a new job starts when the S3 path changes both
 * for an input given as a ParameterString and for one given as a step property reference.
 */
export interface Run {
    readonly definition: PipelineDefinition;
    /** Values the starter passed; other parameters take their defaults. */
    readonly parameters: Readonly<Record<string, string>>;
    readonly s3: S3Client;
    readonly executionId: string;
}

export async function processingCacheKey(run: Run, stepName: string): Promise<string> {
    const ctx = new Evaluation(run);
    const step = ctx.step(stepName);
    if (step.Type !== "Processing") throw new Error(`${stepName} is a ${step.Type} step, not a Processing step`);
    const a = step.Arguments as Record<string, unknown>;
    const key = await ctx.evaluate({
        AppSpecification: a.AppSpecification,
        Environment: a.Environment ?? {},
        ProcessingInputs: a.ProcessingInputs,
    });
    return JSON.stringify(key);
}

class Evaluation {
    private readonly propertyFiles = new Map<string, Promise<Record<string, unknown>>>();
    constructor(private readonly run: Run) {}

    step(name: string): StepDefinition {
        const s = allSteps(this.run.definition).find((x) => x.Name === name);
        if (!s) throw new Error(`no step ${name}`);
        return s;
    }

    async evaluate(value: unknown): Promise<unknown> {
        if (Array.isArray(value)) return Promise.all(value.map((v) => this.evaluate(v)));
        if (typeof value !== "object" || value === null) return value;
        const v = value as Record<string, unknown>;
        if (typeof v.Get === "string") return this.get(v.Get);
        if (v["Std:Join"]) {
            const j = v["Std:Join"] as { On: string; Values: unknown[] };
            return (await Promise.all(j.Values.map((x) => this.evaluate(x)))).map(String).join(j.On);
        }
        if (v["Std:JsonGet"]) {
            const j = v["Std:JsonGet"] as { PropertyFile: { Get: string }; Path: string };
            const [, stepName, , file] = j.PropertyFile.Get.split(".");
            const doc = await this.propertyFile(stepName, file);
            return j.Path.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], doc);
        }
        const out: Record<string, unknown> = {};
        for (const [k, inner] of Object.entries(v)) out[k] = await this.evaluate(inner);
        return out;
    }

    private get(ref: string): unknown {
        const [root, name] = ref.split(".");
        if (root === "Parameters") {
            const p = this.run.definition.Parameters.find((x) => x.Name === name);
            if (!p) throw new Error(`no parameter ${name}`);
            return this.run.parameters[name] ?? p.DefaultValue;
        }
        if (ref === "Execution.PipelineExecutionId") return this.run.executionId;
        if (root === "Execution") return `${name}-of-${this.run.executionId}`;
        const output = /^Steps\.([^.]+)\.ProcessingOutputConfig\.Outputs\['([^']+)'\]\.S3Output\.S3Uri$/.exec(ref);
        if (output) {
            const s = this.step(output[1]).Arguments as {
                ProcessingOutputConfig: { Outputs: Array<{ OutputName: string; S3Output: { S3Uri: unknown } }> };
            };
            return this.evaluate(s.ProcessingOutputConfig.Outputs.find((o) => o.OutputName === output[2])!.S3Output.S3Uri);
        }
        throw new Error(`the simulation cannot resolve ${ref}`);
    }

    private propertyFile(stepName: string, file: string): Promise<Record<string, unknown>> {
        const id = `${stepName}/${file}`;
        if (!this.propertyFiles.has(id))
            this.propertyFiles.set(
                id,
                this.runStep(stepName).then((files) => files[file]),
            );
        return this.propertyFiles.get(id)!;
    }

    /** Runs a processing step of the jobs image on local folders; returns its property files by name. */
    private async runStep(name: string): Promise<Record<string, Record<string, unknown>>> {
        const step = this.step(name);
        if (step.Type !== "Processing") throw new Error(`the simulation runs Processing steps only, not ${step.Type} ${name}`);
        for (const ref of referencesIn(step.Arguments))
            if (ref.startsWith("Steps.")) throw new Error(`the simulation does not chain steps (${name} refers to ${ref})`);
        const a = (await this.evaluate(step.Arguments)) as {
            AppSpecification: { ContainerEntrypoint: string[]; ContainerArguments?: string[] };
            ProcessingInputs?: Array<{ S3Input: { S3Uri: string; LocalPath: string; S3DataType: string } }>;
            ProcessingOutputConfig: { Outputs: Array<{ OutputName: string; S3Output: { LocalPath: string } }> };
        };
        const root = mkdtempSync(join(tmpdir(), "vision-mlops-sim-"));
        const local = (p: string) => (p.startsWith("/opt/ml/") ? join(root, p) : p);
        try {
            for (const input of a.ProcessingInputs ?? []) {
                if (input.S3Input.S3DataType !== "S3Prefix") throw new Error(`the simulation mounts S3Prefix inputs only (${name})`);
                const { bucket, key: prefix } = parseS3Uri(input.S3Input.S3Uri);
                const listed = await this.run.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
                mkdirSync(local(input.S3Input.LocalPath), { recursive: true });
                for (const o of listed.Contents ?? []) {
                    // SageMaker keeps the part of the key after the prefix's last "/" (for an exact key, its name).
                    const rel = o.Key!.slice(prefix.lastIndexOf("/") + 1);
                    const body = await this.run.s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }));
                    const path = join(local(input.S3Input.LocalPath), rel);
                    mkdirSync(dirname(path), { recursive: true });
                    writeFileSync(path, Buffer.from(await body.Body!.transformToByteArray()));
                }
            }
            const command = [...a.AppSpecification.ContainerEntrypoint, ...(a.AppSpecification.ContainerArguments ?? [])];
            if (command.slice(0, JOBS_ENTRYPOINT.length).join(" ") !== JOBS_ENTRYPOINT.join(" "))
                throw new Error(`step ${name} does not start the jobs image's entry point: ${command.join(" ")}`);
            const log = console.log;
            console.log = () => undefined; // the job's own summary line
            const code = await runJob(command.slice(JOBS_ENTRYPOINT.length).map(local)).finally(() => {
                console.log = log;
            });
            if (code !== 0) throw new Error(`step ${name} failed (exit ${code}): ${command.join(" ")}`);
            const files: Record<string, Record<string, unknown>> = {};
            for (const pf of step.PropertyFiles ?? []) {
                const out = a.ProcessingOutputConfig.Outputs.find((o) => o.OutputName === pf.OutputName)!;
                files[pf.PropertyFileName] = JSON.parse(readFileSync(join(local(out.S3Output.LocalPath), pf.FilePath), "utf8"));
            }
            return files;
        } finally {
            rmSync(root, { recursive: true, force: true });
        }
    }
}

/** The value EventBridge gives a pipeline parameter: a JSON path into the event, or the fixed value. */
export function eventBridgeParameters(
    list: ReadonlyArray<{ name: string; value: string }> | undefined,
    event: unknown,
): Record<string, string> {
    const out: Record<string, string> = {};
    for (const { name, value } of list ?? [])
        out[name] = value.startsWith("$.")
            ? String(
                  value
                      .slice(2)
                      .split(".")
                      .reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], event),
              )
            : value;
    return out;
}
