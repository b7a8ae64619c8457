import { expect } from "chai";
import {
    configureSharpForJobs,
    contentTypeOf,
    encodedHeader,
    ImageDecodeError,
    ImageShape,
    imageProperties,
    measureImage,
    reportThumbnail,
    sharpReason,
    thumbnailJpeg,
} from "../../jobs/lib/image-properties";
import { trainingJpegOf } from "../../jobs/preprocess/training-image";
import sharp from "sharp";
import { noiseImage } from "./support/images";
import { referenceImageProperties } from "./support/reference-measurement";
import { referenceTrainingJpeg } from "./support/reference-training-image";
import { brokenImages, VariedImage, variedImages } from "./support/varied-images";

const SHAPE: ImageShape = [3, 224, 224];

// Made once for the file: encoding the corpus is most of the time its tests take.
let variedOnce: Promise<VariedImage[]> | undefined;
const sharedVariedImages = () => (variedOnce ??= variedImages());

describe("image properties: decode failures", () => {
    it("gives the same reason for the same broken image however many other images decode at the same time", async () => {
        const whole = await noiseImage(320, 240, "jpeg");
        const truncated = whole.subarray(0, Math.floor(whole.length * 0.6));
        const header = whole.subarray(0, 40);
        const reasons = new Map<string, Set<string>>([
            ["truncated", new Set()],
            ["header only", new Set()],
        ]);
        const reasonOf = async (name: string, bytes: Buffer) => {
            try {
                await imageProperties(bytes, SHAPE);
                reasons.get(name)!.add("(decoded)");
            } catch (e) {
                expect(e).to.be.instanceOf(ImageDecodeError);
                reasons.get(name)!.add((e as Error).message);
            }
        };
        // Reports and their merged shards must be identical run to run, so the text may not depend on timing.
        for (let round = 0; round < 4; round++)
            await Promise.all(
                Array.from({ length: 24 }, (_, i) =>
                    i % 3 === 0
                        ? imageProperties(whole, SHAPE)
                        : reasonOf(i % 3 === 1 ? "truncated" : "header only", i % 3 === 1 ? truncated : header),
                ),
            );
        for (const [name, seen] of reasons) expect([...seen], name).to.have.length(1);
    });
});

