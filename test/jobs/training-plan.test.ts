import { expect } from "chai";
import { planTrainingImage } from "../../jobs/lib/training-plan";

// MXNet's ImageRecordIter refuses an image with a side below the data shape, so every image is scaled by the one
// factor that brings both sides to at least the shape (figures worked out by hand for a 224 x 224 model).
describe("jobs/lib/training-plan", () => {
    const square = [3, 224, 224] as const;

    it("passes a JPEG whose tighter side fits exactly as it is, and re-encodes any other format", () => {
        expect(planTrainingImage("jpeg", 224, 224, square)).to.deep.equal({ treatment: "as-is", width: 224, height: 224 });
        expect(planTrainingImage("jpeg", 224, 300, square)).to.deep.equal({ treatment: "as-is", width: 224, height: 300 });
        expect(planTrainingImage("png", 300, 224, square)).to.deep.equal({ treatment: "re-encoded", width: 300, height: 224 });
    });

    it("enlarges an image with a side below the shape by the larger factor, keeping its aspect", () => {
        // 100 x 50: factors 2.24 and 4.48; 4.48 makes it 448 x 224.
        expect(planTrainingImage("jpeg", 100, 50, square)).to.deep.equal({ treatment: "upscaled", width: 448, height: 224 });
        // 28 x 28 (Fashion-MNIST) to 224: eight times.
        expect(planTrainingImage("png", 28, 28, square)).to.deep.equal({ treatment: "upscaled", width: 224, height: 224 });
    });

    it("shrinks an image larger than the shape until its tighter side fits", () => {
        // 1000 x 500: factors 0.224 and 0.448; 0.448 makes it 448 x 224.
        expect(planTrainingImage("jpeg", 1000, 500, square)).to.deep.equal({ treatment: "resized", width: 448, height: 224 });
        // The shape is [channels, height, width]: a 64-wide, 32-high model fits a 640 x 480 image to 64 x 48.
        expect(planTrainingImage("jpeg", 640, 480, [3, 32, 64])).to.deep.equal({ treatment: "resized", width: 64, height: 48 });
    });
});
