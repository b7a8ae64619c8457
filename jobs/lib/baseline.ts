import { addToHistogram, emptyHistogram, Histogram, PROPERTY_BINS } from "./histogram";
import { ImageProperties, ImageShape, MEASUREMENT_VERSION, NUMERIC_PROPERTIES, NumericProperty } from "./image-properties";

/** A numeric property's summary: fixed-bin histogram plus moments. */
export interface PropertySummary extends Histogram {
    readonly count: number;
    readonly mean: number;
    readonly min: number;
    readonly max: number;
}

/**
 * `baseline.json`, written by preprocess from the kept training images and read by every monitoring run.
 * Class shares are of the images kept for training and evaluation (all splits), by class name.
 */
export interface DatasetBaseline {
    /** How the image properties were measured (MEASUREMENT_VERSION); the monitor compares only its own version. */
    readonly version: typeof MEASUREMENT_VERSION;
    /** The model's image shape the properties were measured for (see measureImage); the monitor measures traffic for it too. */
    readonly imageShape: ImageShape;
    readonly classes: string[];
    readonly imageCount: number;
    readonly classCounts: Record<string, number>;
    readonly classDistribution: Record<string, number>;
    /** Count of images per content type (image/jpeg, image/png, ...). */
    readonly contentTypes: Record<string, number>;
    readonly properties: Record<NumericProperty, PropertySummary>;
}

/** Streams image properties into fixed-bin histograms; memory does not grow with the number of images. */
export class PropertyAccumulator {
    private readonly histograms = new Map<NumericProperty, Histogram>();
    private readonly sums = new Map<NumericProperty, { n: number; sum: number; min: number; max: number }>();

    constructor() {
        for (const p of NUMERIC_PROPERTIES) {
            this.histograms.set(p, emptyHistogram(PROPERTY_BINS[p]));
            this.sums.set(p, { n: 0, sum: 0, min: Infinity, max: -Infinity });
        }
    }

    add(props: ImageProperties): void {
        for (const p of NUMERIC_PROPERTIES) {
            const v = props[p];
            addToHistogram(this.histograms.get(p)!, v);
            const s = this.sums.get(p)!;
            s.n++;
            s.sum += v;
            s.min = Math.min(s.min, v);
            s.max = Math.max(s.max, v);
        }
    }

    summary(): Record<NumericProperty, PropertySummary> {
        const out = {} as Record<NumericProperty, PropertySummary>;
        for (const p of NUMERIC_PROPERTIES) {
            const h = this.histograms.get(p)!;
            const s = this.sums.get(p)!;
            out[p] = {
                edges: h.edges,
                counts: h.counts,
                count: s.n,
                mean: s.n ? s.sum / s.n : 0,
                min: s.n ? s.min : 0,
                max: s.n ? s.max : 0,
            };
        }
        return out;
    }
}

/**
 * `monitoring_baseline.json`, written by evaluate: the dataset baseline plus what only a trained model can
 * tell (its confidence distribution and quality on the test set). Registered with the model package as its
 * drift-check baseline, and the one file every monitoring run compares against.
 */
export interface MonitoringBaseline extends DatasetBaseline {
    /** Top-class confidence on the test set, on `CONFIDENCE_BINS`. */
    readonly confidence: Histogram;
    /** Share of test predictions below `confidenceThreshold`. */
    readonly lowConfidenceRate: number;
    readonly confidenceThreshold: number;
    /** Share of each class among the model's predictions on the test set. */
    readonly predictedClassDistribution: Record<string, number>;
    readonly quality: { readonly accuracy: number; readonly macroF1: number };
    /**
     * A few held-out test images per class as small JPEG thumbnails (base64), shown in monitoring reports next
     * to captured images of the class. Optional: baselines from before it have none.
     */
    readonly examples?: Record<string, string[]>;
}
