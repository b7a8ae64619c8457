import type { TrainingModelSettings } from "./pipeline/training-model";

/**
 * The contract between the pipelines (which mount S3 into the jobs container) and the jobs (which read and
 * write local folders). Both sides import these paths and this config shape, so they cannot drift apart.
 */

/** Where SageMaker Processing mounts inputs and collects outputs, per job. */
export const PROCESSING_PATHS = {
    config: "/opt/ml/processing/input/config",
    dataset: {
        /** The object the run was started with: a batch manifest, or the `latest/dataset.json` pointer. */
        requested: "/opt/ml/processing/input/requested",
        /** resolved.json (property file): the manifest the run trains on. */
        output: "/opt/ml/processing/output/dataset",
    },
    preprocess: {
        /** The batch: `<class>/<image>` folders and/or a Label Studio export `labels.json`, plus `_manifest.json`. */
        raw: "/opt/ml/processing/input/raw",
        train: "/opt/ml/processing/output/train",
        validation: "/opt/ml/processing/output/validation",
        /** `images/<file>` (the batch-transform input) and `labels.jsonl`. */
        test: "/opt/ml/processing/output/test",
        /** class_map.json, dataset.json (property file), baseline.json, report.json. */
        metadata: "/opt/ml/processing/output/metadata",
    },
    evaluate: {
        /** Batch-transform output: `<image>.out` per test image. */
        predictions: "/opt/ml/processing/input/predictions",
        /** labels.jsonl from preprocess' test output. */
        test: "/opt/ml/processing/input/test",
        /** class_map.json and baseline.json from preprocess' metadata output. */
        metadata: "/opt/ml/processing/input/metadata",
        /** evaluation.json (property file), statistics.json, monitoring_baseline.json. */
        evaluation: "/opt/ml/processing/output/evaluation",
    },
    monitor: {
        /** Data-capture files: `<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl`. */
        capture: "/opt/ml/processing/input/endpoint",
        /** monitoring_baseline.json. */
        baseline: "/opt/ml/processing/baseline",
        /** Optional ground truth: JSON lines keyed by inferenceId or eventId. */
        groundTruth: "/opt/ml/processing/input/ground_truth",
        /** statistics.json, constraint_violations.json, report.html. */
        output: "/opt/ml/processing/resultdata",
    },
} as const;

/** The file name of each property file a pipeline condition or training step reads. */
export const PROPERTY_FILES = {
    /** resolved.json: `ResolvedDataset`, the dataset a run trains on. */
    resolvedDataset: "resolved.json",
    /** dataset.json: `{"num_training_samples": n, "num_classes": k, ...}` */
    dataset: "dataset.json",
    /** evaluation.json: `metrics.accuracy`, `gate.champion_floor`, ... */
    evaluation: "evaluation.json",
} as const;

/** JSON paths the pipeline reads from the property files (`Std:JsonGet`). */
export const PROPERTY_PATHS = {
    manifestKey: "manifest_key",
    manifestSha256: "manifest_sha256",
    numTrainingSamples: "num_training_samples",
    accuracy: "metrics.accuracy",
    championFloor: "gate.champion_floor",
} as const;

/** The model settings a job needs, written once per model as `model.json` and mounted at `PROCESSING_PATHS.config`. */
export interface JobModelConfig {
    readonly model: string;
    readonly classes: string[];
    /** [channels, height, width] */
    readonly imageShape: [number, number, number];
    readonly split: { readonly validation: number; readonly test: number };
    readonly seed: number;
    /** Images whose shorter side is below this are dropped instead of upscaled (`training.minImageSide`). */
    readonly minImageSide?: number;
    /** How preprocess writes train/validation: RecordIO for the built-in algorithm (when absent), image folders for PyTorch. */
    readonly trainingLayout?: "image-folders";
    readonly minAccuracy: number;
    readonly maxRegression: number;
    readonly confidenceThreshold: number;
    readonly drift: DriftThresholds;
}

export const JOB_CONFIG_FILE = "model.json";

export function jobModelConfig(model: string, m: TrainingModelSettings): JobModelConfig {
    return {
        model,
        classes: [...m.classes],
        imageShape: [...m.imageShape] as [number, number, number],
        split: { ...m.training.split },
        seed: m.training.seed,
        ...(m.training.minImageSide !== undefined ? { minImageSide: m.training.minImageSide } : {}),
        ...(m.training.algorithm === "pytorch" ? { trainingLayout: "image-folders" as const } : {}),
        minAccuracy: m.quality.minAccuracy,
        maxRegression: m.quality.maxRegression,
        confidenceThreshold: m.inference.confidenceThreshold,
        drift: { ...m.monitoring.drift },
    };
}

/**
 * How every job is started inside the jobs image: `[...JOBS_ENTRYPOINT, "preprocess" | "evaluate" | "monitor", ...flags]`.
 * The script (jobs/entrypoint.sh) runs the bundled jobs as the unprivileged `node` user.
 */
export const JOBS_ENTRYPOINT = ["/app/entrypoint.sh"] as const;