describe("image properties: measured on the pixels the model trains on (measurement version 2)", function () {
    this.timeout(60_000);
    let varied: VariedImage[];
    before(async () => {
        varied = await sharedVariedImages();
    });

    // Version 1 measured a 64 px thumbnail; where that thumbnail was the whole image (both sides within 64 px) and
    // the training copy is not shrunk, both versions see the same pixels and must agree exactly.
    it("gives version 1's numbers exactly where both see every pixel (opaque images within 64 px)", async () => {
        const small = varied.filter((v) => /\b([1-9]|[1-5]\d|6[0-4])x([1-9]|[1-5]\d|6[0-4])\b/.test(v.name) && !/alpha|rgba/.test(v.name));
        expect(small.length).to.be.greaterThan(10);
        for (const { name, bytes } of small)
            expect(await imageProperties(bytes, SHAPE), name).to.deep.equal(await referenceImageProperties(bytes));
    });

    it("makes the training copy from the measuring decode, byte for byte the copy a second decode made", async () => {
        let compared = 0;
        for (const shape of [SHAPE, [3, 32, 32], [3, 100, 60]] as const)
            for (const { name, bytes } of varied) {
                const measured = await measureImage(bytes, shape);
                if (measured.plan.treatment === "as-is") continue;
                const expected = await referenceTrainingJpeg(bytes, measured.plan);
                const actual = await trainingJpegOf(measured);
                // 16-bit PNGs are now enlarged after the conversion to 8 bits, not before: the same picture up to rounding
                // (which the JPEG encoder spreads over its blocks), not the same bytes.
                if (/16-bit/.test(name) && measured.plan.treatment === "upscaled") {
                    const [a, e] = await Promise.all([actual, expected].map((j) => sharp(j).raw().toBuffer()));
                    expect(meanAbsoluteDifference(a, e), `${name} at ${shape.join("x")}`).to.be.below(3);
                } else expect(actual.equals(expected), `${name} at ${shape.join("x")}`).to.equal(true);
                compared++;
            }
        expect(compared).to.be.greaterThan(250);
    });

    it("measures a shrunk image on its training size and an enlarged one at its own", async () => {
        // Left half black, right half white: brightness and contrast 127.5 at any size, up to the seam's resampling.
        const halves = (width: number, height: number) =>
            sharp({ create: { width, height, channels: 3, background: "#000000" } })
                .composite([
                    { input: { create: { width: width / 2, height, channels: 3, background: "#ffffff" } }, left: width / 2, top: 0 },
                ])
                .png()
                .toBuffer();
        for (const [w, h] of [
            [896, 448],
            [40, 20],
        ]) {
            const m = await measureImage(await halves(w, h), SHAPE);
            expect([m.pixels.width, m.pixels.height], `${w}x${h}`).to.deep.equal(w > 448 ? [448, 224] : [w, h]);
            expect(m.properties.brightness, `${w}x${h}`).to.be.closeTo(127.5, 1.5);
            expect(m.properties.contrast, `${w}x${h}`).to.be.closeTo(127.5, 2);
            expect([m.properties.width, m.properties.height]).to.deep.equal([w, h]);
        }
    });

    it("measures transparent pixels on white, as they are trained", async () => {
        const clear = await sharp({ create: { width: 30, height: 30, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
            .png()
            .toBuffer();
        const p = await imageProperties(clear, SHAPE);
        expect([p.meanRed, p.meanGreen, p.meanBlue]).to.deep.equal([255, 255, 255]);
        expect(p.brightness).to.be.closeTo(255, 1e-9);
        expect(p.contrast).to.be.closeTo(0, 1e-3);
    });

    it("refuses every broken file with the reference's reason", async () => {
        for (const { name, bytes } of await brokenImages()) {
            const expected = await referenceImageProperties(bytes).then(
                () => "(decoded)",
                (e: Error) => `${e.name}: ${e.message}`,
            );
            const actual = await imageProperties(bytes, SHAPE).then(
                () => "(decoded)",
                (e: Error) => `${e.name}: ${e.message}`,
            );
            expect(actual, name).to.equal(expected);
            expect(actual, name).to.match(/^ImageDecodeError: /);
        }
    });

    it("gives a flat colour's luma and channel means by Rec. 601, with no contrast", async () => {
        const [r, g, b] = [200, 100, 50];
        const png = await sharp({ create: { width: 90, height: 30, channels: 3, background: { r, g, b } } })
            .png()
            .toBuffer();
        const p = await imageProperties(png, SHAPE);
        expect(p).to.deep.include({ format: "png", width: 90, height: 30, aspect: 3, bytes: png.length });
        expect(p.contrast).to.be.closeTo(0, 1e-3);
        expect(p.brightness).to.be.closeTo(0.299 * r + 0.587 * g + 0.114 * b, 1e-9);
        expect([p.meanRed, p.meanGreen, p.meanBlue]).to.deep.equal([r, g, b]);
    });
});

describe("image properties: accepted and refused decodes", () => {
    it("measures a JPEG that decodes with a warning (stray bytes before a marker), as browsers and the endpoint's decoder show it", async () => {
        const jpeg = await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 90, g: 90, b: 90 } } })
            .jpeg({ quality: 90 })
            .toBuffer();
        const sos = jpeg.indexOf(Buffer.from([0xff, 0xda]));
        const stray = Buffer.concat([jpeg.subarray(0, sos), Buffer.from([0x12, 0x34]), jpeg.subarray(sos)]);
        // libjpeg's "Corrupt JPEG data: 2 extraneous bytes before marker 0xda" is a warning, not an error.
        await sharp(stray, { failOn: "warning" })
            .raw()
            .toBuffer()
            .then(
                () => expect.fail("expected libvips to warn about the stray bytes"),
                (e: Error) => expect(e.message).to.match(/extraneous bytes before marker 0xda/),
            );
        const p = await imageProperties(stray, SHAPE);
        expect(p).to.deep.include({ format: "jpeg", width: 40, height: 30, bytes: stray.length });
        expect(await sharp(await reportThumbnail(stray)).metadata()).to.deep.include({ format: "jpeg", width: 40, height: 30 });
        expect([p.meanRed, p.meanGreen, p.meanBlue]).to.deep.equal([90, 90, 90]);
    });

    it("refuses a file that is not an image before decoding anything, with sharp's own sentence", async () => {
        await reportThumbnail(Buffer.from("not an image at all")).then(
            () => expect.fail("expected a refusal"),
            (e: Error) => {
                expect(e).to.be.instanceOf(ImageDecodeError);
                expect(e.message).to.equal("not a decodable image: Input buffer contains unsupported image format");
            },
        );
    });
});

