import { existsSync, readFileSync, statSync } from "fs";
import { join } from "path";
import { parseArgs } from "util";
import { JobError } from "../lib/errors";
import { loadJobModelConfig } from "../lib/job-config";
import { projectDir } from "../cli/common";
import { endpointName, monitoringScheduleName } from "../../infra/naming";
import { readStackFile } from "../../infra/stack-file";
import { DEFAULT_MAX_LINE_BYTES } from "./capture";
import { DEFAULT_IMAGE_SAMPLE } from "./sample";
import {
    JOB_CONFIG_FILE,
    JobModelConfig,
    MONITOR_THRESHOLD_KEYS,
    MONITOR_THRESHOLDS_ENV,
    MonitorThresholds,
    PROCESSING_PATHS,
} from "../../infra/job-contract";

export { MonitorThresholds };

/**
 * How one monitoring run is configured. Three ways in, one shape out:
 * - Model Monitor (bring-your-own-container): the schedule sets `dataset_source`, `output_path`, `start_time`,
 *   `end_time`, `baseline_statistics`, `publish_cloudwatch_metrics`, `sagemaker_endpoint_name` and
 *   `sagemaker_monitoring_schedule_name`; thresholds come from `MONITOR_THRESHOLDS_ENV` (compact JSON).
 * - The monitoring pipeline: flags (`--endpoint`, `--schedule`, `--start-time`/`--end-time` or
 *   `--execution-time` + `--period`, `--put-metrics`, `--upload`), thresholds in the same environment
 *   variable as for Model Monitor, so both engines carry them one way.
 * - Locally: the same flags on local folders; thresholds from `--config model.json` (the default is the
 *   `model.json` at PROCESSING_PATHS.config) or `--stack S --model M`.
 * Flags win over environment variables, so an operator can re-run a Model Monitor window by hand.
 */
export interface MonitorSettings {
    /** Root of the capture files: `<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl` below it. */
    readonly capture: string;
    /** The monitoring_baseline.json file. */
    readonly baseline: string;
    /** Folder of ground-truth JSON lines, when labels exist. */
    readonly groundTruth?: string;
    /** Folder for statistics.json, constraint_violations.json and report.html. */
    readonly output: string;
    /** Folder for CloudWatch metric records (Model Monitor publishes them); undefined when disabled. */
    readonly metricFiles?: string;
    /** CloudWatch namespace to publish to directly with PutMetricData (pipeline engine); undefined when off. */
    readonly putMetricsNamespace?: string;
    /**
     * `s3://<capture bucket>/<model>/monitoring/<endpoint>/<schedule>/`: the pipeline engine's job uploads its
     * outputs below it under `yyyy/mm/dd/hh/` (the window's end, as Model Monitor names its runs).
     */
    readonly upload?: string;
    /** KMS key for the uploaded outputs. */
    readonly uploadKmsKeyId?: string;
    /** Inclusive start and exclusive end of the analysed window. */
    readonly window: TimeWindow;
    readonly endpoint: string;
    readonly schedule: string;
    readonly thresholds: MonitorThresholds;
    /** Images decoded per window at most (the uniform image sample). Defaults to DEFAULT_IMAGE_SAMPLE. */
    readonly imageSampleSize?: number;
    /** Worker threads that decode the sampled images; 0 decodes them on the main thread. Defaults to one per CPU. */
    readonly workers?: number;
    /** Capture lines longer than this are counted and skipped. Defaults to DEFAULT_MAX_LINE_BYTES. */
    readonly maxLineBytes?: number;
    /** Names the run in its claim and completion record. Defaults to the processing job's name. */
    readonly runId?: string;
    /** How long the claim on the window holds before another run may take it over. Defaults to an hour. */
    readonly claimLeaseSeconds?: number;
    /** The model's classes, checked against the baseline's. */
    readonly expectedClasses?: { readonly count: number; readonly names?: readonly string[] };
    /** Instance of a sharded run: write the partial state here (as `partial-<host>.json`) instead of the outputs. */
    readonly partialOutput?: string;
    /** This instance's name in a sharded run. Defaults to SageMaker's current_host, else the host name. */
    readonly host?: string;
    /** Merge step of a sharded run: judge the partial states in this folder instead of reading capture files. */
    readonly mergeFrom?: string;
    /** First step of a sharded run: write the window's capture manifest for `shards` instances here, nothing else. */
    readonly listManifest?: string;
    readonly shards?: number;
}

export interface TimeWindow {
    readonly start: Date;
    readonly end: Date;
}

