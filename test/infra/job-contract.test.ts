import { expect } from "chai";
import {
    encodeMonitorThresholds,
    groundTruthPrefix,
    jobModelConfig,
    MonitorThresholds,
    monitoringNamespace,
} from "../../infra/job-contract";
import type { TrainingModelSettings } from "../../infra/pipeline/training-model";

const DRIFT = {
    classPsi: 0.2,
    chiSquarePValue: 0.01,
    confidencePsi: 0.25,
    imagePropertyPsi: 0.3,
    lowConfidenceRate: 0.4,
    decodeErrorRate: 0.05,
    accuracyDrop: 0.1,
    minRecords: 100,
};

/** The fields of a model's settings that reach the jobs' model.json; the rest does not matter to it. */
function settings(training: Record<string, unknown> = {}): TrainingModelSettings {
    return {
        classes: ["stop", "yield"],
        imageShape: [3, 224, 224],
        training: { split: { validation: 0.1, test: 0.2 }, seed: 7, algorithm: "builtin", ...training },
        quality: { minAccuracy: 0.9, maxRegression: 0.02 },
        inference: { confidenceThreshold: 0.8 },
        monitoring: { drift: { ...DRIFT } },
    } as unknown as TrainingModelSettings;
}

describe("infra/job-contract: the jobs' model.json", () => {
    it("carries exactly what preprocess, evaluate and monitor read, for the built-in algorithm (RecordIO, no minimum side)", () => {
        expect(jobModelConfig("signs", settings())).to.deep.equal({
            model: "signs",
            classes: ["stop", "yield"],
            imageShape: [3, 224, 224],
            split: { validation: 0.1, test: 0.2 },
            seed: 7,
            minAccuracy: 0.9,
            maxRegression: 0.02,
            confidenceThreshold: 0.8,
            drift: DRIFT,
        });
    });

    it("asks preprocess for image folders for a PyTorch model, and passes the minimum image side when set", () => {
        const c = jobModelConfig("signs", settings({ algorithm: "pytorch", minImageSide: 64 }));
        expect(c.trainingLayout).to.equal("image-folders");
        expect(c.minImageSide).to.equal(64);
        expect(Object.keys(c)).to.include.members(["trainingLayout", "minImageSide"]);
        expect(jobModelConfig("signs", settings({ minImageSide: 0 })).minImageSide, "0 is a value, not absent").to.equal(0);
    });

    it("copies the settings, so a job config never aliases the stack's", () => {
        const s = settings();
        const c = jobModelConfig("signs", s);
        expect(c.classes).to.not.equal(s.classes);
        expect(c.imageShape).to.not.equal(s.imageShape);
        expect(c.split).to.not.equal(s.training.split);
        expect(c.drift).to.not.equal(s.monitoring.drift);
    });
});

describe("infra/job-contract: monitoring", () => {
    const thresholds = (over: Partial<MonitorThresholds> = {}): MonitorThresholds => ({ ...DRIFT, confidenceThreshold: 0.8, ...over });

    it("encodes the thresholds as compact JSON in a fixed key order, each number to 6 significant digits", () => {
        expect(encodeMonitorThresholds(thresholds({ classPsi: 0.123456789, minRecords: 1234567 }))).to.equal(
            '{"classPsi":0.123457,"chiSquarePValue":0.01,"confidencePsi":0.25,"imagePropertyPsi":0.3,"lowConfidenceRate":0.4,' +
                '"decodeErrorRate":0.05,"accuracyDrop":0.1,"minRecords":1234570,"confidenceThreshold":0.8}',
        );
    });

    it("takes a value of exactly Model Monitor's 256 characters and refuses one of 257, naming it and the limit", () => {
        // 162 characters of keys and punctuation; seven values of 10 characters and two of 12 make 256.
        const at = thresholds({
            classPsi: 1.23457e-7,
            chiSquarePValue: 1.23457e-7,
            confidencePsi: 1.23457e-7,
            imagePropertyPsi: 1.23457e-7,
            lowConfidenceRate: 1.23457e-7,
            decodeErrorRate: 1.23457e-7,
            accuracyDrop: 1.23457e-7,
            minRecords: -1.23457e-10,
            confidenceThreshold: -1.23457e-10,
        });
        expect(encodeMonitorThresholds(at)).to.have.length(256);
        const over = { ...at, confidenceThreshold: -1.23457e-100 };
        expect(() => encodeMonitorThresholds(over)).to.throw(
            /^monitor_thresholds is 257 characters \(\{"classPsi":1\.23457e-7,.*\}\); Model Monitor allows 256: round the model's monitoring\.drift thresholds to fewer decimals$/,
        );
    });

    it("publishes the pipeline's metrics under the endpoint's own namespace, and Model Monitor's under its shared one", () => {
        expect(monitoringNamespace("pipeline", "vision-mlops-prod-signs")).to.equal("VisionMLOps/Monitoring/vision-mlops-prod-signs");
        expect(monitoringNamespace("model-monitor", "vision-mlops-prod-signs")).to.equal("/aws/sagemaker/Endpoint/data-metrics");
    });

    it("keeps a model's ground truth under its own prefix", () => {
        expect(groundTruthPrefix("signs")).to.equal("signs/ground-truth/");
    });
});
