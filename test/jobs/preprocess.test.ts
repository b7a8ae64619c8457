import { expect } from "chai";
import { createHash } from "crypto";
import { existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "fs";
import { join } from "path";
import sharp from "sharp";
import { JobModelConfig } from "../../infra/job-contract";
import { JobError } from "../../jobs/lib/errors";
import { droppedSummary, PreprocessOutputs, runPreprocess } from "../../jobs/preprocess";
import { DEFAULT_LAYOUTS, SplitLayout } from "../../jobs/preprocess/outputs";
import { planTrainingImage } from "../../jobs/preprocess/training-image";
import { noiseImage, tempDir, writeAt } from "./support/images";
import { referenceTrainingJpeg } from "./support/reference-training-image";
import { readImageRecords, readIndex, readList } from "./support/mxnet-recordio";

const config: JobModelConfig = {
    model: "pets",
    classes: ["cat", "dog", "bird"],
    imageShape: [3, 64, 64],
    split: { validation: 0.2, test: 0.2 },
    seed: 42,
    minAccuracy: 0.5,
    maxRegression: 0.01,
    confidenceThreshold: 0.8,
    drift: {} as JobModelConfig["drift"],
};

const outputsIn = (root: string): PreprocessOutputs => ({
    train: join(root, "train"),
    validation: join(root, "validation"),
    test: join(root, "test"),
    metadata: join(root, "metadata"),
});
const readJson = (path: string) => JSON.parse(readFileSync(path, "utf8"));
/** Every file under a folder, hidden ones included (empty folders do not count). */
const filesUnder = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? filesUnder(join(dir, e.name)).map((f) => `${e.name}/${f}`) : [e.name],
    );

/**
 * cat: 10 JPEGs whose width is the image shape's (pass through), a byte-identical copy, an empty and a truncated file;
 * dog: 10 PNGs of the image shape (re-encoded to JPEG) and a text file; bird: 10 JPEGs larger than 64x64 (resized) and a fake PNG;
 * plus ingest's batch.json/_manifest.json and an image outside any class folder.
 */
async function corpus(): Promise<{ input: string; sources: Map<string, Buffer> }> {
    const input = tempDir("preprocess-in");
    const sources = new Map<string, Buffer>();
    const add = (rel: string, data: Buffer) => {
        writeAt(input, rel, data);
        sources.set(rel, data);
    };
    for (let i = 0; i < 10; i++) {
        add(`cat/${String(i).padStart(2, "0")}.jpg`, await noiseImage(64, 80, "jpeg", 60));
        add(`dog/${String(i).padStart(2, "0")}.png`, await noiseImage(64, 64, "png", 128));
        add(`bird/${String(i).padStart(2, "0")}.jpg`, await noiseImage(120, 90, "jpeg", 200));
    }
    writeAt(input, "cat/copy.jpg", sources.get("cat/00.jpg")!);
    writeAt(input, "cat/empty.jpg", Buffer.alloc(0));
    const whole = sources.get("cat/01.jpg")!;
    writeAt(input, "cat/truncated.jpg", whole.subarray(0, Math.floor(whole.length * 0.6)));
    writeAt(input, "dog/notes.txt", "not an image");
    writeAt(input, "bird/fake.png", Buffer.from("\x89PNG\r\n\x1a\n this is not really a png"));
    writeAt(input, "batch.json", "{}");
    writeAt(input, "_manifest.json", "[]");
    writeAt(input, "stray.jpg", await noiseImage(20, 20, "jpeg"));
    return { input, sources };
}

