import { expect } from "chai";
import { INFERENCE_ID, MAX_IMAGE_BYTES, routePath, wouldReview } from "../../infra/prediction-api";

describe("infra/prediction-api: the API's contract", () => {
    it("sends a prediction to review only below the threshold, and an empty answer always", () => {
        const ranked = (confidence: number) => [
            { label: "stop", index: 0, confidence },
            { label: "yield", index: 1, confidence: 1 - confidence },
        ];
        expect(wouldReview(ranked(0.79), 0.8)).to.equal(true);
        expect(wouldReview(ranked(0.8), 0.8), "at the threshold the prediction stands").to.equal(false);
        expect(wouldReview(ranked(0.95), 0.8)).to.equal(false);
        expect(wouldReview([], 0.8)).to.equal(true);
        expect(wouldReview([], 0), "0 confidence is not below a threshold of 0").to.equal(false);
    });

    it("builds each route's path, with the model name URL-encoded", () => {
        expect(routePath("models")).to.equal("/api/models");
        expect(routePath("models", "signs")).to.equal("/api/models");
        expect(routePath("predict", "signs")).to.equal("/api/models/signs/predictions");
        expect(routePath("correct", "signs")).to.equal("/api/models/signs/corrections");
        expect(routePath("predict", "a b/c")).to.equal("/api/models/a%20b%2Fc/predictions");
    });

    it("refuses a model route without a model name, naming the route", () => {
        expect(() => routePath("predict")).to.throw(/^route predict needs a model name$/);
        expect(() => routePath("correct", "")).to.throw(/^route correct needs a model name$/);
    });

    it("takes images up to 4 MiB and inference ids of SageMaker's 1-64 printable characters", () => {
        expect(MAX_IMAGE_BYTES).to.equal(4_194_304);
        expect(INFERENCE_ID.test("img-" + "a".repeat(60))).to.equal(true);
        expect(INFERENCE_ID.test("a".repeat(65))).to.equal(false);
        expect(INFERENCE_ID.test("")).to.equal(false);
        expect(INFERENCE_ID.test("fix-1 2")).to.equal(false);
        expect(INFERENCE_ID.test("a\nb")).to.equal(false);
    });
});
