/**
 * The chi-square test the monitor judges distribution drift with: a 2 x k test of homogeneity between the
 * baseline's counts and the window's counts, and the regularized upper incomplete gamma function that turns
 * the statistic into a p-value.
 */

const LANCZOS_G = 7;
const LANCZOS = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos approximation, about 15 significant digits). */
export function logGamma(x: number): number {
    if (!(x > 0)) throw new RangeError(`logGamma needs x > 0, got ${x}`);
    if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
    const z = x - 1;
    let sum = LANCZOS[0];
    for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i] / (z + i);
    const t = z + LANCZOS_G + 0.5;
    return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

const EPSILON = 1e-15;
const TINY = 1e-300;
const MAX_ITERATIONS = 10_000;

/**
 * Q(a, x) = Γ(a, x) / Γ(a), the regularized upper incomplete gamma function, for a > 0 and x >= 0.
 * Below x = a + 1 the series for P converges fast and Q = 1 - P; above it the continued fraction for Q does
 * (evaluated with the modified Lentz method), which keeps tiny p-values accurate instead of 1 - 0.999...
 */
export function regularizedGammaQ(a: number, x: number): number {
    if (!(a > 0)) throw new RangeError(`regularizedGammaQ needs a > 0, got ${a}`);
    if (!(x >= 0)) throw new RangeError(`regularizedGammaQ needs x >= 0, got ${x}`);
    if (x === 0) return 1;
    const logPrefix = -x + a * Math.log(x) - logGamma(a);
    if (x < a + 1) {
        let term = 1 / a;
        let sum = term;
        for (let n = 1; n < MAX_ITERATIONS; n++) {
            term *= x / (a + n);
            sum += term;
            if (Math.abs(term) < Math.abs(sum) * EPSILON) break;
        }
        return Math.min(1, Math.max(0, 1 - sum * Math.exp(logPrefix)));
    }
    let b = x + 1 - a;
    let c = 1 / TINY;
    let d = 1 / b;
    let h = d;
    for (let i = 1; i < MAX_ITERATIONS; i++) {
        const an = -i * (i - a);
        b += 2;
        d = an * d + b;
        if (Math.abs(d) < TINY) d = TINY;
        c = b + an / c;
        if (Math.abs(c) < TINY) c = TINY;
        d = 1 / d;
        const delta = d * c;
        h *= delta;
        if (Math.abs(delta - 1) < EPSILON) break;
    }
    return Math.min(1, Math.max(0, Math.exp(logPrefix) * h));
}

/** Upper tail probability of the chi-square distribution with `degreesOfFreedom` at `statistic`. */
export function chiSquarePValue(statistic: number, degreesOfFreedom: number): number {
    if (degreesOfFreedom <= 0) return 1;
    return regularizedGammaQ(degreesOfFreedom / 2, Math.max(0, statistic) / 2);
}

export interface ChiSquareResult {
    readonly statistic: number;
    readonly degreesOfFreedom: number;
    readonly pValue: number;
    /**
     * How the p-value was obtained: Pearson's chi-square on bins pooled until every expected count is at least
     * 5, Fisher's exact test on a 2 x 2 table (one bin against the rest) when no two such bins exist, or none
     * when the samples cannot differ (a sample is empty, or only one bin has any observations).
     */
    readonly method: "chi-square" | "fisher-exact" | "none";
    /** Number of bins the test compared after pooling. */
    readonly bins: number;
}

/** Smallest expected count per cell the chi-square approximation is trusted with (Cochran). */
const MIN_EXPECTED = 5;

/**
 * Test that `baseline` and `current` (counts over the same bins) come from one distribution: a 2 x k test of
 * homogeneity, conditional on the margins, that stays valid however small the samples or sparse the bins.
 *
 * Bins whose total is too small for an expected count of 5 in the smaller sample are pooled, largest first,
 * into groups that each reach it (the grouping depends on the column totals only, which the conditional null
 * fixes, so it cannot bias the test). With at least two bins left, Pearson's statistic times (N - 1) / N (E. Pearson's
 * correction, accurate for small tables) is referred to the chi-square distribution. With fewer, the test
 * never gives up: Fisher's exact test compares the largest bin with all the others, which is what a window
 * that is 99% one class against a 30-image baseline needs.
 */
export function chiSquareHomogeneity(baseline: readonly number[], current: readonly number[]): ChiSquareResult {
    if (baseline.length !== current.length) throw new Error(`chi-square needs the same bins (${baseline.length} vs ${current.length})`);
    for (const [what, xs] of [
        ["baseline", baseline],
        ["current", current],
    ] as const)
        if (!xs.every((x) => Number.isFinite(x) && x >= 0)) throw new RangeError(`chi-square needs finite counts >= 0 (${what})`);
    const nB = sum(baseline);
    const nC = sum(current);
    const none = { statistic: 0, degreesOfFreedom: 0, pValue: 1, method: "none" as const, bins: 0 };
    if (nB <= 0 || nC <= 0) return none;
    const n = nB + nC;
    const columns = baseline
        .map((b, i) => ({ b, c: current[i], total: b + current[i] }))
        .filter((col) => col.total > 0)
        .sort((x, y) => y.total - x.total);
    if (columns.length < 2) return { ...none, bins: columns.length };
    // A column's expected count in a row is its total times the row's share; the smaller row decides.
    const needed = (MIN_EXPECTED * n) / Math.min(nB, nC);
    if (columns.every((col) => col.total >= needed))
        return (
            pearson(
                columns.map((col) => ({ ...col })),
                nB,
                nC,
            ) ?? none
        );
    // Two ways to pool the sparse columns, both fixed by the margins: in groups that each just reach the needed
    // total (keeps a sparse bin that surged visible next to its peers), or all into one "other" bin (keeps the
    // degrees of freedom low when one bin took the mass). Each is a valid test; the smaller p-value, doubled
    // (Bonferroni), is too.
    const poolings = [
        poolSparse(columns, needed, "groups"),
        // Stryker disable next-line StringLiteral: poolSparse only tests for "groups"; any other name pools into one bin
        poolSparse(columns, needed, "other"),
    ];
    const results = poolings.map((kept) => (kept.length >= 2 ? pearson(kept, nB, nC) : undefined) ?? fisherTopVersusRest(columns, nB, nC));
    if (JSON.stringify(poolings[0]) === JSON.stringify(poolings[1])) return results[0];
    const best = results[0].pValue <= results[1].pValue ? results[0] : results[1];
    return { ...best, pValue: Math.min(1, 2 * best.pValue) };
}

