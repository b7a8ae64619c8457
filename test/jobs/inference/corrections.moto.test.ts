import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { expect } from "chai";
import { createHash } from "crypto";
import { Correction, correctionKeys } from "../../../infra/review-contract";
import { correctionId, CorrectionError, fileCorrection } from "../../../jobs/inference/corrections";
import { ClassifyError } from "../../../jobs/lib/classify";
import { MotoServer, resetMoto, startMoto } from "../../support/moto";
import { noiseImage } from "../support/images";

const BUCKET = "vision-mlops-staging-raw-123456789012-us-east-1";
const CLASSES = ["bicycle", "motorcycle"];

describe("corrections: a person's class for an image, into the review queue (moto S3)", function () {
    this.timeout(60_000);
    let moto: MotoServer;
    let s3: S3Client;
    before(async () => {
        moto = await startMoto();
        s3 = new S3Client(moto.clientConfig);
    });
    after(async () => moto?.stop());
    beforeEach(async () => {
        await resetMoto(moto);
        await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    });

    const keys = async () => ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents ?? []).map((o) => o.Key!).sort();
    const text = async (key: string) => (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString();

    it("files the image and then its record under corrections/, named by the image and the class", async () => {
        const image = await noiseImage(16, 16, "png");
        const sha = createHash("sha256").update(image).digest("hex");
        const filed = await fileCorrection(s3, {
            bucket: BUCKET,
            model: "bikes",
            classes: CLASSES,
            image,
            label: "motorcycle",
            submittedBy: "ana@example.com",
            prediction: { top: [{ label: "bicycle", confidence: 0.7 }], inference_id: "inf-9" },
            now: () => new Date("2026-03-01T10:00:00Z"),
        });
        const id = correctionId(sha, "motorcycle");
        expect(id).to.match(/^fix-[0-9a-f]{40}$/);
        const expectedKeys = correctionKeys("bikes", id, "image/png");
        expect(filed).to.deep.include({ created: true, imageKey: expectedKeys.image, recordKey: expectedKeys.record });
        expect(await keys()).to.deep.equal([expectedKeys.image, expectedKeys.record].sort());
        const stored = (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: expectedKeys.image }))).Body!;
        expect(Buffer.from(await stored.transformToByteArray()).equals(image)).to.equal(true);
        const record = JSON.parse(await text(expectedKeys.record)) as Correction;
        expect(record).to.deep.equal({
            version: 1,
            id,
            model: "bikes",
            image_key: expectedKeys.image,
            content_type: "image/png",
            sha256: sha,
            label: "motorcycle",
            submitted_at: "2026-03-01T10:00:00.000Z",
            submitted_by: "ana@example.com",
            prediction: { top: [{ label: "bicycle", confidence: 0.7 }], inference_id: "inf-9" },
        });
    });

    it("changes nothing when the same correction comes again: the first record stands and starts the one review", async () => {
        const image = await noiseImage(16, 16, "jpeg");
        const first = await fileCorrection(s3, {
            bucket: BUCKET,
            model: "bikes",
            classes: CLASSES,
            image,
            label: "bicycle",
            now: () => new Date(1000),
        });
        const again = await fileCorrection(s3, {
            bucket: BUCKET,
            model: "bikes",
            classes: CLASSES,
            image,
            label: "bicycle",
            submittedBy: "someone-else",
            now: () => new Date(2000),
        });
        expect(again.created).to.equal(false);
        expect(again.correction).to.deep.equal(first.correction);
        expect(JSON.parse(await text(first.recordKey)).submitted_at).to.equal(new Date(1000).toISOString());
        // Another class for the same image is another correction (a reviewer settles it).
        const other = await fileCorrection(s3, { bucket: BUCKET, model: "bikes", classes: CLASSES, image, label: "motorcycle" });
        expect(other.created).to.equal(true);
        expect(other.correction.id).not.to.equal(first.correction.id);
    });

    it("refuses an unknown class or a body that is not an image before writing anything", async () => {
        const image = await noiseImage(16, 16, "jpeg");
        let error: unknown;
        try {
            await fileCorrection(s3, { bucket: BUCKET, model: "bikes", classes: CLASSES, image, label: "scooter" });
        } catch (e) {
            error = e;
        }
        expect(error).to.be.instanceOf(CorrectionError);
        expect((error as CorrectionError).code).to.equal("unknown_class");
        expect((error as Error).message).to.equal('"scooter" is not a class of model bikes; pick one of: bicycle, motorcycle');
        try {
            await fileCorrection(s3, { bucket: BUCKET, model: "bikes", classes: CLASSES, image: Buffer.from("<html>"), label: "bicycle" });
            expect.fail("accepted a body that is not an image");
        } catch (e) {
            expect(e).to.be.instanceOf(ClassifyError);
            expect((e as ClassifyError).code).to.equal("not_an_image");
        }
        expect(await keys()).to.deep.equal([]);
    });
});
