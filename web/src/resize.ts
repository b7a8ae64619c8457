/**
 * The image the endpoint receives: exactly the model's input size. Training scales every image by the one factor
 * that makes both sides at least the input shape, keeping its aspect (preprocess); here the same factor is
 * applied and the centre cut out, so a phone's 12-megapixel photo leaves the browser as a few kilobytes.
 */

/** Files larger than this are not read at all: a phone would stall decoding them. */
export const MAX_SOURCE_BYTES = 25 * 1024 * 1024;

/** The part of a `srcWidth` x `srcHeight` image that, scaled by one factor, covers `width` x `height`, centred. */
export function coverCrop(srcWidth: number, srcHeight: number, width: number, height: number) {
    const scale = Math.max(width / srcWidth, height / srcHeight);
    const sw = Math.min(srcWidth, width / scale);
    const sh = Math.min(srcHeight, height / scale);
    return { sx: (srcWidth - sw) / 2, sy: (srcHeight - sh) / 2, sw, sh };
}

export class NotAnImageError extends Error {}
export class SourceTooLargeError extends Error {}

export interface ResizedImage {
    readonly blob: Blob;
    readonly width: number;
    readonly height: number;
    readonly sourceWidth: number;
    readonly sourceHeight: number;
}

/** Decodes `file` (EXIF orientation applied) and re-encodes it as a JPEG of `[channels, height, width]`. */
export async function resizeForModel(file: Blob & { name?: string }, imageShape: readonly [number, number, number]): Promise<ResizedImage> {
    const [channels, height, width] = imageShape;
    const name = file.name ? `${file.name} ` : "The file ";
    if (file.size > MAX_SOURCE_BYTES)
        throw new SourceTooLargeError(
            `${name}is ${megabytes(file.size)}; this page reads images up to ${megabytes(MAX_SOURCE_BYTES)}. Pick a smaller image or a lower-resolution photo.`,
        );
    let bitmap: ImageBitmap;
    try {
        bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    } catch {
        throw new NotAnImageError(`${name}is not an image this browser can open. Pick a JPEG, PNG or WebP picture.`);
    }
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext("2d")!;
    context.imageSmoothingEnabled = true;
    context.imageSmoothingQuality = "high";
    if (channels === 1) context.filter = "grayscale(1)";
    // Transparent pixels become white, as preprocess flattens them.
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, width, height);
    const { sx, sy, sw, sh } = coverCrop(bitmap.width, bitmap.height, width, height);
    context.drawImage(bitmap, sx, sy, sw, sh, 0, 0, width, height);
    const result = { width, height, sourceWidth: bitmap.width, sourceHeight: bitmap.height };
    bitmap.close();
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.92));
    if (!blob) throw new NotAnImageError(`${name}could not be re-encoded by this browser.`);
    return { blob, ...result };
}

export function megabytes(bytes: number): string {
    return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** A size as a person reads it: kilobytes below a megabyte. */
export function byteSize(bytes: number): string {
    return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : megabytes(bytes);
}