/** The dense columns as they are, and the sparse ones pooled (`groups` reaching `needed` each, or one `other` bin). */
function poolSparse(columns: readonly Column[], needed: number, how: "groups" | "other"): Column[] {
    const kept: Column[] = [];
    let group: Column | undefined;
    for (const col of columns) {
        if (col.total >= needed) kept.push({ ...col });
        else {
            group = group ? { b: group.b + col.b, c: group.c + col.c, total: group.total + col.total } : { ...col };
            if (how === "groups" && group.total >= needed) {
                kept.push(group);
                group = undefined;
            }
        }
    }
    if (group && group.total >= needed) kept.push(group);
    else if (group && kept.length > 0) {
        const last = kept[kept.length - 1];
        last.b += group.b;
        last.c += group.c;
        last.total += group.total;
    }
    return kept;
}

/**
 * Pearson's statistic with E. Pearson's (N - 1) / N factor on columns that all have expected counts >= 5; on
 * two columns, Fisher's exact test instead.
 */
function pearson(kept: readonly Column[], nB: number, nC: number): ChiSquareResult | undefined {
    if (kept.length < 2) return undefined;
    if (kept.length === 2) return fisherTopVersusRest(kept, nB, nC);
    const n = nB + nC;
    let statistic = 0;
    for (const col of kept) {
        const eb = (col.total * nB) / n,
            ec = (col.total * nC) / n;
        statistic += (col.b - eb) ** 2 / eb + (col.c - ec) ** 2 / ec;
    }
    statistic *= (n - 1) / n;
    const degreesOfFreedom = kept.length - 1;
    return { statistic, degreesOfFreedom, pValue: chiSquarePValue(statistic, degreesOfFreedom), method: "chi-square", bins: kept.length };
}

/** Fisher's exact test of the largest column against all the others (exact, and the more powerful on two bins). */
function fisherTopVersusRest(columns: readonly Column[], nB: number, nC: number): ChiSquareResult {
    const top = columns[0];
    const pValue = fisherExact2x2(Math.round(top.b), Math.round(nB - top.b), Math.round(top.c), Math.round(nC - top.c));
    return { statistic: 0, degreesOfFreedom: 1, pValue, method: "fisher-exact", bins: 2 };
}

/**
 * Two-sided Fisher exact test of the 2 x 2 table [[a, b], [c, d]]: the probability, under the
 * hypergeometric distribution of `a` given all margins, of every table at most as likely as the observed one.
 * The terms are summed from the mode outwards by their ratio, so the cost is the support's size, never a
 * factorial.
 */
export function fisherExact2x2(a: number, b: number, c: number, d: number): number {
    for (const x of [a, b, c, d])
        if (!Number.isInteger(x) || x < 0) throw new RangeError(`Fisher's exact test needs counts, got ${[a, b, c, d]}`);
    const row = a + b,
        col = a + c,
        n = a + b + c + d;
    const lo = Math.max(0, row + col - n),
        hi = Math.min(row, col);
    if (lo === hi) return 1;
    const logP = (x: number) => logChoose(col, x) + logChoose(n - col, row - x) - logChoose(n, row);
    const observed = logP(a);
    // Probabilities relative to the observed table's; a relative tolerance keeps ties with it (symmetric tables) in.
    let total = 0;
    // Stryker disable next-line ArithmeticOperator: the mode is only where the summing starts; from any point of the support the terms are the same
    const mode = Math.min(hi, Math.max(lo, Math.floor(((row + 1) * (col + 1)) / (n + 2))));
    const ratioUp = (x: number) => ((col - x) * (row - x)) / ((x + 1) * (n - col - row + x + 1));
    const add = (logRel: number) => {
        if (logRel <= 1e-7) total += Math.exp(logRel);
    };
    const atMode = logP(mode) - observed;
    add(atMode);
    for (let x = mode, l = atMode; x < hi; x++) {
        l += Math.log(ratioUp(x));
        add(l);
        if (l < -745 && x > a) break;
    }
    for (let x = mode, l = atMode; x > lo; x--) {
        l -= Math.log(ratioUp(x - 1));
        add(l);
        if (l < -745 && x < a) break;
    }
    return Math.min(1, total * Math.exp(observed));
}

function logChoose(n: number, k: number): number {
    if (k < 0 || k > n) return -Infinity;
    if (k === 0 || k === n) return 0;
    return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);
}

interface Column {
    b: number;
    c: number;
    total: number;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
