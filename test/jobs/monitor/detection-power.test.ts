import { expect } from "chai";
import { writeFileSync } from "fs";
import { CONFIDENCE_BINS, PROPERTY_BINS } from "../../../jobs/lib/histogram";
import { seededRandom } from "../../../jobs/lib/split";
import { checkLevels, distributionCheck } from "../../../jobs/monitor/checks";
import { DEFAULT_IMAGE_SAMPLE } from "../../../jobs/monitor/sample";
import { multinomial } from "../../support/sampling";
import { defaultThresholds } from "./corpus";

/**
 * Detection power and false-alarm rate of the monitor's distribution checks (the very function the job
 * judges with, at the default thresholds), by Monte Carlo on exact multinomial draws: for each family of
 * distributions (predicted classes with 2, 10, 43 and 200 classes, the confidence histogram, an image
 * property's histogram), baselines of 30 to 10,000 test images and windows of 30 to 100,000 records.
 *
 * - Null: baseline and window both drawn from the baseline's distribution; the check must alarm at most at
 *   its configured level.
 * - Shift: 20% of the mass moves onto one bin (taken from the others in proportion); the check must see it
 *   at least 90% of the time wherever the information allows: where a one-sided test that knows which bin
 *   moved (the oracle) would have 99.99% power. Smaller corners (30 records against 30 test images, say)
 *   cannot tell a 20% shift from noise by any test; their measured power is reported, not required.
 *
 * Image properties are judged on the bounded image sample, so their window is min(records, sample size).
 * Set MONITOR_POWER_REPORT=<file> to write the measured matrix as JSON.
 */

const BASELINES = [30, 300, 1000, 10_000];
const WINDOWS = [30, 300, 3000, 100_000];
const NULL_RUNS = 150;
const SHIFT_RUNS = 100;
const SHIFT = 0.2;

const normalise = (xs: readonly number[]) => {
    const total = xs.reduce((a, b) => a + b, 0);
    return xs.map((x) => x / total);
};

/** `p` with `mass` moved onto bin `j`, taken from every other bin in proportion to its share. */
export function shifted(p: readonly number[], j: number, mass = SHIFT): number[] {
    return p.map((x, i) => (i === j ? x + mass : x * (1 - mass / (1 - p[j]))));
}

interface Family {
    readonly name: string;
    readonly p: readonly number[];
    /** The bin the mass moves to. */
    readonly target: number;
    readonly psiLimit: number;
    readonly level: number;
    /** The window size the check sees for `records` records. */
    readonly seen: (records: number) => number;
    /** Baseline size for a test set of `testImages` (image properties are measured on the whole dataset). */
    readonly baseline: (testImages: number) => number;
}

const t = defaultThresholds();
const levels = checkLevels(t);
const every = (n: number) => n;
const families: Family[] = [
    // Class shares fall off like 1/sqrt(rank): the usual imbalance of a first dataset. The middle class surges.
    ...[2, 10, 43, 200].map((k): Family => ({
        name: `predicted classes, ${k}`,
        p: normalise(Array.from({ length: k }, (_, i) => (i + 1) ** -0.5)),
        target: Math.floor(k / 2),
        psiLimit: t.classPsi,
        level: levels.classes,
        seen: every,
        baseline: every,
    })),
    {
        // A confident model: most predictions above 0.9; the shift moves mass to 0.7-0.8.
        name: "confidence",
        p: normalise([0, 0, 0, 0, 1, 2, 3, 6, 18, 70]),
        target: 7,
        psiLimit: t.confidencePsi,
        level: levels.shared,
        seen: every,
        baseline: every,
    },
    {
        // Brightness on its 16 bins, bell-shaped around mid-grey; the shift moves mass to a brighter bin.
        name: "image brightness",
        p: normalise(Array.from({ length: PROPERTY_BINS.brightness.length - 1 }, (_, i) => Math.exp(-0.5 * ((i - 7.5) / 2) ** 2))),
        target: 10,
        psiLimit: t.imagePropertyPsi,
        level: levels.shared,
        seen: (records) => Math.min(records, DEFAULT_IMAGE_SAMPLE),
        // The property baseline is the whole kept dataset, of which the test set is a tenth.
        baseline: (testImages) => 10 * testImages,
    },
];

/** Standard normal CDF (Abramowitz and Stegun 26.2.17, |error| < 7.5e-8). */
function phi(z: number): number {
    const t = 1 / (1 + 0.2316419 * Math.abs(z));
    const d = 0.3989422804014327 * Math.exp((-z * z) / 2);
    const tail = d * t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
    return z >= 0 ? 1 - tail : tail;
}

