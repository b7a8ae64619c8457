import { expect } from "chai";
import { ImageDecodeError, imageProperties } from "../../jobs/lib/image-properties";
import sharp from "sharp";
import { noiseImage } from "./support/images";
import { referenceImageProperties } from "./support/reference-measurement";
import { brokenImages, VariedImage, variedImages } from "./support/varied-images";

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
                await imageProperties(bytes);
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
                        ? imageProperties(whole)
                        : reasonOf(i % 3 === 1 ? "truncated" : "header only", i % 3 === 1 ? truncated : header),
                ),
            );
        for (const [name, seen] of reasons) expect([...seen], name).to.have.length(1);
    });
});

describe("image properties: the same numbers as the measurement earlier baselines were made with", function () {
    this.timeout(60_000);
    let varied: VariedImage[];
    before(async () => {
        varied = await variedImages();
    });

    // Tolerance 0: every field, the thumbnail's bytes included, is what the reference measurement gives, so a baseline
    // written before is compared with today's monitor measurements on equal terms.
    it("measures every kind of image exactly as the reference does, thumbnail included", async () => {
        expect(varied.length).to.be.greaterThan(100);
        for (const { name, bytes } of varied) {
            const expected = await referenceImageProperties(bytes, { thumbnail: true });
            const actual = await imageProperties(bytes, { thumbnail: true });
            expect(actual.thumbnail.equals(expected.thumbnail), `${name}: thumbnail`).to.equal(true);
            expect({ ...actual, thumbnail: undefined }, name).to.deep.equal({ ...expected, thumbnail: undefined });
        }
    });

    it("refuses every broken file with the reference's reason", async () => {
        for (const { name, bytes } of await brokenImages()) {
            const expected = await referenceImageProperties(bytes).then(
                () => "(decoded)",
                (e: Error) => `${e.name}: ${e.message}`,
            );
            const actual = await imageProperties(bytes).then(
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
        const p = await imageProperties(png);
        expect(p).to.deep.include({ format: "png", width: 90, height: 30, aspect: 3, bytes: png.length });
        expect(p.contrast).to.be.closeTo(0, 1e-3);
        expect(p.brightness).to.be.closeTo(0.299 * r + 0.587 * g + 0.114 * b, 1e-9);
        expect([p.meanRed, p.meanGreen, p.meanBlue]).to.deep.equal([r, g, b]);
    });
});
