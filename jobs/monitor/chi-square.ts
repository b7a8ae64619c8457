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
}

/** Smallest expected count per cell the chi-square approximation is trusted with. */
const MIN_EXPECTED = 5;

/**
 * Chi-square test that `baseline` and `current` (counts over the same bins) come from one distribution.
 * Bins are pooled in order until each pooled bin holds at least 5 expected observations in both samples, the
 * usual condition for the chi-square approximation; without it a single rare bin turns noise into "drift".
 */
export function chiSquareHomogeneity(baseline: readonly number[], current: readonly number[]): ChiSquareResult {
    if (baseline.length !== current.length) throw new Error(`chi-square needs the same bins (${baseline.length} vs ${current.length})`);
    const nB = baseline.reduce((a, b) => a + b, 0);
    const nC = current.reduce((a, b) => a + b, 0);
    if (nB <= 0 || nC <= 0) return { statistic: 0, degreesOfFreedom: 0, pValue: 1 };
    const n = nB + nC;
    // Each cell's expected count is its column total times the row share; the smaller row decides the pooling.
    const needed = (MIN_EXPECTED * n) / Math.min(nB, nC);
    const pooled: Array<[number, number]> = [];
    let b = 0,
        c = 0;
    for (let i = 0; i < baseline.length; i++) {
        b += baseline[i];
        c += current[i];
        if (b + c >= needed) {
            pooled.push([b, c]);
            b = 0;
            c = 0;
        }
    }
    if (b + c > 0) {
        if (pooled.length) {
            const last = pooled[pooled.length - 1];
            last[0] += b;
            last[1] += c;
        } else pooled.push([b, c]);
    }
    if (pooled.length < 2) return { statistic: 0, degreesOfFreedom: 0, pValue: 1 };
    let statistic = 0;
    for (const [ob, oc] of pooled) {
        const total = ob + oc;
        const eb = (total * nB) / n,
            ec = (total * nC) / n;
        statistic += (ob - eb) ** 2 / eb + (oc - ec) ** 2 / ec;
    }
    const degreesOfFreedom = pooled.length - 1;
    return { statistic, degreesOfFreedom, pValue: chiSquarePValue(statistic, degreesOfFreedom) };
}
