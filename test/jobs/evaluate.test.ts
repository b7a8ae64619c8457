import { expect } from "chai";
import { readFileSync, writeFileSync } from "fs";
import { join } from "path";
import { JobModelConfig } from "../../infra/job-contract";
import { runEvaluate } from "../../jobs/evaluate";
import { JobError } from "../../jobs/lib/errors";
import { QualityAccumulator } from "../../jobs/lib/metrics";
import { noiseImage, tempDir, writeAt } from "./support/images";

const classes = ["cat", "dog", "bird"];
const config: JobModelConfig = {
    model: "pets",
    classes,
    imageShape: [3, 64, 64],
    split: { validation: 0.2, test: 0.2 },
    seed: 1,
    minAccuracy: 0.5,
    maxRegression: 0.01,
    confidenceThreshold: 0.8,
    drift: {} as JobModelConfig["drift"],
};

/** Ten test images: actual class and the model's probabilities (cat, dog, bird). */
const cases: Array<[string, number, number[]]> = [
    ["t01.jpg", 0, [0.8, 0.1, 0.1]], // cat -> cat
    ["t02.jpg", 0, [0.6, 0.3, 0.1]], // cat -> cat
    ["t03.jpg", 0, [0.2, 0.7, 0.1]], // cat -> dog (cat ranked 2nd)
    ["t04.jpg", 0, [0.5, 0.2, 0.3]], // cat -> cat
    ["t05.jpg", 1, [0.1, 0.9, 0.0]], // dog -> dog
    ["t06.jpg", 1, [0.3, 0.6, 0.1]], // dog -> dog
    ["t07.jpg", 1, [0.1, 0.3, 0.6]], // dog -> bird (dog ranked 2nd)
    ["t08.jpg", 2, [0.1, 0.1, 0.8]], // bird -> bird
    ["t09.jpg", 2, [0.4, 0.5, 0.1]], // bird -> dog (bird ranked 3rd)
    ["t10.jpg", 2, [0.1, 0.2, 0.7]], // bird -> bird
];

const baseline = {
    version: 1,
    classes,
    imageCount: 50,
    classCounts: { cat: 20, dog: 15, bird: 15 },
    classDistribution: { cat: 0.4, dog: 0.3, bird: 0.3 },
    contentTypes: { "image/jpeg": 50 },
    properties: {},
};

function fixture(predictions: "out" | "jsonl" = "out"): { test: string; metadata: string; predictions: string } {
    const root = tempDir("evaluate");
    writeAt(root, "metadata/class_map.json", JSON.stringify({ classes }));
    writeAt(root, "metadata/baseline.json", JSON.stringify(baseline));
    writeAt(
        root,
        "test/labels.jsonl",
        cases.map(([file, label]) => JSON.stringify({ file, label, class: classes[label] })).join("\n") + "\n",
    );
    if (predictions === "out") {
        // as batch transform writes them: one <image>.out per input, some as {"prediction": [...]}
        cases.forEach(([file, , p], i) => writeAt(root, `predictions/${file}.out`, JSON.stringify(i % 2 ? { prediction: p } : p)));
    } else {
        writeAt(
            root,
            "predictions/part-0.jsonl",
            cases
                .slice(0, 6)
                .map(([, , p]) => JSON.stringify({ prediction: p }))
                .join("\n") + "\n",
        );
        writeAt(
            root,
            "predictions/part-1.jsonl",
            cases
                .slice(6)
                .map(([, , p]) => JSON.stringify({ prediction: p }))
                .join("\n") + "\n",
        );
    }
    return { test: join(root, "test"), metadata: join(root, "metadata"), predictions: join(root, "predictions") };
}

const close = (actual: number, expected: number) => expect(actual).to.be.closeTo(expected, 1e-9);

