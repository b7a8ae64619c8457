import sharp from "sharp";
import { MeasuredImage } from "../lib/image-properties";

export { ImageTreatment, JPEG_MAX_SIDE, planTrainingImage, TrainingImagePlan } from "../lib/training-plan";

/** JPEG quality for images preprocess has to re-encode (resized, or not JPEG to begin with). */
export const REENCODE_QUALITY = 90;

/**
 * The JPEG that goes into the dataset for an image that is not used as-is, made from the pixels it was measured
 * on (flattened on white, sRGB, already shrunk to the plan), so an image is decoded once: only enlarging is left.
 */
export function trainingJpegOf(measured: MeasuredImage): Promise<Buffer> {
    const { pixels, plan } = measured;
    let image = sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: 3 } });
    if (plan.treatment === "upscaled") image = image.resize(plan.width, plan.height, { fit: "fill" });
    return image.jpeg({ quality: REENCODE_QUALITY }).toBuffer();
}