describe("image properties: sharpReason keeps sharp's sentence and drops libvips' detail", () => {
    it("cuts at the first colon, so a detail another image's decode left in libvips' buffer never shows", () => {
        expect(sharpReason(new Error("Input buffer has corrupt header: VipsJpeg: premature end of JPEG image"))).to.equal(
            "Input buffer has corrupt header",
        );
        expect(sharpReason(new Error("Input buffer contains unsupported image format"))).to.equal(
            "Input buffer contains unsupported image format",
        );
        expect(sharpReason("pngload_buffer: invalid chunk checksum")).to.equal("pngload_buffer");
    });

    it("keeps a message that starts with its colon whole, and names an empty one", () => {
        expect(sharpReason(new Error(": only detail"))).to.equal(": only detail");
        expect(sharpReason(new Error("   "))).to.equal("unknown decode error");
        expect(sharpReason(new Error(" padded reason : detail"))).to.equal("padded reason");
    });
});

describe("image properties: content types as an endpoint is sent them", () => {
    it("maps sharp's format names to their MIME types", () => {
        const expected: Record<string, string> = {
            jpeg: "image/jpeg",
            png: "image/png",
            webp: "image/webp",
            gif: "image/gif",
            tiff: "image/tiff",
            avif: "image/avif",
            heif: "image/heif",
        };
        for (const [format, type] of Object.entries(expected)) expect(contentTypeOf(format), format).to.equal(type);
    });
});

