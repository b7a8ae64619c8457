import { expect } from "chai";
import { JobError } from "../../jobs/lib/errors";
import { exportFileName, LabelLookup, parseLabelStudioExport } from "../../jobs/lib/label-studio";

const task = (id: number, image: string, ...annotations: Array<{ choices: string[]; cancelled?: boolean }>) => ({
    id,
    data: { image },
    annotations: annotations.map((a) => ({ was_cancelled: a.cancelled ?? false, result: [{ value: { choices: a.choices } }] })),
});

describe("jobs/lib/label-studio", () => {
    it("finds the file name behind each kind of data.image Label Studio writes", () => {
        expect(exportFileName("/data/upload/3/8f3a2b1c-stop%20sign.jpg")).to.deep.equal({
            name: "stop sign.jpg",
            uploadedAs: "8f3a2b1c-stop sign.jpg",
        });
        expect(exportFileName("s3://bucket/dir/yield.png")).to.deep.equal({ name: "yield.png" });
        expect(exportFileName("https://host/x/priority.jpg?X-Amz-Signature=abc")).to.deep.equal({ name: "priority.jpg" });
        expect(exportFileName("/data/local-files/?d=signs%2Fno-entry.jpg")).to.deep.equal({ name: "no-entry.jpg" });
        // an 8-hex prefix outside an upload path is part of the real name
        expect(exportFileName("s3://b/deadbeef-a.jpg")).to.deep.equal({ name: "deadbeef-a.jpg" });
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
            { file: "a.jpg", label: "dog" },
            { file: "b.jpg", label: "cat" },
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

    it("refuses two tasks that give one file name different labels", () => {
        expect(
            () =>
                new LabelLookup(
                    [
                        { file: "a.jpg", label: "cat" },
                        { file: "a.jpg", label: "dog" },
                    ],
                    "x.json",
                ),
        ).to.throw(JobError, /a\.jpg is labelled both cat and dog/);
        const lookup = new LabelLookup(
            [
                { file: "a.jpg", label: "cat" },
                { file: "b.jpg", label: "dog" },
            ],
            "x.json",
        );
        expect(lookup.labelOf("any/folder/a.jpg")).to.equal("cat");
        expect(lookup.labelOf("c.jpg")).to.equal(undefined);
        expect(lookup.missingFrom(new Set(["a.jpg"]))).to.deep.equal(["b.jpg"]);
    });

    it("finds uploaded files by their original name and by the name Label Studio stored them under", () => {
        const { labelled } = parseLabelStudioExport([task(1, "/data/upload/2/0badcafe-stop.jpg", { choices: ["stop"] })], "x.json");
        const lookup = new LabelLookup(labelled, "x.json");
        expect(lookup.labelOf("signs/stop.jpg")).to.equal("stop");
        expect(lookup.labelOf("media/upload/2/0badcafe-stop.jpg")).to.equal("stop");
        expect(lookup.missingFrom(new Set(["0badcafe-stop.jpg"]))).to.deep.equal([]);
    });
});
