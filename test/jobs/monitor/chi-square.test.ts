import { expect } from "chai";
import { chiSquareHomogeneity, chiSquarePValue, fisherExact2x2, logGamma, regularizedGammaQ } from "../../../jobs/monitor/chi-square";

describe("monitor chi-square", () => {
    it("logGamma matches factorials and Γ(1/2) = √π", () => {
        expect(logGamma(1)).to.be.closeTo(0, 1e-13);
        expect(logGamma(5)).to.be.closeTo(Math.log(24), 1e-12);
        expect(logGamma(11)).to.be.closeTo(Math.log(3628800), 1e-11);
        expect(logGamma(0.5)).to.be.closeTo(0.5 * Math.log(Math.PI), 1e-12);
        expect(logGamma(0.1)).to.be.closeTo(Math.log(9.513507698668732), 1e-11);
    });

    it("Q(1, x) = e^-x and Q(a, 0) = 1", () => {
        for (const x of [0.01, 0.5, 1, 2, 5, 30]) expect(regularizedGammaQ(1, x)).to.be.closeTo(Math.exp(-x), 1e-14 + Math.exp(-x) * 1e-12);
        expect(regularizedGammaQ(3.5, 0)).to.equal(1);
    });

    it("closed forms for even degrees of freedom: df=2 p=e^(-x/2), df=4 p=e^(-x/2)(1+x/2), df=6 adds (x/2)^2/2", () => {
        for (const x of [0.2, 1, 3, 4, 9.21, 20, 60]) {
            const h = x / 2;
            expect(chiSquarePValue(x, 2)).to.be.closeTo(Math.exp(-h), 1e-13);
            expect(chiSquarePValue(x, 4)).to.be.closeTo(Math.exp(-h) * (1 + h), 1e-13);
            expect(chiSquarePValue(x, 6)).to.be.closeTo(Math.exp(-h) * (1 + h + (h * h) / 2), 1e-13);
        }
    });

    it("reproduces chi-square table critical values (df: 0.05 and 0.01 points)", () => {
        // Standard table of the chi-square distribution's upper percentage points.
        const table: Array<[number, number, number]> = [
            [1, 3.841, 6.635],
            [2, 5.991, 9.21],
            [3, 7.815, 11.345],
            [5, 11.07, 15.086],
            [10, 18.307, 23.209],
            [20, 31.41, 37.566],
            [30, 43.773, 50.892],
            [42, 58.124, 66.206],
            [100, 124.342, 135.807],
        ];
        for (const [df, at05, at01] of table) {
            expect(chiSquarePValue(at05, df), `df=${df} at ${at05}`).to.be.closeTo(0.05, 2e-4);
            expect(chiSquarePValue(at01, df), `df=${df} at ${at01}`).to.be.closeTo(0.01, 1e-4);
        }
    });

    it("df=1 equals erfc(sqrt(x/2)) on both sides of the series/continued-fraction switch", () => {
        // erfc values: erfc(1) = 0.157299207050285, erfc(2) = 0.004677734981047, erfc(3) = 2.209049699858544e-5
        expect(chiSquarePValue(2, 1)).to.be.closeTo(0.157299207050285, 1e-12);
        expect(chiSquarePValue(8, 1)).to.be.closeTo(0.004677734981047, 1e-13);
        expect(chiSquarePValue(18, 1) / 2.209049699858544e-5).to.be.closeTo(1, 1e-9);
    });

    it("keeps tiny p-values accurate in the far tail", () => {
        // df=2: p = e^-100 ≈ 3.72e-44, which 1 - P would round to 0.
        expect(chiSquarePValue(200, 2) / Math.exp(-100)).to.be.closeTo(1, 1e-9);
    });

    it("homogeneity test: identical shares give p = 1; a hand-computed 2x2 table gives its statistic", () => {
        const same = chiSquareHomogeneity([100, 200, 300], [10, 20, 30]);
        expect(same.statistic).to.be.closeTo(0, 1e-12);
        expect(same.pValue).to.be.closeTo(1, 1e-12);
        // Baseline 60/40/50, current 30/70/50, n=150 each: column totals 90/110/100, expected 45/55/50 in each row.
        // chi2 = 2*(15^2/45) + 2*(15^2/55) + 0 = 10 + 8.1818... = 18.1818...; times (N-1)/N = 299/300; df = 2.
        const r = chiSquareHomogeneity([60, 40, 50], [30, 70, 50]);
        expect(r.statistic).to.be.closeTo((18.181818181818 * 299) / 300, 1e-9);
        expect(r.degreesOfFreedom).to.equal(2);
        expect(r.method).to.equal("chi-square");
        expect(r.pValue).to.be.closeTo(chiSquarePValue((18.181818181818 * 299) / 300, 2), 1e-15);
        // Two bins: Fisher's exact test, which is exact where the chi-square approximation is not.
        expect(chiSquareHomogeneity([60, 40], [30, 70])).to.deep.include({
            method: "fisher-exact",
            pValue: fisherExact2x2(60, 40, 30, 70),
        });
        expect(r.pValue).to.be.below(0.001);
    });

    it("pools sparse bins so one rare bin cannot fake drift", () => {
        // A bin the baseline saw once and the window saw once: alone it would dominate; pooled it does not.
        const r = chiSquareHomogeneity([500, 499, 1, 0], [50, 49, 0, 1]);
        expect(r.degreesOfFreedom).to.equal(1);
        expect(r.pValue).to.be.above(0.5);
    });

    it("returns p = 1 when either sample is empty", () => {
        expect(chiSquareHomogeneity([1, 2], [0, 0]).pValue).to.equal(1);
    });
});