describe("image properties: report thumbnails", () => {
    // The first quantisation value of the luminance table (DC) is 16 in the IJG table (ITU T.81 K.1); libjpeg
    // scales it by 200 - 2q for q >= 50 and rounds: (16 * 60 + 50) / 100 -> 10 at quality 70 (6 at 80, sharp's default).
    const lumaDcQuantisation = (jpeg: Buffer) => {
        const dqt = jpeg.indexOf(Buffer.from([0xff, 0xdb]));
        expect(dqt, "a DQT segment").to.be.greaterThan(0);
        expect(jpeg[dqt + 4] & 0x0f, "table 0 first").to.equal(0);
        return jpeg[dqt + 5];
    };

    it("shrinks the measured pixels to 48 px on the long side, keeps the aspect, never enlarges, at JPEG quality 70", async () => {
        const pixels = (width: number, height: number) => ({ data: Buffer.alloc(width * height * 3, 200), width, height });
        const wide = await thumbnailJpeg(pixels(200, 100));
        expect(await sharp(wide).metadata()).to.deep.include({ format: "jpeg", width: 48, height: 24 });
        expect(lumaDcQuantisation(wide)).to.equal(10);
        const small = await thumbnailJpeg(pixels(30, 20));
        expect(await sharp(small).metadata()).to.deep.include({ format: "jpeg", width: 30, height: 20 });
    });

    it("makes an encoded image's thumbnail on white, in sRGB, at most 48 px, at JPEG quality 70", async () => {
        const clear = await sharp({ create: { width: 120, height: 60, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
            .png()
            .toBuffer();
        const thumbnail = await reportThumbnail(clear);
        expect(await sharp(thumbnail).metadata()).to.deep.include({ format: "jpeg", width: 48, height: 24, channels: 3, space: "srgb" });
        expect(lumaDcQuantisation(thumbnail)).to.equal(10);
        const { data } = await sharp(thumbnail).raw().toBuffer({ resolveWithObject: true });
        expect(Math.min(...data)).to.be.greaterThan(250);
        const tiny = await sharp({ create: { width: 20, height: 10, channels: 3, background: "#336699" } })
            .png()
            .toBuffer();
        expect(await sharp(await reportThumbnail(tiny)).metadata()).to.deep.include({ width: 20, height: 10 });
        const cmyk = await sharp({ create: { width: 64, height: 64, channels: 3, background: "#336699" } })
            .toColourspace("cmyk")
            .jpeg()
            .toBuffer();
        expect(await sharp(await reportThumbnail(cmyk)).metadata()).to.deep.include({ space: "srgb", channels: 3 });
    });
});

describe("image properties: sharp as the jobs configure it", () => {
    it("turns libvips' operation cache off and gives each image one thread", () => {
        const before = { concurrency: sharp.concurrency(), cache: sharp.cache() };
        try {
            sharp.concurrency(4);
            sharp.cache({ memory: 50, files: 20, items: 100 });
            configureSharpForJobs();
            expect(sharp.concurrency()).to.equal(1);
            const cache = sharp.cache();
            expect([cache.memory.max, cache.files.max, cache.items.max]).to.deep.equal([0, 0, 0]);
        } finally {
            sharp.concurrency(before.concurrency);
            sharp.cache({ memory: before.cache.memory.max, files: before.cache.files.max, items: before.cache.items.max });
        }
    });
});

describe("image properties: the header read without libvips (JPEG frame header, PNG IHDR)", function () {
    this.timeout(60_000);
    const soi = [0xff, 0xd8];
    const app0 = [0xff, 0xe0, 0x00, 0x10, ...Buffer.from("JFIF\0"), 1, 1, 0, 0, 1, 0, 1, 0, 0];
    // A baseline frame header (ITU T.81 B.2.2): length 17, precision 8, height, width, 3 components.
    const sof = (marker: number, width: number, height: number) => [
        0xff,
        marker,
        0x00,
        0x11,
        0x08,
        height >> 8,
        height & 0xff,
        width >> 8,
        width & 0xff,
        0x03,
        1,
        0x22,
        0,
        2,
        0x11,
        1,
        3,
        0x11,
        1,
    ];
    const bytes = (...parts: number[][]) => Buffer.from(parts.flat());
    const segment = (marker: number, payload: number[]) => [
        0xff,
        marker,
        (payload.length + 2) >> 8,
        (payload.length + 2) & 0xff,
        ...payload,
    ];

    it("reads every JPEG and PNG of the varied corpus as sharp's metadata does, and nothing else", async () => {
        let read = 0;
        for (const { name, bytes: encoded } of await sharedVariedImages()) {
            const header = encodedHeader(encoded);
            if (!/^(jpeg|png)/.test(name)) {
                expect(header, name).to.equal(undefined);
                continue;
            }
            const meta = await sharp(encoded).metadata();
            expect(header, name).to.deep.equal({ format: meta.format, width: meta.width, height: meta.height });
            read++;
        }
        expect(read).to.be.greaterThan(60);
    });

    it("finds the frame header past application segments, fill bytes and markers without a length", () => {
        expect(encodedHeader(bytes(soi, app0, sof(0xc0, 320, 240)))).to.deep.equal({ format: "jpeg", width: 320, height: 240 });
        expect(encodedHeader(bytes(soi, [0xff, 0xff, 0xff], app0, [0xff, 0xff], sof(0xc0, 7, 3)))).to.deep.equal({
            format: "jpeg",
            width: 7,
            height: 3,
        });
        // TEM (01) and RST0-RST7 (D0-D7) stand alone: reading a length after them would jump into the frame header.
        for (const standalone of [0x01, 0xd0, 0xd3, 0xd7])
            expect(encodedHeader(bytes(soi, [0xff, standalone], sof(0xc0, 64, 48))), standalone.toString(16)).to.deep.equal({
                format: "jpeg",
                width: 64,
                height: 48,
            });
        // An empty segment (length 2, its own length field only) is legal.
        expect(encodedHeader(bytes(soi, [0xff, 0xe1, 0x00, 0x02], sof(0xc0, 5, 9)))).to.deep.equal({ format: "jpeg", width: 5, height: 9 });
    });

    it("reads every start-of-frame marker (C0-CF) but DHT, JPG and DAC, whose payload it skips", () => {
        for (const marker of [0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf])
            expect(encodedHeader(bytes(soi, sof(marker, 100, 50))), marker.toString(16)).to.deep.equal({
                format: "jpeg",
                width: 100,
                height: 50,
            });
        // Each of the three carries a payload that would read as a 999x999 frame header if taken for one.
        const decoy = sof(0xc0, 999, 999).slice(4);
        for (const marker of [0xc4, 0xc8, 0xcc])
            expect(encodedHeader(bytes(soi, segment(marker, decoy), sof(0xc2, 30, 20))), marker.toString(16)).to.deep.equal({
                format: "jpeg",
                width: 30,
                height: 20,
            });
        // Neither APP15 (EF) nor a JPEG-LS frame (F7) is a baseline/progressive frame header.
        expect(encodedHeader(bytes(soi, segment(0xef, decoy), sof(0xc0, 31, 21)))).to.deep.equal({ format: "jpeg", width: 31, height: 21 });
        expect(encodedHeader(bytes(soi, segment(0xbf, decoy), sof(0xc0, 32, 22)))).to.deep.equal({ format: "jpeg", width: 32, height: 22 });
    });

    it("reads the dimensions as soon as the frame header holds them", () => {
        const complete = bytes(soi, sof(0xc0, 260, 300));
        const upToWidth = complete.subarray(0, 2 + 9);
        expect(encodedHeader(upToWidth)).to.deep.equal({ format: "jpeg", width: 260, height: 300 });
        expect(encodedHeader(complete.subarray(0, 2 + 8))).to.equal(undefined);
        // A frame header of length 8 (no component table) still holds both dimensions; 7 cannot.
        expect(encodedHeader(bytes(soi, [0xff, 0xc0, 0x00, 0x08, 0x08, 0x00, 0x10, 0x00, 0x20, 0x00]))).to.deep.equal({
            format: "jpeg",
            width: 32,
            height: 16,
        });
        expect(encodedHeader(bytes(soi, [0xff, 0xc0, 0x00, 0x07, 0x08, 0x00, 0x10, 0x00, 0x20, 0x00]))).to.equal(undefined);
    });

    it("leaves to sharp every JPEG whose frame header is missing, misplaced or says nothing", () => {
        const refused: Array<[string, Buffer]> = [
            // Each followed by two bytes that would read as an empty segment's length, the frame header right after.
            ["scan before any frame header", bytes(soi, app0, [0xff, 0xda, 0x00, 0x02], sof(0xc0, 10, 10))],
            ["end of image first", bytes(soi, [0xff, 0xd9, 0x00, 0x02], sof(0xc0, 10, 10))],
            ["a second start of image", bytes(soi, [0xff, 0xd8, 0x00, 0x02], sof(0xc0, 10, 10))],
            ["a byte where a marker must be", bytes(soi, [0x00], sof(0xc0, 10, 10))],
            ["a segment length below 2", bytes(soi, [0xff, 0xe0, 0x00, 0x01], sof(0xc0, 10, 10))],
            ["a zero height (set later by a DNL marker)", bytes(soi, sof(0xc0, 10, 0))],
            ["a zero width", bytes(soi, sof(0xc0, 0, 10))],
            ["application segments only", bytes(soi, app0)],
            ["ends inside a marker's length", bytes(soi, app0, [0xff, 0xe0])],
            ["three bytes", Buffer.from([0xff, 0xd8, 0xff])],
            ["not a JPEG's first byte", bytes([0xfe, 0xd8], sof(0xc0, 10, 10))],
            ["not a JPEG's second byte", bytes([0xff, 0xd9], sof(0xc0, 10, 10))],
        ];
        for (const [name, encoded] of refused) expect(encodedHeader(encoded), name).to.equal(undefined);
    });

    it("reads a PNG's IHDR and leaves to sharp one whose signature, chunk or dimensions are wrong", () => {
        // Signature (PNG 5.2), then the IHDR chunk: length 13, type, width, height (big-endian).
        const png = (width: number, height: number) =>
            Buffer.concat([
                Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
                Buffer.from("IHDR", "latin1"),
                Buffer.from([width >>> 24, (width >> 16) & 0xff, (width >> 8) & 0xff, width & 0xff]),
                Buffer.from([height >>> 24, (height >> 16) & 0xff, (height >> 8) & 0xff, height & 0xff]),
            ]);
        expect(png(70000, 3).length).to.equal(24);
        expect(encodedHeader(png(70000, 3))).to.deep.equal({ format: "png", width: 70000, height: 3 });
        expect(encodedHeader(png(70000, 3).subarray(0, 23))).to.equal(undefined);
        expect(encodedHeader(png(0, 3))).to.equal(undefined);
        expect(encodedHeader(png(3, 0))).to.equal(undefined);
        for (const at of [0, 3, 4, 7, 12, 15]) {
            const broken = png(10, 10);
            broken[at] ^= 0x20;
            expect(encodedHeader(broken), `byte ${at} changed`).to.equal(undefined);
        }
    });
});

function meanAbsoluteDifference(a: Buffer, b: Buffer): number {
    expect(a.length).to.equal(b.length);
    let sum = 0;
    for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
    return sum / a.length;
}
