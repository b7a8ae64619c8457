import { S3Client } from "@aws-sdk/client-s3";
import { SageMakerClient } from "@aws-sdk/client-sagemaker";
import { readFileSync } from "fs";
import { readFile } from "fs/promises";
import { join } from "path";
import { JobModelConfig, PROCESSING_PATHS, PROPERTY_FILES } from "../../infra/job-contract";
import { parseFlags, stringFlag } from "../lib/args";
import { ensureOutputsAbsent, ensureWritableFolders, writeJsonAtomic } from "../lib/atomic";
import { DatasetBaseline, MonitoringBaseline } from "../lib/baseline";
import { JobError } from "../lib/errors";
import { loadJobModelConfig } from "../lib/job-config";
import { bestConstantMatrix, QualityAccumulator, QualityMetrics, scoresOf, weightedFBeta } from "../lib/metrics";
import { Champion, findChampion } from "./champion";
import { labelledPredictions, readTestLabels, TestLabel } from "./predictions";
import { ImageDecodeError, reportThumbnail } from "../lib/image-properties";

const paths = PROCESSING_PATHS.evaluate;

export const USAGE = `usage: evaluate [flags]

Scores batch-transform predictions on the test set against preprocess' labels, compares with the approved
champion, and writes evaluation.json (the pipeline's gate), statistics.json (Model Monitor's model-quality
format) and monitoring_baseline.json.

  --predictions DIR    <image>.out files from batch transform, or JSON lines of {"prediction": [...]} (default ${paths.predictions})
  --test DIR           preprocess' test output with labels.jsonl (default ${paths.test})
  --metadata DIR       preprocess' metadata output with class_map.json and baseline.json (default ${paths.metadata})
  --output DIR         where to write (default ${paths.evaluation})
  --model-package-group NAME
                       compare with the newest Approved package there (credentials from the environment)
  --region NAME        AWS region of the registry (default: AWS_REGION / AWS_DEFAULT_REGION)
  --config FILE        model.json (default ${PROCESSING_PATHS.config}/model.json)
  --stack NAME --model NAME
                       read the model's settings from Pulumi.<stack>.yaml instead`;

export const EVALUATION_FILES = {
    evaluation: PROPERTY_FILES.evaluation,
    statistics: "statistics.json",
    monitoringBaseline: "monitoring_baseline.json",
} as const;

/** The seed of the 80% samples behind statistics.json's standard deviations. */
const STATISTICS_SEED = 20240601;

export interface EvaluateOptions {
    readonly predictions: string;
    readonly test: string;
    readonly metadata: string;
    readonly output: string;
    readonly config: JobModelConfig;
    /** Looks up the champion; omitted when there is no model package group to compare with. */
    readonly champion?: () => Promise<Champion | null>;
}

/** `evaluation.json`: what the pipeline's condition step reads (`metrics.accuracy`, `gate.champion_floor`). */
export interface Evaluation {
    readonly model: string;
    readonly metrics: {
        readonly count: number;
        readonly accuracy: number;
        readonly top_k_accuracy: Record<string, number>;
        readonly macro_f1: number;
        readonly weighted_f1: number;
        readonly weighted_precision: number;
        readonly weighted_recall: number;
        readonly per_class: Record<string, { precision: number; recall: number; f1: number; support: number }>;
        /** `matrix[actual][predicted]`, rows and columns in `classes` order. */
        readonly confusion_matrix: { readonly classes: string[]; readonly matrix: number[][] };
        readonly mean_confidence: { readonly correct: number | null; readonly wrong: number | null };
    };
    readonly gate: {
        readonly min_accuracy: number;
        readonly max_regression: number;
        /** Champion accuracy minus max_regression (never below 0), or 0 when there is no champion to compare with. */
        readonly champion_floor: number;
        /** Whether accuracy reaches both min_accuracy and champion_floor. */
        readonly passed: boolean;
    };
    readonly champion: { readonly arn: string; readonly accuracy: number | null; readonly note?: string } | null;
    /** Things the operator should know before this model is served (also printed on stderr). */
    readonly warnings?: string[];
}

/** Test images per class kept as thumbnails in the monitoring baseline (for the report's strips). */
const EXAMPLES_PER_CLASS = 3;

