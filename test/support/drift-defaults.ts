/** Written out by hand: the drift thresholds' defaults as infra/config.ts documents them. */
export const DOCUMENTED_DRIFT_DEFAULTS = {
    classPsi: 0.1,
    chiSquarePValue: 0.01,
    confidencePsi: 0.1,
    imagePropertyPsi: 0.1,
    lowConfidenceRate: 0.2,
    decodeErrorRate: 0.01,
    accuracyDrop: 0.05,
    minRecords: 30,
} as const;
