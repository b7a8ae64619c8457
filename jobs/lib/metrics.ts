import { addToHistogram, CONFIDENCE_BINS, emptyHistogram, Histogram } from "./histogram";
import { seededRandom, shuffle } from "./split";

/** Precision, recall and F1 of one class, and how many test images it has. */
export interface ClassScores {
    readonly precision: number;
    readonly recall: number;
    readonly f1: number;
    readonly support: number;
}

/** Scores derived from a confusion matrix (`matrix[actual][predicted]`). */
export interface ConfusionScores {
    readonly count: number;
    readonly accuracy: number;
    readonly perClass: ClassScores[];
    /** Unweighted mean F1 over the classes that occur as actual or predicted (scikit-learn's default labels). */
    readonly macroF1: number;
    readonly weightedPrecision: number;
    readonly weightedRecall: number;
    readonly weightedF1: number;
}

const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);

/** F-beta from precision and recall; 0 when both are 0. */
export function fBeta(precision: number, recall: number, beta: number): number {
    const b2 = beta * beta;
    return ratio((1 + b2) * precision * recall, b2 * precision + recall);
}

/** Support-weighted mean F-beta, as Model Monitor's `weighted_f0_5`/`weighted_f1`/`weighted_f2`. */
export function weightedFBeta(matrix: readonly (readonly number[])[], beta: number): number {
    const { perClass, count } = scoresOf(matrix);
    return perClass.reduce((sum, c) => sum + ratio(c.support, count) * fBeta(c.precision, c.recall, beta), 0);
}

/** Accuracy, per-class and averaged scores of a confusion matrix. Classes never predicted have precision 0. */
export function scoresOf(matrix: readonly (readonly number[])[]): ConfusionScores {
    const k = matrix.length;
    const support = matrix.map((row) => row.reduce((a, b) => a + b, 0));
    const predicted = Array.from({ length: k }, (_, j) => matrix.reduce((sum, row) => sum + row[j], 0));
    const count = support.reduce((a, b) => a + b, 0);
    let correct = 0;
    const perClass = matrix.map((row, i) => {
        correct += row[i];
        const precision = ratio(row[i], predicted[i]);
        const recall = ratio(row[i], support[i]);
        return { precision, recall, f1: fBeta(precision, recall, 1), support: support[i] };
    });
    const present = perClass.filter((_, i) => support[i] > 0 || predicted[i] > 0);
    const weighted = (pick: (c: ClassScores) => number) => perClass.reduce((sum, c) => sum + ratio(c.support, count) * pick(c), 0);
    return {
        count,
        accuracy: ratio(correct, count),
        perClass,
        macroF1: ratio(
            present.reduce((sum, c) => sum + c.f1, 0),
            present.length,
        ),
        weightedPrecision: weighted((c) => c.precision),
        weightedRecall: weighted((c) => c.recall),
        weightedF1: weighted((c) => c.f1),
    };
}

/** The confusion matrix of a classifier that always predicts the most frequent actual class (the baseline to beat). */
export function bestConstantMatrix(matrix: readonly (readonly number[])[]): number[][] {
    const support = matrix.map((row) => row.reduce((a, b) => a + b, 0));
    const majority = support.indexOf(Math.max(...support));
    return support.map((n) => support.map((_, j) => (j === majority ? n : 0)));
}

/** Index of the largest value (the first one on ties). */
export function argmax(values: readonly number[]): number {
    let best = 0;
    for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
    return best;
}

/**
 * 1-based rank of class `actual` among the probabilities, ties broken by class index as argmax does, so that
 * "rank 1" and "argmax is right" always agree.
 */
export function rankOf(probabilities: readonly number[], actual: number): number {
    const p = probabilities[actual];
    let rank = 1;
    for (let j = 0; j < probabilities.length; j++) if (probabilities[j] > p || (probabilities[j] === p && j < actual)) rank++;
    return rank;
}

/** Everything evaluate and the monitoring baseline need from a labelled test set, accumulated one prediction at a time. */
export interface QualityMetrics extends ConfusionScores {
    readonly confusionMatrix: number[][];
    /** Share of images whose class is among the k most probable, for each k asked for. */
    readonly topK: Record<string, number>;
    /** Mean top-class probability of right and of wrong predictions (null when there are none). */
    readonly meanConfidence: { readonly correct: number | null; readonly wrong: number | null };
    readonly confidence: Histogram;
    /** Predictions per class index. */
    readonly predictedCounts: number[];
}

export class QualityAccumulator {
    private readonly matrix: number[][];
    private readonly topKHits: number[];
    private readonly confidence = emptyHistogram(CONFIDENCE_BINS);
    private confidenceCorrect = 0;
    private confidenceWrong = 0;
    private correct = 0;
    private n = 0;
    private readonly actuals: number[] = [];
    private readonly predictions: number[] = [];
    readonly ks: number[];

    constructor(
        readonly numClasses: number,
        ks: readonly number[] = [1, 3, 5],
    ) {
        this.matrix = Array.from({ length: numClasses }, () => new Array(numClasses).fill(0));
        this.ks = ks.filter((k) => k <= numClasses);
        this.topKHits = this.ks.map(() => 0);
    }

    /** Adds one image: its actual class index and the model's probabilities. Returns the predicted class and its probability. */
    add(actual: number, probabilities: readonly number[]): { predicted: number; confidence: number } {
        const predicted = argmax(probabilities);
        const confidence = probabilities[predicted];
        this.matrix[actual][predicted]++;
        const rank = rankOf(probabilities, actual);
        this.ks.forEach((k, i) => {
            if (rank <= k) this.topKHits[i]++;
        });
        addToHistogram(this.confidence, confidence);
        if (predicted === actual) {
            this.correct++;
            this.confidenceCorrect += confidence;
        } else this.confidenceWrong += confidence;
        this.n++;
        this.actuals.push(actual);
        this.predictions.push(predicted);
        return { predicted, confidence };
    }

    result(): QualityMetrics {
        const wrong = this.n - this.correct;
        return {
            ...scoresOf(this.matrix),
            confusionMatrix: this.matrix.map((row) => [...row]),
            topK: Object.fromEntries(this.ks.map((k, i) => [String(k), ratio(this.topKHits[i], this.n)])),
            meanConfidence: {
                correct: this.correct ? this.confidenceCorrect / this.correct : null,
                wrong: wrong ? this.confidenceWrong / wrong : null,
            },
            confidence: { edges: [...this.confidence.edges], counts: [...this.confidence.counts] },
            predictedCounts: this.matrix[0].map((_, j) => this.matrix.reduce((sum, row) => sum + row[j], 0)),
        };
    }

    /**
     * Standard deviation of `metric` over `rounds` random 80% samples (how Model Monitor reports it), or
     * undefined below `minCount` images, where Model Monitor reports "NaN".
     */
    standardDeviation(metric: (matrix: number[][]) => number, seed: number, minCount = 200, rounds = 5): number | undefined {
        if (this.n < minCount) return undefined;
        const random = seededRandom(seed);
        const indices = Array.from({ length: this.n }, (_, i) => i);
        const values: number[] = [];
        for (let r = 0; r < rounds; r++) {
            const sample = shuffle(indices, random).slice(0, Math.floor(this.n * 0.8));
            const m = Array.from({ length: this.numClasses }, () => new Array(this.numClasses).fill(0));
            for (const i of sample) m[this.actuals[i]][this.predictions[i]]++;
            values.push(metric(m));
        }
        const mean = values.reduce((a, b) => a + b, 0) / values.length;
        return Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length);
    }
}
