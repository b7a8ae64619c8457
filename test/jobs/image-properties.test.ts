import { expect } from "chai";
import { ImageDecodeError, imageProperties } from "../../jobs/lib/image-properties";
import { noiseImage } from "./support/images";

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
