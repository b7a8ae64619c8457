/**
 * Reading what an image-classification model answers. The built-in algorithm returns a JSON list of class
 * probabilities; the serving contract of every model on the platform is that list, optionally wrapped as
 * `{"prediction": [...]}`, `{"predictions": [...]}` or `{"probabilities": [...]}`, or a one-element batch
 * `[[...]]`. Evaluate, the monitor, the inference workflow and the prediction API all read it here.
 */

/**
 * Thrown when a response is not `classCount` finite probabilities. The message is a predicate that reads after
 * the response's name: `t04.jpg.out has 2 probabilities but the model has 3 classes`.
 */
export class PredictionFormatError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "PredictionFormatError";
    }
}

/** The probability list in a parsed response, or a PredictionFormatError saying why there is none. */
export function classProbabilities(value: unknown, classCount: number): number[] {
    let list = value;
    if (list !== null && typeof list === "object" && !Array.isArray(list)) {
        const o = list as Record<string, unknown>;
        list = o.prediction ?? o.predictions ?? o.probabilities;
    }
    if (Array.isArray(list) && list.length === 1 && Array.isArray(list[0])) list = list[0];
    if (!Array.isArray(list))
        throw new PredictionFormatError('is not a list of class probabilities (expected [p0, p1, ...] or {"prediction": [...]})');
    if (list.length !== classCount)
        throw new PredictionFormatError(
            `has ${list.length} probabilities but the model has ${classCount} classes; was it trained with this class map?`,
        );
    if (!list.every((p) => typeof p === "number" && Number.isFinite(p)))
        throw new PredictionFormatError("holds values that are not finite numbers");
    return list as number[];
}

/** One ranked class: its index in the class map and the model's probability for it. */
export interface RankedClass {
    readonly index: number;
    readonly confidence: number;
}

/** The `k` most probable classes, most probable first; equal probabilities keep class-map order. */
export function topClasses(probabilities: readonly number[], k: number): RankedClass[] {
    return probabilities
        .map((confidence, index) => ({ index, confidence }))
        .sort((a, b) => b.confidence - a.confidence || a.index - b.index)
        .slice(0, Math.max(0, k));
}

/** Index and probability of the most probable class (the first of equals). */
export function topClass(probabilities: readonly number[]): RankedClass {
    let index = 0;
    for (let i = 1; i < probabilities.length; i++) if (probabilities[i] > probabilities[index]) index = i;
    return { index, confidence: probabilities[index] };
}