export async function main(argv: string[]): Promise<void> {
    const flags = parseFlags(
        argv,
        {
            predictions: { type: "string" },
            test: { type: "string" },
            metadata: { type: "string" },
            output: { type: "string" },
            "model-package-group": { type: "string" },
            region: { type: "string" },
            config: { type: "string" },
            stack: { type: "string" },
            model: { type: "string" },
        },
        USAGE,
        {},
    );
    if (!flags) return;
    const config = loadJobModelConfig({
        config: stringFlag(flags, "config"),
        stack: stringFlag(flags, "stack"),
        model: stringFlag(flags, "model"),
    });
    const group = stringFlag(flags, "model-package-group");
    const output = stringFlag(flags, "output") ?? paths.evaluation;
    const evaluation = await runEvaluate({
        predictions: stringFlag(flags, "predictions") ?? paths.predictions,
        test: stringFlag(flags, "test") ?? paths.test,
        metadata: stringFlag(flags, "metadata") ?? paths.metadata,
        output,
        config,
        champion: group
            ? () => {
                  const region = stringFlag(flags, "region") ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
                  if (!region) throw new JobError("--model-package-group needs an AWS region: pass --region or set AWS_REGION");
                  return findChampion(new SageMakerClient({ region }), new S3Client({ region }), group);
              }
            : undefined,
    });
    const champion = evaluation.champion
        ? `champion ${evaluation.champion.arn} accuracy ${evaluation.champion.accuracy ?? "unknown"}`
        : "no approved champion";
    console.log(
        `evaluate ${evaluation.model}: accuracy ${evaluation.metrics.accuracy.toFixed(4)} on ${evaluation.metrics.count} test images, ` +
            `${champion}; gate ${evaluation.gate.passed ? "passed" : "not passed"}; see ${join(output, EVALUATION_FILES.evaluation)}`,
    );
}

function readJson<T>(path: string, what: string): T {
    try {
        return JSON.parse(readFileSync(path, "utf8")) as T;
    } catch (e) {
        const err = e as NodeJS.ErrnoException;
        throw new JobError(
            err.code === "ENOENT"
                ? `${what} ${path} does not exist; pass --metadata with preprocess' metadata output`
                : `${what} ${path} is not valid JSON: ${err.message}`,
        );
    }
}

export async function runEvaluate(opts: EvaluateOptions): Promise<Evaluation> {
    const { config } = opts;
    ensureOutputsAbsent(
        Object.values(EVALUATION_FILES).map((f) => join(opts.output, f)),
        "evaluate",
    );
    await ensureWritableFolders([opts.output]);
    const classMap = readJson<{ classes?: string[] }>(join(opts.metadata, "class_map.json"), "class map");
    const classes = classMap.classes;
    if (!Array.isArray(classes) || classes.length < 2)
        throw new JobError(`${join(opts.metadata, "class_map.json")} must be {"classes": [...]} with at least 2 classes`);
    if (classes.join("\n") !== config.classes.join("\n"))
        throw new JobError(
            `the class map from preprocess (${classes.length} classes) differs from model ${config.model}'s classes (${config.classes.length}); ` +
                "evaluate the outputs of a preprocess run made with the same config",
        );
    const baseline = readJson<DatasetBaseline>(join(opts.metadata, "baseline.json"), "dataset baseline");

    const labels = await readTestLabels(join(opts.test, "labels.jsonl"), classes);
    const quality = new QualityAccumulator(classes.length);
    let lowConfidence = 0;
    for await (const { label, probabilities } of labelledPredictions(opts.predictions, labels, classes.length)) {
        const { confidence } = quality.add(label.label, probabilities);
        if (confidence < config.confidenceThreshold) lowConfidence++;
    }
    const metrics = quality.result();
    const champion = opts.champion ? await opts.champion() : null;

    const floor = champion?.accuracy != null ? Math.max(0, champion.accuracy - config.maxRegression) : 0;
    const evaluation: Evaluation = {
        model: config.model,
        metrics: {
            count: metrics.count,
            accuracy: metrics.accuracy,
            top_k_accuracy: metrics.topK,
            macro_f1: metrics.macroF1,
            weighted_f1: metrics.weightedF1,
            weighted_precision: metrics.weightedPrecision,
            weighted_recall: metrics.weightedRecall,
            per_class: Object.fromEntries(classes.map((c, i) => [c, { ...metrics.perClass[i] }])),
            confusion_matrix: { classes: [...classes], matrix: metrics.confusionMatrix },
            mean_confidence: metrics.meanConfidence,
        },
        gate: {
            min_accuracy: config.minAccuracy,
            max_regression: config.maxRegression,
            champion_floor: floor,
            passed: metrics.accuracy >= config.minAccuracy && metrics.accuracy >= floor,
        },
        champion: champion ? { arn: champion.arn, accuracy: champion.accuracy, ...(champion.note ? { note: champion.note } : {}) } : null,
    };
    if (champion?.note) console.error(`evaluate: warning: champion ${champion.arn}: ${champion.note}`);
    const lowRate = metrics.count ? lowConfidence / metrics.count : 0;
    const alarmAt = config.drift?.lowConfidenceRate;
    const warnings: string[] = [];
    if (typeof alarmAt === "number" && lowRate > alarmAt)
        warnings.push(
            `${(lowRate * 100).toFixed(1)}% of the test set is below confidence ${config.confidenceThreshold}, above ` +
                `monitoring.drift.lowConfidenceRate ${alarmAt}: served as it is, the low-confidence alarm fires from the first ` +
                "monitoring run; raise that threshold, lower inference.confidenceThreshold, or improve the model",
        );
    for (const w of warnings) console.error(`evaluate: warning: low-confidence rate: ${w}`);
    if (warnings.length) (evaluation as { warnings?: string[] }).warnings = warnings;

    const monitoringBaseline: MonitoringBaseline = {
        ...baseline,
        confidence: metrics.confidence,
        lowConfidenceRate: lowRate,
        confidenceThreshold: config.confidenceThreshold,
        predictedClassDistribution: Object.fromEntries(
            classes.map((c, i) => [c, metrics.count ? metrics.predictedCounts[i] / metrics.count : 0]),
        ),
        quality: { accuracy: metrics.accuracy, macroF1: metrics.macroF1 },
        examples: await classExamples(join(opts.test, "images"), labels, classes),
    };
    await writeJsonAtomic(join(opts.output, EVALUATION_FILES.statistics), modelQualityStatistics(classes, metrics, quality));
    await writeJsonAtomic(join(opts.output, EVALUATION_FILES.monitoringBaseline), monitoringBaseline);
    await writeJsonAtomic(join(opts.output, EVALUATION_FILES.evaluation), evaluation);
    return evaluation;
}

