import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { STSClient } from "@aws-sdk/client-sts";
import { expect } from "chai";
import { createHash } from "crypto";
import { writeFileSync } from "fs";
import { join } from "path";
import { bucketName } from "../../infra/naming";
import { main as ingestCli } from "../../jobs/cli/ingest";
import { CliError } from "../../jobs/cli/common";
import { defaultBatchId } from "../../jobs/ingest";
import { Progress } from "../../jobs/ingest/progress";
import { MotoServer, resetMoto, startMoto } from "../support/moto";
import { noiseImage, tempDir, writeAt } from "./support/images";

const BUCKET = "raw-test";
const MODEL = "bikes-vs-motorcycles"; // classes bicycle, motorcycle in Pulumi.staging.yaml
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex").slice(0, 32);

describe("ingest CLI (moto)", function () {
    this.timeout(60_000);
    let moto: MotoServer;
    let s3: S3Client;
    let stderr: string;
    let stdout: string;
    /** Keys of PutObject calls in the order they were sent. */
    let puts: string[];
    const recordingS3 = () => ({
        send: (command: Parameters<S3Client["send"]>[0]) => {
            if (command instanceof PutObjectCommand) puts.push(command.input.Key!);
            return s3.send(command as never);
        },
    });
    const deps = () => ({
        s3: recordingS3() as unknown as S3Client,
        sts: new STSClient(moto.clientConfig),
        stderr: {
            write: (t: string) => {
                stderr += t;
            },
            isTTY: false,
        },
        stdout: {
            write: (t: string) => {
                stdout += t;
            },
        },
    });
    const keys = async (bucket = BUCKET) =>
        ((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key!).sort();
    const getText = async (key: string, bucket = BUCKET) =>
        (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();

    before(async () => {
        moto = await startMoto();
        s3 = new S3Client(moto.clientConfig);
    });
    after(async () => {
        await moto?.stop();
    });
    beforeEach(async () => {
        stderr = "";
        stdout = "";
        puts = [];
        await resetMoto(moto);
        await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    });

    it("uploads hash-named images, then batch.json, then a manifest of every image; a second batch uploads only new files", async () => {
        const dir = tempDir("ingest");
        const bike1 = await noiseImage(32, 32, "jpeg"),
            bike2 = await noiseImage(32, 32, "png"),
            moto1 = await noiseImage(32, 32, "jpeg");
        writeAt(dir, "bicycle/a.jpg", bike1);
        writeAt(dir, "bicycle/b.png", bike2);
        writeAt(dir, "bicycle/a-again.jpeg", bike1); // same content twice in one folder
        writeAt(dir, "motorcycle/m.JPG", moto1);
        writeAt(dir, "motorcycle/readme.txt", "not an image");
        await ingestCli(["--stack", "staging", "--model", MODEL, "--bucket", BUCKET, "--batch-id", "b1", dir], deps());
        expect(await keys()).to.deep.equal(
            [
                `${MODEL}/batches/b1/_manifest.json`,
                `${MODEL}/batches/b1/batch.json`,
                `${MODEL}/batches/b1/bicycle/${sha(bike1)}.jpg`,
                `${MODEL}/batches/b1/bicycle/${sha(bike2)}.png`,
                `${MODEL}/batches/b1/motorcycle/${sha(moto1)}.jpg`,
                `${MODEL}/latest/_manifest.json`,
            ].sort(),
        );
        const batch1 = JSON.parse(await getText(`${MODEL}/batches/b1/batch.json`));
        expect(batch1).to.deep.include({ batch_id: "b1", new_images: 3, already_uploaded: 0, duplicates_in_batch: 1, total_images: 3 });
        expect(batch1.classes).to.deep.equal({ bicycle: 2, motorcycle: 1 });
        expect(batch1.skipped).to.deep.equal([
            { file: "motorcycle/readme.txt", reason: "not an image file name (.jpg .jpeg .png .webp .gif .tif .tiff)" },
        ]);
        expect(stderr).to.match(/uploading 3\/3 \(100%\)\n/);
        expect(puts.slice(-3)).to.deep.equal([
            `${MODEL}/batches/b1/batch.json`,
            `${MODEL}/latest/_manifest.json`,
            `${MODEL}/batches/b1/_manifest.json`,
        ]);
        expect(stdout).to.match(
            /^batch b1: 3 new images uploaded, 0 already uploaded, 1 duplicates in the folder; 3 images in the dataset\n/,
        );
        puts = [];

        const moto2 = await noiseImage(32, 32, "webp");
        writeAt(dir, "motorcycle/n.webp", moto2);
        await ingestCli(["--stack", "staging", "--model", MODEL, "--bucket", BUCKET, "--batch-id", "b2", dir], deps());
        expect(puts).to.deep.equal([
            `${MODEL}/batches/b2/motorcycle/${sha(moto2)}.webp`,
            `${MODEL}/batches/b2/batch.json`,
            `${MODEL}/latest/_manifest.json`,
            `${MODEL}/batches/b2/_manifest.json`,
        ]);
        const b2 = (await keys()).filter((k) => k.includes("/b2/"));
        expect(b2).to.deep.equal([
            `${MODEL}/batches/b2/_manifest.json`,
            `${MODEL}/batches/b2/batch.json`,
            `${MODEL}/batches/b2/motorcycle/${sha(moto2)}.webp`,
        ]);
        const manifest = JSON.parse(await getText(`${MODEL}/batches/b2/_manifest.json`));
        expect(manifest).to.deep.equal([
            { prefix: `s3://${BUCKET}/${MODEL}/` },
            ...[
                `batches/b1/bicycle/${sha(bike1)}.jpg`,
                `batches/b1/bicycle/${sha(bike2)}.png`,
                `batches/b1/motorcycle/${sha(moto1)}.jpg`,
                `batches/b2/motorcycle/${sha(moto2)}.webp`,
            ].sort(),
        ]);
        expect(await getText(`${MODEL}/latest/_manifest.json`)).to.equal(
            await getText(`${MODEL}/batches/b2/_manifest.json`),
            "scheduled retraining sees the newest dataset",
        );
        expect(JSON.parse(await getText(`${MODEL}/batches/b2/batch.json`))).to.deep.include({
            new_images: 1,
            already_uploaded: 4,
            total_images: 4,
        });
    });

    it("says at upload time when one image is filed under two classes, and uploads both so training leaves it out", async () => {
        const dir = tempDir("ingest-conflict");
        const same = await noiseImage(16, 16, "jpeg"),
            other = await noiseImage(16, 16, "jpeg");
        writeAt(dir, "bicycle/a.jpg", same);
        writeAt(dir, "motorcycle/b.jpg", same);
        writeAt(dir, "bicycle/c.jpg", other);
        await ingestCli(["--stack", "staging", "--model", MODEL, "--bucket", BUCKET, "--batch-id", "b1", dir], deps());
        const batch = JSON.parse(await getText(`${MODEL}/batches/b1/batch.json`));
        expect(batch.label_conflicts).to.deep.equal([
            { file: "bicycle/a.jpg", class: "bicycle", other_classes: ["motorcycle"], sha256: sha(same) },
            { file: "motorcycle/b.jpg", class: "motorcycle", other_classes: ["bicycle"], sha256: sha(same) },
        ]);
        expect(stderr).to.include(
            "warning: 2 images have the same content as an image of another class (bicycle/a.jpg is also motorcycle; motorcycle/b.jpg is also bicycle); " +
                "preprocess leaves every copy out of training until the wrong one is removed from the raw bucket (see batch.json label_conflicts)",
        );
        const manifest = JSON.parse(await getText(`${MODEL}/batches/b1/_manifest.json`));
        expect(manifest.slice(1)).to.include.members([`batches/b1/bicycle/${sha(same)}.jpg`, `batches/b1/motorcycle/${sha(same)}.jpg`]);

        // A later batch that files an uploaded image under another class is a conflict too, and is uploaded.
        const dir2 = tempDir("ingest-conflict-2");
        writeAt(dir2, "motorcycle/c-again.jpg", other);
        await ingestCli(["--stack", "staging", "--model", MODEL, "--bucket", BUCKET, "--batch-id", "b2", dir2], deps());
        const batch2 = JSON.parse(await getText(`${MODEL}/batches/b2/batch.json`));
        expect(batch2.label_conflicts).to.deep.equal([
            { file: "motorcycle/c-again.jpg", class: "motorcycle", other_classes: ["bicycle"], sha256: sha(other) },
        ]);
        expect(JSON.parse(await getText(`${MODEL}/batches/b2/_manifest.json`))).to.include(`batches/b2/motorcycle/${sha(other)}.jpg`);
    });

    it("finds the raw bucket from the stack and the caller's account when no --bucket is given", async () => {
        const raw = bucketName("staging", "raw", "123456789012", "us-east-1"); // moto's account
        await s3.send(new CreateBucketCommand({ Bucket: raw }));
        const dir = tempDir("ingest-stack");
        writeAt(dir, "bicycle/a.jpg", await noiseImage(16, 16, "jpeg"));
        await ingestCli(["--stack", "staging", "--model", MODEL, "--batch-id", "b1", dir], deps());
        expect(await keys(raw)).to.include(`${MODEL}/batches/b1/_manifest.json`);
    });

    it("takes classes from a Label Studio export", async () => {
        const dir = tempDir("ingest-ls");
        const a = await noiseImage(16, 16, "jpeg"),
            b = await noiseImage(16, 16, "jpeg");
        writeAt(dir, "all/a.jpg", a);
        writeAt(dir, "all/b.jpg", b);
        const labels = join(dir, "export.json");
        writeFileSync(
            labels,
            JSON.stringify([
                {
                    id: 1,
                    data: { image: "s3://label-bucket/all/a.jpg" },
                    annotations: [{ result: [{ value: { choices: ["motorcycle"] } }] }],
                },
                {
                    id: 2,
                    data: { image: "/data/local-files/?d=all/b.jpg" },
                    annotations: [{ result: [{ value: { choices: ["bicycle"] } }] }],
                },
            ]),
        );
        await ingestCli(["--stack", "staging", "--model", MODEL, "--bucket", BUCKET, "--batch-id", "ls", "--labels", labels, dir], deps());
        expect((await keys()).filter((k) => !k.endsWith(".json"))).to.deep.equal([
            `${MODEL}/batches/ls/bicycle/${sha(b)}.jpg`,
            `${MODEL}/batches/ls/motorcycle/${sha(a)}.jpg`,
        ]);
    });

    it("uploads nothing when a folder is not one of the model's classes", async () => {
        const dir = tempDir("ingest-unknown");
        writeAt(dir, "bicycle/a.jpg", await noiseImage(16, 16, "jpeg"));
        writeAt(dir, "scooter/s.jpg", await noiseImage(16, 16, "jpeg"));
        const err = await ingestCli(["--stack", "staging", "--model", MODEL, "--bucket", BUCKET, dir], deps()).catch((e) => e);
        expect(err).to.be.instanceOf(CliError);
        expect(err.message).to.equal(
            `nothing uploaded: "scooter" (1 files, e.g. scooter/s.jpg) is not a class of model ${MODEL}; its classes are: bicycle, motorcycle`,
        );
        expect(await keys()).to.deep.equal([]);
    });

    it("refuses a batch id that is already used", async () => {
        const dir = tempDir("ingest-again");
        writeAt(dir, "bicycle/a.jpg", await noiseImage(16, 16, "jpeg"));
        await ingestCli(["--stack", "staging", "--model", MODEL, "--bucket", BUCKET, "--batch-id", "same", dir], deps());
        const err = await ingestCli(["--stack", "staging", "--model", MODEL, "--bucket", BUCKET, "--batch-id", "same", dir], deps()).catch(
            (e) => e,
        );
        expect(err).to.be.instanceOf(CliError);
        expect(err.message).to.match(/batch same of model bikes-vs-motorcycles already exists .*; choose another --batch-id/);
    });

    it("names the stack's models when the model is unknown", async () => {
        const err = await ingestCli(["--stack", "staging", "--model", "cats", "--bucket", BUCKET, tempDir("x")], deps()).catch((e) => e);
        expect(err).to.be.instanceOf(CliError);
        expect(err.message).to.match(/stack staging has no model "cats"; it has: .*bikes-vs-motorcycles/);
    });
});

describe("ingest helpers", () => {
    it("makes the default batch id from the UTC time as yyyymmddThhmmssZ", () => {
        expect(defaultBatchId(new Date("2026-03-04T05:06:07.890Z"))).to.equal("20260304T050607Z");
    });

    it("prints a progress line every N files to a log and redraws one line on a terminal", () => {
        let log = "";
        const p = new Progress(
            {
                write: (t: string) => {
                    log += t;
                },
            },
            2,
        );
        for (let i = 1; i <= 5; i++) p.update("uploading", i, 5);
        expect(log).to.equal("uploading 2/5 (40%)\nuploading 4/5 (80%)\nuploading 5/5 (100%)\n");
        let tty = "";
        const t = new Progress({
            write: (s: string) => {
                tty += s;
            },
            isTTY: true,
        });
        t.update("hashing", 1, 2);
        t.update("hashing", 2, 2);
        expect(tty).to.equal("\rhashing 1/2 (50%)\x1b[K\rhashing 2/2 (100%)\x1b[K\n");
    });
});
