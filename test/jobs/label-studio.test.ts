import { expect } from "chai";
import { JobError } from "../../jobs/lib/errors";
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { exportPath, matchLabels, parseLabelStudioExport, readLabelStudioExport } from "../../jobs/lib/label-studio";

const task = (id: number, image: string, ...annotations: Array<{ choices: string[]; cancelled?: boolean }>) => ({
    id,
    data: { image },
    annotations: annotations.map((a) => ({ was_cancelled: a.cancelled ?? false, result: [{ value: { choices: a.choices } }] })),
});

describe("jobs/lib/label-studio", () => {
    it("finds the path behind each kind of data.image Label Studio writes", () => {
        expect(exportPath("/data/upload/3/8f3a2b1c-stop%20sign.jpg", "t")).to.deep.equal({
            path: "stop sign.jpg",
            uploadedAs: "8f3a2b1c-stop sign.jpg",
        });
        expect(exportPath("s3://bucket/dir/yield.png", "t")).to.deep.equal({ path: "dir/yield.png" });
        // a storage key is the key as listed, not URL-encoded
        expect(exportPath("s3://bucket/dir/100%.png", "t")).to.deep.equal({ path: "dir/100%.png" });
        expect(exportPath("gs://bucket/a/b.jpg", "t")).to.deep.equal({ path: "a/b.jpg" });
        expect(exportPath("https://host/x/priority.jpg?X-Amz-Signature=abc", "t")).to.deep.equal({ path: "x/priority.jpg" });
        expect(exportPath("/data/local-files/?d=signs%2Fno-entry.jpg", "t")).to.deep.equal({ path: "signs/no-entry.jpg" });
        // an 8-hex prefix outside an upload path is part of the real name
        expect(exportPath("s3://b/deadbeef-a.jpg", "t")).to.deep.equal({ path: "deadbeef-a.jpg" });
    });

    it("takes the newest annotation that was not cancelled, and lists tasks without one as unlabelled", () => {
        const { labelled, unlabelled } = parseLabelStudioExport(
            [
                task(1, "s3://b/a.jpg", { choices: ["cat"] }, { choices: ["dog"] }),
                task(2, "s3://b/b.jpg", { choices: ["cat"] }, { choices: ["dog"], cancelled: true }),
                task(3, "s3://b/c.jpg"),
            ],
            "export.json",
        );
        expect(labelled).to.deep.equal([
            { path: "a.jpg", label: "dog", task: "export.json task 1" },
            { path: "b.jpg", label: "cat", task: "export.json task 2" },
        ]);
        expect(unlabelled).to.deep.equal(["c.jpg"]);
    });

    it("rejects an export that is not a task list, a task without an image, or an image with two classes", () => {
        expect(() => parseLabelStudioExport({ tasks: [] }, "x.json")).to.throw(JobError, /x\.json is not a Label Studio JSON export/);
        expect(() => parseLabelStudioExport([{ id: 4, data: {} }], "x.json")).to.throw(JobError, /x\.json task 4 has no data\.image/);
        expect(() => parseLabelStudioExport([task(5, "s3://b/a.jpg", { choices: ["cat", "dog"] })], "x.json")).to.throw(
            JobError,
            /task 5 \(a\.jpg\) has several classes \(cat, dog\); each image needs exactly one/,
        );
    });

    it("refuses two tasks that give one file different labels, and lists tasks that match no file", () => {
        const { labelled } = parseLabelStudioExport(
            [task(1, "s3://b/x/a.jpg", { choices: ["cat"] }), task(2, "s3://c/x/a.jpg", { choices: ["dog"] })],
            "x.json",
        );
        expect(() => matchLabels(labelled, ["x/a.jpg"], "x.json")).to.throw(
            JobError,
            /x\/a\.jpg is labelled cat by x\.json task 1 and dog by x\.json task 2/,
        );
        const { labels, missing } = matchLabels(labelled.slice(0, 1), ["y/b.jpg"], "x.json");
        expect(labels.size).to.equal(0);
        expect(missing).to.deep.equal(["x/a.jpg"]);
    });

    it("finds uploaded files by their original name and by the name Label Studio stored them under", () => {
        const { labelled } = parseLabelStudioExport([task(1, "/data/upload/2/0badcafe-stop.jpg", { choices: ["stop"] })], "x.json");
        expect(Object.fromEntries(matchLabels(labelled, ["signs/stop.jpg"], "x.json").labels)).to.deep.equal({ "signs/stop.jpg": "stop" });
        expect(Object.fromEntries(matchLabels(labelled, ["media/upload/2/0badcafe-stop.jpg"], "x.json").labels)).to.deep.equal({
            "media/upload/2/0badcafe-stop.jpg": "stop",
        });
    });

    it("matches an export to files by their path, so one annotation does not label every file of that name", () => {
        const { labelled } = parseLabelStudioExport(
            [
                task(1, "s3://label-bucket/signs/stop/a.jpg", { choices: ["stop"] }),
                task(2, "/data/local-files/?d=photos%2Fyield%2Fa.jpg", { choices: ["yield"] }),
                task(3, "https://host/media/priority/b.jpg?X-Amz-Signature=abc", { choices: ["priority"] }),
            ],
            "x.json",
        );
        const files = ["stop/a.jpg", "yield/a.jpg", "other/a.jpg", "priority/b.jpg", "b.jpg"];
        const { labels, missing } = matchLabels(labelled, files, "x.json");
        expect(Object.fromEntries(labels)).to.deep.equal({ "stop/a.jpg": "stop", "yield/a.jpg": "yield", "priority/b.jpg": "priority" });
        expect(missing).to.deep.equal([]);
    });

    it("matches a longer local path that ends with the export's path, and an export path that ends with the local one", () => {
        const { labelled } = parseLabelStudioExport(
            [task(1, "s3://b/stop/a.jpg", { choices: ["stop"] }), task(2, "s3://b/deep/tree/yield/c.jpg", { choices: ["yield"] })],
            "x.json",
        );
        const { labels } = matchLabels(labelled, ["export/stop/a.jpg", "yield/c.jpg"], "x.json");
        expect(Object.fromEntries(labels)).to.deep.equal({ "export/stop/a.jpg": "stop", "yield/c.jpg": "yield" });
    });

    it("refuses an annotation that matches two files equally well, naming both", () => {
        const { labelled } = parseLabelStudioExport([task(7, "/data/upload/2/0badcafe-a.jpg", { choices: ["stop"] })], "x.json");
        expect(() => matchLabels(labelled, ["day/a.jpg", "night/a.jpg"], "x.json")).to.throw(
            JobError,
            /x\.json task 7 \(a\.jpg\) matches both day\/a\.jpg and night\/a\.jpg/,
        );
    });

    it("names the task whose data.image holds a malformed percent-escape", () => {
        expect(() =>
            parseLabelStudioExport([task(12, "/data/local-files/?d=signs%2Fstop%E0%A4%A.jpg", { choices: ["stop"] })], "x.json"),
        ).to.throw(
            JobError,
            /^x\.json task 12: data\.image "\/data\/local-files\/\?d=signs%2Fstop%E0%A4%A\.jpg" has a malformed percent-escape; fix the task's image path in Label Studio and export again$/,
        );
        expect(() => parseLabelStudioExport([task(13, "https://host/x/100%.jpg", { choices: ["stop"] })], "x.json")).to.throw(
            JobError,
            /task 13:/,
        );
    });

    it("strips every leading slash, keeps a relative path whole, and takes the upload prefix only from an upload's name", () => {
        expect(exportPath("/data/local-files/?d=%2F%2Fsigns%2Fa.jpg", "t")).to.deep.equal({ path: "signs/a.jpg" });
        expect(exportPath("https://host//x/a.jpg", "t")).to.deep.equal({ path: "x/a.jpg" });
        expect(exportPath("signs/stop.jpg", "t")).to.deep.equal({ path: "signs/stop.jpg" });
        // Eight hex digits and a dash make an upload's stored name only in Label Studio's upload folder, and only as a prefix.
        expect(exportPath("https://host/deadbeef-a.jpg", "t")).to.deep.equal({ path: "deadbeef-a.jpg" });
        expect(exportPath("/data/upload/3/zz8f3a2b1c-stop.jpg", "t")).to.deep.equal({ path: "data/upload/3/zz8f3a2b1c-stop.jpg" });
    });

    it("names a task without an image by its place when it has no id, and takes tasks without annotations as unlabelled", () => {
        expect(() => parseLabelStudioExport([null], "x.json")).to.throw(JobError, /^x\.json task #1 has no data\.image/);
        expect(() => parseLabelStudioExport([task(1, "s3://b/a.jpg"), { id: 2 }], "x.json")).to.throw(JobError, /^x\.json task 2 has no/);
        expect(() => parseLabelStudioExport([{ id: 3, data: { image: "" } }], "x.json")).to.throw(JobError, /^x\.json task 3 has no/);
        const r = parseLabelStudioExport(
            [
                { id: 1, data: { image: "s3://b/a.jpg" } },
                { id: 2, data: { image: "s3://b/b.jpg" }, annotations: [{ was_cancelled: false }] },
                { id: 3, data: { image: "s3://b/c.jpg" }, annotations: [{ was_cancelled: false, result: [{}] }] },
            ],
            "x.json",
        );
        expect(r).to.deep.equal({ labelled: [], unlabelled: ["a.jpg", "b.jpg", "c.jpg"] });
    });

    it("reads an export file, naming a missing file or one that is not JSON", () => {
        const dir = mkdtempSync(join(tmpdir(), "label-studio-"));
        try {
            const missing = join(dir, "none.json");
            expect(() => readLabelStudioExport(missing)).to.throw(JobError, `labels file ${missing} does not exist`);
            writeFileSync(join(dir, "bad.json"), "[{");
            expect(() => readLabelStudioExport(join(dir, "bad.json"))).to.throw(JobError, `${join(dir, "bad.json")} is not valid JSON: `);
            writeFileSync(join(dir, "ok.json"), JSON.stringify([task(1, "s3://b/a.jpg", { choices: ["cat"] })]));
            expect(readLabelStudioExport(join(dir, "ok.json")).labelled).to.deep.equal([
                { path: "a.jpg", label: "cat", task: `${join(dir, "ok.json")} task 1` },
            ]);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    it("never matches a file of the same name in another folder, accepts two tasks agreeing on one file, and says what to do", () => {
        const { labelled } = parseLabelStudioExport(
            [task(1, "s3://b/stop/a.jpg", { choices: ["stop"] }), task(2, "s3://c/stop/a.jpg", { choices: ["stop"] })],
            "x.json",
        );
        expect(matchLabels(labelled.slice(0, 1), ["yield/a.jpg"], "x.json")).to.deep.equal({ labels: new Map(), missing: ["stop/a.jpg"] });
        expect(matchLabels(labelled, ["stop/a.jpg"], "x.json").labels).to.deep.equal(new Map([["stop/a.jpg", "stop"]]));
        const [one] = parseLabelStudioExport([task(7, "/data/upload/2/0badcafe-a.jpg", { choices: ["stop"] })], "x.json").labelled;
        expect(() => matchLabels([one], ["day/a.jpg", "night/a.jpg"], "x.json")).to.throw(
            "x.json does not say which file an annotation is for: x.json task 7 (a.jpg) matches both day/a.jpg and night/a.jpg; " +
                "export from a storage whose paths match the folder (or point DIR at the folder the paths are relative to), or give the files unique names",
        );
    });
});
