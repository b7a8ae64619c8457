import { ModelError, ModelNotReadyException, SageMakerRuntime, ValidationError } from "@aws-sdk/client-sagemaker-runtime";
import { expect } from "chai";
import sharp from "sharp";
import {
    checkImage,
    ClassifyError,
    classifyImage,
    endpointError,
    INVOKE_ENDPOINT_MAX_BYTES,
    sniffImageType,
} from "../../jobs/lib/classify";
import { classProbabilities, topClasses } from "../../jobs/lib/class-probabilities";
import { MotoServer, queueEndpointResults, startMoto, startRuntimeShim } from "../support/moto";

const solid = (format: "jpeg" | "png" | "webp") =>
    sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 200, g: 10, b: 10 } } })
        .toFormat(format)
        .toBuffer();

function codeOf(f: () => unknown): string | undefined {
    try {
        f();
    } catch (e) {
        if (e instanceof ClassifyError) return e.code;
        throw e;
    }
    return undefined;
}

describe("classify: what an image is", () => {
    it("knows JPEG, PNG and WebP by their bytes, whatever the file is called", async () => {
        expect(sniffImageType(await solid("jpeg"))).to.equal("image/jpeg");
        expect(sniffImageType(await solid("png"))).to.equal("image/png");
        expect(sniffImageType(await solid("webp"))).to.equal("image/webp");
        expect(sniffImageType(Buffer.from("GIF89a......"))).to.equal(undefined);
        expect(sniffImageType(Buffer.from("RIFF\0\0\0\0WAVEfmt "))).to.equal(undefined);
        expect(sniffImageType(Buffer.from([0xff, 0xd8]))).to.equal(undefined);
    });

    it("refuses empty, oversize, non-image and unaccepted bodies with a stable code before any call", async () => {
        expect(codeOf(() => checkImage(Buffer.alloc(0)))).to.equal("empty_image");
        expect(codeOf(() => checkImage(Buffer.from("hello, not an image")))).to.equal("not_an_image");
        const webp = await solid("webp");
        expect(codeOf(() => checkImage(webp))).to.equal("unsupported_image_type");
        expect(checkImage(webp, { accepted: ["image/webp"] })).to.equal("image/webp");
        const jpeg = await solid("jpeg");
        const big = Buffer.concat([jpeg, Buffer.alloc(INVOKE_ENDPOINT_MAX_BYTES)]);
        expect(codeOf(() => checkImage(big))).to.equal("image_too_large");
        expect(() => checkImage(big)).to.throw(/6\.0 MB can be classified/);
        expect(codeOf(() => checkImage(jpeg, { maxBytes: jpeg.length - 1 }))).to.equal("image_too_large");
        expect(checkImage(jpeg, { maxBytes: jpeg.length })).to.equal("image/jpeg");
    });
});

describe("classify: reading the model's answer", () => {
    it("takes the algorithm's list and its wrapped forms, and nothing else", () => {
        expect(classProbabilities([0.2, 0.8], 2)).to.deep.equal([0.2, 0.8]);
        expect(classProbabilities({ prediction: [0.2, 0.8] }, 2)).to.deep.equal([0.2, 0.8]);
        expect(classProbabilities({ predictions: [[0.2, 0.8]] }, 2)).to.deep.equal([0.2, 0.8]);
        expect(classProbabilities([[0.2, 0.8]], 2)).to.deep.equal([0.2, 0.8]);
        expect(() => classProbabilities([0.2, 0.3, 0.5], 2)).to.throw(/3 probabilities but the model has 2 classes/);
        expect(() => classProbabilities([0.2, "0.8"], 2)).to.throw(/not finite numbers/);
        expect(() => classProbabilities([0.2, null], 2)).to.throw(/not finite numbers/);
        expect(() => classProbabilities({ label: "cat" }, 2)).to.throw(/not a list of class probabilities/);
        expect(() =>
            classProbabilities(
                [
                    [0.1, 0.9],
                    [0.9, 0.1],
                ],
                2,
            ),
        ).to.throw(/not finite numbers/);
    });

    it("ranks classes by probability, keeping class-map order between equals", () => {
        expect(topClasses([0.1, 0.4, 0.1, 0.4], 3)).to.deep.equal([
            { index: 1, confidence: 0.4 },
            { index: 3, confidence: 0.4 },
            { index: 0, confidence: 0.1 },
        ]);
        expect(topClasses([0.3, 0.7], 5)).to.have.length(2);
        expect(topClasses([0.3, 0.7], 0)).to.deep.equal([]);
    });
});