/** Inverse of phi by bisection (enough for a critical value). */
function phiInverse(p: number): number {
    let lo = -10,
        hi = 10;
    for (let i = 0; i < 100; i++) {
        const mid = (lo + hi) / 2;
        if (phi(mid) < p) lo = mid;
        else hi = mid;
    }
    return (lo + hi) / 2;
}

/** Power of the one-sided two-proportion z-test on the moved bin alone: what a test told where to look could do. */
function oraclePower(p0: number, p1: number, nB: number, nC: number, level: number): number {
    const pooled = (nB * p0 + nC * p1) / (nB + nC);
    const se0 = Math.sqrt(pooled * (1 - pooled) * (1 / nB + 1 / nC));
    const se1 = Math.sqrt((p0 * (1 - p0)) / nB + (p1 * (1 - p1)) / nC);
    return phi((p1 - p0 - phiInverse(1 - level) * se0) / se1);
}

interface Cell {
    readonly family: string;
    readonly baseline: number;
    readonly records: number;
    readonly seen: number;
    readonly falseAlarms: number;
    readonly detection: number;
    readonly oracle: number;
    readonly required: boolean;
}

describe("monitor detection power (seeded Monte Carlo at the default thresholds)", function () {
    // A guard against a hang, not a speed limit: the Monte Carlo is about 6 s of CPU, which took over a minute
    // of wall time on a machine loaded twenty deep.
    this.timeout(600_000);
    const cells: Cell[] = [];

    before(() => {
        let seed = 1;
        for (const f of families) {
            const q = shifted(f.p, f.target);
            for (const testImages of BASELINES)
                for (const records of WINDOWS) {
                    const nB = f.baseline(testImages);
                    const nC = f.seen(records);
                    const random = seededRandom(seed++);
                    let alarms = 0,
                        hits = 0;
                    for (let r = 0; r < NULL_RUNS; r++)
                        if (
                            distributionCheck(multinomial(random, nB, f.p), multinomial(random, nC, f.p), f.psiLimit, f.level, true).drifted
                        )
                            alarms++;
                    for (let r = 0; r < SHIFT_RUNS; r++)
                        if (distributionCheck(multinomial(random, nB, f.p), multinomial(random, nC, q), f.psiLimit, f.level, true).drifted)
                            hits++;
                    const oracle = oraclePower(f.p[f.target], q[f.target], nB, nC, f.level);
                    cells.push({
                        family: f.name,
                        baseline: nB,
                        records,
                        seen: nC,
                        falseAlarms: alarms / NULL_RUNS,
                        detection: hits / SHIFT_RUNS,
                        oracle,
                        required: oracle >= 0.9999,
                    });
                }
        }
        if (process.env.MONITOR_POWER_REPORT) writeFileSync(process.env.MONITOR_POWER_REPORT, JSON.stringify(cells, null, 1));
    });

    it("covers 2, 10, 43 and 200 classes, confidence and image properties, baselines of 30 to 10,000 and windows of 30 to 100,000", () => {
        expect(cells).to.have.length(families.length * BASELINES.length * WINDOWS.length);
        expect(cells.filter((c) => c.required).length, "cells where the shift must be seen").to.be.at.least(50);
    });

    it("sees a shift of 20% of the mass at least 90% of the time wherever a test told where to look would", () => {
        const missed = cells.filter((c) => c.required && c.detection < 0.9);
        expect(missed, JSON.stringify(missed, null, 1)).to.deep.equal([]);
    });

    it("false-alarms on draws from the baseline's own distribution at most at the configured level", () => {
        for (const f of families) {
            const own = cells.filter((c) => c.family === f.name);
            const runs = own.length * NULL_RUNS;
            const rate = own.reduce((a, c) => a + c.falseAlarms * NULL_RUNS, 0) / runs;
            // Three binomial standard errors above the level over all of the family's null runs.
            expect(rate, f.name).to.be.at.most(f.level + 3 * Math.sqrt((f.level * (1 - f.level)) / runs));
            for (const c of own)
                expect(c.falseAlarms, `${f.name}, ${c.baseline} vs ${c.records}`).to.be.at.most(
                    f.level + 4 * Math.sqrt((f.level * (1 - f.level)) / NULL_RUNS),
                );
        }
    });

    it("sees the class-mix drift the 0.2-PSI, pool-to-one-bin test missed (30-image 50/50 baseline)", () => {
        for (const window of [
            [99, 1],
            [2910, 90],
        ]) {
            const c = distributionCheck([15, 15], window, t.classPsi, levels.classes, true);
            expect(c.drifted, JSON.stringify(c)).to.equal(true);
        }
    });

    it("keeps the confidence bins the histogram uses", () => {
        expect(families.find((f) => f.name === "confidence")!.p).to.have.length(CONFIDENCE_BINS.length - 1);
    });
});
