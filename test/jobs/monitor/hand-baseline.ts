import { NUMERIC_PROPERTIES } from "../../../jobs/lib/image-properties";

/**
 * monitoring_baseline.json as a run reads it: a baseline written out by hand (the bin counts are those of the stored
 * bin tables, counted by hand: 10 confidence bins, 14 for width, height and bytes, 13 for aspect, 16 for the others),
 * which the baseline-file test breaks one field at a time and the run tests monitor against.
 */
const BINS: Record<string, number> = {
    width: 14,
    height: 14,
    aspect: 13,
    bytes: 14,
    brightness: 16,
    contrast: 16,
    meanRed: 16,
    meanGreen: 16,
    meanBlue: 16,
};

export function handBaseline(): Record<string, unknown> {
    return {
        version: 2,
        imageShape: [3, 224, 224],
        classes: ["stop", "yield"],
        imageCount: 10,
        classCounts: { stop: 5, yield: 5 },
        classDistribution: { stop: 0.5, yield: 0.5 },
        contentTypes: { "image/jpeg": 10 },
        confidence: { edges: [], counts: [0, 0, 0, 0, 0, 0, 0, 0, 4, 6] },
        lowConfidenceRate: 0.1,
        confidenceThreshold: 0.8,
        predictedClassDistribution: { stop: 0.6, yield: 0.4 },
        quality: { accuracy: 0.9, macroF1: 0.88 },
        properties: Object.fromEntries(NUMERIC_PROPERTIES.map((p) => [p, { counts: new Array(BINS[p]).fill(1), mean: 1 }])),
    };
}
