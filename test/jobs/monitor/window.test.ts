import { expect } from "chai";
import { createHash } from "crypto";
import { cpus } from "os";
import sharp from "sharp";
import { PropertySummary } from "../../../jobs/lib/baseline";
import { ImageProperties, ImageShape, NUMERIC_PROPERTIES, NumericProperty } from "../../../jobs/lib/image-properties";
import { IN_PROCESS, TaskRunner } from "../../../jobs/lib/workers";
import { LineItem } from "../../../jobs/monitor/capture";
import { measureCapturedImageTask, mergeStates, WindowAnalysis, WindowBaseline, WindowState } from "../../../jobs/monitor/window";
import { counts, windowState } from "./hand-state";

/**
 * The window's accumulation on hand-built capture records: what each line counts, the uniform image sample, the
 * lowest-confidence images, the thumbnail rule, content types and error samples, and the merge of shards' states.
 * Images are "decoded" by a fake task runner that reads the properties a test wrote into the payload (JSON text),
 * answers the task's question as the real task does (at once unless the payload says to wait) and names the thumbnail after the image, so no test but the
 * measurement task's own decodes an image.
 */
const WINDOW = { start: new Date("2026-01-10T12:00:00.000Z"), end: new Date("2026-01-10T13:00:00.000Z") };
const THRESHOLD = 0.8;

/** Every property's training summary: two bins, [0, 100) with 2 of 10 images and [100, 200] with 8, mean 150. */
const summary: PropertySummary = { edges: [0, 100, 200], counts: [2, 8], count: 10, mean: 150, min: 0, max: 200 };
const BASELINE: WindowBaseline = {
    classes: ["stop", "yield"],
    imageShape: [3, 64, 48],
    properties: Object.fromEntries(NUMERIC_PROPERTIES.map((p) => [p, summary])) as Record<NumericProperty, PropertySummary>,
};
/** An image at the training mean on every property (rarity 0.8, distance 0). */
const PLAIN: ImageProperties = {
    format: "png",
    width: 150,
    height: 150,
    aspect: 150,
    bytes: 150,
    brightness: 150,
    contrast: 150,
    meanRed: 150,
    meanGreen: 150,
    meanBlue: 150,
};

/** The sample's order as sample.ts states it: the first 53 bits of the event id's SHA-1, as a fraction of 2^53. */
const priorityOf = (eventId: string) =>
    Number(BigInt(`0x${createHash("sha1").update(eventId).digest("hex").slice(0, 14)}`) >> 3n) / 2 ** 53;
/** `n` event ids, smallest priority first. */
const ranked = (n: number, prefix = "e") =>
    Array.from({ length: n }, (_, i) => `${prefix}${i}`).sort((a, b) => priorityOf(a) - priorityOf(b));

/**
 * An input payload the fake runner "decodes" to PLAIN with these properties changed ("undecodable" fails); `ticks`
 * holds its question back for that many turns of the event loop.
 */
const image = (
    props: (Partial<ImageProperties> & { ticks?: number }) | "undecodable" = {},
    observedContentType: string | null = "image/png",
) => ({
    ...(observedContentType === null ? {} : { observedContentType }),
    mode: "INPUT",
    data: props === "undecodable" ? props : JSON.stringify(props),
    encoding: "JSON",
});
const probabilities = (p: number[]) => ({
    observedContentType: "application/json",
    mode: "OUTPUT",
    data: JSON.stringify(p),
    encoding: "JSON",
});

interface Rec {
    readonly id: string;
    readonly at?: string;
    readonly inferenceId?: string;
    readonly input?: unknown;
    readonly output?: unknown;
}
const line = (r: Rec): LineItem => ({
    line: JSON.stringify({
        captureData: {
            ...(r.input === undefined ? {} : { endpointInput: r.input }),
            ...(r.output === undefined ? {} : { endpointOutput: r.output }),
        },
        eventMetadata: {
            eventId: r.id,
            inferenceTime: r.at ?? "2026-01-10T12:30:00.000Z",
            ...(r.inferenceId ? { inferenceId: r.inferenceId } : {}),
        },
        eventVersion: "0",
    }),
});

interface Call {
    readonly label?: string;
    readonly imageShape: ImageShape;
}

/**
 * A task runner standing in for the image decode: properties from the payload's JSON, the task's question asked
 * at once (so decodes are decided in the order they start), then one turn of the event loop before it answers,
 * holding every answer until `gate` settles when one is given.
 */