describe("preprocess job (real images)", function () {
    this.timeout(30_000);
    let input: string;
    let sources: Map<string, Buffer>;
    let out: string;
    let report: Awaited<ReturnType<typeof runPreprocess>>;

    before(async () => {
        ({ input, sources } = await corpus());
        out = tempDir("preprocess-out");
        report = await runPreprocess({ input, outputs: outputsIn(out), config, concurrency: 4 });
    });

    it("drops corrupt, empty, truncated and non-image files with the reason, and files outside class folders", () => {
        const reasons = Object.fromEntries(report.dropped.files.map((d) => [d.file, d.reason]));
        expect(Object.keys(reasons).sort()).to.deep.equal([
            "bird/fake.png",
            "cat/empty.jpg",
            "cat/truncated.jpg",
            "dog/notes.txt",
            "stray.jpg",
        ]);
        expect(reasons["cat/empty.jpg"]).to.match(/empty file \(0 bytes\)/);
        expect(reasons["cat/truncated.jpg"]).to.match(/corrupt or truncated/);
        expect(reasons["dog/notes.txt"]).to.match(/not a decodable image/);
        expect(reasons["stray.jpg"]).to.match(/not inside a class folder/);
        expect(report.files_seen).to.equal(36); // batch.json and _manifest.json are not counted
        expect(readJson(join(out, "metadata", "report.json"))).to.deep.equal(report);
        expect(droppedSummary(report)).to.equal(
            " (2 not a decodable image, 1 not inside a class folder, 1 empty file, 1 corrupt or truncated)",
        );
    });

    it("keeps exact duplicates once and reports them", () => {
        expect(report.duplicates.files).to.deep.equal([{ file: "cat/copy.jpg", duplicate_of: "cat/00.jpg" }]);
        expect(report.kept).to.equal(30);
        expect(report.treatment).to.deep.equal({ "as-is": 10, resized: 10, upscaled: 0, "re-encoded": 10 });
    });

    it("splits every class 6/2/2 and says so in dataset.json, the property file the training step reads", () => {
        expect(report.splits).to.deep.equal({
            cat: { train: 6, validation: 2, test: 2 },
            dog: { train: 6, validation: 2, test: 2 },
            bird: { train: 6, validation: 2, test: 2 },
        });
        expect(readJson(join(out, "metadata", "dataset.json"))).to.deep.include({
            num_training_samples: 18,
            num_validation_samples: 6,
            num_test_samples: 6,
            num_classes: 3,
            image_shape: "3,64,64",
        });
        expect(readJson(join(out, "metadata", "class_map.json"))).to.deep.equal({ classes: ["cat", "dog", "bird"] });
    });

    it("writes RecordIO that an independent reader accepts, with JPEG bytes untouched unless resized or re-encoded", async () => {
        for (const split of ["train", "validation"]) {
            const records = readImageRecords(join(out, split, `${split}.rec`));
            const list = readList(join(out, split, `${split}.lst`));
            expect(records).to.have.length(split === "train" ? 18 : 6);
            expect(readIndex(join(out, split, `${split}.idx`))).to.deep.equal(records.map((r, i) => ({ id: i, offset: r.offset })));
            for (const [i, r] of records.entries()) {
                expect(r.flag).to.equal(0);
                expect(Number(r.id)).to.equal(i);
                const entry = list[i];
                expect(entry.id).to.equal(i);
                expect(r.label).to.equal(entry.label);
                const cls = entry.path.split("/")[0];
                expect(r.label).to.equal(config.classes.indexOf(cls));
                const source = sources.get(entry.path)!;
                const meta = await sharp(r.image).metadata();
                expect(meta.format).to.equal("jpeg");
                if (cls === "cat") expect(r.image.equals(source)).to.equal(true, `${entry.path} should pass through byte for byte`);
                if (cls === "dog") expect([meta.width, meta.height]).to.deep.equal([64, 64]);
                // 120x90 shrunk so the shorter side is 64, keeping the aspect ratio
                if (cls === "bird") expect([meta.width, meta.height]).to.deep.equal([85, 64]);
                // Encoded from the decode that measured it: the same bytes a second decode of the file gave.
                const original = await sharp(source).metadata();
                const plan = planTrainingImage(original.format!, original.width!, original.height!, config.imageShape);
                expect(r.image.equals(await referenceTrainingJpeg(source, plan)), entry.path).to.equal(true);
            }
        }
    });

    it("writes test images for batch transform and labels.jsonl beside (not inside) their folder", async () => {
        const labels = readFileSync(join(out, "test", "labels.jsonl"), "utf8")
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l));
        expect(labels).to.have.length(6);
        expect(readdirSync(join(out, "test", "images")).sort()).to.deep.equal(labels.map((l) => l.file).sort());
        for (const l of labels) {
            expect(l.class).to.equal(config.classes[l.label]);
            expect(l.source.startsWith(`${l.class}/`)).to.equal(true);
            const image = readFileSync(join(out, "test", "images", l.file));
            if (l.class === "cat") expect(image.equals(sources.get(l.source)!)).to.equal(true);
            else expect((await sharp(image).metadata()).format).to.equal("jpeg");
        }
        expect(readdirSync(join(out, "test")).sort()).to.deep.equal(["images", "labels.jsonl"]);
    });

    it("writes the dataset baseline from the kept images only", () => {
        const baseline = readJson(join(out, "metadata", "baseline.json"));
        // The measurement's version and the shape it measured for: what the monitor checks before comparing.
        expect(baseline).to.deep.include({ version: 2, imageShape: config.imageShape });
        expect(baseline.imageCount).to.equal(30);
        expect(baseline.classCounts).to.deep.equal({ cat: 10, dog: 10, bird: 10 });
        expect(baseline.contentTypes).to.deep.equal({ "image/jpeg": 20, "image/png": 10 });
        expect(baseline.properties.width.count).to.equal(30);
        expect(baseline.properties.width.min).to.equal(64);
        expect(baseline.properties.width.max).to.equal(120);
        // mean brightness of the noise images: cats were drawn around 60, birds around 200
        expect(baseline.properties.brightness.min).to.be.within(40, 80);
        expect(baseline.properties.brightness.max).to.be.within(180, 220);
    });

    it("leaves no temporary files behind", () => {
        expect(filesUnder(out).filter((f) => f.split("/").some((part) => part.startsWith(".")))).to.deep.equal([]);
    });

    it("gives the same output for the same input and seed", async () => {
        const again = tempDir("preprocess-again");
        await runPreprocess({ input, outputs: outputsIn(again), config, concurrency: 2 });
        for (const f of ["train/train.rec", "train/train.idx", "validation/validation.lst", "test/labels.jsonl"])
            expect(readFileSync(join(again, f)).equals(readFileSync(join(out, f)))).to.equal(true, f);
    });

    it("fails at once, naming the folder, when an output folder is not writable", async () => {
        const locked = tempDir("preprocess-locked");
        // a file where a folder should be: the one failure that holds whatever user the tests run as
        writeFileSync(join(locked, "blocked"), "");
        const outputs = { ...outputsIn(locked), metadata: join(locked, "blocked", "metadata") };
        const err = await runPreprocess({ input, outputs, config }).catch((e) => e);
        expect(err).to.be.instanceOf(JobError);
        expect(err.message).to.match(/^cannot write to output folder .*\/blocked\/metadata \(running as uid \d+\): ENOTDIR/);
    });

    it("refuses to overwrite earlier output", async () => {
        const err = await runPreprocess({ input, outputs: outputsIn(out), config }).catch((e) => e);
        expect(err).to.be.instanceOf(JobError);
        expect(err.message).to.match(/would overwrite existing output: .*train\.rec/);
    });

    it("writes the training splits through another layout when given one, with the same images and labels as RecordIO", async () => {
        const written: Record<string, Array<{ file: string; classIndex: number; jpeg: Buffer }>> = {};
        const layout: SplitLayout = {
            files: (folder, split) => [join(folder, `${split}.folders`)],
            open: async (_folder, split) => {
                const images: Array<{ file: string; classIndex: number; jpeg: Buffer }> = [];
                return {
                    write: async (image, jpeg) => void images.push({ file: image.file, classIndex: image.classIndex, jpeg }),
                    commit: async () => void (written[split] = images),
                    abort: async () => undefined,
                };
            },
        };
        const other = tempDir("preprocess-layout");
        await runPreprocess({ input, outputs: outputsIn(other), config, layouts: { ...DEFAULT_LAYOUTS, training: layout } });
        expect(Object.keys(written).sort()).to.deep.equal(["train", "validation"]);
        for (const split of ["train", "validation"] as const) {
            const records = readImageRecords(join(out, split, `${split}.rec`));
            expect(written[split].map((w) => w.jpeg)).to.deep.equal(records.map((r) => r.image));
            expect(written[split].map((w) => w.classIndex)).to.deep.equal(records.map((r) => r.label));
            expect(existsSync(join(other, split, `${split}.rec`))).to.equal(false);
        }
        expect(readFileSync(join(other, "test", "labels.jsonl"), "utf8")).to.equal(readFileSync(join(out, "test", "labels.jsonl"), "utf8"));
        const taken = tempDir("preprocess-layout-taken");
        writeAt(taken, "train/train.folders", "earlier run");
        const refused = await runPreprocess({
            input,
            outputs: outputsIn(taken),
            config,
            layouts: { ...DEFAULT_LAYOUTS, training: layout },
        }).catch((e) => e);
        expect(refused.message).to.match(/would overwrite existing output: .*train\.folders/);
    });

    it("stops before any work on a label that is not a class, naming label and file", async () => {
        const bad = tempDir("preprocess-unknown");
        writeAt(bad, "cat/a.jpg", await noiseImage(10, 10, "jpeg"));
        writeAt(bad, "horse/h1.jpg", await noiseImage(10, 10, "jpeg"));
        const outBad = tempDir("preprocess-unknown-out");
        const err = await runPreprocess({ input: bad, outputs: outputsIn(outBad), config }).catch((e) => e);
        expect(err).to.be.instanceOf(JobError);
        expect(err.message).to.equal(
            'labels that are not classes of model pets: "horse" (1 file, e.g. horse/h1.jpg); ' +
                "its classes are: cat, dog, bird. Fix the folder names or labels, or add the classes to the model's config",
        );
        expect(filesUnder(outBad)).to.deep.equal([]);
    });

    it("fails clearly when a class has too few usable images, writing nothing", async () => {
        const small = tempDir("preprocess-small");
        for (const cls of ["cat", "dog"]) for (let i = 0; i < 4; i++) writeAt(small, `${cls}/${i}.jpg`, await noiseImage(16, 16, "jpeg"));
        writeAt(small, "bird/0.jpg", await noiseImage(16, 16, "jpeg"));
        writeAt(small, "bird/1.jpg", Buffer.alloc(0));
        const outSmall = tempDir("preprocess-small-out");
        const err = await runPreprocess({ input: small, outputs: outputsIn(outSmall), config }).catch((e) => e);
        expect(err).to.be.instanceOf(JobError);
        expect(err.message).to.match(/classes too small to split \(each needs at least 3 usable images.*\): bird has 1;/);
        expect(filesUnder(outSmall)).to.deep.equal([]);
    });

    it("takes labels from a Label Studio export instead of folders", async () => {
        const flat = tempDir("preprocess-ls");
        const tasks = [];
        for (const [i, cls] of ["cat", "dog", "bird"].flatMap((c) => [c, c, c, c, c]).entries()) {
            writeAt(flat, `images/img${i}.jpg`, await noiseImage(16, 16, "jpeg"));
            tasks.push({
                id: i,
                data: { image: `/data/upload/7/0a1b2c3d-img${i}.jpg` },
                annotations: [{ result: [{ value: { choices: [cls] } }] }],
            });
        }
        writeAt(flat, "images/unlabelled.jpg", await noiseImage(16, 16, "jpeg"));
        tasks.push({
            id: 99,
            data: { image: "/data/upload/7/0a1b2c3d-gone.jpg" },
            annotations: [{ result: [{ value: { choices: ["cat"] } }] }],
        });
        const labels = join(flat, "export.json");
        writeFileSync(labels, JSON.stringify(tasks));
        const outLs = tempDir("preprocess-ls-out");
        const r = await runPreprocess({ input: flat, labels, outputs: outputsIn(outLs), config });
        expect(r.kept).to.equal(15);
        expect(r.splits.dog).to.deep.equal({ train: 3, validation: 1, test: 1 });
        expect(r.dropped.files).to.deep.equal([{ file: "images/unlabelled.jpg", reason: `not labelled in ${labels}` }]);
        expect(r.labels_not_found).to.deep.equal(["gone.jpg"]);
    });
});

