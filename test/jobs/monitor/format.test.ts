import { expect } from "chai";
import { fmt, fmtP, fmtPct, formatBytes } from "../../../jobs/monitor/format";
import { byOutlierKey, outlierKeyOf } from "../../../jobs/monitor/shots";

describe("monitor figures as reports print them", () => {
    it("prints whole numbers as they are, others to three decimals, p-values in exponent form below 1e-4", () => {
        expect([fmt(200), fmt(0.1), fmt(2 / 3)]).to.deep.equal(["200", "0.100", "0.667"]);
        expect([fmtP(0.01), fmtP(1e-4), fmtP(9.99e-5), fmtP(1.23456e-20)]).to.deep.equal(["0.0100", "0.0001", "9.99e-5", "1.23e-20"]);
        expect([fmtPct(0.25), fmtPct(0.0004), fmtPct(1)]).to.deep.equal(["25.0%", "0.0%", "100.0%"]);
    });

    it("names sizes in bytes, KiB and MiB", () => {
        expect([formatBytes(1023), formatBytes(1024), formatBytes(1536), formatBytes(1024 * 1024 - 1)]).to.deep.equal([
            "1023 bytes",
            "1 KiB",
            "1.5 KiB",
            "1024 KiB",
        ]);
        expect([formatBytes(1024 * 1024), formatBytes(16 * 1024 * 1024), formatBytes(2.25 * 1024 * 1024)]).to.deep.equal([
            "1 MiB",
            "16 MiB",
            "2.3 MiB",
        ]);
    });
});

describe("monitor outlier order", () => {
    it("ranks images in the bins training saw least first, then furthest from training's mean, then by sample order", () => {
        // Training: 90 of 100 widths in [96, 128), 10 in [128, 192); mean 110.
        const key = outlierKeyOf({ edges: [0, 96, 128, 192], counts: [0, 90, 10], count: 100, mean: 110, min: 100, max: 150 });
        expect([key(100), key(150), key(20)]).to.deep.equal([
            { rarity: 0.9, distance: 10 },
            { rarity: 0.1, distance: 40 },
            { rarity: 0, distance: 90 },
        ]);
        const shots = [
            { ...key(100), priority: 0.1, where: "a" },
            { ...key(150), priority: 0.5, where: "b" },
            { ...key(140), priority: 0.2, where: "c" },
            { ...key(20), priority: 0.9, where: "d" },
            { ...key(150), priority: 0.3, where: "e" },
        ];
        expect(shots.sort(byOutlierKey).map((s) => s.where)).to.deep.equal(["d", "e", "b", "c", "a"]);
        const none = outlierKeyOf({ edges: [0, 1, 2], counts: [0, 0], count: 0, mean: 0, min: 0, max: 0 });
        expect(none(1.5)).to.deep.equal({ rarity: 0, distance: 1.5 });
    });
});