describe("classify: SageMaker Runtime's failures", () => {
    const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });
    const cases: Array<[string, unknown, string, boolean]> = [
        ["throttling", Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }, meta(400)), "endpoint_throttled", true],
        ["a 429", Object.assign(new Error("Too many"), { name: "Unknown" }, meta(429)), "endpoint_throttled", true],
        [
            "a missing endpoint",
            new ValidationError({ message: "Endpoint signs of account 123456789012 not found.", $metadata: {} }),
            "endpoint_not_found",
            false,
        ],
        ["an endpoint still starting", new ModelNotReadyException({ message: "not ready", $metadata: {} }), "endpoint_unavailable", true],
        // SageMaker sends ModelNotReadyException with HTTP 429: the name, not the status, says what it is.
        [
            "an endpoint still starting, as SageMaker sends it (429)",
            new ModelNotReadyException({ message: "not ready", $metadata: { httpStatusCode: 429 } }),
            "endpoint_unavailable",
            true,
        ],
        ["the container's own error", new ModelError({ message: "boom", $metadata: {}, OriginalStatusCode: 400 }), "model_error", false],
    ];
    for (const [what, error, code, retryable] of cases)
        it(`maps ${what} to ${code}${retryable ? " (retryable)" : ""}`, () => {
            const mapped = endpointError(error, "signs") as ClassifyError;
            expect(mapped).to.be.instanceOf(ClassifyError);
            expect(mapped.code).to.equal(code);
            expect(mapped.retryable).to.equal(retryable);
            expect(mapped.message).to.contain("signs");
        });

    it("passes anything it does not recognise through unchanged", () => {
        const e = new Error("socket hang up");
        expect(endpointError(e, "signs")).to.equal(e);
    });
});

describe("classify: against SageMaker Runtime (moto)", function () {
    this.timeout(60_000);
    let moto: MotoServer;
    let shim: Awaited<ReturnType<typeof startRuntimeShim>>;
    let runtime: SageMakerRuntime;
    before(async () => {
        moto = await startMoto();
        shim = await startRuntimeShim(moto);
        runtime = new SageMakerRuntime({ ...moto.clientConfig, endpoint: shim.endpoint });
    });
    after(async () => {
        await shim?.stop();
        await moto?.stop();
    });

    it("sends the raw image with its real media type and names the ranked classes", async () => {
        await queueEndpointResults(moto, [{ Body: JSON.stringify([0.05, 0.7, 0.25]) }]);
        const image = await solid("png");
        const result = await classifyImage(runtime, {
            endpointName: "vision-mlops-staging-signs",
            image,
            classes: ["stop", "yield", "speed-30"],
            topK: 2,
            inferenceId: "sha256-abc",
        });
        expect(result).to.deep.equal({
            contentType: "image/png",
            top: [
                { index: 1, confidence: 0.7, label: "yield" },
                { index: 2, confidence: 0.25, label: "speed-30" },
            ],
            inferenceId: "sha256-abc",
            variant: "AllTraffic",
        });
        expect(shim.seen).to.have.length(1);
        expect(shim.seen[0]).to.deep.include({
            endpointName: "vision-mlops-staging-signs",
            contentType: "image/png",
            inferenceId: "sha256-abc",
        });
        expect(shim.seen[0].body.equals(image), "the endpoint gets the image's own bytes").to.equal(true);
    });

    it("reports an answer that is not the model's probabilities as bad_model_response", async () => {
        await queueEndpointResults(moto, [{ Body: "<html>gateway</html>" }, { Body: JSON.stringify([0.5, 0.5]) }]);
        const jpeg = await solid("jpeg");
        const call = (image: Buffer) => classifyImage(runtime, { endpointName: "e", image, classes: ["a", "b", "c"] });
        for (const image of [jpeg, Buffer.concat([jpeg, Buffer.from([0])])]) {
            const error = await call(image).then(
                () => undefined,
                (e) => e as ClassifyError,
            );
            expect(error?.code).to.equal("bad_model_response");
        }
    });

    it("never calls the endpoint for a body that is not an image", async () => {
        let calls = 0;
        const counting = { invokeEndpoint: () => (calls++, Promise.reject(new Error("called"))) };
        const error = await classifyImage(counting, { endpointName: "e", image: Buffer.from("%PDF-1.7"), classes: ["a", "b"] }).then(
            () => undefined,
            (e) => e as ClassifyError,
        );
        expect(error?.code).to.equal("not_an_image");
        expect(calls).to.equal(0);
    });
});
