/**
 * Exact random variates for statistical tests of the monitor: gamma (Marsaglia and Tsang), beta, binomial
 * (Knuth's beta-splitting recursion, O(log n) variates per draw) and multinomial (conditional binomials),
 * all from one seeded uniform source, so a Monte-Carlo run over windows of 100,000 records costs O(bins)
 * per window instead of O(records).
 */

export type Uniform = () => number;

function normal(random: Uniform): number {
    let u = 0;
    while (u === 0) u = random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

export function gamma(random: Uniform, shape: number): number {
    if (shape < 1) {
        let u = 0;
        while (u === 0) u = random();
        return gamma(random, shape + 1) * Math.pow(u, 1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
        let x: number, v: number;
        do {
            x = normal(random);
            v = 1 + c * x;
        } while (v <= 0);
        v = v * v * v;
        const u = random();
        if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
}

export function beta(random: Uniform, a: number, b: number): number {
    const x = gamma(random, a);
    return x / (x + gamma(random, b));
}

/** Binomial(n, p), exact: direct counting for small n, else the a-th order statistic of n uniforms is Beta(a, n + 1 - a). */
export function binomial(random: Uniform, n: number, p: number): number {
    if (n <= 0 || p <= 0) return 0;
    if (p >= 1) return n;
    if (n <= 40) {
        let k = 0;
        for (let i = 0; i < n; i++) if (random() < p) k++;
        return k;
    }
    const a = 1 + (n >> 1);
    const x = beta(random, a, n + 1 - a);
    return x >= p ? binomial(random, a - 1, p / x) : a + binomial(random, n - a, (p - x) / (1 - x));
}

/** Counts of `n` independent draws from the distribution `probabilities` (summing to 1). */
export function multinomial(random: Uniform, n: number, probabilities: readonly number[]): number[] {
    const counts = new Array(probabilities.length).fill(0);
    let left = n;
    let mass = 1;
    for (let i = 0; i < probabilities.length && left > 0; i++) {
        if (i === probabilities.length - 1 || mass <= 0) {
            counts[i] = left;
            break;
        }
        const x = binomial(random, left, Math.min(1, probabilities[i] / mass));
        counts[i] = x;
        left -= x;
        mass -= probabilities[i];
    }
    return counts;
}
