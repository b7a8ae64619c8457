import { NumericProperty } from "./image-properties";

/**
 * A histogram on fixed bin edges. Values below the first edge count in the first bin and values above the
 * last edge in the last bin, so every edge is a finite number and the JSON stays plain.
 */
export interface Histogram {
    readonly edges: number[];
    readonly counts: number[];
}

const range = (from: number, to: number, step: number) =>
    Array.from({ length: Math.round((to - from) / step) + 1 }, (_, i) => from + i * step);

/** Fixed bins for each tracked image property; shared by the baseline and every monitoring run. */
export const PROPERTY_BINS: Readonly<Record<NumericProperty, readonly number[]>> = {
    width: [0, 32, 64, 96, 128, 192, 256, 320, 384, 512, 768, 1024, 1536, 2048, 4096],
    height: [0, 32, 64, 96, 128, 192, 256, 320, 384, 512, 768, 1024, 1536, 2048, 4096],
    aspect: [0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.05, 1.1, 1.25, 1.4, 1.6, 2, 3],
    bytes: [0, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288, 1048576, 2097152, 4194304, 8388608],
    brightness: range(0, 256, 16),
    contrast: range(0, 128, 8),
    meanRed: range(0, 256, 16),
    meanGreen: range(0, 256, 16),
    meanBlue: range(0, 256, 16),
};

/** Bins for top-class confidence, 0 to 1 in tenths. */
export const CONFIDENCE_BINS: readonly number[] = range(0, 1, 0.1).map((x) => Math.round(x * 10) / 10);

export function emptyHistogram(edges: readonly number[]): Histogram {
    return { edges: [...edges], counts: new Array(edges.length - 1).fill(0) };
}

/** Index of the bin a value falls in (clamped to the first and last bins). */
export function binIndex(edges: readonly number[], value: number): number {
    const last = edges.length - 2;
    if (!(value >= edges[1])) return 0;
    if (value >= edges[last]) return last;
    let lo = 1,
        hi = last;
    while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (value >= edges[mid]) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

export function addToHistogram(h: Histogram, value: number): void {
    h.counts[binIndex(h.edges, value)]++;
}

/** Smallest share a bin is given when computing PSI, so empty bins do not make it infinite. */
const PSI_FLOOR = 1e-4;

/**
 * Population stability index of `actual` against `expected` (both counts over the same bins):
 * sum over bins of (a - e) * ln(a / e) on shares. 0 is identical; > 0.2 is commonly read as a real shift.
 */
export function populationStabilityIndex(expected: readonly number[], actual: readonly number[]): number {
    if (expected.length !== actual.length) throw new Error(`PSI needs the same bins (${expected.length} vs ${actual.length})`);
    const eTotal = expected.reduce((a, b) => a + b, 0);
    const aTotal = actual.reduce((a, b) => a + b, 0);
    if (eTotal === 0 || aTotal === 0) return 0;
    let psi = 0;
    for (let i = 0; i < expected.length; i++) {
        const e = Math.max(expected[i] / eTotal, PSI_FLOOR);
        const a = Math.max(actual[i] / aTotal, PSI_FLOOR);
        psi += (a - e) * Math.log(a / e);
    }
    return psi;
}