describe("monitor homogeneity test on small expected counts", () => {
    it("detects a window that is 99% one class against a 30-image, 50/50 baseline", () => {
        const r = chiSquareHomogeneity([15, 15], [99, 1]);
        expect(r.pValue, JSON.stringify(r)).to.be.below(1e-6);
    });

    it("detects a 3,000-record window that is 97% one class against the same baseline", () => {
        const r = chiSquareHomogeneity([15, 15], [2910, 90]);
        expect(r.pValue, JSON.stringify(r)).to.be.below(1e-6);
    });
});

describe("Fisher's exact test", () => {
    it("matches published two-sided p-values", () => {
        // Fisher's tea-tasting table: p = 34/70 = 0.4857...
        expect(fisherExact2x2(3, 1, 1, 3)).to.be.closeTo(34 / 70, 1e-12);
        // [[1, 9], [11, 3]]: two-sided p = 0.002759 (R's fisher.test).
        expect(fisherExact2x2(1, 9, 11, 3)).to.be.closeTo(0.0027594, 1e-6);
        expect(fisherExact2x2(0, 5, 0, 7)).to.equal(1);
    });

    it("is what the homogeneity test falls back to when no two bins reach an expected count of 5", () => {
        const r = chiSquareHomogeneity([15, 15], [99, 1]);
        expect(r.method).to.equal("fisher-exact");
        expect(r.pValue).to.be.closeTo(fisherExact2x2(15, 15, 99, 1), 1e-15);
    });

    it("refuses counts that are negative or not finite", () => {
        expect(() => chiSquareHomogeneity([1, -1], [1, 1])).to.throw(RangeError, "baseline");
        expect(() => chiSquareHomogeneity([1, 1], [NaN, 1])).to.throw(RangeError, "current");
    });
});

