/** The longest side a JPEG can have (libjpeg's JPEG_MAX_DIMENSION). */
export const JPEG_MAX_SIDE = 65500;

/** What happens to an image on its way into the dataset. */
export type ImageTreatment = "as-is" | "resized" | "upscaled" | "re-encoded";

/**
 * How an image of `width` x `height` enters the dataset for a model trained at `imageShape`
 * (`[channels, height, width]`). The built-in algorithm reads RecordIO through MXNet's ImageRecordIter, whose
 * augmenter stops with "input image size smaller than input shape" when either side is below the data shape
 * (its `resize` hyperparameter applies to `application/x-image` channels only), so every image is scaled by
 * the one factor that makes both sides at least the shape, keeping its aspect:
 * - `upscaled`: a side is below the shape; enlarged until it fits;
 * - `resized`: both sides exceed the shape; shrunk so the tighter side fits (like im2rec's --resize), keeping
 *   enough pixels for the algorithm's own crops;
 * - `as-is`: a JPEG whose tighter side already fits exactly (its bytes go through untouched);
 * - `re-encoded`: the same, in another format, which becomes JPEG.
 *
 * The image statistics are measured on the same plan (see measureImage), so it lives beside them.
 */
export interface TrainingImagePlan {
    readonly treatment: ImageTreatment;
    /** Size of the image that goes into the dataset. */
    readonly width: number;
    readonly height: number;
}

export function planTrainingImage(
    format: string,
    width: number,
    height: number,
    imageShape: readonly [number, number, number],
): TrainingImagePlan {
    const [, targetHeight, targetWidth] = imageShape;
    const scale = Math.max(targetWidth / width, targetHeight / height);
    if (scale === 1) return { treatment: format === "jpeg" ? "as-is" : "re-encoded", width, height };
    return {
        treatment: scale > 1 ? "upscaled" : "resized",
        // Rounding may not take a side below the shape.
        width: Math.max(targetWidth, Math.round(width * scale)),
        height: Math.max(targetHeight, Math.round(height * scale)),
    };
}
