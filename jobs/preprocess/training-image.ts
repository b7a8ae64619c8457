import sharp from "sharp";

/** JPEG quality for images preprocess has to re-encode (resized, or not JPEG to begin with). */
export const REENCODE_QUALITY = 90;

/** What happens to an image on its way into the dataset. */
export type ImageTreatment = "as-is" | "resized" | "re-encoded";

/**
 * `as-is` when the image is a JPEG no larger than the model's input (its bytes go through untouched);
 * `resized` when both sides exceed the input: it is shrunk so the shorter side fits (like im2rec's --resize),
 * keeping enough pixels for the algorithm's own crop; `re-encoded` for other formats, which become JPEG.
 */
export function treatmentOf(format: string, width: number, height: number, imageShape: readonly [number, number, number]): ImageTreatment {
    const [, targetHeight, targetWidth] = imageShape;
    if (Math.max(targetWidth / width, targetHeight / height) < 1) return "resized";
    return format === "jpeg" ? "as-is" : "re-encoded";
}

/** The JPEG bytes that go into the dataset for an image with the given treatment. */
export async function trainingJpeg(
    encoded: Buffer,
    treatment: ImageTreatment,
    imageShape: readonly [number, number, number],
): Promise<Buffer> {
    if (treatment === "as-is") return encoded;
    const [, targetHeight, targetWidth] = imageShape;
    let image = sharp(encoded, { failOn: "error" }).flatten({ background: "#ffffff" }).toColourspace("srgb");
    if (treatment === "resized") image = image.resize(targetWidth, targetHeight, { fit: "outside", withoutEnlargement: true });
    return image.jpeg({ quality: REENCODE_QUALITY }).toBuffer();
}