describe("preprocess job: file names and links", function () {
    this.timeout(30_000);

    it("creates no output folders when the input folder does not exist", async () => {
        const out = tempDir("preprocess-noinput");
        const err = await runPreprocess({ input: join(out, "missing"), outputs: outputsIn(join(out, "run")), config }).catch((e) => e);
        expect(err).to.be.instanceOf(JobError);
        expect(err.message).to.match(/input folder .*missing does not exist or is not a folder/);
        expect(existsSync(join(out, "run"))).to.equal(false, "no empty output folders left behind");
    });

    it("writes one .lst line per record whatever characters the file names hold", async () => {
        const input = tempDir("preprocess-names");
        const names = ["tab\there.jpg", "new\nline.jpg", "carriage\rreturn.jpg", "100%.jpg", "plain.jpg"];
        for (const cls of config.classes) for (const n of names) writeAt(input, `${cls}/${n}`, await noiseImage(16, 16, "jpeg"));
        const out = tempDir("preprocess-names-out");
        await runPreprocess({ input, outputs: outputsIn(out), config });
        for (const split of ["train", "validation"]) {
            const lines = readFileSync(join(out, split, `${split}.lst`), "utf8")
                .split("\n")
                .filter((l) => l !== "");
            const records = readImageRecords(join(out, split, `${split}.rec`));
            expect(lines).to.have.length(records.length);
            for (const [i, line] of lines.entries()) {
                const columns = line.split("\t");
                expect(columns, line).to.have.length(3);
                expect(Number(columns[0])).to.equal(i);
                const source = decodeURIComponent(columns[2]);
                expect(config.classes.indexOf(source.split("/")[0])).to.equal(records[i].label);
                expect(names).to.include(source.split("/")[1]);
            }
        }
    });

    it("uses images linked from inside the input and reports links that lead outside it", async () => {
        const input = tempDir("preprocess-links");
        const outside = tempDir("preprocess-links-outside");
        for (const cls of config.classes) for (let i = 0; i < 3; i++) writeAt(input, `${cls}/${i}.jpg`, await noiseImage(16, 16, "jpeg"));
        writeAt(input, ".originals/extra.jpg", await noiseImage(16, 16, "jpeg"));
        writeAt(outside, "far.jpg", await noiseImage(16, 16, "jpeg"));
        symlinkSync(join(input, ".originals", "extra.jpg"), join(input, "cat", "linked.jpg"));
        symlinkSync(join(outside, "far.jpg"), join(input, "dog", "far.jpg"));
        const report = await runPreprocess({ input, outputs: outputsIn(tempDir("preprocess-links-out")), config });
        expect(report.splits.cat.train + report.splits.cat.validation + report.splits.cat.test, JSON.stringify(report.splits)).to.equal(4);
        expect(report.dropped.files).to.deep.include({
            file: "dog/far.jpg",
            reason: `symbolic link to ${join(outside, "far.jpg")}, outside the input folder; copy the files in or link to a folder inside it`,
        });
    });
});

