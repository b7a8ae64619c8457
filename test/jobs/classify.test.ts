import { ModelError, ModelNotReadyException, SageMakerRuntime, ValidationError } from "@aws-sdk/client-sagemaker-runtime";
import { expect } from "chai";
import sharp from "sharp";
import {
    checkImage,
    ClassifyError,
    classifyImage,
    endpointError,
    EndpointRuntime,
    INVOKE_ENDPOINT_MAX_BYTES,
    sniffImageType,
} from "../../jobs/lib/classify";
import { classProbabilities, PredictionFormatError, topClass, topClasses } from "../../jobs/lib/class-probabilities";
import { MotoServer, queueEndpointResults, startMoto, startRuntimeShim } from "../support/moto";
import { failureOf } from "./support/failure";

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

describe("classify: checks and answers in process", () => {
    /** A runtime that records each call and answers with `body` (or fails with `error`). */
    function fakeRuntime(answer: { body?: string; error?: unknown; variant?: string }) {
        const seen: Record<string, unknown>[] = [];
        const runtime: EndpointRuntime = {
            invokeEndpoint: async (input) => {
                seen.push({ ...input });
                if (answer.error) throw answer.error;
                const Body = answer.body === undefined ? undefined : Buffer.from(answer.body);
                // Only the bytes are read; the SDK type also carries transformToString.
                return { Body, InvokedProductionVariant: answer.variant } as unknown as Awaited<
                    ReturnType<EndpointRuntime["invokeEndpoint"]>
                >;
            },
        };
        return { runtime, seen };
    }
    const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const RIFF_WEBP = Buffer.from("RIFF\0\0\0\0WEBP", "latin1");

    const failed = async (p: Promise<unknown>) => (await failureOf(p)) as ClassifyError & { cause?: unknown };

    it("knows a signature that is the whole body, and needs both halves of WebP's", () => {
        expect(sniffImageType(Buffer.from([0xff, 0xd8, 0xff]))).to.equal("image/jpeg");
        expect(sniffImageType(PNG)).to.equal("image/png");
        expect(sniffImageType(PNG.subarray(0, 7))).to.equal(undefined);
        expect(sniffImageType(RIFF_WEBP)).to.equal("image/webp");
        expect(sniffImageType(Buffer.from("RIFX\0\0\0\0WEBP", "latin1"))).to.equal(undefined);
        expect(sniffImageType(Buffer.from("RIFF\0\0\0\0WEBQ", "latin1"))).to.equal(undefined);
    });

    it("words each refusal for the person who sent the image, sizes in bytes, KB and MB", () => {
        const refusal = (f: () => unknown) => {
            try {
                f();
            } catch (e) {
                expect(e).to.be.instanceOf(ClassifyError);
                expect((e as Error).name).to.equal("ClassifyError");
                return (e as Error).message;
            }
            throw new Error("expected a refusal");
        };
        expect(refusal(() => checkImage(new Uint8Array(0)))).to.equal("the image is empty (0 bytes)");
        expect(refusal(() => checkImage(Buffer.from("%PDF")))).to.equal("the file is not a JPEG, PNG or WebP image");
        expect(refusal(() => checkImage(RIFF_WEBP))).to.equal("this model takes image/jpeg or image/png, not image/webp");
        const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(3000 - 3)]);
        expect(refusal(() => checkImage(jpeg, { maxBytes: 100 }))).to.equal(
            "the image is 3 KB; at most 100 bytes can be classified (resize it first)",
        );
        // 1024 bytes is 1 KB, 1024 KB is 1.0 MB: the units switch at exactly those sizes.
        expect(refusal(() => checkImage(jpeg, { maxBytes: 1024 }))).to.match(/at most 1 KB can/);
        expect(refusal(() => checkImage(jpeg, { maxBytes: 1023 }))).to.match(/at most 1023 bytes can/);
        const big = Buffer.concat([jpeg, Buffer.alloc(1024 * 1024)]);
        expect(refusal(() => checkImage(big, { maxBytes: 1024 * 1024 }))).to.equal(
            "the image is 1.0 MB; at most 1.0 MB can be classified (resize it first)",
        );
        expect(refusal(() => checkImage(big, { maxBytes: 1024 * 1024 - 1 }))).to.match(/at most 1024 KB can/);
    });

    it("invokes the endpoint with the image's bytes, its media type and JSON accepted, and the inference id only when given", async () => {
        const { runtime, seen } = fakeRuntime({ body: "[0.1, 0.2, 0.3, 0.4, 0.0, 0.0, 0.0]", variant: "blue" });
        const classes = ["a", "b", "c", "d", "e", "f", "g"];
        const r = await classifyImage(runtime, { endpointName: "signs", image: PNG, classes });
        expect(seen).to.deep.equal([{ EndpointName: "signs", Body: PNG, ContentType: "image/png", Accept: "application/json" }]);
        // Five classes unless asked otherwise.
        expect(r.top.map((c) => c.label)).to.deep.equal(["d", "c", "b", "a", "e"]);
        expect(r).to.deep.include({ contentType: "image/png", variant: "blue", inferenceId: undefined });
        const id = "x".repeat(64);
        await classifyImage(runtime, { endpointName: "signs", image: PNG, classes, inferenceId: id, topK: 1 });
        expect(seen[1]).to.deep.include({ InferenceId: id });
    });

    it("refuses an inference id SageMaker would refuse: empty, over 64 characters, or not printable ASCII anywhere", async () => {
        const { runtime, seen } = fakeRuntime({ body: "[0.5, 0.5]" });
        for (const id of ["", "x".repeat(65), "é-abc", "abc-é", "tab\there"]) {
            const e = await failed(classifyImage(runtime, { endpointName: "signs", image: PNG, classes: ["a", "b"], inferenceId: id }));
            expect(e.message, id).to.equal(`inference id ${JSON.stringify(id)} must be 1-64 printable ASCII characters`);
        }
        expect(seen).to.deep.equal([]);
    });

    it("says why an answer is not a prediction, keeping the parse failure as the cause", async () => {
        const classes = ["a", "b", "c"];
        const empty = await failed(classifyImage(fakeRuntime({}).runtime, { endpointName: "signs", image: PNG, classes }));
        expect(empty.code).to.equal("bad_model_response");
        expect(empty.message).to.equal("signs answered something that is not a prediction: the answer is not JSON");
        expect(empty.cause).to.be.instanceOf(SyntaxError);
        const short = await failed(
            classifyImage(fakeRuntime({ body: "[0.5, 0.5]" }).runtime, { endpointName: "signs", image: PNG, classes }),
        );
        expect(short.message).to.equal(
            "signs answered something that is not a prediction: the answer has 2 probabilities but the model has 3 classes; " +
                "was it trained with this class map?",
        );
        expect(short.cause).to.be.instanceOf(PredictionFormatError);
    });

    it("maps a failed call to the endpoint's error code", async () => {
        const throttled = Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });
        const e = await failed(
            classifyImage(fakeRuntime({ error: throttled }).runtime, { endpointName: "signs", image: PNG, classes: ["a", "b"] }),
        );
        expect([e.code, e.message, e.cause]).to.deep.equal([
            "endpoint_throttled",
            "signs is throttling requests; try again shortly",
            throttled,
        ]);
    });

    it("words each endpoint failure and keeps the SDK's error as the cause", () => {
        const named = (name: string, message = "x", extra: object = {}) => Object.assign(new Error(message), { name }, extra);
        const mapped = (e: unknown) => {
            const m = endpointError(e, "signs") as ClassifyError & { cause?: unknown };
            expect(m.cause, m.message).to.equal(e);
            return [m.code, m.message];
        };
        expect(mapped(named("ValidationError", "Endpoint signs of account 1 not found."))).to.deep.equal([
            "endpoint_not_found",
            "endpoint signs does not exist (is the model served in this stack?)",
        ]);
        for (const name of ["ModelNotReadyException", "ServiceUnavailable", "InternalFailure", "InternalDependencyException"])
            expect(mapped(named(name))).to.deep.equal([
                "endpoint_unavailable",
                `signs is not available right now (${name}); try again shortly`,
            ]);
        expect(mapped(named("Unknown", "x", { $metadata: { httpStatusCode: 503 } }))).to.deep.equal([
            "endpoint_unavailable",
            "signs is not available right now (Unknown); try again shortly",
        ]);
        expect(mapped(named("ModelError", "boom", { OriginalStatusCode: 400 }))).to.deep.equal([
            "model_error",
            "the model behind signs could not classify the image (it answered 400)",
        ]);
        expect(mapped(named("ModelError"))).to.deep.equal([
            "model_error",
            "the model behind signs could not classify the image (it answered an error)",
        ]);
    });

    it("passes a ValidationError through unless it says the endpoint was not found in its first 200 characters", () => {
        const invalid = Object.assign(new Error("1 validation error detected: Value at 'contentType' failed"), { name: "ValidationError" });
        expect(endpointError(invalid, "signs")).to.equal(invalid);
        const late = Object.assign(new Error(`${"x".repeat(200)} not found`), { name: "ValidationError" });
        expect(endpointError(late, "signs")).to.equal(late);
    });

    it("reads a response's top class, the first of equals", () => {
        expect(topClass([0.2, 0.5, 0.5, 0.1])).to.deep.equal({ index: 1, confidence: 0.5 });
        expect(topClass([0.1, 0.2, 0.7])).to.deep.equal({ index: 2, confidence: 0.7 });
        expect(topClass([0.9, 0.1])).to.deep.equal({ index: 0, confidence: 0.9 });
    });

    it("names the error it throws, and refuses null and non-list answers as a format error", () => {
        for (const value of [null, 5, "0.5,0.5", { prediction: "0.5" }]) {
            expect(() => classProbabilities(value, 2), JSON.stringify(value))
                .to.throw(PredictionFormatError, 'is not a list of class probabilities (expected [p0, p1, ...] or {"prediction": [...]})')
                .with.property("name", "PredictionFormatError");
        }
        expect(classProbabilities({ probabilities: [1, 0] }, 2)).to.deep.equal([1, 0]);
        expect(() => classProbabilities([0.5, Infinity], 2)).to.throw(PredictionFormatError, "holds values that are not finite numbers");
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
