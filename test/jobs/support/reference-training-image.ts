import sharp from "sharp";
import { TrainingImagePlan } from "../../../jobs/lib/training-plan";

/*
 * The training copy as preprocess made it before measuring and re-encoding shared one decode (a second decode of
 * the encoded file), kept verbatim as the oracle that the dataset's images are still the same bytes.
 */
export async function referenceTrainingJpeg(encoded: Buffer, plan: TrainingImagePlan): Promise<Buffer> {
    if (plan.treatment === "as-is") return encoded;
    let image = sharp(encoded, { failOn: "error" }).flatten({ background: "#ffffff" }).toColourspace("srgb");
    if (plan.treatment !== "re-encoded") image = image.resize(plan.width, plan.height, { fit: "fill" });
    return image.jpeg({ quality: 90 }).toBuffer();
}
