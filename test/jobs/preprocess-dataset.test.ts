import { expect } from "chai";
import { createHash } from "crypto";
import { join } from "path";
import { JobError } from "../../jobs/lib/errors";
import { resolveDataset } from "../../jobs/preprocess/dataset";
import { tempDir, writeAt } from "./support/images";

describe("dataset job (which manifest a training run trains on)", () => {
    it("names a batch manifest the run was started with, with the hash of its bytes", () => {
        const input = tempDir("dataset-manifest");
        const manifest = JSON.stringify([{ prefix: "s3://raw/signs/" }, "batches/b1/stop/ab.jpg"]);
        writeAt(input, "_manifest.json", manifest);
        expect(resolveDataset("signs", "signs/batches/b1/_manifest.json", input)).to.deep.equal({
            manifest_key: "signs/batches/b1/_manifest.json",
            manifest_sha256: createHash("sha256").update(manifest).digest("hex"),
            requested: "signs/batches/b1/_manifest.json",
            via: "manifest",
        });
    });

    it("follows the latest pointer to the manifest it names", () => {
        const input = tempDir("dataset-latest");
        writeAt(
            input,
            "dataset.json",
            JSON.stringify({ manifest_key: "signs/datasets/abc.manifest.json", manifest_sha256: "0".repeat(64) }),
        );
        expect(resolveDataset("signs", "signs/latest/dataset.json", input)).to.include({
            manifest_key: "signs/datasets/abc.manifest.json",
            via: "latest",
        });
    });

    it("refuses what is not this model's dataset, saying what it found", () => {
        const empty = tempDir("dataset-empty");
        expect(() => resolveDataset("signs", "signs/latest/dataset.json", join(empty, "none"))).to.throw(
            JobError,
            /nothing is mounted at .*: the run was started with signs\/latest\/dataset\.json, which does not exist in the raw bucket/,
        );
        expect(() => resolveDataset("signs", "birds/latest/dataset.json", empty)).to.throw(JobError, /is not under signs\//);
        const other = tempDir("dataset-other");
        writeAt(
            other,
            "dataset.json",
            JSON.stringify({ manifest_key: "birds/batches/b1/_manifest.json", manifest_sha256: "0".repeat(64) }),
        );
        expect(() => resolveDataset("signs", "signs/latest/dataset.json", other)).to.throw(
            JobError,
            /names birds\/batches\/b1\/_manifest\.json, which is not under signs\//,
        );
        const junk = tempDir("dataset-junk");
        writeAt(junk, "x.json", '{"hello": 1}');
        expect(() => resolveDataset("signs", "signs/x.json", junk)).to.throw(
            JobError,
            /neither a SageMaker manifest .* nor a latest\/dataset\.json pointer/,
        );
    });
});
