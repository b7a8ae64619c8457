import { S3Client } from "@aws-sdk/client-s3";
import { SageMakerRuntime } from "@aws-sdk/client-sagemaker-runtime";
import { expect } from "chai";
import sharp from "sharp";
import { catalogFromS3 } from "../../jobs/prediction/catalog";
import { Correction, createPredictionApi, HttpApiResult } from "../../jobs/prediction/api";
import { reviewQueue } from "../../jobs/prediction/handler";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { EndpointRuntime } from "../../jobs/lib/classify";
import { MAX_IMAGE_BYTES, ORIGIN_HEADER } from "../../infra/prediction-api";
import { MotoServer, queueEndpointResults, resetMoto, startMoto, startRuntimeShim } from "../support/moto";
import { httpApiEvent, putCatalog, TEST_MODELS } from "../support/prediction";
import { FAULTS, RuntimeFault, startFaultServer } from "../support/sagemaker-faults";

const jpeg = (r = 200) =>
    sharp({ create: { width: 48, height: 64, channels: 3, background: { r, g: 30, b: 30 } } })
        .jpeg()
        .toBuffer();

function json(result: HttpApiResult): any {
    expect(result.headers["content-type"]).to.match(/^application\/json/);
    return JSON.parse(result.body);
}

describe("prediction API against SageMaker Runtime and S3 (moto)", function () {
    this.timeout(60_000);
    let moto: MotoServer;
    let shim: Awaited<ReturnType<typeof startRuntimeShim>>;
    let runtime: SageMakerRuntime;
    let s3: S3Client;
    const filed: Correction[] = [];
    const logs: Record<string, unknown>[] = [];
    let ids = 0;

    before(async () => {
        moto = await startMoto();
        shim = await startRuntimeShim(moto);
        runtime = new SageMakerRuntime({ ...moto.clientConfig, endpoint: shim.endpoint });
        s3 = new S3Client(moto.clientConfig);
    });
    after(async () => {
        await shim?.stop();
        await moto?.stop();
    });
    beforeEach(async () => {
        await resetMoto(moto);
        shim.seen.length = 0;
        ids = 0;
        filed.length = 0;
        logs.length = 0;
        await putCatalog(s3, "site", "catalog/models-1.json");
    });

    const api = (overrides: { runtime?: EndpointRuntime; originSecret?: string } = {}) =>
        createPredictionApi({
            runtime: overrides.runtime ?? runtime,
            catalog: catalogFromS3(s3, "site", "catalog/models-1.json"),
            corrections: { file: async (c) => void filed.push(c) },
            topK: 3,
            originSecret: overrides.originSecret,
            log: (entry) => logs.push(entry),
            newInferenceId: () => `inf-${++ids}`,
            now: () => new Date("2026-03-01T10:00:00Z"),
        });
    const call = (handler: ReturnType<typeof api>, method: string, path: string, body?: Buffer, headers: Record<string, string> = {}) =>
        handler(httpApiEvent(method, path, { body, headers, claims: { sub: "user-42", username: "ana" } })!);

    it("lists the served models with classes, input shape and package version, and no endpoint name or ARN", async () => {
        const body = json(await call(api(), "GET", "/api/models"));
        expect(body.environment).to.equal("staging");
        expect(body.limits).to.deep.equal({ maxImageBytes: 4 * 1024 * 1024 });
        expect(body.models[0]).to.deep.equal({
            name: "street-signs",
            description: "Street signs of the test set",
            task: "image-classification",
            classes: ["stop", "yield", "speed-limit-30", "no-entry", "roundabout"],
            imageShape: [3, 64, 48],
            confidenceThreshold: 0.8,
            package: { group: "vision-mlops-staging-street-signs", version: 7 },
        });
        expect(JSON.stringify(body)).to.not.contain("123456789012");
        expect(JSON.stringify(body)).to.not.contain("endpointName");
    });

    it("answers the top k classes by name with the package, the inference id, and whether it would go to review", async () => {
        await queueEndpointResults(moto, [
            { Body: JSON.stringify([0.02, 0.9, 0.05, 0.01, 0.02]) },
            { Body: JSON.stringify([0.3, 0.1, 0.4, 0.1, 0.1]) },
        ]);
        const handler = api();
        const image = await jpeg();
        const sure = await call(handler, "POST", "/api/models/street-signs/predictions", image, { "content-type": "image/jpeg" });
        expect(sure.statusCode).to.equal(200);
        expect(json(sure)).to.deep.equal({
            model: "street-signs",
            task: "image-classification",
            inferenceId: "inf-1",
            predictions: [
                { label: "yield", index: 1, confidence: 0.9 },
                { label: "speed-limit-30", index: 2, confidence: 0.05 },
                { label: "stop", index: 0, confidence: 0.02 },
            ],
            package: { group: "vision-mlops-staging-street-signs", version: 7 },
            review: { wouldReview: false, confidenceThreshold: 0.8 },
        });
        expect(shim.seen[0]).to.deep.include({
            endpointName: "vision-mlops-staging-street-signs",
            contentType: "image/jpeg",
            inferenceId: "inf-1",
        });
        expect(shim.seen[0].body.equals(image), "the endpoint gets the uploaded bytes").to.equal(true);

        const unsure = json(
            await call(handler, "POST", "/api/models/street-signs/predictions", await jpeg(90), { "content-type": "image/jpeg" }),
        );
        expect(unsure.predictions[0]).to.deep.equal({ label: "speed-limit-30", index: 2, confidence: 0.4 });
        expect(unsure.review).to.deep.equal({ wouldReview: true, confidenceThreshold: 0.8 });
        expect(logs.map((l) => [l.status, l.inferenceId])).to.deep.equal([
            [200, "inf-1"],
            [200, "inf-2"],
        ]);
    });

    it("refuses a body that is not an image, and an empty one, without calling the endpoint", async () => {
        const handler = api();
        const text = await call(handler, "POST", "/api/models/street-signs/predictions", Buffer.from("%PDF-1.7 not a picture"), {
            "content-type": "image/jpeg",
        });
        expect(text.statusCode).to.equal(415);
        expect(json(text).error).to.deep.equal({
            code: "not_an_image",
            message: "The file is not a JPEG, PNG or WebP image.",
            retryable: false,
        });
        const empty = await call(handler, "POST", "/api/models/street-signs/predictions", undefined, { "content-type": "image/jpeg" });
        expect([empty.statusCode, json(empty).error.code]).to.deep.equal([400, "empty_image"]);
        expect(shim.seen).to.have.length(0);
    });

    it("refuses an image over 4 MB with 413 before calling the endpoint, and takes one at the limit", async () => {
        await queueEndpointResults(moto, [{ Body: JSON.stringify([0.9, 0.025, 0.025, 0.025, 0.025]) }]);
        const image = await jpeg();
        const atLimit = Buffer.concat([image, Buffer.alloc(MAX_IMAGE_BYTES - image.length)]);
        const handler = api();
        const over = await call(handler, "POST", "/api/models/street-signs/predictions", Buffer.concat([atLimit, Buffer.from([0])]), {
            "content-type": "image/jpeg",
        });
        expect(over.statusCode).to.equal(413);
        expect(json(over).error.code).to.equal("image_too_large");
        expect(json(over).error.message).to.match(/4\.0 MB can be classified/);
        expect(shim.seen).to.have.length(0);
        const ok = await call(handler, "POST", "/api/models/street-signs/predictions", atLimit, { "content-type": "image/jpeg" });
        expect(ok.statusCode).to.equal(200);
        expect(shim.seen).to.have.length(1);
    });

    it("reports a model that answers something other than probabilities as 502 bad_model_response", async () => {
        await queueEndpointResults(moto, [{ Body: "<html>upstream timed out</html>" }]);
        const result = await call(api(), "POST", "/api/models/street-signs/predictions", await jpeg(), { "content-type": "image/jpeg" });
        expect(result.statusCode).to.equal(502);
        expect(json(result).error.code).to.equal("bad_model_response");
    });

    describe("endpoint errors (SageMaker's own error answers)", () => {
        const cases: Array<[string, RuntimeFault, number, string, boolean]> = [
            ["a deleted endpoint", FAULTS.endpointMissing("vision-mlops-staging-street-signs"), 503, "endpoint_not_found", false],
            ["an endpoint still starting", FAULTS.notReady, 503, "endpoint_unavailable", true],
            ["an unavailable service", FAULTS.unavailable, 503, "endpoint_unavailable", true],
        ];
        for (const [what, fault, status, code, retryable] of cases)
            it(`answers ${what} with ${status} ${code}`, async () => {
                const faults = await startFaultServer(fault);
                try {
                    const failing = new SageMakerRuntime({ ...moto.clientConfig, endpoint: faults.endpoint, maxAttempts: 1 });
                    const result = await call(api({ runtime: failing }), "POST", "/api/models/street-signs/predictions", await jpeg(), {
                        "content-type": "image/jpeg",
                    });
                    expect(result.statusCode).to.equal(status);
                    const error = json(result).error;
                    expect([error.code, error.retryable]).to.deep.equal([code, retryable]);
                    expect(error.message).to.contain("vision-mlops-staging-street-signs");
                    expect(error.message, "SageMaker's own text stays in the log").to.not.contain(fault.message);
                    expect(faults.calls()).to.equal(1);
                } finally {
                    await faults.stop();
                }
            });

        it("never shows an unexpected failure's text: a generic 500 names the request, the log keeps the detail", async () => {
            const broken: EndpointRuntime = { invokeEndpoint: () => Promise.reject(new Error("connect ECONNREFUSED 10.0.3.7:443")) };
            const result = await call(api({ runtime: broken }), "POST", "/api/models/street-signs/predictions", await jpeg(), {
                "content-type": "image/jpeg",
            });
            expect(result.statusCode).to.equal(500);
            expect(json(result).error).to.deep.equal({
                code: "internal_error",
                message: "The prediction API failed unexpectedly; the failure is logged as request req-1.",
                retryable: false,
            });
            expect(logs.at(-1)).to.include({ status: 500, code: "internal_error", detail: "Error: connect ECONNREFUSED 10.0.3.7:443" });
        });
    });

    it("answers 404 for a model the stack does not serve, naming the ones it does", async () => {
        const result = await call(api(), "POST", "/api/models/birds/predictions", await jpeg(), { "content-type": "image/jpeg" });
        expect(result.statusCode).to.equal(404);
        expect(json(result).error).to.deep.include({
            code: "unknown_model",
            message: 'No model named "birds" is served in this stack (served: street-signs, bikes).',
        });
    });

    it("answers only requests that carry CloudFront's origin header when it is configured", async () => {
        const handler = api({ originSecret: "s3cr3t-value" });
        const direct = await call(handler, "GET", "/api/models");
        expect([direct.statusCode, json(direct).error.code]).to.deep.equal([403, "forbidden"]);
        const wrong = await call(handler, "GET", "/api/models", undefined, { [ORIGIN_HEADER]: "s3cr3t-valuX" });
        expect(wrong.statusCode).to.equal(403);
        const viaCloudFront = await call(handler, "GET", "/api/models", undefined, { [ORIGIN_HEADER]: "s3cr3t-value" });
        expect(viaCloudFront.statusCode).to.equal(200);
    });

    describe("corrections", () => {
        const correct = async (body: unknown) =>
            call(api(), "POST", "/api/models/street-signs/corrections", Buffer.from(JSON.stringify(body)), {
                "content-type": "application/json",
            });

        it("files the image, the right class, the model's answer and who sent it, and answers 202", async () => {
            const image = await jpeg();
            const result = await correct({
                inferenceId: "inf-9",
                label: "no-entry",
                predictedLabel: "stop",
                predictions: [
                    { label: "stop", confidence: 0.55 },
                    { label: "no-entry", confidence: 0.3 },
                ],
                image: image.toString("base64"),
            });
            expect(result.statusCode).to.equal(202);
            expect(json(result)).to.deep.equal({ status: "queued", model: "street-signs", inferenceId: "inf-9", label: "no-entry" });
            expect(filed).to.have.length(1);
            const [c] = filed;
            expect(c.image.equals(image)).to.equal(true);
            expect({ ...c, image: undefined }).to.deep.equal({
                model: "street-signs",
                inferenceId: "inf-9",
                label: "no-entry",
                predictedLabel: "stop",
                predictions: [
                    { label: "stop", confidence: 0.55 },
                    { label: "no-entry", confidence: 0.3 },
                ],
                classes: TEST_MODELS[0].classes,
                image: undefined,
                contentType: "image/jpeg",
                package: TEST_MODELS[0].package,
                submittedBy: { sub: "user-42", username: "ana" },
                submittedAt: new Date("2026-03-01T10:00:00Z"),
            });
        });

        it("refuses a class the model does not have, a missing inference id, a non-image and non-JSON, filing nothing", async () => {
            const image = (await jpeg()).toString("base64");
            const refused = [
                await correct({ inferenceId: "inf-9", label: "giraffe", image }),
                await correct({ label: "stop", image }),
                await correct({ inferenceId: "inf-9", label: "stop", predictions: [{ label: "stop", confidence: 7 }], image }),
                await correct({ inferenceId: "inf-9", label: "stop", image: Buffer.from("GIF89a....").toString("base64") }),
                await call(api(), "POST", "/api/models/street-signs/corrections", Buffer.from("label=stop"), {
                    "content-type": "application/json",
                }),
            ];
            expect(refused.map((r) => [r.statusCode, json(r).error.code])).to.deep.equal([
                [400, "unknown_class"],
                [400, "invalid_correction"],
                [400, "invalid_correction"],
                [415, "not_an_image"],
                [400, "invalid_correction"],
            ]);
            expect(json(refused[0]).error.message).to.equal('"giraffe" is not a class of street-signs; pick one of its 5 classes.');
            expect(filed).to.have.length(0);
        });

        it("files through the review queue: the image, then the record naming the class, the model's answer, the package and who sent it", async () => {
            await s3.send(new CreateBucketCommand({ Bucket: "raw" }));
            const queued = createPredictionApi({
                runtime,
                catalog: catalogFromS3(s3, "site", "catalog/models-1.json"),
                corrections: reviewQueue(s3, "raw"),
                log: () => undefined,
                now: () => new Date("2026-03-01T10:00:00Z"),
            });
            const image = await jpeg();
            const body = {
                inferenceId: "inf-9",
                label: "no-entry",
                predictedLabel: "stop",
                predictions: [{ label: "stop", confidence: 0.55 }],
                image: image.toString("base64"),
            };
            const send = () =>
                call(queued, "POST", "/api/models/street-signs/corrections", Buffer.from(JSON.stringify(body)), {
                    "content-type": "application/json",
                });
            expect((await send()).statusCode).to.equal(202);
            expect((await send()).statusCode, "the same correction again changes nothing").to.equal(202);
            const keys = ((await s3.send(new ListObjectsV2Command({ Bucket: "raw" }))).Contents ?? []).map((o) => o.Key!).sort();
            expect(keys).to.have.length(2);
            expect(keys[0]).to.match(/^street-signs\/review\/corrections\/fix-[0-9a-f]{40}\.jpg$/);
            expect(keys[1]).to.equal(keys[0].replace(/\.jpg$/, ".json"));
            const stored = await s3.send(new GetObjectCommand({ Bucket: "raw", Key: keys[0] }));
            expect(Buffer.from(await stored.Body!.transformToByteArray()).equals(image)).to.equal(true);
            const record = JSON.parse(
                await (await s3.send(new GetObjectCommand({ Bucket: "raw", Key: keys[1] }))).Body!.transformToString(),
            );
            expect(record).to.deep.include({
                model: "street-signs",
                label: "no-entry",
                content_type: "image/jpeg",
                submitted_by: "ana",
                submitted_at: "2026-03-01T10:00:00.000Z",
                prediction: {
                    top: [{ label: "stop", confidence: 0.55 }],
                    inference_id: "inf-9",
                    model_package: TEST_MODELS[0].package.arn,
                },
            });
        });
    });
});
