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