function fakeRunner(gate?: Promise<void>) {
    const calls: Call[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const runner: TaskRunner = {
        async run(_task, input, options) {
            const { bytes, imageShape } = input as unknown as { bytes: Uint8Array; imageShape: ImageShape };
            calls.push({ label: options?.label, imageShape });
            maxInFlight = Math.max(maxInFlight, ++inFlight);
            try {
                const text = Buffer.from(bytes).toString("utf8");
                let result: object;
                if (text === "undecodable") result = { error: "image data is corrupt or truncated" };
                else {
                    const { ticks = 0, ...written } = (text.startsWith("{") ? JSON.parse(text) : {}) as { ticks?: number };
                    for (let i = 0; i < ticks; i++) await new Promise((r) => setImmediate(r));
                    const properties = { ...PLAIN, ...written } as ImageProperties;
                    const shown = await options!.ask!(properties as never);
                    result = shown ? { properties, thumbnail: `thumb ${options?.label ?? "lowest"}` } : { properties };
                }
                await new Promise((r) => setImmediate(r));
                await gate;
                return result as never;
            } finally {
                inFlight--;
            }
        },
        close: async () => undefined,
    };
    return { runner, calls, maxInFlight: () => maxInFlight };
}

/** Runs records (or line items) through one analysis, each named `c.jsonl:<line>`, and finishes it. */
async function analyse(records: readonly (Rec | LineItem)[], options: { sampleSize?: number; labels?: Map<string, number> } = {}) {
    const fake = fakeRunner();
    const analysis = new WindowAnalysis(BASELINE, WINDOW, { ...options, workers: fake.runner });
    for (const [i, r] of records.entries()) await analysis.addLine("id" in r ? line(r) : r, `c.jsonl:${i + 1}`, THRESHOLD);
    return { state: await analysis.finish(), calls: fake.calls, maxInFlight: fake.maxInFlight() };
}

describe("monitor window analysis", () => {
    it("starts from an empty state of the baseline's classes, the window and the default sample of 2000", async () => {
        const { state } = await analyse([]);
        expect(state).to.deep.equal(windowState({ sampleSize: 2000 }));
    });

    it("counts over-long, unreadable and non-record lines as records and cheap failures, and records outside the window apart", async () => {
        const analysis = new WindowAnalysis(BASELINE, WINDOW, { workers: fakeRunner().runner });
        analysis.fileRead();
        analysis.fileRead();
        await analysis.addLine({ oversized: 2_000_000 }, "a:1", THRESHOLD);
        await analysis.addLine({ line: "not json" }, "a:2", THRESHOLD);
        await analysis.addLine({ line: '{"captureData": 1}' }, "a:3", THRESHOLD);
        for (const [i, at] of [
            "2026-01-10T12:30:00Z",
            "2026-01-10T11:59:59.999Z",
            "2026-01-10T12:00:00.000Z",
            "2026-01-10T13:00:00.000Z",
            "2026-01-10T12:59:59.999Z",
            "2026-01-10T12:10:00.000Z",
        ].entries())
            await analysis.addLine(line({ id: `t${i}`, at }), `b:${i + 1}`, THRESHOLD);
        const state = await analysis.finish();
        expect(state.counts).to.deep.equal(counts({ files: 2, records: 7, outsideWindow: 2, malformedLines: 3, cheapFailures: 3 }));
        expect(state.malformed).to.deep.equal({ "line over 16 MiB": 1, "not JSON": 1, "not a capture record": 1 });
        expect(state.errorSamples.map((s) => s.where)).to.deep.equal(["a:1", "a:2", "a:3"]);
        expect(state.errorSamples[0].text).to.equal("a:1: line of 2000000 bytes skipped");
        expect(state.errorSamples[1].text).to.match(/^a:2: not JSON \(/);
        expect(state.errorSamples[2].text).to.equal("a:3: no captureData object");
        // The window's start is in it, its end is not; record times are normalised to milliseconds.
        expect(state.firstRecordAt).to.equal("2026-01-10T12:00:00.000Z");
        expect(state.lastRecordAt).to.equal("2026-01-10T12:59:59.999Z");
    });

    it("names over-long lines by the reader's bound", async () => {
        const analysis = new WindowAnalysis(BASELINE, WINDOW, { maxLineBytes: 2048, workers: fakeRunner().runner });
        await analysis.addLine({ oversized: 3000 }, "a:1", THRESHOLD);
        expect((await analysis.finish()).malformed).to.deep.equal({ "line over 2 KiB": 1 });
    });

    it("keeps the ten first error samples by where they are, each cut to 300 characters", async () => {
        const analysis = new WindowAnalysis(BASELINE, WINDOW, { workers: fakeRunner().runner });
        for (let i = 12; i >= 1; i--) await analysis.addLine({ oversized: 5 }, `f:${String(i).padStart(2, "0")}`, THRESHOLD);
        await analysis.addLine({ oversized: 5 }, "w".repeat(298), THRESHOLD);
        const state = await analysis.finish();
        expect(state.errorSamples.map((s) => s.where)).to.deep.equal([
            "f:01",
            "f:02",
            "f:03",
            "f:04",
            "f:05",
            "f:06",
            "f:07",
            "f:08",
            "f:09",
            "f:10",
        ]);
        expect(state.malformed).to.deep.equal({ "line over 16 MiB": 13 });

        const long = new WindowAnalysis(BASELINE, WINDOW, { workers: fakeRunner().runner });
        await long.addLine({ oversized: 5 }, "w".repeat(298), THRESHOLD);
        await long.addLine({ oversized: 5 }, "a", THRESHOLD);
        expect((await long.finish()).errorSamples).to.deep.equal([
            { where: "a", text: "a: line of 5 bytes skipped" },
            { where: "w".repeat(298), text: `${"w".repeat(298)}: ` },
        ]);
    });

    it("counts predictions per class, confidence in tenths, its sum in millionths and those under the threshold", async () => {
        const { state } = await analyse([
            { id: "e1", inferenceId: "i1", output: probabilities([0.9, 0.1]) },
            { id: "e2", output: probabilities([0.2, 0.8]) },
            { id: "e3", output: probabilities([0.45, 0.55]) },
            { id: "e4", output: probabilities([0.5, 0.5]) },
            { id: "e5", output: probabilities([0.8765433, 0.1234567]) },
        ]);
        // stop: e1, e4 (the first of equals), e5; yield: e2, e3. 0.8 is not under the threshold of 0.8.
        expect(state.classCounts).to.deep.equal([3, 2]);
        expect(state.confidence).to.deep.equal([0, 0, 0, 0, 0, 2, 0, 0, 2, 1]);
        // 900000 + 800000 + 550000 + 500000 + 876543 (876543.3 rounded)
        expect(state.counts).to.deep.equal(counts({ records: 5, predictions: 5, lowConfidence: 2, confidenceMicros: 3_626_543 }));
        expect(state.firstRecordAt).to.equal("2026-01-10T12:30:00.000Z");
        expect(state.lastRecordAt).to.equal("2026-01-10T12:30:00.000Z");
    });

    it("matches labels by inferenceId first, then by eventId, into the confusion matrix (true class, predicted class)", async () => {
        const labels = new Map([
            ["inf-1", 1],
            ["e1", 0],
            ["e2", 1],
            ["e3", 0],
        ]);
        const { state } = await analyse(
            [
                { id: "e1", inferenceId: "inf-1", output: probabilities([0.9, 0.1]) },
                { id: "e2", inferenceId: "inf-2", output: probabilities([0.3, 0.7]) },
                { id: "e3", output: probabilities([0.2, 0.8]) },
                { id: "e4", output: probabilities([0.2, 0.8]) },
            ],
            { labels },
        );
        expect(state.counts.matched).to.equal(3);
        expect(state.confusion).to.deep.equal([
            [0, 1],
            [1, 1],
        ]);
    });

    it("counts bad inputs and outputs by kind, a record with both once, and names the event in the sample", async () => {
        const { state } = await analyse([
            { id: "e1", output: { data: '{"x": 1}', encoding: "JSON" } },
            { id: "e2", output: "x" },
            { id: "e3", input: { data: 5, encoding: "BASE64" } },
            { id: "e4", output: "x", input: { data: 5, encoding: "BASE64" } },
            { id: "e5", output: probabilities([0.9, 0.1]) },
            { id: "e6", output: { data: 5, encoding: "JSON" } },
        ]);
        expect(state.counts).to.deep.equal(
            counts({ records: 6, cheapFailures: 5, inputTypeErrors: 2, outputDecodeErrors: 4, predictions: 1, confidenceMicros: 900_000 }),
        );
        expect(state.malformed).to.deep.equal({
            "output not class probabilities": 1,
            "output field of the wrong type": 3,
            "input field of the wrong type": 2,
        });
        expect(state.errorSamples).to.deep.equal([
            {
                where: "c.jsonl:1",
                text: 'c.jsonl:1: event e1: output response is not a list of class probabilities (expected [p0, p1, ...] or {"prediction": [...]})',
            },
            { where: "c.jsonl:2", text: "c.jsonl:2: event e2: output endpointOutput is not an object" },
            { where: "c.jsonl:3", text: "c.jsonl:3: event e3: input input data is a number, not a string" },
            { where: "c.jsonl:4", text: "c.jsonl:4: event e4: output endpointOutput is not an object" },
            { where: "c.jsonl:4", text: "c.jsonl:4: event e4: input input data is a number, not a string" },
            { where: "c.jsonl:6", text: "c.jsonl:6: event e6: output output data is a number, not a string" },
        ]);
        expect(state.imageSample).to.deep.equal([]);
    });

    it("counts inputs' media types, sorted by name, 20 of them at most and the rest as other", async () => {
        const { state } = await analyse([
            { id: "e1", input: image({}, "IMAGE/PNG; charset=binary") },
            { id: "e2", input: image({}, null) },
            { id: "e3", input: image({}, "image/jpeg") },
            { id: "e4", input: image({}, "image/png") },
        ]);
        expect(state.counts.inputs).to.equal(4);
        expect(state.observedTypes).to.deep.equal({ counts: { "image/jpeg": 1, "image/png": 2, unknown: 1 }, other: 0 });
        expect(Object.keys(state.observedTypes.counts)).to.deep.equal(["image/jpeg", "image/png", "unknown"]);

        const types = Array.from({ length: 21 }, (_, i) => `image/t${String(20 - i).padStart(2, "0")}`);
        const many = await analyse(
            [...types, "image/t20", "image/t00"].map((t, i) => ({ id: `m${i}`, input: image({}, t) })),
            { sampleSize: 1 },
        );
        const tracked = Object.fromEntries(types.slice(0, 20).map((t) => [t, t === "image/t20" ? 2 : 1]));
        // t20 to t01 came first; t00, the 21st, is counted as other both times.
        expect(many.state.observedTypes).to.deep.equal({ counts: tracked, other: 2 });
        expect(Object.keys(many.state.observedTypes.counts)).to.deep.equal([...types.slice(0, 20)].reverse());
    });

    it("samples the inputs with the smallest priorities, whatever their order, and decodes only those, at the end", async () => {
        const ids = ranked(6);
        const records = ids.map((id) => ({ id, input: image() }));
        for (const order of [records, [...records].reverse(), [records[3], records[0], records[5], records[2], records[1], records[4]]]) {
            const { state, calls } = await analyse(order, { sampleSize: 3 });
            const members = ids.slice(0, 3);
            expect(state.imageSample.map((m) => m.eventId)).to.deep.equal(members);
            const where = members.map((id) => `c.jsonl:${order.findIndex((r) => r.id === id) + 1}`);
            expect(state.imageSample).to.deep.equal(
                members.map((id, i) => ({
                    priority: priorityOf(id),
                    where: where[i],
                    eventId: id,
                    predicted: undefined,
                    confidence: undefined,
                    properties: PLAIN,
                    thumbnail: `thumb ${where[i]}`,
                })),
            );
            expect(calls).to.deep.equal(where.map((label) => ({ label, imageShape: [3, 64, 48] })));
            expect(state.counts).to.deep.include({ records: 6, inputs: 6, decodes: 3, thumbnails: 3 });
            expect(state.sampleSize).to.equal(3);
        }
    });

    it("keeps a member's encoded image undecoded while the sample's images fit in 128 MiB, so an evicted one is never decoded", async () => {
        const [small, large] = ranked(2);
        const { state, calls } = await analyse(
            [
                { id: large, input: { observedContentType: "image/png", data: "x".repeat(200_000), encoding: "JSON" } },
                { id: small, input: image() },
            ],
            { sampleSize: 1 },
        );
        expect(calls.map((c) => c.label)).to.deep.equal(["c.jsonl:2"]);
        expect(state.counts.decodes).to.equal(1);
    });

    it("decodes the sample four images per CPU at a time", async () => {
        const n = 4 * cpus().length + 2;
        const { maxInFlight, state } = await analyse(
            ranked(n).map((id) => ({ id, input: image() })),
            { sampleSize: n },
        );
        expect(state.counts.decodes).to.equal(n);
        expect(maxInFlight).to.equal(4 * cpus().length);
    });

    it("records an undecodable member's error and no thumbnail", async () => {
        const [first, second] = ranked(2);
        const { state } = await analyse([
            { id: first, input: image("undecodable") },
            { id: second, input: image() },
        ]);
        expect(state.imageSample[0]).to.deep.include({ eventId: first, error: "image data is corrupt or truncated" });
        expect(state.imageSample[0]).to.not.have.property("properties");
        expect(state.imageSample[0]).to.not.have.property("thumbnail");
        expect(state.counts).to.deep.include({ decodes: 2, thumbnails: 1 });
    });

    describe("the thumbnail rule", () => {
        /** Whether the last of nine members (the largest priority) gets a thumbnail after eight others. */
        async function ninthShown(before: Partial<ImageProperties>, last: Partial<ImageProperties>): Promise<boolean> {
            const ids = ranked(9);
            const { state } = await analyse(
                ids.map((id, i) => ({ id, input: image(i < 8 ? before : last) })),
                { sampleSize: 9 },
            );
            expect(state.imageSample.map((m) => m.eventId)).to.deep.equal(ids);
            expect(state.imageSample.slice(0, 8).every((m) => m.thumbnail !== undefined)).to.equal(true);
            expect(state.counts.thumbnails).to.equal(state.imageSample.filter((m) => m.thumbnail !== undefined).length);
            return state.imageSample[8].thumbnail !== undefined;
        }

        it("gives a member of no class a thumbnail only while fewer than eight before it are as far from training on every property", async () => {
            // Training: [0, 100) holds 2 of 10 images (rarity 0.2), [100, 200] 8 (0.8), mean 150.
            expect(await ninthShown({}, {}), "all alike: a tie counts as ahead").to.equal(false);
            expect(await ninthShown({}, { brightness: 190 }), "further from the mean").to.equal(true);
            expect(await ninthShown({ brightness: 190 }, {}), "nearer the mean").to.equal(false);
            expect(await ninthShown({ brightness: 110 }, { brightness: 190 }), "as far on the other side").to.equal(false);
            expect(await ninthShown({ brightness: 190 }, { brightness: 50 }), "in a rarer bin").to.equal(true);
            expect(await ninthShown({ brightness: 300 }, { brightness: 60 }), "in a rarer bin, nearer the mean").to.equal(true);
            expect(await ninthShown({ brightness: 50 }, { brightness: 190 }), "the others in a rarer bin").to.equal(false);
            expect(await ninthShown({ brightness: 50 }, { brightness: 0 }), "further within the rare bin").to.equal(true);
            expect(await ninthShown({ brightness: 0 }, { brightness: 50 }), "nearer within the rare bin").to.equal(false);
            expect(await ninthShown({}, { width: 190 }), "the first property").to.equal(true);
            expect(await ninthShown({}, { meanBlue: 190 }), "the last property").to.equal(true);
        });

        it("gives the first eight decoded members of each predicted class a thumbnail, and the lowest-confidence candidates theirs", async () => {
            const ids = ranked(11);
            const { state, calls } = await analyse(
                ids.map((id, i) => ({ id, input: image(), output: probabilities(i < 9 || i === 10 ? [0.9, 0.1] : [0.1, 0.9]) })),
                { sampleSize: 11 },
            );
            const shown = state.imageSample.map((m) => m.thumbnail !== undefined);
            // stop: the first eight of ids 0-8 and 10; yield: id 9, the first of its class.
            expect(shown).to.deep.equal([true, true, true, true, true, true, true, true, false, true, false]);
            expect(state.imageSample.map((m) => m.predicted)).to.deep.equal([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
            // The first eight records (equal confidence, smallest priorities first) entered the lowest-confidence list.
            expect(calls.slice(0, 8).map((c) => c.label)).to.deep.equal(new Array(8).fill(undefined));
            expect(state.counts).to.deep.include({ decodes: 8 + 11, thumbnails: 8 + 9 });
        });

        it("counts a class's members apart from other classes' members before them", async () => {
            const ids = ranked(17);
            const { state } = await analyse(
                ids.map((id, i) => ({ id, input: image(), output: probabilities(i < 8 ? [0.1, 0.9] : [0.9, 0.1]) })),
                { sampleSize: 17 },
            );
            // yield: ids 0-7; stop: ids 8-16, of which the first eight are shown though eight alike come before them.
            expect(state.imageSample.map((m) => m.thumbnail !== undefined)).to.deep.equal([...new Array(16).fill(true), false]);
        });

        it("counts only members before it in the sample, whatever order the decodes answer in", async () => {
            // Nine alike and of no class; the first answers last, after eight that come after it.
            const nine = await analyse(
                ranked(9).map((id, i) => ({ id, input: image(i === 0 ? { ticks: 200 } : {}) })),
                { sampleSize: 9 },
            );
            expect(nine.state.imageSample.map((m) => m.thumbnail !== undefined)).to.deep.equal(new Array(9).fill(true));

            // 0-7 yield and 8-14 stop, far from training on every property (in the rare bin, 150 from the mean);
            // 15, stop and at the mean, answers last; 16-23 stop and far, after it.
            const far = Object.fromEntries(NUMERIC_PROPERTIES.map((p) => [p, 0]));
            const ids = ranked(24);
            const { state } = await analyse(
                ids.map((id, i) => ({
                    id,
                    input: image(i === 15 ? { ticks: 200 } : far),
                    output: probabilities(i < 8 ? [0.1, 0.9] : [0.9, 0.1]),
                })),
                { sampleSize: 24 },
            );
            // 15 has seven of its class before it (8-14), so it is shown; so is 16 (seven of stop decided before it).
            expect(state.imageSample.map((m) => m.thumbnail !== undefined)).to.deep.equal([
                ...new Array(17).fill(true),
                ...new Array(7).fill(false),
            ]);
        });
    });

    describe("the lowest-confidence images", () => {
        const conf = (c: number) => probabilities([c, 1 - c]);

        it("keeps the eight lowest confidences with their thumbnails, decoding only candidates that may enter", async () => {
            const ids = ranked(10);
            const confidences = [0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.95, 0.5];
            const { state, calls } = await analyse(
                ids.map((id, i) => ({ id, input: image(), output: conf(confidences[i]) })),
                { sampleSize: 1 },
            );
            expect(state.lowestConfidence).to.deep.equal(
                [9, 7, 6, 5, 4, 3, 2, 1].map((i) => ({
                    priority: priorityOf(ids[i]),
                    where: `c.jsonl:${i + 1}`,
                    eventId: ids[i],
                    predicted: 0,
                    confidence: confidences[i],
                    thumbnail: "thumb lowest",
                })),
            );
            // 0.95 came when eight lower ones were kept: not decoded. Then the one sample member at the end.
            expect(calls.map((c) => c.label)).to.deep.equal([...new Array(9).fill(undefined), "c.jsonl:1"]);
            expect(state.counts).to.deep.include({ decodes: 10, thumbnails: 10 });
        });

        it("orders equal confidences by priority, leaves out undecodable images and records without a prediction", async () => {
            const [a, b, c, d] = ranked(4);
            const { state } = await analyse(
                [
                    { id: b, input: image(), output: conf(0.6) },
                    { id: a, input: image(), output: conf(0.6) },
                    { id: c, input: image("undecodable"), output: conf(0.55) },
                    { id: d, input: image() },
                ],
                { sampleSize: 1 },
            );
            expect(state.lowestConfidence.map((s) => s.eventId)).to.deep.equal([a, b]);
            // b, a and c as candidates, a as the sample's member.
            expect(state.counts).to.deep.include({ decodes: 4, thumbnails: 3 });
        });

        it("counts decodes in flight as places taken", async () => {
            let release!: () => void;
            const fake = fakeRunner(new Promise<void>((r) => (release = r)));
            const analysis = new WindowAnalysis(BASELINE, WINDOW, { sampleSize: 1, workers: fake.runner });
            const ids = ranked(10);
            const adding = ids
                .slice(0, 9)
                .map((id, i) => analysis.addLine(line({ id, input: image(), output: conf(0.6 + i / 100) }), `c:${i}`, THRESHOLD));
            expect(fake.calls).to.have.length(8);
            release();
            await Promise.all(adding);
            // Once they are done, a lower confidence still enters in place of the highest.
            await analysis.addLine(line({ id: ids[9], input: image(), output: conf(0.55) }), "c:9", THRESHOLD);
            const state = await analysis.finish();
            expect(state.lowestConfidence.map((s) => s.confidence)).to.deep.equal([
                0.55,
                ...[0, 1, 2, 3, 4, 5, 6].map((i) => 0.6 + i / 100),
            ]);
        });
    });

    describe("the measurement task", () => {
        /** A 4 x 2 pure red PNG: luma 0.299 * 255, no contrast. */
        const red = () =>
            sharp({ create: { width: 4, height: 2, channels: 3, background: { r: 255, g: 0, b: 0 } } })
                .png()
                .toBuffer();

        it("measures the image for the shape, and makes a JPEG thumbnail only when the caller says it may be shown", async () => {
            const png = await red();
            const asked: ImageProperties[] = [];
            const shown = await IN_PROCESS.run(
                measureCapturedImageTask,
                { bytes: png, imageShape: [3, 224, 224] },
                { ask: (p) => (asked.push(p), true) },
            );
            const properties = (shown as { properties: ImageProperties }).properties;
            expect(properties).to.deep.include({
                format: "png",
                width: 4,
                height: 2,
                aspect: 2,
                bytes: png.length,
                meanRed: 255,
                meanGreen: 0,
                meanBlue: 0,
            });
            expect(properties.brightness).to.be.closeTo(76.245, 1e-9);
            expect(properties.contrast).to.be.closeTo(0, 1e-3);
            expect(asked).to.deep.equal([properties]);
            const thumbnail = Buffer.from((shown as { thumbnail: string }).thumbnail, "base64");
            expect(await sharp(thumbnail).metadata()).to.deep.include({ format: "jpeg", width: 4, height: 2 });

            const hidden = await IN_PROCESS.run(measureCapturedImageTask, { bytes: png, imageShape: [3, 224, 224] }, { ask: () => false });
            expect(hidden).to.deep.equal({ properties });
        });

        it("reads the bytes of a view into a larger buffer, and says why an image is undecodable", async () => {
            const png = await red();
            const whole = new Uint8Array(png.length + 10);
            whole.set(png, 5);
            const view = whole.subarray(5, 5 + png.length);
            const measured = await IN_PROCESS.run(
                measureCapturedImageTask,
                { bytes: view, imageShape: [3, 224, 224] },
                { ask: () => false },
            );
            expect(measured).to.have.nested.property("properties.bytes", png.length);
            expect(await IN_PROCESS.run(measureCapturedImageTask, { bytes: new Uint8Array(0), imageShape: [3, 224, 224] })).to.deep.equal({
                error: "empty file (0 bytes)",
            });
        });

        it("passes on an error that is not an undecodable image, and is named for the worker table", async () => {
            let error: unknown;
            try {
                await IN_PROCESS.run(measureCapturedImageTask, { bytes: undefined as unknown as Uint8Array, imageShape: [3, 224, 224] });
            } catch (e) {
                error = e;
            }
            expect(error).to.be.instanceOf(TypeError);
            expect(measureCapturedImageTask.name).to.equal("monitor.measure");
        });

        it("is what the analysis decodes with when it is given no workers", async () => {
            const png = await red();
            const analysis = new WindowAnalysis(BASELINE, WINDOW);
            await analysis.addLine(
                line({ id: "e1", input: { observedContentType: "image/png", data: png.toString("base64"), encoding: "BASE64" } }),
                "c:1",
                THRESHOLD,
            );
            const [member] = (await analysis.finish()).imageSample;
            expect(member.properties).to.deep.include({ format: "png", width: 4, height: 2, bytes: png.length });
            expect(member.thumbnail).to.match(/^\/9j\//);
        });
    });
});

describe("monitor window states merged", () => {
    const state = (over: Partial<WindowState> = {}): WindowState => windowState({ sampleSize: 3, ...over });
    const refusal = (states: WindowState[]) => {
        try {
            mergeStates(states);
        } catch (e) {
            return (e as Error).message;
        }
        return "merged";
    };

    it("refuses nothing, another measurement version, other classes, another window and another sample size", () => {
        expect(refusal([])).to.equal("nothing to merge");
        const v1 = state({ version: 1 as 2 });
        const versionMessage =
            "partial statistics of version 1; this monitor reads version 2 (image properties measured another way): run every instance of the job with the same image";
        expect(refusal([state(), v1])).to.equal(versionMessage);
        expect(refusal([v1, state()])).to.equal(versionMessage);
        expect(refusal([state(), state({ classes: ["stop", "go"] })])).to.equal(
            "partial statistics of different models (class lists differ)",
        );
        expect(refusal([state(), state({ classes: ["stop"] })])).to.equal("partial statistics of different models (class lists differ)");
        expect(refusal([state(), state({ window: { start: "2026-01-10T11:00:00.000Z", end: "2026-01-10T13:00:00.000Z" } })])).to.equal(
            "partial statistics of different windows (2026-01-10T11:00:00.000Z and 2026-01-10T12:00:00.000Z)",
        );
        expect(refusal([state(), state({ window: { start: "2026-01-10T12:00:00.000Z", end: "2026-01-10T14:00:00.000Z" } })])).to.equal(
            "partial statistics of different windows (2026-01-10T12:00:00.000Z and 2026-01-10T12:00:00.000Z)",
        );
        expect(refusal([state(), state({ sampleSize: 4 })])).to.equal("partial statistics with different image sample sizes");
        expect(refusal([state(), state()])).to.equal("merged");
    });

    it("adds counts, malformed kinds, class counts, confidence bins and the confusion matrix", () => {
        const keys = Object.keys(counts({})) as (keyof WindowState["counts"])[];
        const numbered = (from: number) => counts(Object.fromEntries(keys.map((k, i) => [k, from + i])));
        const merged = mergeStates([
            state({
                counts: numbered(1),
                malformed: { "not JSON": 1 },
                classCounts: [1, 2],
                confidence: [1, 0, 0, 0, 0, 0, 0, 0, 0, 2],
                confusion: [
                    [100, 0],
                    [0, 0],
                ],
            }),
            state({
                counts: numbered(100),
                malformed: { "not JSON": 2, "not a capture record": 1 },
                classCounts: [3, 4],
                confidence: [0, 1, 0, 0, 0, 0, 0, 0, 0, 3],
                confusion: [
                    [1, 2],
                    [3, 4],
                ],
            }),
            state({
                counts: numbered(1000),
                malformed: { "not a capture record": undefined },
                classCounts: [5, 6],
                confusion: [
                    [10, 20],
                    [30, 40],
                ],
            }),
        ]);
        expect(merged.counts).to.deep.equal(counts(Object.fromEntries(keys.map((k, i) => [k, 1101 + 3 * i]))));
        expect(merged.malformed).to.deep.equal({ "not JSON": 3, "not a capture record": 1 });
        expect(merged.classCounts).to.deep.equal([9, 12]);
        expect(merged.confidence).to.deep.equal([1, 1, 0, 0, 0, 0, 0, 0, 0, 5]);
        expect(merged.confusion).to.deep.equal([
            [111, 22],
            [33, 44],
        ]);
        expect(merged).to.deep.include({
            version: 2,
            classes: ["stop", "yield"],
            window: { start: "2026-01-10T12:00:00.000Z", end: "2026-01-10T13:00:00.000Z" },
            sampleSize: 3,
        });
        expect(merged).to.not.have.property("firstRecordAt");
        expect(merged).to.not.have.property("lastRecordAt");
    });

    it("unites content types, keeps the 20 most frequent (by name on ties), sorted by name, and the rest as other", () => {
        const small = mergeStates([
            state({ observedTypes: { counts: { "image/png": 5, "image/jpeg": 1 }, other: 2 } }),
            state({ observedTypes: { counts: { "image/webp": 3, "image/png": 1 }, other: 1 } }),
        ]);
        expect(small.observedTypes).to.deep.equal({ counts: { "image/jpeg": 1, "image/png": 6, "image/webp": 3 }, other: 3 });
        expect(Object.keys(small.observedTypes.counts)).to.deep.equal(["image/jpeg", "image/png", "image/webp"]);

        const x = Array.from({ length: 19 }, (_, i) => `x${String(19 - i).padStart(2, "0")}`);
        // y1, y2 and y3 seen once each, met in either order: y1 is kept by its name.
        for (const [first, second] of [
            [{ y1: 1, y2: 1 }, { y3: 1 }],
            [{ y3: 1, y2: 1 }, { y1: 1 }],
        ]) {
            const capped = mergeStates([
                state({ observedTypes: { counts: first, other: 4 } }),
                state({ observedTypes: { counts: { ...Object.fromEntries(x.map((t) => [t, 2])), ...second }, other: 0 } }),
            ]);
            expect(Object.keys(capped.observedTypes.counts)).to.deep.equal([...[...x].reverse(), "y1"]);
            expect(capped.observedTypes).to.deep.equal({ counts: Object.fromEntries([...x.map((t) => [t, 2]), ["y1", 1]]), other: 6 });
        }
    });

    it("takes the earliest first and latest last record time, the first ten error samples, the sample's smallest and the lowest confidences", () => {
        const at = (minute: number) => `2026-01-10T12:${String(minute).padStart(2, "0")}:00.000Z`;
        const err = (where: string) => ({ where, text: `${where}: x` });
        const member = (priority: number, where: string) => ({ priority, where, eventId: where });
        const shot = (confidence: number, priority: number) => ({ priority, where: `w${priority}`, eventId: `e${priority}`, confidence });
        const merged = mergeStates([
            state({
                firstRecordAt: at(10),
                lastRecordAt: at(20),
                errorSamples: [{ where: "a", text: "a: first" }, ...["b", "d", "f", "h", "j", "l"].map(err)],
                imageSample: [member(0.1, "a"), member(0.5, "a")],
                lowestConfidence: [0.1, 0.3, 0.5, 0.7, 0.9].map((c, i) => shot(c, i / 10)),
            }),
            state(),
            state({
                firstRecordAt: at(5),
                lastRecordAt: at(15),
                errorSamples: ["a", "c", "e", "g", "i", "k"].map(err),
                imageSample: [member(0.1, "0"), member(0.3, "b"), member(0.9, "c")],
                lowestConfidence: [0.2, 0.3, 0.4, 0.6, 0.8].map((c, i) => shot(c, 0.5 + i / 10)),
            }),
        ]);
        expect(merged.firstRecordAt).to.equal(at(5));
        expect(merged.lastRecordAt).to.equal(at(20));
        // Both "a": the first state's first.
        expect(merged.errorSamples).to.deep.equal([
            { where: "a", text: "a: first" },
            ...["a", "b", "c", "d", "e", "f", "g", "h", "i"].map(err),
        ]);
        expect(merged.imageSample).to.deep.equal([member(0.1, "0"), member(0.1, "a"), member(0.3, "b")]);
        // 0.3 twice: the smaller priority (0.1, the first state's) first.
        expect(merged.lowestConfidence.map((s) => [s.confidence, s.priority])).to.deep.equal([
            [0.1, 0],
            [0.2, 0.5],
            [0.3, 0.1],
            [0.3, 0.6],
            [0.4, 0.7],
            [0.5, 0.2],
            [0.6, 0.8],
            [0.7, 0.3],
        ]);
    });
});
