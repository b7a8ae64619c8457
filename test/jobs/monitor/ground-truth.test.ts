import { expect } from "chai";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { CaptureFile, LineItem } from "../../../jobs/monitor/capture";
import { groundTruthFiles, loadGroundTruth } from "../../../jobs/monitor/ground-truth";

const file = (name: string, items: LineItem[]): CaptureFile => ({
    name,
    lines: async function* () {
        yield* items;
    },
});
const lines = (...texts: string[]) => texts.map((line) => ({ line }));

describe("monitor ground truth", () => {
    const classes = ["stop", "yield", "priority"];

    it("reads labels by inferenceId or eventId, ours or Model Monitor's, as class names or indexes", async () => {
        const gt = await loadGroundTruth(
            [
                file(
                    "a.jsonl",
                    lines(
                        '{"inferenceId": "i1", "label": "yield"}',
                        '{"eventId": "e2", "label": 2}',
                        '{"groundTruthData": {"data": "\\"stop\\"", "encoding": "CSV"}, "eventMetadata": {"eventId": "e3"}}',
                        '{"eventMetadata": {"inferenceId": "i4", "eventId": "e4"}, "groundTruthData": {"data": " 1 "}}',
                        '{"inferenceId": "i5", "eventId": "e5", "label": "priority"}',
                    ),
                ),
            ],
            classes,
        );
        expect(Object.fromEntries(gt.labels)).to.deep.equal({ i1: 1, e2: 2, e3: 0, i4: 1, i5: 2 });
        expect([gt.rejected, gt.rejectedSamples]).to.deep.equal([0, []]);
    });

    it("rejects lines without an id or with a class the model lacks, keeping the first ten as samples", async () => {
        const bad = [
            "not json",
            '{"label": "stop"}',
            '{"inferenceId": "", "label": "stop"}',
            '{"inferenceId": "a", "label": 3}',
            '{"inferenceId": "b", "label": -1}',
            '{"inferenceId": "c", "label": 1.5}',
            '{"inferenceId": "d", "label": "3"}',
            '{"inferenceId": "e", "label": "Stop"}',
            '{"inferenceId": "f", "label": true}',
            "null",
            '{"inferenceId": "g"}',
        ];
        const gt = await loadGroundTruth(
            [file("b.jsonl", [...lines(...bad), { oversized: 5000 }, ...lines('{"inferenceId": "ok", "label": 0}')])],
            classes,
        );
        expect(Object.fromEntries(gt.labels)).to.deep.equal({ ok: 0 });
        expect(gt.rejected).to.equal(12);
        expect(gt.rejectedSamples).to.deep.equal([
            "b.jsonl:1: not JSON",
            "b.jsonl:2: no inferenceId or eventId",
            "b.jsonl:3: no inferenceId or eventId",
            "b.jsonl:4: label 3 is not one of the model's classes",
            "b.jsonl:5: label -1 is not one of the model's classes",
            "b.jsonl:6: label 1.5 is not one of the model's classes",
            'b.jsonl:7: label "3" is not one of the model\'s classes',
            'b.jsonl:8: label "Stop" is not one of the model\'s classes',
            "b.jsonl:9: label true is not one of the model's classes",
            "b.jsonl:10: no inferenceId or eventId",
        ]);
    });

    it("counts a skipped line in the line numbers of the lines after it", async () => {
        const gt = await loadGroundTruth([file("c.jsonl", [{ oversized: 9 }, ...lines("{")])], classes);
        expect(gt.rejectedSamples).to.deep.equal(["c.jsonl:1: line of 9 bytes skipped", "c.jsonl:2: not JSON"]);
    });

    it("lists S3 labels from the window's start to a week after its end, or to its end when that is later than now", async () => {
        const prefixes: string[] = [];
        const s3 = {
            send: async (command: ListObjectsV2Command) => {
                prefixes.push(command.input.Prefix!);
                return {
                    Contents: [
                        { Key: `${command.input.Prefix}b.jsonl` },
                        { Key: `${command.input.Prefix}a.json` },
                        { Key: `${command.input.Prefix}x.csv` },
                    ],
                };
            },
        };
        const past = await groundTruthFiles(
            "s3://label-bucket/m/ground-truth",
            { start: new Date("2026-01-10T12:00:00Z"), end: new Date("2026-01-10T13:00:00Z") },
            s3 as never,
        );
        expect(prefixes).to.have.length(7 * 24 + 1);
        expect([prefixes[0], prefixes[prefixes.length - 1]]).to.deep.equal([
            "m/ground-truth/2026/01/10/12/",
            "m/ground-truth/2026/01/17/12/",
        ]);
        expect(past.slice(0, 2).map((f) => f.name)).to.deep.equal([
            "s3://label-bucket/m/ground-truth/2026/01/10/12/a.json",
            "s3://label-bucket/m/ground-truth/2026/01/10/12/b.jsonl",
        ]);
        prefixes.length = 0;
        await groundTruthFiles(
            "s3://label-bucket/m/ground-truth/",
            { start: new Date("2100-01-01T00:00:00Z"), end: new Date("2100-01-01T02:00:00Z") },
            s3 as never,
        );
        expect(prefixes).to.deep.equal(["m/ground-truth/2100/01/01/00/", "m/ground-truth/2100/01/01/01/"]);
    });
});
