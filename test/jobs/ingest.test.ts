import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { STSClient } from "@aws-sdk/client-sts";
import { expect } from "chai";
import { createHash } from "crypto";
import { execFileSync } from "child_process";
import { writeFileSync } from "fs";
import { join } from "path";
import { BATCH_METADATA_FILE } from "../../infra/job-contract";
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
    /** Keys of the PutObject calls S3 accepted, in the order it accepted them. */
    let puts: string[];
    /** Makes a request fail as if the network went away (a killed ingest sends nothing more). */
    let failWhen: ((command: object) => boolean) | undefined;
    /** Awaited before a request is sent, with the client (one per run) that sends it: lines concurrent runs up. */
    let beforeSend: ((command: object, client: object) => Promise<void>) | undefined;
    const recordingS3 = () => {
        const client = {
            send: async (command: Parameters<S3Client["send"]>[0]) => {
                await beforeSend?.(command, client);
                if (failWhen?.(command)) throw Object.assign(new Error("socket hang up (injected)"), { code: "ECONNRESET" });
                const result = await s3.send(command as never);
                if (command instanceof PutObjectCommand) puts.push(command.input.Key!);
                return result;
            },
        };
        return client;
    };
    /** Successful creations of a batch manifest: each one is an S3 "Object Created" event, a training run. */
    const manifestPuts = () => puts.filter((k) => /\/batches\/[^/]+\/_manifest\.json$/.test(k));
    let clock: Date;
    const deps = () => ({
        makeClients: () => ({
            s3: recordingS3() as unknown as S3Client,
            sts: new STSClient(moto.clientConfig),
            sagemaker: undefined as never,
        }),
        now: () => clock,
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
        failWhen = undefined;
        beforeSend = undefined;
        clock = new Date("2026-05-01T10:00:00Z");
        await resetMoto(moto);
        await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    });

    it("claims the batch, uploads hash-named images, completes batch.json, then the manifest of every image, then latest/", async () => {
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
                `${MODEL}/latest/dataset.json`,
            ].sort(),
        );
        const batch1 = JSON.parse(await getText(`${MODEL}/batches/b1/batch.json`));
        expect(batch1).to.deep.include({
            batch_id: "b1",
            status: "complete",
            new_images: 3,
            already_uploaded: 0,
            duplicates_in_batch: 1,
            total_images: 3,
        });
        expect(batch1.classes).to.deep.equal({ bicycle: 2, motorcycle: 1 });
        expect(batch1.skipped).to.deep.equal([
            { file: "motorcycle/readme.txt", reason: "not an image file name (.jpg .jpeg .png .webp .gif .tif .tiff)" },
        ]);
        expect(stderr).to.match(/uploading 3\/3 \(100%\)\n/);
        // The claim first, the images, the completed record, the manifest (the training trigger), then latest/.
        expect(puts[0]).to.equal(`${MODEL}/batches/b1/batch.json`);
        expect(puts.slice(1, 4).sort()).to.deep.equal(
            [`bicycle/${sha(bike1)}.jpg`, `bicycle/${sha(bike2)}.png`, `motorcycle/${sha(moto1)}.jpg`]
                .map((k) => `${MODEL}/batches/b1/${k}`)
                .sort(),
        );
        expect(puts.slice(4)).to.deep.equal([
            `${MODEL}/batches/b1/batch.json`,
            `${MODEL}/batches/b1/_manifest.json`,
            `${MODEL}/latest/dataset.json`,
        ]);
        expect(stdout).to.match(
            /^batch b1: 3 new images uploaded, 0 already uploaded, 1 duplicates in the folder; 3 images in the dataset\n/,
        );
        puts = [];

        const moto2 = await noiseImage(32, 32, "webp");
        writeAt(dir, "motorcycle/n.webp", moto2);
        await ingestCli(["--stack", "staging", "--model", MODEL, "--bucket", BUCKET, "--batch-id", "b2", dir], deps());
        expect(puts).to.deep.equal([
            `${MODEL}/batches/b2/batch.json`,
            `${MODEL}/batches/b2/motorcycle/${sha(moto2)}.webp`,
            `${MODEL}/batches/b2/batch.json`,
            `${MODEL}/batches/b2/_manifest.json`,
            `${MODEL}/latest/dataset.json`,
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
        const manifestText = await getText(`${MODEL}/batches/b2/_manifest.json`);
        expect(JSON.parse(await getText(`${MODEL}/latest/dataset.json`)), "scheduled retraining sees the newest dataset").to.deep.include({
            manifest_key: `${MODEL}/batches/b2/_manifest.json`,
            manifest_sha256: createHash("sha256").update(manifestText).digest("hex"),
            batches: ["b1", "b2"],
            images: 4,
        });
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

    it("writes nothing, so starts no training, when the folder adds nothing; --force trains on the dataset as it is", async () => {
        const dir = tempDir("ingest-nothing-new");
        writeAt(dir, "bicycle/a.jpg", await noiseImage(16, 16, "jpeg"));
        writeAt(dir, "motorcycle/b.jpg", await noiseImage(16, 16, "jpeg"));
        const cmd = (batchId: string) => ["--stack", "staging", "--model", MODEL, "--bucket", BUCKET, "--batch-id", batchId, dir];
        await ingestCli(cmd("b1"), deps());
        const before = await keys();
        puts = [];
        stdout = "";
        await ingestCli(cmd("b2"), deps()); // e.g. a CI job that ingests on every run
        expect(puts).to.deep.equal([], "no batch record, no manifest, no latest/");
        expect(await keys()).to.deep.equal(before);
        expect(stdout).to.equal(
            `nothing new under ${dir}: its 2 images are all in the dataset already; no batch written, no training started (--force starts one)\n`,
        );

        await ingestCli([...cmd("b3"), "--force"], deps());
        expect(manifestPuts()).to.deep.equal([`${MODEL}/batches/b3/_manifest.json`]);
        expect(JSON.parse(await getText(`${MODEL}/batches/b3/batch.json`))).to.deep.include({
            new_images: 0,
            already_uploaded: 2,
            total_images: 2,
        });
    });

    it("gives a batch id to one of two ingests started at once, which alone writes the manifest", async () => {
        const dir = tempDir("ingest-concurrent");
        for (let i = 0; i < 6; i++) writeAt(dir, `${i % 2 ? "bicycle" : "motorcycle"}/${i}.jpg`, await noiseImage(16, 16, "jpeg"));
        const cmd = ["--stack", "staging", "--model", MODEL, "--bucket", BUCKET, "--batch-id", "b1", dir];
        // No image is sent before both runs have read the batch record, so the two claims always meet, however the
        // machine schedules the runs (left to chance, the first could be done before the second starts).
        const readers = new Set<object>();
        let bothRead!: () => void;
        const met = new Promise<void>((resolve) => (bothRead = resolve));
        beforeSend = async (c, client) => {
            if (c instanceof GetObjectCommand && c.input.Key!.endsWith(`/${BATCH_METADATA_FILE}`)) {
                readers.add(client);
                if (readers.size === 2) bothRead();
            } else if (c instanceof PutObjectCommand && c.input.Key!.endsWith(".jpg")) await met;
        };
        const results = await Promise.allSettled([ingestCli(cmd, deps()), ingestCli(cmd, deps())]);
        expect(results.map((r) => r.status).sort()).to.deep.equal(["fulfilled", "rejected"]);
        const refused = (results.find((r) => r.status === "rejected") as PromiseRejectedResult).reason;
        expect(refused).to.be.instanceOf(CliError);
        expect(refused.message).to.match(
            /^batch b1 of model bikes-vs-motorcycles is being ingested by another run \(run [0-9a-f-]+, from .*, held until 2026-05-01T10:01:00\.000Z\); nothing uploaded by this one/,
        );
        expect(manifestPuts()).to.deep.equal([`${MODEL}/batches/b1/_manifest.json`], "one training run");
        expect(JSON.parse(await getText(`${MODEL}/batches/b1/_manifest.json`))).to.have.length(1 + 6);
    });

    it("resumes a killed ingest when the same command runs again, uploading only what is missing", async () => {
        const dir = tempDir("ingest-killed");
        const images = new Map<string, Buffer>();
        for (let i = 0; i < 8; i++) {
            const rel = `${i % 2 ? "bicycle" : "motorcycle"}/${i}.jpg`;
            images.set(rel, await noiseImage(16, 16, "jpeg"));
            writeAt(dir, rel, images.get(rel)!);
        }
        const cmd = ["--stack", "staging", "--model", MODEL, "--bucket", BUCKET, dir];
        // The network goes after three images, as when the process is killed: nothing it sends afterwards
        // arrives, so the batch stays held by this run until its lease runs out.
        let imagePuts = 0;
        let dead = false;
        failWhen = (c) => dead || (c instanceof PutObjectCommand && /\.jpg$/.test(c.input.Key!) && ++imagePuts > 3 && (dead = true));
        const err = await ingestCli(cmd, deps()).catch((e) => e);
        expect(err).to.be.instanceOf(CliError);
        expect(err.message).to.match(/^batch 20260501T100000Z is incomplete: 3 of 8 images uploaded, 5 failed \(first: .*socket hang up/);
        expect(err.message).to.include("run the same command again to resume it");
        expect(manifestPuts()).to.deep.equal([]);

        failWhen = undefined;
        puts = [];
        clock = new Date(clock.getTime() + 30_000);
        const early = await ingestCli(cmd, deps()).catch((e) => e);
        expect(early).to.be.instanceOf(CliError);
        expect(early.message).to.match(/is being ingested by another run .*held until 2026-05-01T10:01:00\.000Z/);
        expect(early.message).to.include("if that ingest was stopped, run this command again after 2026-05-01T10:01:00.000Z");

        clock = new Date(clock.getTime() + 5 * 60_000);
        await ingestCli(cmd, deps());
        expect(stdout).to.include("resumed batch 20260501T100000Z (3 of its images were uploaded by an earlier run)");
        const imageKeys = puts.filter((k) => k.endsWith(".jpg"));
        expect(imageKeys).to.have.length(5, "the three images already there are not sent again");
        expect(manifestPuts()).to.deep.equal([`${MODEL}/batches/20260501T100000Z/_manifest.json`]);
        const manifest = JSON.parse(await getText(`${MODEL}/batches/20260501T100000Z/_manifest.json`));
        expect(manifest.slice(1).sort()).to.deep.equal(
            [...images].map(([rel, b]) => `batches/20260501T100000Z/${rel.split("/")[0]}/${sha(b)}.jpg`).sort(),
        );
        expect(JSON.parse(await getText(`${MODEL}/batches/20260501T100000Z/batch.json`))).to.deep.include({
            status: "complete",
            new_images: 8,
        });
    });

    it("names every object with the hash of the very bytes it uploads, even when a file changes during the run", async () => {
        const dir = tempDir("ingest-changing");
        writeAt(dir, "bicycle/a.jpg", await noiseImage(16, 16, "jpeg"));
        writeAt(dir, "motorcycle/b.jpg", await noiseImage(16, 16, "jpeg"));
        const replacement = await noiseImage(16, 16, "jpeg");
        let rewritten = false;
        const d = deps();
        d.stderr.write = (t: string) => {
            stderr += t;
            // Another program rewrites a file once every file has been hashed.
            if (!rewritten && /hashing 2\/2/.test(t)) {
                writeAt(dir, "bicycle/a.jpg", replacement);
                rewritten = true;
            }
            return true;
        };
        await ingestCli(["--stack", "staging", "--model", MODEL, "--bucket", BUCKET, "--batch-id", "b1", dir], d);
        expect(rewritten).to.equal(true);
        for (const key of (await keys()).filter((k) => k.endsWith(".jpg"))) {
            const body = Buffer.from(
                await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray(),
            );
            expect(key, "the key names the content").to.include(sha(body));
        }
    });

    it("lists only complete batches in the dataset, and latest/ covers batches completed at the same time", async () => {
        const killed = tempDir("ingest-partial");
        writeAt(killed, "bicycle/k.jpg", await noiseImage(16, 16, "jpeg"));
        writeAt(killed, "bicycle/l.jpg", await noiseImage(16, 16, "jpeg"));
        let sent = 0;
        failWhen = (c) => c instanceof PutObjectCommand && /\.jpg$/.test(c.input.Key!) && ++sent > 1;
        await ingestCli(["--stack", "staging", "--model", MODEL, "--bucket", BUCKET, "--batch-id", "partial", killed], deps()).catch(
            () => undefined,
        );
        failWhen = undefined;

        const a = tempDir("ingest-a"),
            b = tempDir("ingest-b");
        writeAt(a, "bicycle/a.jpg", await noiseImage(16, 16, "jpeg"));
        writeAt(b, "motorcycle/b.jpg", await noiseImage(16, 16, "jpeg"));
        await Promise.all([
            ingestCli(["--stack", "staging", "--model", MODEL, "--bucket", BUCKET, "--batch-id", "a", a], deps()),
            ingestCli(["--stack", "staging", "--model", MODEL, "--bucket", BUCKET, "--batch-id", "b", b], deps()),
        ]);
        for (const id of ["a", "b"]) {
            const listed = JSON.parse(await getText(`${MODEL}/batches/${id}/_manifest.json`)).slice(1);
            expect(
                listed.filter((k: string) => k.startsWith("batches/partial/")),
                "an incomplete batch is in no manifest",
            ).to.deep.equal([]);
        }
        const latest = JSON.parse(await getText(`${MODEL}/latest/dataset.json`));
        expect(latest.batches).to.deep.equal(["a", "b"]);
        const listed = JSON.parse(await getText(latest.manifest_key)).slice(1);
        expect(listed.map((k: string) => k.split("/")[1]).sort()).to.deep.equal(["a", "b"]);
        expect(manifestPuts()).to.have.length(2, "one training run per batch; the merged dataset is not a batch");
    });

    it("reports a file whose path is too long for the file system and uploads the rest", async () => {
        const dir = tempDir("ingest-long");
        writeAt(dir, "bicycle/a.jpg", await noiseImage(16, 16, "jpeg"));
        // A folder just inside Linux's 4,096-byte PATH_MAX holding a file whose full path is past it.
        const level = "d".repeat(200);
        const deep = `${Array(19).fill(level).join("/")}/bicycle`;
        const name = `${"n".repeat(240)}.jpg`;
        const source = writeAt(tempDir("ingest-long-source"), "small.jpg", await noiseImage(16, 16, "jpeg"));
        execFileSync("bash", ["-c", `mkdir -p deep/${deep} && cd deep/${deep} && cp ${source} ${name}`], { cwd: dir });
        try {
            await ingestCli(["--stack", "staging", "--model", MODEL, "--bucket", BUCKET, "--batch-id", "b1", dir], deps());
            const batch = JSON.parse(await getText(`${MODEL}/batches/b1/batch.json`));
            expect(batch.new_images).to.equal(1);
            const long = batch.skipped.find((s: { file: string }) => s.file.endsWith(name));
            expect(long?.reason).to.match(
                /^path too long for the file system \(ENAMETOOLONG, \d+ characters\); move the images to a folder with a shorter path$/,
            );
        } finally {
            execFileSync("rm", ["-rf", join(dir, "deep")]);
        }
    });

    it("says when the raw bucket does not exist, uploading nothing", async () => {
        const dir = tempDir("ingest-nobucket");
        writeAt(dir, "bicycle/a.jpg", await noiseImage(16, 16, "jpeg"));
        const err = await ingestCli(["--stack", "staging", "--model", MODEL, "--bucket", "no-such-bucket", dir], deps()).catch((e) => e);
        expect(err).to.be.instanceOf(CliError);
        expect(err.message).to.equal(
            "raw bucket no-such-bucket does not exist; deploy the stack first (pulumi up), or pass --bucket with its name",
        );
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