describe("evaluate job", () => {
    it("computes the confusion matrix and metrics worked out by hand", async () => {
        const dirs = fixture();
        const output = tempDir("evaluate-out");
        const e = await runEvaluate({ ...dirs, output, config });
        const m = e.metrics;
        expect(m.confusion_matrix).to.deep.equal({
            classes,
            matrix: [
                [3, 1, 0],
                [0, 2, 1],
                [0, 1, 2],
            ],
        });
        expect(m.count).to.equal(10);
        close(m.accuracy, 0.7);
        expect(m.top_k_accuracy).to.deep.equal({ "1": 0.7, "3": 1 });
        // cat: P 3/3, R 3/4, F1 6/7; dog: P 2/4, R 2/3, F1 4/7; bird: P 2/3, R 2/3, F1 2/3
        close(m.per_class.cat.precision, 1);
        close(m.per_class.cat.recall, 0.75);
        close(m.per_class.cat.f1, 6 / 7);
        close(m.per_class.dog.precision, 0.5);
        close(m.per_class.dog.recall, 2 / 3);
        close(m.per_class.dog.f1, 4 / 7);
        close(m.per_class.bird.precision, 2 / 3);
        close(m.per_class.bird.recall, 2 / 3);
        close(m.per_class.bird.f1, 2 / 3);
        expect([m.per_class.cat.support, m.per_class.dog.support, m.per_class.bird.support]).to.deep.equal([4, 3, 3]);
        close(m.macro_f1, 44 / 63);
        close(m.weighted_f1, 5 / 7);
        close(m.weighted_precision, 0.75);
        close(m.weighted_recall, 0.7);
        // right: .8 .6 .5 .9 .6 .8 .7 -> 4.9/7; wrong: .7 .6 .5 -> 1.8/3
        close(m.mean_confidence.correct!, 0.7);
        close(m.mean_confidence.wrong!, 0.6);
        expect(e.gate).to.deep.equal({ min_accuracy: 0.5, max_regression: 0.01, champion_floor: 0, passed: true });
        expect(e.champion).to.equal(null);
        expect(JSON.parse(readFileSync(join(output, "evaluation.json"), "utf8"))).to.deep.equal(e);
    });

    it("writes statistics.json in Model Monitor's multiclass model-quality format", async () => {
        const output = tempDir("evaluate-stats");
        await runEvaluate({ ...fixture(), output, config });
        const stats = JSON.parse(readFileSync(join(output, "statistics.json"), "utf8"));
        expect(stats.dataset.item_count).to.equal(10);
        const mc = stats.multiclass_classification_metrics;
        expect(mc.confusion_matrix).to.deep.equal({
            cat: { cat: 3, dog: 1, bird: 0 },
            dog: { cat: 0, dog: 2, bird: 1 },
            bird: { cat: 0, dog: 1, bird: 2 },
        });
        expect(mc.accuracy).to.deep.equal({ value: 0.7, standard_deviation: "NaN" }); // fewer than 200 samples
        close(mc.weighted_f1.value, 5 / 7);
        close(mc.weighted_precision.value, 0.75);
        close(mc.weighted_recall.value, 0.7);
        // F0.5 = 1.25PR/(0.25P+R): cat 0.9375, dog 10/19, bird 2/3; weighted by 4, 3, 3
        close(mc.weighted_f0_5.value, (4 * 0.9375 + 3 * (10 / 19) + 3 * (2 / 3)) / 10);
        // F2 = 5PR/(4P+R): cat 3.75/4.75 = 15/19, dog 5/8, bird 2/3
        close(mc.weighted_f2.value, (4 * (15 / 19) + 3 * (5 / 8) + 3 * (2 / 3)) / 10);
        // always "cat" (4 of 10): accuracy .4, weighted precision .4 x .4, weighted F1 .4 x (2 x .4 / 1.4)
        close(mc.accuracy_best_constant_classifier.value, 0.4);
        close(mc.weighted_precision_best_constant_classifier.value, 0.16);
        close(mc.weighted_f1_best_constant_classifier.value, 0.4 * (0.8 / 1.4));
    });

    it("writes the monitoring baseline: dataset baseline plus confidence, low-confidence rate and predicted classes", async () => {
        const output = tempDir("evaluate-baseline");
        await runEvaluate({ ...fixture(), output, config });
        const mb = JSON.parse(readFileSync(join(output, "monitoring_baseline.json"), "utf8"));
        expect(mb.classCounts).to.deep.equal(baseline.classCounts);
        // top confidences .8 .6 .7 .5 .9 .6 .6 .8 .5 .7 on bins of a tenth
        expect(mb.confidence.counts).to.deep.equal([0, 0, 0, 0, 0, 2, 3, 2, 2, 1]);
        close(mb.lowConfidenceRate, 0.7); // 7 of 10 below 0.8
        expect(mb.confidenceThreshold).to.equal(0.8);
        expect(mb.predictedClassDistribution).to.deep.equal({ cat: 0.3, dog: 0.4, bird: 0.3 });
        close(mb.quality.accuracy, 0.7);
        close(mb.quality.macroF1, 44 / 63);
    });

    it("matches JSON lines predictions by order when the counts agree", async () => {
        const e = await runEvaluate({ ...fixture("jsonl"), output: tempDir("evaluate-jsonl"), config });
        expect(e.metrics.confusion_matrix.matrix).to.deep.equal([
            [3, 1, 0],
            [0, 2, 1],
            [0, 1, 2],
        ]);
    });

    it("sets the gate's floor from the champion's accuracy minus the allowed regression", async () => {
        const champion = async () => ({
            arn: "arn:aws:sagemaker:us-east-1:123456789012:model-package/pets/3",
            accuracy: 0.72,
            statisticsUri: "s3://b/k",
        });
        const e = await runEvaluate({ ...fixture(), output: tempDir("evaluate-champion"), config, champion });
        close(e.gate.champion_floor, 0.71);
        expect(e.gate.passed).to.equal(false);
        expect(e.champion).to.deep.equal({ arn: "arn:aws:sagemaker:us-east-1:123456789012:model-package/pets/3", accuracy: 0.72 });
    });

    describe("clear errors", () => {
        const fails = async (prepare: (dirs: ReturnType<typeof fixture>) => void, pattern: RegExp) => {
            const dirs = fixture();
            prepare(dirs);
            const err = await runEvaluate({ ...dirs, output: tempDir("evaluate-err"), config }).catch((e) => e);
            expect(err).to.be.instanceOf(JobError);
            expect(err.message).to.match(pattern);
        };

        it("names test images without a prediction", () =>
            fails(
                (d) =>
                    writeFileSync(
                        join(d.test, "labels.jsonl"),
                        readFileSync(join(d.test, "labels.jsonl"), "utf8") + '{"file":"t11.jpg","label":1}\n',
                    ),
                /1 test images have no <image>\.out \(t11\.jpg\)/,
            ));

        it("names a prediction with the wrong number of classes", () =>
            fails(
                (d) => writeFileSync(join(d.predictions, "t04.jpg.out"), "[0.5, 0.5]"),
                /t04\.jpg\.out has 2 probabilities but the model has 3 classes/,
            ));

        it("rejects a class index outside the class map", () =>
            fails(
                (d) => writeFileSync(join(d.test, "labels.jsonl"), '{"file":"t01.jpg","label":7}\n'),
                /line 1: class index 7 of t01\.jpg is outside the class map \(0\.\.2\)/,
            ));

        it("explains a count mismatch of JSON lines predictions", async () => {
            const dirs = fixture("jsonl");
            writeFileSync(join(dirs.predictions, "part-1.jsonl"), JSON.stringify({ prediction: [1, 0, 0] }) + "\n");
            const err = await runEvaluate({ ...dirs, output: tempDir("evaluate-err"), config }).catch((e) => e);
            expect(err).to.be.instanceOf(JobError);
            expect(err.message).to.match(/^7 predictions in part-0\.jsonl; part-1\.jsonl but 10 test images in labels\.jsonl; .*by order/);
        });
    });
});

