import sharp from "sharp";
import { ImageDecodeError, ImageProperties, sharpReason } from "../../../jobs/lib/image-properties";

/*
 * Version 1 of the image measurement (metadata() first, then a 64 px statistics pipeline), kept verbatim as an
 * oracle: where version 2 sees the same pixels (opaque images within 64 px) the numbers must be the same, and a
 * broken file must be refused with the same reason.
 */

/** Side of the thumbnail the pixel statistics are computed on; enough for means and spread, cheap to decode. */
const STATS_SIDE = 64;

/** Side of the thumbnails a monitoring report shows; small enough that a page of a few hundred stays light. */
const THUMBNAIL_SIDE = 48;

/**
 * Decodes an image and measures it; with `thumbnail`, also returns a small JPEG of it made from the same
 * decode (the measurements are the same either way). Throws `ImageDecodeError` for anything sharp cannot decode.
 */
export async function referenceImageProperties(encoded: Buffer): Promise<ImageProperties>;
export async function referenceImageProperties(
    encoded: Buffer,
    options: { thumbnail: true },
): Promise<ImageProperties & { thumbnail: Buffer }>;
export async function referenceImageProperties(
    encoded: Buffer,
    options?: { thumbnail?: boolean },
): Promise<ImageProperties & { thumbnail?: Buffer }> {
    if (encoded.length === 0) throw new ImageDecodeError("empty file (0 bytes)");
    let meta: sharp.Metadata;
    try {
        meta = await sharp(encoded, { failOn: "error" }).metadata();
    } catch (e) {
        throw new ImageDecodeError(`not a decodable image: ${sharpReason(e)}`);
    }
    if (!meta.width || !meta.height || !meta.format) throw new ImageDecodeError("image has no dimensions");
    let pixels: Buffer;
    let info: sharp.OutputInfo;
    try {
        // Decoding the whole image (not just the header) is what catches truncated files.
        ({ data: pixels, info } = await sharp(encoded, { failOn: "error" })
            .removeAlpha()
            .toColourspace("srgb")
            .resize(STATS_SIDE, STATS_SIDE, { fit: "inside", withoutEnlargement: true })
            .raw()
            .toBuffer({ resolveWithObject: true }));
    } catch {
        // This failure's text is libvips' error buffer alone, which concurrent decodes share (see sharpReason).
        throw new ImageDecodeError("image data is corrupt or truncated");
    }
    const channels = 3;
    const n = pixels.length / channels;
    let r = 0,
        g = 0,
        b = 0,
        luma = 0,
        lumaSq = 0;
    for (let i = 0; i < pixels.length; i += channels) {
        const pr = pixels[i],
            pg = pixels[i + 1],
            pb = pixels[i + 2];
        r += pr;
        g += pg;
        b += pb;
        const y = 0.299 * pr + 0.587 * pg + 0.114 * pb;
        luma += y;
        lumaSq += y * y;
    }
    const mean = luma / n;
    const thumbnail = options?.thumbnail
        ? await sharp(pixels, { raw: { width: info.width, height: info.height, channels: info.channels } })
              .resize(THUMBNAIL_SIDE, THUMBNAIL_SIDE, { fit: "inside", withoutEnlargement: true })
              .jpeg({ quality: 70 })
              .toBuffer()
        : undefined;
    return {
        ...(thumbnail ? { thumbnail } : {}),
        format: meta.format,
        width: meta.width,
        height: meta.height,
        aspect: meta.width / meta.height,
        bytes: encoded.length,
        brightness: mean,
        contrast: Math.sqrt(Math.max(0, lumaSq / n - mean * mean)),
        meanRed: r / n,
        meanGreen: g / n,
        meanBlue: b / n,
    };
}