// Expected values from scipy 1.17 (scipy.stats.chi2.sf on Pearson's statistic times (N - 1) / N, and
// scipy.stats.fisher_exact), on the pooled tables written out by hand in each comment.
describe("monitor homogeneity test: pooling sparse bins", () => {
    it("pools sparse bins two ways when they differ and reports the smaller p-value doubled", () => {
        // 100 vs 100 records: a bin needs a total of 5 * 200 / 100 = 10. Totals 90, 60, 14 are dense; the four of 9 are
        // pooled in pairs, (7+6, 2+3) and (1+2, 8+7), or all into one (16, 20).
        //   groups: [50 30 4 13 3] / [40 30 10 5 15]: statistic 15.1619, df 4, p 0.0043769
        //   other:  [50 30 4 16]   / [40 30 10 20]:   statistic 4.1063,  df 3, p 0.2502
        const r = chiSquareHomogeneity([50, 30, 4, 7, 6, 1, 2], [40, 30, 10, 2, 3, 8, 7]);
        expect(r).to.deep.include({ degreesOfFreedom: 4, method: "chi-square", bins: 5 });
        expect(r.statistic).to.be.closeTo(15.161904761904761, 1e-9);
        expect(r.pValue).to.be.closeTo(2 * 0.004376931050851794, 1e-12);
    });

    it("adds a last group too small to stand alone to the last kept bin", () => {
        // 99 vs 98 records: a bin needs 5 * 197 / 98 = 10.05. Totals 110, 60 dense; 9, 9, 9 sparse: (3+3, 6+6) reaches it,
        // the last (3, 6) does not and joins it; pooling all three into one gives the same table, so no doubling.
        //   [60 30 9] / [50 30 18]: statistic 3.8843, df 2, p 0.14340
        const r = chiSquareHomogeneity([60, 30, 3, 3, 3], [50, 30, 6, 6, 6]);
        expect(r).to.deep.include({ degreesOfFreedom: 2, method: "chi-square", bins: 3 });
        expect(r.statistic).to.be.closeTo(3.884297520661155, 1e-9);
        expect(r.pValue).to.be.closeTo(0.14339549594643353, 1e-12);
    });

    it("treats a bin whose total is exactly the needed one as dense", () => {
        // 50 vs 50: a bin needs 10. Totals 50, 30, 10 are dense; 5 + 5 reaches 10 both ways, so one table:
        //   [22 18 8 2] / [28 12 2 8]: statistic 9.0288, df 3, p 0.028910
        const r = chiSquareHomogeneity([22, 18, 8, 1, 1], [28, 12, 2, 4, 4]);
        expect(r).to.deep.include({ degreesOfFreedom: 3, method: "chi-square", bins: 4 });
        expect(r.statistic).to.be.closeTo(9.0288, 1e-9);
        expect(r.pValue).to.be.closeTo(0.028910415367440028, 1e-12);
    });

    it("sizes the needed total by the smaller sample", () => {
        // 30 vs 300: a bin needs 5 * 330 / 30 = 55, so the bin of 26 is sparse and joins the bin of 140, leaving two:
        // Fisher's exact test of the largest bin (14, 150) against the rest (16, 150): p 0.84859. Sized by the larger
        // sample (5.5) all three would be dense and Pearson's test would give p 0.033.
        const r = chiSquareHomogeneity([14, 10, 6], [150, 130, 20]);
        expect(r.method).to.equal("fisher-exact");
        expect(r.pValue).to.be.closeTo(0.8485870991444591, 1e-12);
    });

    it("compares the largest bin with the rest, whatever order the bins come in", () => {
        // 30 vs 100: needs 21.7; only the bin of 112 is dense, and everything else joins it: Fisher (14, 16) vs (98, 2).
        const r = chiSquareHomogeneity([2, 14, 14], [1, 98, 1]);
        expect(r.method).to.equal("fisher-exact");
        expect(r.pValue / 1.4307411164439203e-10).to.be.closeTo(1, 1e-9);
    });

    it("closes a group as soon as it reaches the needed total, and takes the one-bin pooling when it is the more significant", () => {
        // 50 vs 50: needs 10. Dense 50 and 30; four sparse bins of 5 pool in pairs, (4+1, 1+4) twice, or into one (10, 10).
        //   groups: [22 18 5 5] / [28 12 5 5]: statistic 1.9008, df 3, p 0.59325
        //   other:  [22 18 10]  / [28 12 10]:  statistic 1.9008, df 2, p 0.38659 (the smaller: reported, doubled)
        const r = chiSquareHomogeneity([22, 18, 4, 1, 4, 1], [28, 12, 1, 4, 1, 4]);
        expect(r).to.deep.include({ degreesOfFreedom: 2, method: "chi-square", bins: 3 });
        expect(r.statistic).to.be.closeTo(1.9008, 1e-9);
        expect(r.pValue).to.be.closeTo(2 * 0.3865863579802764, 1e-12);
    });

    it("falls back to Fisher's exact test when every bin is sparse", () => {
        // 8 vs 8: needs 10; 7 + 7 reaches it and 2 joins them: one bin, so Fisher on the largest (6, 1) vs the rest (2, 7).
        expect(chiSquareHomogeneity([6, 1, 1], [1, 6, 1])).to.deep.include({ method: "fisher-exact", pValue: fisherExact2x2(6, 2, 1, 7) });
        expect(fisherExact2x2(6, 2, 1, 7)).to.be.closeTo(0.040559440559440565, 1e-12);
        // 3 vs 100: needs 172, more than all 103 records: nothing can be kept; Fisher on (2, 50) vs (1, 50): p = 1.
        expect(chiSquareHomogeneity([2, 1], [50, 50])).to.deep.include({ method: "fisher-exact", pValue: 1, bins: 2 });
    });

    it("on two pooled groups, compares the larger group with the rest", () => {
        // 14 vs 14: needs 10; four bins of 7. In pairs: (6+5, 1+2) against (1+2, 6+5): Fisher (11, 3, 3, 11), p 0.0070282.
        // All in one: Fisher of the largest single bin (6, 1) against the rest, p 0.076812. The smaller, doubled.
        const r = chiSquareHomogeneity([6, 5, 1, 2], [1, 2, 6, 5]);
        expect(r.method).to.equal("fisher-exact");
        expect(r.pValue).to.be.closeTo(2 * 0.007028212759805167, 1e-12);
    });
});