describe("preprocess job: labels that contradict each other", function () {
    this.timeout(30_000);

    it("leaves the same image filed under two classes out of every split and reports it as a label conflict", async () => {
        const input = tempDir("preprocess-conflict");
        for (const cls of config.classes) for (let i = 0; i < 3; i++) writeAt(input, `${cls}/${i}.jpg`, await noiseImage(16, 16, "jpeg"));
        const both = await noiseImage(16, 16, "jpeg");
        writeAt(input, "cat/ambiguous.jpg", both);
        writeAt(input, "dog/ambiguous-too.jpg", both);
        writeAt(input, "dog/ambiguous-again.jpg", both);
        const out = tempDir("preprocess-conflict-out");
        const report = await runPreprocess({ input, outputs: outputsIn(out), config });
        expect(report.label_conflicts).to.deep.equal({
            count: 1,
            images: [
                {
                    sha256: createHash("sha256").update(both).digest("hex"),
                    files: [
                        { file: "cat/ambiguous.jpg", class: "cat" },
                        { file: "dog/ambiguous-again.jpg", class: "dog" },
                        { file: "dog/ambiguous-too.jpg", class: "dog" },
                    ],
                },
            ],
        });
        expect(report.kept).to.equal(9);
        expect(report.duplicates.count).to.equal(0, "conflicting copies are conflicts, not duplicates");
        const used = [
            ...readList(join(out, "train", "train.lst")).map((l) => l.path),
            ...readList(join(out, "validation", "validation.lst")).map((l) => l.path),
            ...readFileSync(join(out, "test", "labels.jsonl"), "utf8")
                .trim()
                .split("\n")
                .map((l) => JSON.parse(l).source),
        ];
        expect(used.filter((p) => p.includes("ambiguous"))).to.deep.equal([]);
        expect(readJson(join(out, "metadata", "baseline.json")).imageCount).to.equal(9);
    });

    it("labels files from a Label Studio export by their path, so two files with one name keep their own labels", async () => {
        const input = tempDir("preprocess-ls-paths");
        const tasks = [];
        for (const [i, cls] of ["cat", "dog", "bird"].flatMap((c) => [c, c, c]).entries()) {
            // day/img0.jpg is a cat, night/img0.jpg a dog, dusk/img0.jpg a bird
            const file = `${["day", "night", "dusk"][Math.floor(i / 3)]}/img${i % 3}.jpg`;
            writeAt(input, file, await noiseImage(16, 16, "jpeg"));
            tasks.push({
                id: i,
                data: { image: `s3://label-bucket/photos/${file}` },
                annotations: [{ result: [{ value: { choices: [cls] } }] }],
            });
        }
        const labels = join(input, "export.json");
        writeFileSync(labels, JSON.stringify(tasks));
        const r = await runPreprocess({ input, labels, outputs: outputsIn(tempDir("preprocess-ls-paths-out")), config });
        expect(r.kept).to.equal(9);
        expect(r.dropped.count).to.equal(0);
        expect(r.splits).to.deep.equal({
            cat: { train: 1, validation: 1, test: 1 },
            dog: { train: 1, validation: 1, test: 1 },
            bird: { train: 1, validation: 1, test: 1 },
        });
    });
});