/**
 * Raw data layout (written by the ingest CLI, read by preprocess through a SageMaker ManifestFile input):
 * - `<model>/batches/<batchId>/batch.json`: the batch record, created first and only if absent (S3 conditional
 *   write), so one run owns the batch; it holds the owner's lease while images upload, then what the batch added;
 * - images: `<model>/batches/<batchId>/<class>/<sha256 prefix>.<ext>` (only images not in a complete batch);
 * - `<model>/batches/<batchId>/_manifest.json`, created once (conditional write) after every image: a SageMaker
 *   manifest file (`[{"prefix": "s3://<raw>/<model>/"}, "batches/<id>/<class>/<file>", ...]`) listing every
 *   image of the complete batches so far, so a training run sees all data while each batch uploads only what is
 *   new. A batch is complete when it has one. Its arrival is what starts the training pipeline (parameter
 *   `BatchManifestKey` = its S3 key); the manifest is never rewritten, so its key names one dataset.
 * - `<model>/latest/dataset.json`, after the manifest: `LatestDataset`, the newest complete dataset.
 * Preprocess takes an image's class from the folder it is in.
 */
export const BATCH_METADATA_FILE = "batch.json";

/**
 * What the Dataset step of a training run resolved (`resolved.json`): the immutable manifest the run trains on,
 * whatever started it. Preprocess's inputs name this manifest, so its step cache is keyed on the dataset.
 */
export interface ResolvedDataset {
    /** Raw-bucket key of the manifest. */
    readonly manifest_key: string;
    /** Hex SHA-256 of the manifest's bytes. */
    readonly manifest_sha256: string;
    /** The key the run was started with (the parameter), and whether it named the manifest or the latest pointer. */
    readonly requested: string;
    readonly via: "manifest" | "latest";
}

/** Environment variables the Preprocess step gets from the Dataset step (lineage, and part of its cache key). */
export const DATASET_ENV = { manifestKey: "DATASET_MANIFEST_KEY", manifestSha256: "DATASET_MANIFEST_SHA256" } as const;

/** `<model>/latest/dataset.json`: which manifest lists the newest complete dataset of a model. */
export interface LatestDataset {
    readonly model: string;
    /** Raw-bucket key of the manifest (a batch's own, or a merged one under `<model>/datasets/`). */
    readonly manifest_key: string;
    /** Hex SHA-256 of the manifest's bytes. */
    readonly manifest_sha256: string;
    /** The complete batches whose images it lists, sorted. */
    readonly batches: string[];
    readonly images: number;
    readonly updated_at: string;
    /** The batch whose ingest wrote it. */
    readonly updated_by: string;
}

/**
 * Monitoring output layout, the same for both schedulers (it is Model Monitor's own):
 * `s3://<capture bucket>/<model>/monitoring/<endpoint>/<schedule>/yyyy/mm/dd/hh/` holding statistics.json,
 * constraint_violations.json and report.html. The newest run is the greatest such prefix.
 */
export const MONITORING_OUTPUT_FILES = {
    statistics: "statistics.json",
    violations: "constraint_violations.json",
    report: "report.html",
} as const;

/**
 * The completion record of a monitoring run, written into the run's folder after every file it names. A run
 * is evidence only when this record exists, parses, and every file it lists is present with the listed size
 * and SHA-256: a run that stopped part-way (killed, or a failed upload) has no record or a mismatching file,
 * and is "incomplete", never "clean". Model Monitor uploads the output folder itself in no stated order, so
 * the checksums, not the upload order, are what make the record trustworthy on both engines.
 */
export const MONITORING_COMPLETION_FILE = "_complete.json";
export const MONITORING_COMPLETION_SCHEMA_VERSION = 1;

/**
 * What a run concluded. `not-judged`: the window had too few records to compare (none at all, or fewer than
 * `minRecords`), so it is no evidence either way. Whether a judged window covers the endpoint's current
 * config is for the reader to decide (the gate compares `window` with the endpoint's last update).
 */
export type MonitoringVerdict = "clean" | "violations" | "not-judged";

export interface MonitoringCompletion {
    readonly schemaVersion: typeof MONITORING_COMPLETION_SCHEMA_VERSION;
    /** The endpoint and schedule whose window this is. */
    readonly endpoint: string;
    readonly schedule: string;
    /** The window monitored, ISO 8601 UTC, start inclusive and end exclusive. */
    readonly window: { readonly start: string; readonly end: string };
    readonly verdict: MonitoringVerdict;
    /** Why a run is `not-judged`, in words an operator can act on (e.g. "0 records under s3://.../capture/..."). */
    readonly notJudgedReason?: string;
    /** Capture records analysed, and the minimum the thresholds require to judge. */
    readonly records: number;
    readonly minRecords: number;
    /** Number of entries in constraint_violations.json. */
    readonly violations: number;
    /** Inference times of the earliest and latest analysed records (ISO 8601), when any were read. */
    readonly firstRecordAt?: string;
    readonly lastRecordAt?: string;
    /** Every output file of the run (names relative to the run folder), with its size and hex SHA-256. */
    readonly files: readonly { readonly name: string; readonly bytes: number; readonly sha256: string }[];
    /** Identifies the run that claimed and completed the window (e.g. the pipeline execution or processing job). */
    readonly runId: string;
    readonly completedAt: string;
}

