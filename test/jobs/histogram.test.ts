import { expect } from "chai";
import {
    addToHistogram,
    binIndex,
    CONFIDENCE_BINS,
    emptyHistogram,
    populationStabilityIndex,
    PROPERTY_BINS,
} from "../../jobs/lib/histogram";

// The bins are part of every stored baseline (a baseline's histograms are compared bin by bin with traffic's),
// so they are pinned as written.
describe("jobs/lib/histogram", () => {
    it("keeps the documented bins: confidence in tenths, image properties on fixed edges", () => {
        expect(CONFIDENCE_BINS).to.deep.equal([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
        expect(PROPERTY_BINS.width).to.deep.equal([0, 32, 64, 96, 128, 192, 256, 320, 384, 512, 768, 1024, 1536, 2048, 4096]);
        expect(PROPERTY_BINS.height).to.deep.equal(PROPERTY_BINS.width);
        expect(PROPERTY_BINS.aspect).to.deep.equal([0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.05, 1.1, 1.25, 1.4, 1.6, 2, 3]);
        expect(PROPERTY_BINS.bytes).to.deep.equal([
            0, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288, 1048576, 2097152, 4194304, 8388608,
        ]);
        const sixteenths = [0, 16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256];
        for (const p of ["brightness", "meanRed", "meanGreen", "meanBlue"] as const) expect(PROPERTY_BINS[p], p).to.deep.equal(sixteenths);
        expect(PROPERTY_BINS.contrast).to.deep.equal([0, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128]);
    });

    it("puts a value on an edge in the bin above it, and clamps values outside the edges to the first and last bins", () => {
        const edges = [0, 10, 20, 30];
        const cases: Array<[number, number]> = [
            [-5, 0],
            [0, 0],
            [9.999, 0],
            [10, 1],
            [19.999, 1],
            [20, 2],
            [30, 2],
            [1e9, 2],
            [NaN, 0],
        ];
        for (const [value, bin] of cases) expect(binIndex(edges, value), `value ${value}`).to.equal(bin);
        // Every edge of a long list, and just below it (the search over the inner edges).
        const width = PROPERTY_BINS.width;
        width.forEach((edge, i) => {
            expect(binIndex(width, edge), `at ${edge}`).to.equal(Math.min(i, width.length - 2));
            if (i > 0) expect(binIndex(width, edge - 0.5), `below ${edge}`).to.equal(Math.min(i - 1, width.length - 2));
        });
    });

    it("counts values into a copy of the edges", () => {
        const h = emptyHistogram(CONFIDENCE_BINS);
        expect(h.counts).to.deep.equal([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        for (const v of [0.05, 0.95, 1, 0.5, 0.55]) addToHistogram(h, v);
        expect(h.counts).to.deep.equal([1, 0, 0, 0, 0, 2, 0, 0, 0, 2]);
        h.edges[0] = 99;
        expect(CONFIDENCE_BINS[0]).to.equal(0);
    });

    it("PSI: sum of (a - e) ln(a / e) on shares, empty bins at a share of 1e-4", () => {
        // 50/50 -> 25/75: 0.25 ln 2 + 0.25 ln 1.5.
        expect(populationStabilityIndex([50, 50], [25, 75])).to.be.closeTo(0.25 * Math.log(2) + 0.25 * Math.log(1.5), 1e-15);
        // 100/0 -> 50/50: the empty bin counts as 1e-4: 0.5 ln 2 + 0.4999 ln 5000.
        expect(populationStabilityIndex([100, 0], [50, 50])).to.be.closeTo(0.5 * Math.log(2) + 0.4999 * Math.log(5000), 1e-12);
        expect(populationStabilityIndex([3, 0, 7], [30, 0, 70])).to.equal(0);
        expect(populationStabilityIndex([0, 0], [1, 2])).to.equal(0);
        expect(populationStabilityIndex([1, 2], [0, 0])).to.equal(0);
        expect(() => populationStabilityIndex([1, 2], [1, 2, 3])).to.throw("PSI needs the same bins (2 vs 3)");
    });
});