/**
 * The first few test images of each class (in labels.jsonl order), as base64 JPEG thumbnails. Images that are
 * missing (the test images are not mounted) or undecodable are skipped: examples are for the report only.
 */
async function classExamples(
    imagesDir: string,
    labels: readonly TestLabel[],
    classes: readonly string[],
): Promise<Record<string, string[]>> {
    const examples: Record<string, string[]> = {};
    for (const l of labels) {
        const name = classes[l.label];
        if ((examples[name]?.length ?? 0) >= EXAMPLES_PER_CLASS) continue;
        let bytes: Buffer;
        try {
            bytes = await readFile(join(imagesDir, l.file));
        } catch {
            continue;
        }
        try {
            (examples[name] ??= []).push((await reportThumbnail(bytes)).toString("base64"));
        } catch (e) {
            if (!(e instanceof ImageDecodeError)) throw e;
        }
    }
    return examples;
}

/** One metric as Model Monitor writes it; the deviation is "NaN" below 200 samples, as Model Monitor does. */
interface MonitorMetric {
    readonly value: number;
    readonly standard_deviation: number | "NaN";
}

/**
 * `statistics.json` in Model Monitor's model-quality format for multiclass problems
 * (`multiclass_classification_metrics`), registered as the package's ModelQuality statistics. Confusion
 * matrix keys are class names, actual then predicted.
 */
export function modelQualityStatistics(classes: readonly string[], metrics: QualityMetrics, quality: QualityAccumulator) {
    const metric = (of: (m: number[][]) => number): MonitorMetric => {
        const sd = quality.standardDeviation(of, STATISTICS_SEED);
        return { value: of(metrics.confusionMatrix), standard_deviation: sd === undefined ? "NaN" : sd };
    };
    const constant = (of: (m: number[][]) => number): MonitorMetric => ({
        value: of(bestConstantMatrix(metrics.confusionMatrix)),
        standard_deviation: "NaN",
    });
    const measures: Record<string, (m: number[][]) => number> = {
        accuracy: (m) => scoresOf(m).accuracy,
        weighted_recall: (m) => scoresOf(m).weightedRecall,
        weighted_precision: (m) => scoresOf(m).weightedPrecision,
        weighted_f0_5: (m) => weightedFBeta(m, 0.5),
        weighted_f1: (m) => weightedFBeta(m, 1),
        weighted_f2: (m) => weightedFBeta(m, 2),
    };
    return {
        version: 0.0,
        dataset: { item_count: metrics.count, evaluation_time: new Date().toISOString() },
        multiclass_classification_metrics: {
            confusion_matrix: Object.fromEntries(
                classes.map((actual, i) => [
                    actual,
                    Object.fromEntries(classes.map((predicted, j) => [predicted, metrics.confusionMatrix[i][j]])),
                ]),
            ),
            ...Object.fromEntries(Object.entries(measures).map(([name, of]) => [name, metric(of)])),
            ...Object.fromEntries(Object.entries(measures).map(([name, of]) => [`${name}_best_constant_classifier`, constant(of)])),
        },
    };
}