/**
 * The CloudWatch metrics every monitoring run publishes (dimensions `Endpoint` and `MonitoringSchedule`), one
 * name list for the job that writes them and the alarms and dashboard that read them. Drift metrics are
 * published only when the window has at least `minRecords` records, so a quiet hour never alarms; quality
 * metrics only when enough ground-truth labels matched.
 */
export const MONITORING_METRICS = {
    records: "records",
    decodeErrorRate: "decode_error_rate",
    unseenContentTypes: "unseen_content_types",
    classPsi: "predicted_class_psi",
    classChiSquarePValue: "predicted_class_chi_square_p_value",
    confidencePsi: "confidence_psi",
    lowConfidenceRate: "low_confidence_rate",
    imagePropertyPsiMax: "image_property_psi_max",
    accuracy: "accuracy",
    accuracyDrop: "accuracy_drop",
    macroF1: "macro_f1",
    violations: "violations",
    /** 1 when any drift check (class, confidence, image property) failed, else 0. */
    driftDetected: "drift_detected",
    /**
     * 1 when the window had too few records to judge (none at all, or fewer than minRecords), else 0; published by
     * every run, so a served endpoint whose capture broke raises an alarm instead of a clean bill.
     */
    notJudged: "not_judged",
} as const;

/**
 * The monitoring pipeline publishes with PutMetricData to a namespace of the endpoint's own under this one
 * (`monitoringNamespace`), so no other model's role may write its drift metrics.
 */
export const MONITORING_NAMESPACE = "VisionMLOps/Monitoring";
/** Namespace Model Monitor publishes a bring-your-own container's metric files to (real-time endpoints). */
export const MODEL_MONITOR_NAMESPACE = "/aws/sagemaker/Endpoint/data-metrics";

/**
 * Where each monitoring engine's runs of one endpoint publish their metrics: `VisionMLOps/Monitoring/<endpoint>`
 * for the pipeline, Model Monitor's own namespace (which SageMaker writes, keyed by endpoint) for Model Monitor.
 */
export function monitoringNamespace(engine: "pipeline" | "model-monitor", endpointName: string): string {
    return engine === "pipeline" ? `${MONITORING_NAMESPACE}/${endpointName}` : MODEL_MONITOR_NAMESPACE;
}

/** The environment variable that carries the thresholds into a Model Monitor (bring-your-own-container) job. */
export const MONITOR_THRESHOLDS_ENV = "monitor_thresholds";
/** Model Monitor caps each Environment value at 256 characters. */
export const ENVIRONMENT_VALUE_MAX = 256;

/** When the monitor calls a window drifted or degraded (the stack config's `monitoring.drift`, with its defaults). */
export interface DriftThresholds {
    readonly classPsi: number;
    readonly chiSquarePValue: number;
    readonly confidencePsi: number;
    readonly imagePropertyPsi: number;
    readonly lowConfidenceRate: number;
    readonly decodeErrorRate: number;
    readonly accuracyDrop: number;
    readonly minRecords: number;
}

/** Everything a monitoring run judges by: the drift thresholds plus the inference confidence threshold. */
export interface MonitorThresholds extends DriftThresholds {
    readonly confidenceThreshold: number;
}

export const MONITOR_THRESHOLD_KEYS = [
    "classPsi",
    "chiSquarePValue",
    "confidencePsi",
    "imagePropertyPsi",
    "lowConfidenceRate",
    "decodeErrorRate",
    "accuracyDrop",
    "minRecords",
    "confidenceThreshold",
] as const satisfies readonly (keyof MonitorThresholds)[];

/**
 * The thresholds as the compact JSON a Model Monitor job definition carries in one Environment value, each
 * number to 6 significant digits (more precision than any threshold needs), which always fits 256 characters.
 * Throws, naming the value, if it ever would not, rather than letting AWS reject the job definition.
 */
export function encodeMonitorThresholds(t: MonitorThresholds): string {
    const text = JSON.stringify(Object.fromEntries(MONITOR_THRESHOLD_KEYS.map((k) => [k, Number(t[k].toPrecision(6))])));
    if (text.length > ENVIRONMENT_VALUE_MAX)
        throw new Error(
            `${MONITOR_THRESHOLDS_ENV} is ${text.length} characters (${text}); Model Monitor allows ` +
                `${ENVIRONMENT_VALUE_MAX}: round the model's monitoring.drift thresholds to fewer decimals`,
        );
    return text;
}

/**
 * Ground-truth labels of one model's endpoint traffic (capture bucket), in folders of their upload hour as
 * Model Monitor lays them out: `<model>/ground-truth/yyyy/mm/dd/hh/*.jsonl`, each line
 * `{"inferenceId"|"eventId": ..., "label": <class name or index>}` or Model Monitor's `groundTruthData` form.
 */
export const groundTruthPrefix = (model: string) => `${model}/ground-truth/`;