/** Where a processing container leaves CloudWatch metric records for Model Monitor to publish. */
export const METRIC_FILES_DIR = "/opt/ml/output/metrics/cloudwatch";
/** Where Model Monitor mounts the baseline statistics when the BYOC env var does not say. */
const DEFAULT_BASELINE_FILE = "monitoring_baseline.json";

export type SchedulePeriod = "hourly" | "daily";
const PERIOD_MS: Record<SchedulePeriod, number> = { hourly: 3600_000, daily: 86400_000 };

/** A flag or environment variable the run cannot work with; the entry point prints it without a stack trace. */
export class MonitorSettingsError extends JobError {
    constructor(message: string) {
        super(message);
        this.name = "MonitorSettingsError";
    }
}

export function decodeMonitorThresholds(text: string, source = MONITOR_THRESHOLDS_ENV): MonitorThresholds {
    let parsed: unknown;
    try {
        parsed = JSON.parse(text);
    } catch (e) {
        throw new MonitorSettingsError(`${source} is not JSON (${(e as Error).message}): ${text.slice(0, 80)}`);
    }
    return checkThresholds(parsed, source);
}

function checkThresholds(value: unknown, source: string): MonitorThresholds {
    if (!value || typeof value !== "object")
        throw new MonitorSettingsError(`${source} must be a JSON object with ${MONITOR_THRESHOLD_KEYS.join(", ")}`);
    const v = value as Record<string, unknown>;
    const missing = MONITOR_THRESHOLD_KEYS.filter((k) => typeof v[k] !== "number" || !Number.isFinite(v[k]));
    if (missing.length)
        throw new MonitorSettingsError(`${source} lacks numeric ${missing.join(", ")}; it must carry ${MONITOR_THRESHOLD_KEYS.join(", ")}`);
    return Object.fromEntries(MONITOR_THRESHOLD_KEYS.map((k) => [k, v[k] as number])) as unknown as MonitorThresholds;
}

/** Thresholds from a model.json (JobModelConfig). */
export function thresholdsOf(config: Pick<JobModelConfig, "drift" | "confidenceThreshold">): MonitorThresholds {
    return { ...config.drift, confidenceThreshold: config.confidenceThreshold };
}

/**
 * An ISO 8601 instant. Model Monitor's own documentation shows values such as `2019-12-01T16: 20: 00Z`,
 * so whitespace is ignored.
 */
export function parseInstant(text: string, what: string): Date {
    const cleaned = text.trim().replace(/:\s+/g, ":");
    const d = new Date(cleaned);
    if (!/^\d{4}-\d{2}-\d{2}[T ]/.test(cleaned) || Number.isNaN(d.getTime()))
        throw new MonitorSettingsError(`${what} "${text}" is not an ISO 8601 time such as 2026-01-31T13:00:00Z`);
    return d;
}

/**
 * The window a scheduled run covers when it is not given one: the whole period before the one the run
 * started in (UTC). A run at 13:10 with an hourly period looks at 12:00-13:00, so the capture files of the
 * last hour are complete before they are read.
 */
export function previousPeriod(executionTime: Date, period: SchedulePeriod): TimeWindow {
    const ms = PERIOD_MS[period];
    const end = Math.floor(executionTime.getTime() / ms) * ms;
    return { start: new Date(end - ms), end: new Date(end) };
}

const FLAGS = {
    capture: { type: "string" },
    baseline: { type: "string" },
    "ground-truth": { type: "string" },
    output: { type: "string" },
    config: { type: "string" },
    stack: { type: "string" },
    model: { type: "string" },
    "metric-files": { type: "string" },
    "put-metrics": { type: "string" },
    upload: { type: "string" },
    "kms-key": { type: "string" },
    "start-time": { type: "string" },
    "end-time": { type: "string" },
    "execution-time": { type: "string" },
    period: { type: "string" },
    endpoint: { type: "string" },
    schedule: { type: "string" },
    "image-sample": { type: "string" },
    workers: { type: "string" },
    "max-line-bytes": { type: "string" },
    "run-id": { type: "string" },
    "claim-lease": { type: "string" },
    "class-count": { type: "string" },
    "partial-output": { type: "string" },
    "merge-from": { type: "string" },
    "list-manifest": { type: "string" },
    host: { type: "string" },
    shards: { type: "string" },
    help: { type: "boolean" },
} as const;

