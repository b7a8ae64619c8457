import { NUMERIC_PROPERTIES } from "../../../jobs/lib/image-properties";

/**
 * monitoring_baseline.json as a run reads it: a baseline written out by hand (the bin edges are the stored bin tables
 * written out: 10 confidence bins, 14 for width, height and bytes, 13 for aspect, 16 for the others),
 * which the baseline-file test breaks one field at a time and the run tests monitor against.
 */
const sixteenths = (top: number) => Array.from({ length: 17 }, (_, i) => (i * top) / 16);
const SIZES = [0, 32, 64, 96, 128, 192, 256, 320, 384, 512, 768, 1024, 1536, 2048, 4096];
/** The bin edges every baseline and run use, written out: a baseline on other edges cannot be compared. */
const EDGES: Record<string, number[]> = {
    width: SIZES,
    height: SIZES,
    aspect: [0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.05, 1.1, 1.25, 1.4, 1.6, 2, 3],
    bytes: [0, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288, 1048576, 2097152, 4194304, 8388608],
    brightness: sixteenths(256),
    contrast: sixteenths(128),
    meanRed: sixteenths(256),
    meanGreen: sixteenths(256),
    meanBlue: sixteenths(256),
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
        confidence: { edges: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1], counts: [0, 0, 0, 0, 0, 0, 0, 0, 4, 6] },
        lowConfidenceRate: 0.1,
        confidenceThreshold: 0.8,
        predictedClassDistribution: { stop: 0.6, yield: 0.4 },
        quality: { accuracy: 0.9, macroF1: 0.88 },
        properties: Object.fromEntries(
            NUMERIC_PROPERTIES.map((p) => [p, { edges: [...EDGES[p]], counts: new Array(EDGES[p].length - 1).fill(1), mean: 1 }]),
        ),
    };
}
