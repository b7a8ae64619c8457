import { expect } from "chai";
import { mkdirSync, readdirSync, readFileSync } from "fs";
import { join } from "path";
import { ensureOutputsAbsent, ensureWritableFolders, tempPathFor, writeFileAtomic, writeJsonAtomic } from "../../jobs/lib/atomic";
import { JobError } from "../../jobs/lib/errors";
import { tempDir, writeAt } from "./support/images";
import { failureOf } from "./support/failure";

describe("jobs/lib/atomic", () => {
    it("names the temporary file beside the final one, hidden and suffixed with the process id", () => {
        expect(tempPathFor("/out/run/statistics.json")).to.equal(`/out/run/.statistics.json.tmp-${process.pid}`);
    });

    it("writes into folders it creates, replaces an older file and leaves no temporary file behind", async () => {
        const root = tempDir("atomic");
        const path = join(root, "a", "b", "report.html");
        await writeFileAtomic(path, "first");
        await writeFileAtomic(path, Buffer.from("second"));
        expect(readFileSync(path, "utf8")).to.equal("second");
        expect(readdirSync(join(root, "a", "b"))).to.deep.equal(["report.html"]);
    });

    it("writes JSON indented by two spaces with a trailing newline", async () => {
        const path = join(tempDir("atomic-json"), "baseline.json");
        await writeJsonAtomic(path, { classes: ["cat", "dog"], n: 2 });
        expect(readFileSync(path, "utf8")).to.equal('{\n  "classes": [\n    "cat",\n    "dog"\n  ],\n  "n": 2\n}\n');
    });

    it("lets a job start over absent outputs and empty folders, and names every output it would overwrite", () => {
        const root = tempDir("atomic-absent");
        mkdirSync(join(root, "empty"));
        writeAt(root, "full/x.rec", "x");
        writeAt(root, "train.lst", "1\t0\ta.jpg\n");
        expect(() => ensureOutputsAbsent([join(root, "missing"), join(root, "empty")], "preprocess")).not.to.throw();
        expect(() => ensureOutputsAbsent([join(root, "empty"), join(root, "full"), join(root, "train.lst")], "preprocess"))
            .to.throw(JobError)
            .with.property(
                "message",
                `preprocess would overwrite existing output: ${join(root, "full")}; ${join(root, "train.lst")}; ` +
                    "choose an empty output folder or move these files away first",
            );
    });

    it("lists at most ten outputs it would overwrite", () => {
        const root = tempDir("atomic-many");
        const files = Array.from({ length: 12 }, (_, i) => writeAt(root, `f${i}`, "x"));
        expect(() => ensureOutputsAbsent(files, "evaluate")).to.throw(JobError, `${files[9]}; and 2 more; choose an empty output folder`);
    });

    it("creates output folders, and names the folder, the user and the reason when one cannot be made", async () => {
        const root = tempDir("atomic-writable");
        await ensureWritableFolders([join(root, "a", "b"), join(root, "c")]);
        expect(readdirSync(root).sort()).to.deep.equal(["a", "c"]);
        expect(readdirSync(join(root, "a"))).to.deep.equal(["b"]);
        // A folder under a regular file cannot be made, whoever runs the job (root included).
        const file = writeAt(root, "plain", "x");
        const e = await failureOf(ensureWritableFolders([join(root, "c"), join(file, "out")]));
        expect(e).to.be.instanceOf(JobError);
        expect(e.message).to.equal(
            `cannot write to output folder ${join(file, "out")} (running as uid ${process.getuid!()}): ENOTDIR; ` +
                "give this user write access to the folder or choose another output",
        );
    });
});