export const USAGE = `monitor: compares captured endpoint traffic with the model's monitoring baseline.

  --capture DIR          capture files <endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl (default ${PROCESSING_PATHS.monitor.capture}, or $dataset_source)
  --baseline PATH        monitoring_baseline.json or its folder (default ${PROCESSING_PATHS.monitor.baseline}, or $baseline_statistics)
  --ground-truth DIR     JSON lines {"inferenceId"|"eventId", "label"} (default ${PROCESSING_PATHS.monitor.groundTruth} when present)
  --output DIR           statistics.json, constraint_violations.json, report.html, then _complete.json (default ${PROCESSING_PATHS.monitor.output}, or $output_path)
  --config DIR           folder of ${JOB_CONFIG_FILE} with the thresholds (default ${PROCESSING_PATHS.config}; or $${MONITOR_THRESHOLDS_ENV})
  --stack S --model M    local runs: take the thresholds from Pulumi.<S>.yaml instead
  --start-time ISO       window start (inclusive); "auto" derives it from --execution-time and --period
  --end-time ISO         window end (exclusive); "auto" as above
  --execution-time ISO   when the scheduled run started (default now)
  --period P             hourly | daily (default hourly)
  --endpoint NAME        endpoint name (or $sagemaker_endpoint_name; with --stack/--model, the model's endpoint)
  --schedule NAME        monitoring schedule name (or $sagemaker_monitoring_schedule_name; with --stack/--model, the model's)
  --image-sample N       images decoded per window at most, a uniform sample (default ${DEFAULT_IMAGE_SAMPLE})
  --workers N            worker threads that decode the sampled images (default: one per CPU; 0: the main thread)
  --max-line-bytes N     capture lines longer than this are counted and skipped (default ${DEFAULT_MAX_LINE_BYTES})
  --run-id ID            names this run in the window's claim and completion record (default: the processing job)
  --claim-lease SECONDS  how long the claim on the window holds (default 3600: the job's maximum runtime)
  --class-count N        the model's number of classes; a baseline for another model is refused
  --partial-output DIR   sharded run: write this instance's partial statistics to DIR, nothing else
  --host NAME            sharded run: this instance's name in its partial file (default SageMaker's current_host)
  --merge-from DIR       sharded run: judge the partial statistics in DIR instead of reading capture files
  --list-manifest DIR    sharded run: write the window's capture manifest for --shards N instances to DIR, nothing else
  --metric-files DIR     write CloudWatch metric records here (default ${METRIC_FILES_DIR} when $publish_cloudwatch_metrics=Enabled)
  --put-metrics NS       publish the metrics directly with PutMetricData in namespace NS
  --upload S3URI         also upload the outputs to S3URI/yyyy/mm/dd/hh/ (the window's end), never overwriting
  --kms-key ARN          KMS key for the uploaded outputs
`;

