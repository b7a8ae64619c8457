import { PropertySummary } from "../lib/baseline";
import { binIndex } from "../lib/histogram";
import { byPriority, Ranked } from "./sample";

/** Sampled images a report shows per predicted class, lowest confidence, and per drifted property. */
export const SHOTS_PER_STRIP = 8;

/** Where a value stands against training: the share of training images in its bin, and its distance from their mean. */
export interface OutlierKey {
    readonly rarity: number;
    readonly distance: number;
}

/** The key of a property's values against its training summary. */
export function outlierKeyOf(base: PropertySummary): (value: number) => OutlierKey {
    const total = base.counts.reduce((a, b) => a + b, 0) || 1;
    return (value) => ({ rarity: base.counts[binIndex(base.edges, value)] / total, distance: Math.abs(value - base.mean) });
}

/** The order a property's outliers are shown in: in the bins training saw least, then furthest from the training mean. */
export const byOutlierKey = (a: OutlierKey & Ranked, b: OutlierKey & Ranked): number =>
    a.rarity - b.rarity || b.distance - a.distance || byPriority(a, b);
