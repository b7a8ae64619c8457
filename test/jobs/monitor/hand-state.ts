import { MonitorThresholds } from "../../../jobs/monitor/settings";
import { WindowState } from "../../../jobs/monitor/window";

/** Thresholds and window counts for tests that build a window state by hand (every count 0 unless given). */
export const thresholds: MonitorThresholds = {
    classPsi: 0.2,
    chiSquarePValue: 0.01,
    confidencePsi: 0.2,
    imagePropertyPsi: 0.25,
    lowConfidenceRate: 0.2,
    decodeErrorRate: 0.1,
    accuracyDrop: 0.05,
    minRecords: 30,
    confidenceThreshold: 0.8,
};

export const counts = (over: Partial<WindowState["counts"]>): WindowState["counts"] => ({
    records: 0,
    outsideWindow: 0,
    files: 0,
    inputs: 0,
    predictions: 0,
    malformedLines: 0,
    cheapFailures: 0,
    inputTypeErrors: 0,
    outputDecodeErrors: 0,
    matched: 0,
    lowConfidence: 0,
    confidenceMicros: 0,
    decodes: 0,
    thumbnails: 0,
    ...over,
});

/** A window state of two classes (stop, yield) for 12:00-13:00 on 2026-01-10, sample size 100, empty unless given. */
export const windowState = (over: Partial<WindowState> = {}): WindowState => ({
    version: 2,
    classes: ["stop", "yield"],
    window: { start: "2026-01-10T12:00:00.000Z", end: "2026-01-10T13:00:00.000Z" },
    sampleSize: 100,
    counts: counts({}),
    malformed: {},
    classCounts: [0, 0],
    confidence: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    confusion: [
        [0, 0],
        [0, 0],
    ],
    observedTypes: { counts: {}, other: 0 },
    errorSamples: [],
    imageSample: [],
    lowestConfidence: [],
    ...over,
});
