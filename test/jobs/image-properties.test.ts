import { expect } from "chai";
import { ImageDecodeError, ImageShape, imageProperties, measureImage } from "../../jobs/lib/image-properties";
import { trainingJpegOf } from "../../jobs/preprocess/training-image";
import sharp from "sharp";
import { noiseImage } from "./support/images";
import { referenceImageProperties } from "./support/reference-measurement";
import { referenceTrainingJpeg } from "./support/reference-training-image";
import { brokenImages, VariedImage, variedImages } from "./support/varied-images";

const SHAPE: ImageShape = [3, 224, 224];

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
        varied = await variedImages();
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

function meanAbsoluteDifference(a: Buffer, b: Buffer): number {
    expect(a.length).to.equal(b.length);
    let sum = 0;
    for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
    return sum / a.length;
}