describe("preprocess job: every record fits the network's input", function () {
    this.timeout(60_000);
    const shape: [number, number, number] = [3, 224, 224];
    const fitConfig: JobModelConfig = { ...config, imageShape: shape };
    /** Flat-colour images: large sizes stay cheap to make and to encode. */
    const flat = (width: number, height: number, format: "jpeg" | "png" | "webp", shade: number) => {
        const image = sharp({ create: { width, height, channels: 3, background: { r: shade, g: 255 - shade, b: (shade * 7) % 256 } } });
        return (format === "jpeg" ? image.jpeg() : format === "png" ? image.png() : image.webp()).toBuffer();
    };
    // From 16 px to 4000 px on a side, with every aspect the corpus offers; [width, height, format].
    const sizes: Record<string, Array<[number, number, "jpeg" | "png" | "webp"]>> = {
        cat: [
            [16, 16, "jpeg"],
            [20, 300, "png"],
            [4000, 4000, "jpeg"],
            [224, 224, "jpeg"],
        ],
        dog: [
            [16, 40, "jpeg"],
            [223, 224, "jpeg"],
            [4000, 3000, "jpeg"],
            [500, 20, "jpeg"],
        ],
        bird: [
            [40, 16, "webp"],
            [16, 4000, "jpeg"],
            [300, 200, "png"],
            [224, 600, "jpeg"],
            [250, 260, "png"],
        ],
    };
    let input: string;
    before(async () => {
        input = tempDir("preprocess-sizes");
        let shade = 0;
        for (const [cls, list] of Object.entries(sizes))
            for (const [w, h, format] of list)
                writeAt(input, `${cls}/${w}x${h}.${format === "jpeg" ? "jpg" : format}`, await flat(w, h, format, (shade += 37)));
    });

    it("upscales images smaller than the image shape, keeping their aspect, so no record is smaller than the network's input", async () => {
        const out = tempDir("preprocess-sizes-out");
        const report = await runPreprocess({ input, outputs: outputsIn(out), config: fitConfig });
        expect(report.kept).to.equal(13);
        expect(report.dropped.count).to.equal(0);
        const seen: string[] = [];
        for (const split of ["train", "validation"]) {
            const list = readList(join(out, split, `${split}.lst`));
            for (const [i, record] of readImageRecords(join(out, split, `${split}.rec`)).entries()) {
                const { width, height, format } = await sharp(record.image).metadata();
                const [w, h] = list[i].path.split("/")[1].split(".")[0].split("x").map(Number);
                expect(format).to.equal("jpeg");
                expect(width, `${list[i].path} -> ${width}x${height}`).to.be.at.least(shape[2]);
                expect(height, `${list[i].path} -> ${width}x${height}`).to.be.at.least(shape[1]);
                expect(Math.min(width! - shape[2], height! - shape[1]), `${list[i].path}: one side fits exactly`).to.be.at.most(1);
                expect(Math.abs(width! / height! - w / h) / (w / h), `${list[i].path} keeps its aspect`).to.be.below(0.01);
                seen.push(list[i].path);
            }
        }
        const labels = readFileSync(join(out, "test", "labels.jsonl"), "utf8")
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l));
        for (const l of labels) {
            const { width, height } = await sharp(readFileSync(join(out, "test", "images", l.file))).metadata();
            expect(Math.min(width!, height!), l.source).to.be.at.least(224);
            seen.push(l.source);
        }
        expect(seen).to.have.length(13);
        // 16x16, 20x300, 16x40, 223x224, 500x20, 40x16, 16x4000 and 300x200 are below 224 on a side
        expect(report.treatment).to.deep.equal({ "as-is": 2, resized: 3, upscaled: 8, "re-encoded": 0 });
    });

    it("drops and reports images below training.minImageSide instead of upscaling them", async () => {
        const report = await runPreprocess({
            input,
            outputs: outputsIn(tempDir("preprocess-sizes-min")),
            config: { ...fitConfig, minImageSide: 20 },
        });
        const reasons = Object.fromEntries(report.dropped.files.map((d) => [d.file, d.reason]));
        expect(reasons).to.deep.equal({
            "cat/16x16.jpg": "smaller than training.minImageSide (20 px): 16x16",
            "dog/16x40.jpg": "smaller than training.minImageSide (20 px): 16x40",
            "bird/40x16.webp": "smaller than training.minImageSide (20 px): 40x16",
            "bird/16x4000.jpg": "smaller than training.minImageSide (20 px): 16x4000",
        });
        expect(report.treatment.upscaled).to.equal(4);
        expect(droppedSummary(report)).to.equal(" (4 smaller than training.minImageSide)");
    });
});
