import { expect } from "chai";
import { join } from "path";
import { JobError } from "../../../jobs/lib/errors";
import { readBaseline, uploadPrefix } from "../../../jobs/monitor/run";
import { tempDir, writeAt } from "../support/images";
import { handBaseline as baseline } from "./hand-baseline";

describe("monitor baseline file", () => {
    let n = 0;
    const fileOf = (doc: unknown) => writeAt(tempDir("baseline-file"), `b${++n}.json`, typeof doc === "string" ? doc : JSON.stringify(doc));
    const refusal = (doc: unknown, expected?: { count: number; names?: string[] }) => {
        const path = fileOf(doc);
        try {
            readBaseline(path, expected);
        } catch (e) {
            expect(e).to.be.instanceOf(JobError);
            return (e as Error).message.replace(path, "B");
        }
        throw new Error("expected the baseline to be refused");
    };

    it("reads a baseline whose every compared value is in range, and checks its classes against the model's", () => {
        const b = baseline();
        expect(readBaseline(fileOf(b), { count: 2, names: ["stop", "yield"] })).to.deep.equal(b);
        expect(readBaseline(fileOf({ ...b, lowConfidenceRate: 0, quality: { accuracy: 1 } }), { count: 2 })).to.deep.include({
            lowConfidenceRate: 0,
        });
    });

    it("says where a missing baseline comes from, and that a file is not JSON", () => {
        const missing = join(tempDir("baseline-missing"), "monitoring_baseline.json");
        expect(() => readBaseline(missing)).to.throw(
            JobError,
            `the monitoring baseline ${missing} is missing: it is the monitoring_baseline.json the evaluate step ` +
                "registered with the model package (DriftCheckBaselines); mount it there or pass --baseline",
        );
        expect(refusal("{half")).to.match(/^the monitoring baseline B is not JSON: .+/);
    });

    it("refuses a baseline measured by another version of the image measurement, saying how to make a new one", () => {
        expect(refusal({ ...baseline(), version: 1 })).to.equal(
            "the monitoring baseline B has image properties measured by version 1 of the measurement; this monitor measures " +
                "version 2 (on the pixels the model trains on, not a 64 px thumbnail), and the two are not comparable: run the " +
                "training pipeline again (its preprocess step, with the current jobs image, writes a new baseline) and monitor the package it registers",
        );
        expect(refusal("null")).to.contain("measured by version undefined of the measurement");
    });

    it("names every malformed value together", () => {
        const b = baseline();
        const props = b.properties as Record<string, { counts: unknown[]; mean: unknown }>;
        props.width.counts[2] = -1;
        props.height.counts = [1];
        props.aspect.mean = null;
        expect(
            refusal({
                ...b,
                imageShape: [3, 0, 224],
                classes: ["stop"],
                predictedClassDistribution: { stop: 1.5, yield: -0.1 },
                confidence: { ...(b.confidence as object), counts: [1, 2, 3] },
                lowConfidenceRate: 2,
                quality: {},
                contentTypes: { "image/jpeg": Infinity },
                properties: props,
            }),
        ).to.equal(
            "the monitoring baseline B lacks or has malformed: imageShape ([3,0,224]: the model's [channels, height, width]), " +
                "classes (a list of at least 2 class names), predictedClassDistribution.stop (1.5: a share from 0 to 1), " +
                "predictedClassDistribution.yield (-0.1: a share from 0 to 1), confidence.counts (10 bins), " +
                "lowConfidenceRate (2: a share from 0 to 1), quality.accuracy (a share from 0 to 1), " +
                "contentTypes.image/jpeg (null: counts are finite numbers >= 0), " +
                "properties.width.counts[2] (-1: counts are finite numbers >= 0), properties.height.counts (14 bins), " +
                "properties.aspect.mean (a finite number); regenerate it with the evaluate step of the training pipeline",
        );
    });

    it("refuses property histograms on other bin edges than the monitor's, or none, rather than failing at the first image", () => {
        const b = baseline();
        const props = b.properties as Record<string, { edges?: unknown }>;
        props.width.edges = [0, 16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 1024, 2048, 4096, 8192]; // 15 edges, others
        delete props.brightness.edges;
        props.contrast.edges = "0-128";
        expect(refusal({ ...b, properties: props })).to.equal(
            "the monitoring baseline B lacks or has malformed: properties.width.edges (the 15 bin edges the monitor measures width on), " +
                "properties.brightness.edges (the 17 bin edges the monitor measures brightness on), " +
                "properties.contrast.edges (the 17 bin edges the monitor measures contrast on); " +
                "regenerate it with the evaluate step of the training pipeline",
        );
    });

    it("refuses a confidence histogram on other bin edges than the monitor's tenths, or none", () => {
        const b = baseline();
        const tail = "; regenerate it with the evaluate step of the training pipeline";
        const refused =
            "the monitoring baseline B lacks or has malformed: confidence.edges (the 11 bin edges 0, 0.1, ..., 1 the monitor bins confidence on)";
        expect(refusal({ ...b, confidence: { counts: [0, 0, 0, 0, 0, 0, 0, 0, 4, 6] } })).to.equal(refused + tail);
        const fifths = [0, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99, 1];
        expect(refusal({ ...b, confidence: { edges: fifths, counts: [0, 0, 0, 0, 0, 0, 0, 0, 4, 6] } })).to.equal(refused + tail);
    });

    it("refuses shapes that are not three positive whole numbers, class lists that are not names, and absent sections", () => {
        for (const imageShape of [[3, 224], [3, 224, 224, 1], [3, 22.5, 224], "3x224x224"])
            expect(refusal({ ...baseline(), imageShape }), JSON.stringify(imageShape)).to.contain(
                `imageShape (${JSON.stringify(imageShape)}:`,
            );
        expect(refusal({ ...baseline(), classes: ["stop", 7] })).to.contain("classes (a list of at least 2 class names)");
        const { predictedClassDistribution: _p, contentTypes: _c, confidence: _f, quality: _q, ...bare } = baseline();
        expect(refusal(bare)).to.equal(
            "the monitoring baseline B lacks or has malformed: predictedClassDistribution, confidence.counts (10 bins), " +
                "quality.accuracy (a share from 0 to 1), contentTypes; regenerate it with the evaluate step of the training pipeline",
        );
        // No properties section, or one without a property: each property's bins named, in order.
        const { properties: _props, ...noProperties } = baseline();
        const eachProperty =
            "properties.width.counts (14 bins), properties.height.counts (14 bins), properties.aspect.counts (13 bins), " +
            "properties.bytes.counts (14 bins), properties.brightness.counts (16 bins), properties.contrast.counts (16 bins), " +
            "properties.meanRed.counts (16 bins), properties.meanGreen.counts (16 bins), properties.meanBlue.counts (16 bins)";
        for (const doc of [noProperties, { ...baseline(), properties: {} }])
            expect(refusal(doc)).to.equal(
                `the monitoring baseline B lacks or has malformed: ${eachProperty}; regenerate it with the evaluate step of the training pipeline`,
            );
        expect(refusal({ ...baseline(), predictedClassDistribution: "even", contentTypes: 3 }))
            .to.contain("predictedClassDistribution, ")
            .and.contain(", contentTypes;");
    });

    it("lists at most twenty problems and counts the rest", () => {
        const b = baseline();
        (b.confidence as { counts: unknown[] }).counts = new Array(10).fill("x");
        (b.properties as Record<string, { counts: unknown[] }>).brightness.counts = new Array(16).fill(-1);
        const message = refusal(b);
        expect(message.split(": counts are finite numbers >= 0)").length - 1).to.equal(20);
        expect(message).to.contain("properties.brightness.counts[9] (-1: counts are finite numbers >= 0) and 6 more; regenerate it");
        // Exactly twenty are all listed, with nothing more to count.
        (b.properties as Record<string, { counts: unknown[] }>).brightness.counts = [...new Array(10).fill(-1), ...new Array(6).fill(0)];
        expect(refusal(b)).to.match(/properties\.brightness\.counts\[9\] \(-1: counts are finite numbers >= 0\); regenerate it/);
    });

    it("refuses a baseline of another class map, naming at most five classes of each", () => {
        const many = ["a", "b", "c", "d", "e", "f"];
        expect(refusal(baseline(), { count: 3 })).to.equal(
            "the monitoring baseline B is for 2 classes (stop, yield) but the model has 3; " +
                "monitor the endpoint against the baseline registered with the package it serves",
        );
        expect(refusal(baseline(), { count: 2, names: ["stop", "go"] })).to.contain(
            "is for 2 classes (stop, yield) but the model has 2 (stop, go);",
        );
        expect(refusal({ ...baseline(), classes: many }, { count: 6, names: [...many.slice(0, 5), "g"] })).to.contain(
            "is for 6 classes (a, b, c, d, e, ...) but the model has 6 (a, b, c, d, e, ...);",
        );
        // Five names are shown whole.
        expect(refusal({ ...baseline(), classes: many.slice(0, 5) }, { count: 5, names: ["a", "b", "c", "d", "x"] })).to.contain(
            "is for 5 classes (a, b, c, d, e) but the model has 5 (a, b, c, d, x);",
        );
    });
});

describe("monitor upload folder", () => {
    it("is the hour folder of the window's end under the upload prefix", () => {
        const window = { start: new Date("2026-01-10T12:00:00Z"), end: new Date("2026-01-10T13:00:00Z") };
        expect(uploadPrefix("s3://lake/signs/monitoring/ep/sch", window)).to.deep.equal({
            bucket: "lake",
            prefix: "signs/monitoring/ep/sch/2026/01/10/13/",
        });
        const late = { start: new Date("2026-12-31T22:30:00Z"), end: new Date("2026-12-31T23:59:59.999Z") };
        expect(uploadPrefix("s3://lake/m/", late).prefix).to.equal("m/2026/12/31/23/");
    });
});
