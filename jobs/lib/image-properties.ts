import sharp from "sharp";

/**
 * The properties the monitoring baseline tracks for every image. Preprocess (training data) and monitor
 * (captured traffic) both compute them with this one function, so a drift is a change in the data and
 * never a change in how it was measured.
 */
export interface ImageProperties {
    readonly format: string;
    readonly width: number;
    readonly height: number;
    /** width / height */
    readonly aspect: number;
    /** Size of the encoded image. */
    readonly bytes: number;
    /** Mean luma (Rec. 601), 0-255. */
    readonly brightness: number;
    /** Standard deviation of luma, 0-~128. */
    readonly contrast: number;
    readonly meanRed: number;
    readonly meanGreen: number;
    readonly meanBlue: number;
}

export const NUMERIC_PROPERTIES = [
    "width",
    "height",
    "aspect",
    "bytes",
    "brightness",
    "contrast",
    "meanRed",
    "meanGreen",
    "meanBlue",
] as const;
export type NumericProperty = (typeof NUMERIC_PROPERTIES)[number];

/** Side of the thumbnail the pixel statistics are computed on; enough for means and spread, cheap to decode. */
const STATS_SIDE = 64;

/** Side of the thumbnails a monitoring report shows; small enough that a page of a few hundred stays light. */
export const THUMBNAIL_SIDE = 48;

/**
 * Decodes an image and measures it; with `thumbnail`, also returns a small JPEG of it made from the same
 * decode (the measurements are the same either way). Throws `ImageDecodeError` for anything sharp cannot decode.
 */
export async function imageProperties(encoded: Buffer): Promise<ImageProperties>;
export async function imageProperties(encoded: Buffer, options: { thumbnail: true }): Promise<ImageProperties & { thumbnail: Buffer }>;
export async function imageProperties(
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

/**
 * sharp's own sentence of a header failure ("Input buffer has corrupt header", "Input buffer contains
 * unsupported image format"), without the libvips detail it may append: libvips keeps one error buffer per
 * process, so while other images decode at the same time that detail can be another image's, or "Unknown
 * error", and reports that must be the same on every run cannot carry it.
 */
export function sharpReason(e: unknown): string {
    const message = (e as Error)?.message ?? String(e);
    const colon = message.indexOf(":");
    return (colon > 0 ? message.slice(0, colon) : message).trim() || "unknown decode error";
}

export class ImageDecodeError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ImageDecodeError";
    }
}

/** MIME type for a sharp format name, as an endpoint's content type would say it. */
export function contentTypeOf(format: string): string {
    switch (format) {
        case "jpeg":
            return "image/jpeg";
        case "png":
            return "image/png";
        case "webp":
            return "image/webp";
        case "gif":
            return "image/gif";
        case "tiff":
            return "image/tiff";
        default:
            return `image/${format}`;
    }
}