/** Resolves flags and environment into settings, or throws MonitorSettingsError saying what is missing. */
export function resolveSettings(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): MonitorSettings {
    let flags: ReturnType<typeof parseFlags>;
    try {
        flags = parseFlags(argv);
    } catch (e) {
        throw new MonitorSettingsError(`${(e as Error).message}\n\n${USAGE}`);
    }
    const f = flags.values;
    const byoc = env.dataset_source !== undefined;

    const capture = f.capture ?? env.dataset_source ?? PROCESSING_PATHS.monitor.capture;
    const output = f.output ?? env.output_path ?? PROCESSING_PATHS.monitor.output;
    const baseline = baselineFile(f.baseline ?? env.baseline_statistics ?? PROCESSING_PATHS.monitor.baseline);
    const groundTruth =
        f["ground-truth"] ?? (existsSync(PROCESSING_PATHS.monitor.groundTruth) ? PROCESSING_PATHS.monitor.groundTruth : undefined);

    // A local run names the stack and model; their endpoint and schedule names follow from them.
    const stackModel = f.stack !== undefined && f.model !== undefined ? stackModelNames(f.stack, f.model) : undefined;
    const endpoint = f.endpoint ?? env.sagemaker_endpoint_name ?? stackModel?.endpoint;
    const schedule = f.schedule ?? env.sagemaker_monitoring_schedule_name ?? stackModel?.schedule;
    const missing: string[] = [];
    if (f.stack !== undefined && f.model === undefined) missing.push("--model M (with --stack, the model whose thresholds apply)");
    if (!endpoint) missing.push("--endpoint NAME (Model Monitor sets sagemaker_endpoint_name; --stack S --model M implies it)");
    if (!schedule) missing.push("--schedule NAME (Model Monitor sets sagemaker_monitoring_schedule_name; --stack S --model M implies it)");
    if (missing.length) throw new MonitorSettingsError(`missing: ${missing.join("; ")}`);

    const window = resolveWindow(f, env);
    const number = (flag: "image-sample" | "workers" | "max-line-bytes" | "claim-lease" | "class-count" | "shards", min: number) => {
        const text = f[flag];
        if (text === undefined) return undefined;
        const n = Number(text);
        if (!Number.isInteger(n) || n < min) throw new MonitorSettingsError(`--${flag} "${text}" must be a whole number >= ${min}`);
        return n;
    };

    const metricFiles = f["metric-files"] ?? (env.publish_cloudwatch_metrics?.toLowerCase() === "enabled" ? METRIC_FILES_DIR : undefined);

    let thresholds: MonitorThresholds;
    let classNames: readonly string[] | undefined;
    if (f.config !== undefined || f.stack !== undefined || (!byoc && env[MONITOR_THRESHOLDS_ENV] === undefined)) {
        const flags = { config: f.config, stack: f.stack, model: f.model };
        const config = loadJobModelConfig(flags);
        thresholds = checkThresholds(thresholdsOf(config), flags.config ?? (flags.stack ? `Pulumi.${flags.stack}.yaml` : JOB_CONFIG_FILE));
        classNames = config.classes;
    } else if (env[MONITOR_THRESHOLDS_ENV] !== undefined) {
        thresholds = decodeMonitorThresholds(env[MONITOR_THRESHOLDS_ENV]!);
    } else {
        throw new MonitorSettingsError(
            `the thresholds are missing: a Model Monitor job definition must set the ${MONITOR_THRESHOLDS_ENV} ` +
                "environment variable (compact JSON of the model's drift thresholds and confidenceThreshold)",
        );
    }

    return {
        capture,
        baseline,
        groundTruth,
        output,
        metricFiles,
        putMetricsNamespace: f["put-metrics"] || undefined,
        upload: f.upload || undefined,
        uploadKmsKeyId: f["kms-key"] || undefined,
        window,
        endpoint: endpoint!,
        schedule: schedule!,
        thresholds,
        imageSampleSize: number("image-sample", 1),
        workers: number("workers", 0),
        maxLineBytes: number("max-line-bytes", 1024),
        runId: f["run-id"] || undefined,
        claimLeaseSeconds: number("claim-lease", 1),
        expectedClasses: classNames
            ? { count: classNames.length, names: classNames }
            : f["class-count"] !== undefined
              ? { count: number("class-count", 2)! }
              : undefined,
        partialOutput: f["partial-output"] || undefined,
        host: f.host || currentHost(),
        mergeFrom: f["merge-from"] || undefined,
        listManifest: f["list-manifest"] || undefined,
        shards: number("shards", 1),
    };
}

/** The endpoint and schedule names the platform gives a model of a stack. */
function stackModelNames(stack: string, model: string): { endpoint: string; schedule: string } {
    const config = readStackFile(projectDir(), stack);
    return { endpoint: endpointName(config.environment, model), schedule: monitoringScheduleName(config.environment, model) };
}

/** SageMaker Processing names each instance of a job in /opt/ml/config/resourceconfig.json (`algo-1`, ...). */
function currentHost(): string | undefined {
    try {
        return (JSON.parse(readFileSync("/opt/ml/config/resourceconfig.json", "utf8")) as { current_host?: string }).current_host;
    } catch {
        return undefined;
    }
}

function parseFlags(argv: readonly string[]) {
    return parseArgs({ args: [...argv], options: FLAGS, strict: true, allowPositionals: false });
}

type Flags = ReturnType<typeof parseFlags>["values"];

function resolveWindow(f: Flags, env: NodeJS.ProcessEnv): TimeWindow {
    const startText = f["start-time"] ?? env.start_time;
    const endText = f["end-time"] ?? env.end_time;
    const auto = (t: string | undefined) => t === undefined || t.trim() === "" || t.trim().toLowerCase() === "auto";
    if (auto(startText) !== auto(endText))
        throw new MonitorSettingsError("give both --start-time and --end-time, or neither (the window is then the last whole period)");
    let window: TimeWindow;
    if (auto(startText)) {
        const period = (f.period ?? "hourly") as SchedulePeriod;
        if (!(period in PERIOD_MS)) throw new MonitorSettingsError(`--period "${f.period}" must be hourly or daily`);
        const executionTime = f["execution-time"] ? parseInstant(f["execution-time"], "--execution-time") : new Date();
        window = previousPeriod(executionTime, period);
    } else {
        window = { start: parseInstant(startText!, "start time"), end: parseInstant(endText!, "end time") };
    }
    if (window.end.getTime() <= window.start.getTime())
        throw new MonitorSettingsError(`the window ends (${window.end.toISOString()}) before it starts (${window.start.toISOString()})`);
    return window;
}

/** A baseline path may name the file or the folder Model Monitor or the pipeline mounted it in. */
function baselineFile(path: string): string {
    if (existsSync(path) && statSync(path).isDirectory()) return join(path, DEFAULT_BASELINE_FILE);
    return path;
}
