import { expect } from "chai";
import { PropertyAccumulator } from "../../jobs/lib/baseline";
import { ImageProperties, NUMERIC_PROPERTIES } from "../../jobs/lib/image-properties";

const image = (width: number, brightness: number): ImageProperties => ({
    format: "jpeg",
    width,
    height: 100,
    aspect: width / 100,
    bytes: 2048,
    brightness,
    contrast: 10,
    meanRed: 0,
    meanGreen: 255,
    meanBlue: 300,
});

describe("jobs/lib/baseline PropertyAccumulator", () => {
    it("summarises each property: count, mean, min, max and its fixed-bin histogram", () => {
        const acc = new PropertyAccumulator();
        for (const [w, b] of [
            [50, 20],
            [150, 100],
            [100, 255],
        ])
            acc.add(image(w, b));
        const s = acc.summary();
        expect(Object.keys(s)).to.deep.equal([...NUMERIC_PROPERTIES]);
        expect(s.width).to.deep.include({ count: 3, mean: 100, min: 50, max: 150 });
        // Width edges 0 32 64 96 128 192 ...: 50 in [32, 64), 100 in [96, 128), 150 in [128, 192).
        expect(s.width.counts.slice(0, 6)).to.deep.equal([0, 1, 0, 1, 1, 0]);
        expect(s.brightness).to.deep.include({ mean: 125, min: 20, max: 255 });
        // Brightness in sixteenths: 20 -> bin 1, 100 -> bin 6, 255 -> bin 15 (the last).
        expect(s.brightness.counts).to.deep.equal([0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        // Above the last edge counts in the last bin.
        expect(s.meanBlue.counts[15]).to.equal(3);
        expect(s.meanRed).to.deep.include({ min: 0, max: 0, mean: 0 });
    });

    it("summarises no images as zeros rather than infinities", () => {
        const s = new PropertyAccumulator().summary();
        expect(s.width).to.deep.include({ count: 0, mean: 0, min: 0, max: 0 });
        expect(s.width.counts).to.deep.equal([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    });
});