describe("monitor homogeneity test: samples that cannot differ, and bad input", () => {
    const none = { statistic: 0, degreesOfFreedom: 0, pValue: 1, method: "none", bins: 0 };

    it("reports no test when a sample is empty or only one bin has observations", () => {
        expect(chiSquareHomogeneity([1, 2], [0, 0])).to.deep.equal(none);
        expect(chiSquareHomogeneity([0, 0], [3, 4])).to.deep.equal(none);
        expect(chiSquareHomogeneity([5, 0], [7, 0])).to.deep.equal({ ...none, bins: 1 });
    });

    it("refuses bins of different lengths, non-counts and arguments outside the functions' domains", () => {
        expect(() => chiSquareHomogeneity([1, 2, 3], [1, 2])).to.throw("chi-square needs the same bins (3 vs 2)");
        expect(() => fisherExact2x2(1.5, 2, 3, 4)).to.throw(RangeError, "Fisher's exact test needs counts, got 1.5,2,3,4");
        expect(() => fisherExact2x2(1, 2, -3, 4)).to.throw(RangeError, "needs counts");
        expect(() => logGamma(0)).to.throw(RangeError, "logGamma needs x > 0, got 0");
        expect(() => logGamma(NaN)).to.throw(RangeError, "logGamma needs x > 0");
        expect(() => regularizedGammaQ(0, 1)).to.throw(RangeError, "regularizedGammaQ needs a > 0, got 0");
        expect(() => regularizedGammaQ(NaN, 1)).to.throw(RangeError, "needs a > 0");
        expect(() => regularizedGammaQ(1, -1)).to.throw(RangeError, "regularizedGammaQ needs x >= 0, got -1");
        expect(() => regularizedGammaQ(1, NaN)).to.throw(RangeError, "needs x >= 0");
    });

    it("gives p = 1 with no degrees of freedom and clamps a negative statistic to 0", () => {
        expect(chiSquarePValue(5, 0)).to.equal(1);
        expect(chiSquarePValue(5, -1)).to.equal(1);
        expect(chiSquarePValue(-3, 2)).to.equal(1);
    });

    it("Fisher's exact test stays exact far in the tail", () => {
        // scipy.stats.fisher_exact([[500, 500], [100, 900]]): 5.12502851252754e-90.
        expect(fisherExact2x2(500, 500, 100, 900) / 5.12502851252754e-90).to.be.closeTo(1, 1e-8);
    });
});
