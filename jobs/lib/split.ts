import { JobError, listSome } from "./errors";

/** mulberry32: a small, fast, seeded PRNG; the same seed gives the same sequence on every machine. */
export function seededRandom(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/** Fisher-Yates shuffle in place with the given random source. */
export function shuffle<T>(items: T[], random: () => number): T[] {
    for (let i = items.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
}

/** FNV-1a of a string; mixes the class name into the seed so adding a class leaves the others' splits alone. */
function hashString(s: string): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    return h >>> 0;
}

export interface SplitFractions {
    readonly validation: number;
    readonly test: number;
}

export interface Split<T> {
    readonly train: T[];
    readonly validation: T[];
    readonly test: T[];
}

/** How many of `n` images of a class go to validation and test; each split that is asked for gets at least one. */
export function splitCounts(n: number, fractions: SplitFractions): { train: number; validation: number; test: number } {
    let validation = fractions.validation > 0 ? Math.max(1, Math.round(n * fractions.validation)) : 0;
    let test = fractions.test > 0 ? Math.max(1, Math.round(n * fractions.test)) : 0;
    // Rounding both up can leave a small class nothing to train on; give the image back from the larger split.
    while (n - validation - test < 1 && validation + test > 0) {
        if (validation >= test && validation > 1) validation--;
        else if (test > 1) test--;
        else break;
    }
    return { train: n - validation - test, validation, test };
}

/** The fewest images a class needs: one for training plus one for each held-out split that is asked for. */
export function minimumPerClass(fractions: SplitFractions): number {
    return 1 + (fractions.validation > 0 ? 1 : 0) + (fractions.test > 0 ? 1 : 0);
}

/**
 * Stratified split: each class is shuffled with a PRNG seeded by `seed` and the class name, then cut by the
 * fractions, so every class appears in every split in its own proportion and the same input and seed give the
 * same split. `byClass` must list every class (in class-index order) with its items in a stable order.
 * Throws JobError when a held-out fraction is 0, and naming every class that is too small.
 */
export function stratifiedSplit<T>(byClass: ReadonlyMap<string, readonly T[]>, fractions: SplitFractions, seed: number): Split<T> {
    // Without validation images the algorithm cannot pick its best epoch; without test images the quality gate judges nothing.
    for (const [name, other] of [
        ["validation", "test"],
        ["test", "validation"],
    ] as const)
        if (!(fractions[name] > 0))
            throw new JobError(
                `split.${name} is ${fractions[name]}: every class needs at least one ${name} image (and one ${other} image); ` +
                    `set training.split.${name} above 0 in the model's config`,
            );
    const needed = minimumPerClass(fractions);
    const tooSmall = [...byClass].filter(([, items]) => items.length < needed).map(([name, items]) => `${name} has ${items.length}`);
    if (tooSmall.length > 0)
        throw new JobError(
            `classes too small to split (each needs at least ${needed} usable images for train, ` +
                `validation ${fractions.validation} and test ${fractions.test}): ${listSome(tooSmall, 20)}; ` +
                "add images to these classes or remove them from the model's classes",
        );
    const split: Split<T> = { train: [], validation: [], test: [] };
    for (const [name, items] of byClass) {
        const shuffled = shuffle([...items], seededRandom((seed ^ hashString(name)) >>> 0));
        const counts = splitCounts(shuffled.length, fractions);
        split.validation.push(...shuffled.slice(0, counts.validation));
        split.test.push(...shuffled.slice(counts.validation, counts.validation + counts.test));
        split.train.push(...shuffled.slice(counts.validation + counts.test));
    }
    // Records of one class side by side would hand the trainer single-class chunks; mix the classes.
    shuffle(split.train, seededRandom(seed));
    return split;
}
