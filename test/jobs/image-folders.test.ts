import { expect } from "chai";
import { existsSync, readdirSync, readFileSync } from "fs";
import { join } from "path";
import sharp from "sharp";
import { JobModelConfig } from "../../infra/job-contract";
import { runPreprocess } from "../../jobs/preprocess";
import { openImageFolders } from "../../jobs/preprocess/image-folders";
import { noiseImage, tempDir, writeAt } from "./support/images";

describe("preprocess: image-folder layout for PyTorch models", () => {
    const classes = ["red", "green", "blue"];

    it("writes <class>/<image> folders and the model's class order, visible only once committed", async () => {
        const folder = tempDir("image-folders");
        const w = await openImageFolders(folder, classes);
        await w.write({ classIndex: 1, sha256: "a".repeat(64) }, Buffer.from("jpeg-a"));
        await w.write({ classIndex: 0, sha256: "b".repeat(64) }, Buffer.from("jpeg-b"));
        expect(existsSync(join(folder, "images")), "nothing under the final name before commit").to.equal(false);
        await w.commit();
        expect(readdirSync(join(folder, "images")).sort()).to.deep.equal(["blue", "class_map.json", "green", "red"]);
        expect(readFileSync(join(folder, "images", "green", `${"a".repeat(16)}.jpg`), "utf8")).to.equal("jpeg-a");
        expect(readdirSync(join(folder, "images", "blue"))).to.deep.equal([]);
        expect(JSON.parse(readFileSync(join(folder, "images", "class_map.json"), "utf8"))).to.deep.equal({ classes });
    });

    it("leaves nothing behind when aborted, and refuses to overwrite an image", async () => {
        const folder = tempDir("image-folders");
        const w = await openImageFolders(folder, classes);
        await w.write({ classIndex: 2, sha256: "c".repeat(64) }, Buffer.from("x"));
        let refused: unknown;
        await w.write({ classIndex: 2, sha256: "c".repeat(64) }, Buffer.from("y")).catch((e) => (refused = e));
        expect((refused as NodeJS.ErrnoException).code).to.equal("EEXIST");
        await w.abort();
        expect(readdirSync(folder)).to.deep.equal([]);
    });
});

describe("preprocess for a PyTorch model (trainingLayout image-folders)", function () {
    this.timeout(30_000);
    const config: JobModelConfig = {
        model: "pets",
        classes: ["cat", "dog"],
        imageShape: [3, 32, 32],
        split: { validation: 0.2, test: 0.2 },
        seed: 42,
        trainingLayout: "image-folders",
        minAccuracy: 0.5,
        maxRegression: 0.01,
        confidenceThreshold: 0.8,
        drift: {} as JobModelConfig["drift"],
    };

    it("writes train and validation as image folders of JPEGs at least the image shape, the test split as for the built-in algorithm", async () => {
        const input = tempDir("preprocess-pytorch-in");
        for (let i = 0; i < 10; i++) {
            writeAt(input, `cat/${i}.png`, await noiseImage(20, 24, "png", 60));
            writeAt(input, `dog/${i}.jpg`, await noiseImage(64, 48, "jpeg", 200));
        }
        const out = tempDir("preprocess-pytorch-out");
        const outputs = {
            train: join(out, "train"),
            validation: join(out, "validation"),
            test: join(out, "test"),
            metadata: join(out, "metadata"),
        };
        const report = await runPreprocess({ input, outputs, config, concurrency: 2 });
        for (const split of ["train", "validation"] as const) {
            expect(readdirSync(outputs[split]), `${split}: no RecordIO`).to.deep.equal(["images"]);
            const root = join(outputs[split], "images");
            expect(JSON.parse(readFileSync(join(root, "class_map.json"), "utf8"))).to.deep.equal({ classes: config.classes });
            for (const c of config.classes) {
                const files = readdirSync(join(root, c));
                expect(files, `${split}/${c}`).to.have.length(report.splits[c][split]);
                for (const f of files) {
                    const meta = await sharp(join(root, c, f)).metadata();
                    expect(meta.format).to.equal("jpeg");
                    expect(Math.min(meta.width!, meta.height!)).to.be.at.least(32);
                }
            }
        }
        expect(readdirSync(outputs.test).sort()).to.deep.equal(["images", "labels.jsonl"]);
        // A second run into the same folders refuses instead of mixing two datasets.
        const again = await runPreprocess({ input, outputs, config }).catch((e) => e);
        expect(String(again)).to.match(/images/);
    });
});