describe("jobs/lib/metrics QualityAccumulator", () => {
    it("counts top-k with argmax's tie-breaking so top-1 equals accuracy", () => {
        const q = new QualityAccumulator(3, [1, 2]);
        for (const [, actual, p] of cases) q.add(actual, p);
        q.add(1, [0.5, 0.5, 0]); // tie: argmax picks cat, so dog is ranked 2nd
        const r = q.result();
        expect(r.topK).to.deep.equal({ "1": 7 / 11, "2": 10 / 11 });
        close(r.accuracy, 7 / 11);
    });

    it("reports a standard deviation over 80% samples only from 200 samples on", () => {
        const q = new QualityAccumulator(2);
        for (let i = 0; i < 199; i++) q.add(i % 2, i % 3 === 0 ? [0.4, 0.6] : [0.6, 0.4]);
        expect(q.standardDeviation((m) => m[0][0], 1)).to.equal(undefined);
        q.add(0, [0.9, 0.1]);
        const sd = q.standardDeviation((m) => (m[0][0] + m[1][1]) / (m[0][0] + m[0][1] + m[1][0] + m[1][1]), 1);
        expect(sd).to.be.a("number").and.to.be.greaterThan(0).and.lessThan(0.1);
        // An independent Python implementation of the same procedure (mulberry32 seed 1, Fisher-Yates of the running
        // index order, the first 160 each round, 5 rounds): accuracies .49375 .49375 .50625 .50625 .51875.
        expect(sd).to.be.closeTo(0.009354143466934856, 1e-15);
    });

    it("averages F1 over the classes that occur as actual or predicted, as scikit-learn's macro average does", () => {
        // Five classes: 0 and 1 occur; 2 is predicted once but never actual (F1 0, counted); 3 and 4 never occur (left out).
        // Class 0: precision 3/3, recall 3/5, F1 0.75; class 1: precision 2/3, recall 1, F1 0.8.
        const q = new QualityAccumulator(5);
        const add = (actual: number, predicted: number, times: number) => {
            for (let i = 0; i < times; i++)
                q.add(
                    actual,
                    [0, 1, 2, 3, 4].map((j) => (j === predicted ? 0.9 : 0.025)),
                );
        };
        add(0, 0, 3);
        add(0, 1, 1);
        add(0, 2, 1);
        add(1, 1, 2);
        const r = q.result();
        close(r.macroF1, (0.75 + 0.8 + 0) / 3);
        expect(r.predictedCounts).to.deep.equal([3, 3, 1, 0, 0]);
        expect(r.confidence.edges).to.deep.equal([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
        expect(r.confidence.counts).to.deep.equal([0, 0, 0, 0, 0, 0, 0, 0, 0, 7]);
    });
});

describe("evaluate job: what the monitor needs from the test set", () => {
    it("warns when the test set's own low-confidence rate is already above the monitor's alarm threshold", async () => {
        // 7 of the 10 test predictions are below confidence 0.8; an alarm at 20% would fire from the first hour.
        const output = tempDir("evaluate-lowconf");
        const warnings: string[] = [];
        const original = console.error;
        console.error = (...args: unknown[]) => void warnings.push(args.join(" "));
        let e;
        try {
            e = await runEvaluate({ ...fixture(), output, config: { ...config, drift: { ...config.drift, lowConfidenceRate: 0.2 } } });
        } finally {
            console.error = original;
        }
        expect(e.warnings?.join(" ")).to.contain("70.0% of the test set").and.to.contain("monitoring.drift.lowConfidenceRate 0.2");
        expect(warnings.join("\n")).to.contain("low-confidence");
        const quiet = await runEvaluate({
            ...fixture(),
            output: tempDir("evaluate-lowconf-ok"),
            config: { ...config, drift: { ...config.drift, lowConfidenceRate: 0.7 } },
        });
        expect(quiet.warnings ?? []).to.deep.equal([]);
    });

    it("puts a few test images of each class in the monitoring baseline as thumbnails for the report", async () => {
        const dirs = fixture();
        for (const [file] of cases) writeAt(join(dirs.test, ".."), `test/images/${file}`, await noiseImage(80, 60, "jpeg"));
        const output = tempDir("evaluate-examples");
        await runEvaluate({ ...dirs, output, config });
        const b = JSON.parse(readFileSync(join(output, "monitoring_baseline.json"), "utf8"));
        expect(Object.keys(b.examples).sort()).to.deep.equal([...classes].sort());
        expect(b.examples.cat).to.have.length(3);
        const thumb = Buffer.from(b.examples.cat[0], "base64");
        expect(thumb.subarray(0, 2).toString("hex"), "a JPEG").to.equal("ffd8");
        expect(thumb.length).to.be.below(4000);
    });
});
