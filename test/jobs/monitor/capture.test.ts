import { expect } from "chai";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import {
    CaptureFormatError,
    checkPayload,
    hourFolders,
    LineItem,
    listS3,
    mediaType,
    parseCaptureLine,
    parseProbabilities,
    payloadBytes,
    readBoundedLines,
    s3Prefix,
} from "../../../jobs/monitor/capture";

async function collect(items: AsyncIterable<LineItem>): Promise<LineItem[]> {
    const out: LineItem[] = [];
    for await (const item of items) out.push(item);
    return out;
}

async function* chunks(...parts: string[]): AsyncGenerator<Buffer> {
    for (const p of parts) yield Buffer.from(p);
}

describe("monitor capture files, read piece by piece", () => {
    it("lists every page of an S3 listing, passing each continuation token on", async () => {
        const sent: Array<Record<string, unknown>> = [];
        const pages = [
            { Contents: [{ Key: "p/a.jsonl" }, {}], CommonPrefixes: [{ Prefix: "p/v1/" }], IsTruncated: true, NextContinuationToken: "t1" },
            { Contents: [{ Key: "p/b.jsonl" }], CommonPrefixes: [{ Prefix: "p/v2/" }, {}], IsTruncated: true, NextContinuationToken: "t2" },
            { Contents: [{ Key: "p/c.jsonl" }], IsTruncated: false, NextContinuationToken: "never" },
        ];
        const s3 = {
            send: async (command: ListObjectsV2Command) => {
                sent.push({ ...command.input });
                return pages[sent.length - 1];
            },
        };
        const listing = await listS3(s3 as never, "bucket", "p/", "/");
        expect(listing).to.deep.equal({ keys: ["p/a.jsonl", "p/b.jsonl", "p/c.jsonl"], prefixes: ["p/v1/", "p/v2/"] });
        expect(sent).to.deep.equal([
            { Bucket: "bucket", Prefix: "p/", Delimiter: "/", ContinuationToken: undefined },
            { Bucket: "bucket", Prefix: "p/", Delimiter: "/", ContinuationToken: "t1" },
            { Bucket: "bucket", Prefix: "p/", Delimiter: "/", ContinuationToken: "t2" },
        ]);
    });

    it("reads the hour folders a window overlaps, its end excluded", () => {
        const w = (start: string, end: string) => hourFolders({ start: new Date(start), end: new Date(end) });
        expect(w("2026-01-31T23:30:00Z", "2026-02-01T01:00:00Z")).to.deep.equal(["2026/01/31/23", "2026/02/01/00"]);
        expect(w("2026-01-10T12:00:00Z", "2026-01-10T13:00:00Z")).to.deep.equal(["2026/01/10/12"]);
        expect(w("2026-01-10T12:00:00Z", "2026-01-10T13:00:00.001Z")).to.deep.equal(["2026/01/10/12", "2026/01/10/13"]);
    });

    it("ends an S3 prefix with a slash, once", () => {
        expect(s3Prefix("s3://capture-bucket/a/b")).to.deep.equal({ bucket: "capture-bucket", prefix: "a/b/" });
        expect(s3Prefix("s3://capture-bucket/a/")).to.deep.equal({ bucket: "capture-bucket", prefix: "a/" });
        expect(s3Prefix("s3://capture-bucket")).to.deep.equal({ bucket: "capture-bucket", prefix: "" });
    });

    it("splits lines on LF or CRLF, drops blank ones, and skips a line over the bound by its size", async () => {
        expect(await collect(readBoundedLines(chunks("a\r\n\r\n  \nb", "c\nd"), 100))).to.deep.equal([
            { line: "a" },
            { line: "bc" },
            { line: "d" },
        ]);
        // "0123456789" is 10 bytes: over a bound of 8, even when it arrives in pieces; the next line is read as usual.
        const reader = readBoundedLines(chunks("01234", "56789\nok\n", "x".repeat(9)), 8);
        expect(await collect(reader)).to.deep.equal([{ oversized: 10 }, { line: "ok" }, { oversized: 9 }]);
        expect(await collect(readBoundedLines(chunks("12345678\n"), 8))).to.deep.equal([{ line: "12345678" }]);
    });

    it("refuses lines that are not capture records, naming what is wrong", () => {
        const bad: Array<[string, string, string]> = [
            ["{", "not JSON", "not JSON ("],
            ["[]", "not a capture record", "no captureData object"],
            ['{"captureData": []}', "not a capture record", "no captureData object"],
            [
                '{"captureData": {}, "eventMetadata": {"eventId": "e"}}',
                "not a capture record",
                "eventMetadata lacks eventId or inferenceTime (strings)",
            ],
            ['{"captureData": {}, "eventMetadata": {"eventId": 1, "inferenceTime": "t"}}', "not a capture record", "lacks eventId"],
            [
                '{"captureData": {}, "eventMetadata": {"eventId": "e", "inferenceTime": "t", "inferenceId": 5}}',
                "not a capture record",
                "eventMetadata.inferenceId is not a string",
            ],
        ];
        for (const [line, kind, message] of bad) {
            const error = (() => {
                try {
                    parseCaptureLine(line);
                } catch (e) {
                    return e as CaptureFormatError;
                }
                return undefined;
            })();
            expect(error, line).to.be.instanceOf(CaptureFormatError);
            expect([error!.kind, error!.name], line).to.deep.equal([kind, "CaptureFormatError"]);
            expect(error!.message, line).to.contain(message);
        }
        const ok = '{"captureData": {}, "eventMetadata": {"eventId": "e", "inferenceTime": "t", "inferenceId": "i"}}';
        expect(parseCaptureLine(ok).eventMetadata.inferenceId).to.equal("i");
    });

    it("checks each payload field's type, counting input and output problems apart", () => {
        const kindOf = (p: unknown, side: "input" | "output") => {
            try {
                checkPayload(p, side);
                return "ok";
            } catch (e) {
                return `${(e as CaptureFormatError).kind}: ${(e as Error).message}`;
            }
        };
        expect(kindOf("x", "input")).to.equal("input field of the wrong type: endpointInput is not an object");
        expect(kindOf(null, "output")).to.equal("output field of the wrong type: endpointOutput is not an object");
        expect(kindOf({ data: ["a"], encoding: "BASE64" }, "input")).to.equal(
            "input field of the wrong type: input data is a list, not a string",
        );
        expect(kindOf({ data: "a", mode: 1 }, "output")).to.equal("output field of the wrong type: output mode is a number, not a string");
        expect(kindOf({ encoding: "JSON" }, "output")).to.equal("output field of the wrong type: output data is missing");
        expect(kindOf({ data: "a", observedContentType: "image/png" }, "input")).to.equal("ok");
    });

    it("decodes base64 whatever its case, reads other encodings as text, and names a media type without parameters", () => {
        expect(payloadBytes({ data: "aGk=", encoding: "base64" }).toString()).to.equal("hi");
        expect(payloadBytes({ data: "aGk=", encoding: "JSON" }).toString()).to.equal("aGk=");
        expect(mediaType(" Image/JPEG ; charset=binary")).to.equal("image/jpeg");
        expect(mediaType(undefined)).to.equal("unknown");
        expect(mediaType(";x")).to.equal("unknown");
        expect(mediaType("a".repeat(150))).to.equal("a".repeat(100));
    });

    it("reads probabilities as JSON or CSV, and names a response that is neither", () => {
        expect(parseProbabilities({ data: "[0.25, 0.75]", encoding: "JSON" }, 2)).to.deep.equal([0.25, 0.75]);
        expect(parseProbabilities({ data: "0.25, 0.75\n", encoding: "CSV" }, 2)).to.deep.equal([0.25, 0.75]);
        expect(parseProbabilities({ data: "0.1 0.9", encoding: "TEXT", observedContentType: "text/csv" }, 2)).to.deep.equal([0.1, 0.9]);
        expect(parseProbabilities({ data: '{"prediction": [0.5, 0.5]}', encoding: "CSV" }, 2)).to.deep.equal([0.5, 0.5]);
        const error = (data: string, encoding = "JSON") => {
            try {
                parseProbabilities({ data, encoding }, 2);
            } catch (e) {
                return [(e as CaptureFormatError).kind, (e as Error).message];
            }
            return undefined;
        };
        expect(error("nope")?.[0]).to.equal("output not class probabilities");
        expect(error("nope")?.[1]).to.match(/^response is not JSON \(/);
        expect(error('"x"')?.[1]).to.match(/^response is not a list of class probabilities/);
    });
});
