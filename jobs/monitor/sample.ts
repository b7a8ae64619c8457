import { createHash } from "crypto";

/**
 * Images decoded per window at most, by default. Image properties are judged on this sample; with 2,000 the
 * property tests see a 20% shift of a property's distribution in every window the detection-power matrix
 * covers with a baseline of 300 images or more (test/jobs/monitor/detection-power.test.ts).
 */
export const DEFAULT_IMAGE_SAMPLE = 2000;

/**
 * A record's place in the uniform sample: a hash of its event id (unique per request), as a fraction in [0, 1).
 * The sample is the records with the smallest priorities (bottom-k sampling), which is uniform, the same
 * whatever order the files are read in, and merges exactly: the sample of a union is the bottom-k of the
 * shards' samples. The key that comes with it breaks ties (a repeated event id) by the record's place.
 */
export function samplePriority(eventId: string): number {
    const digest = createHash("sha1").update(eventId).digest();
    return (digest.readUInt32BE(0) * 2 ** 21 + (digest.readUInt32BE(4) >>> 11)) / 2 ** 53;
}

export interface Ranked {
    readonly priority: number;
    /** Where the record is (`<endpoint>/<variant>/yyyy/mm/dd/hh/<file>:<line>`), a stable tie-break. */
    readonly where: string;
}

export const byPriority = (a: Ranked, b: Ranked) => a.priority - b.priority || (a.where < b.where ? -1 : a.where > b.where ? 1 : 0);

/** Keeps the `size` smallest items of a sorted list after inserting `item`; returns whether it was kept. */
export function insertBounded<T>(items: T[], item: T, size: number, order: (a: T, b: T) => number): boolean {
    let lo = 0,
        hi = items.length;
    while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (order(items[mid], item) <= 0) lo = mid + 1;
        else hi = mid;
    }
    if (lo >= size) return false;
    items.splice(lo, 0, item);
    if (items.length > size) items.length = size;
    return true;
}

/** The `size` smallest of several sorted lists (merging shards' samples). */
export function mergeBounded<T>(lists: readonly (readonly T[])[], size: number, order: (a: T, b: T) => number): T[] {
    return lists.flat().sort(order).slice(0, size);
}
