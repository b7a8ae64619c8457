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

/** The small sRGB picture (STATS_SIDE at most, 3 channels) the pixel statistics are computed on. */
interface StatsPixels {
    readonly data: Buffer;
    readonly width: number;
    readonly height: number;
}

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
    const { properties, pixels } = await measureImage(encoded);
    return options?.thumbnail ? { thumbnail: await thumbnailJpeg(pixels), ...properties } : properties;
}

/**
 * The measurement itself: the image's properties and the small picture they were computed on (kept by callers
 * that may want a thumbnail of it later). One libvips pipeline per image: the header of a JPEG or PNG is read
 * here (the dimensions and format sharp's metadata() gives), other formats ask sharp for it first.
 */
async function measureImage(encoded: Buffer): Promise<{ properties: ImageProperties; pixels: StatsPixels }> {
    if (encoded.length === 0) throw new ImageDecodeError("empty file (0 bytes)");
    const header = encodedHeader(encoded) ?? (await sharpHeader(encoded));
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
        // A header sharp refuses is reported as such, as when the header was read first; anything else is the
        // pixel data. This failure's text is libvips' error buffer alone, which concurrent decodes share (see sharpReason).
        await sharpHeader(encoded);
        throw new ImageDecodeError("image data is corrupt or truncated");
    }
    const { format, width, height } = header;
    return {
        properties: { format, width, height, aspect: width / height, bytes: encoded.length, ...pixelStatistics(pixels) },
        pixels: { data: pixels, width: info.width, height: info.height },
    };
}

/** Mean luma (Rec. 601), its standard deviation and the channel means of 3-channel pixels. */
function pixelStatistics(pixels: Buffer): Pick<ImageProperties, "brightness" | "contrast" | "meanRed" | "meanGreen" | "meanBlue"> {
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
    return {
        brightness: mean,
        contrast: Math.sqrt(Math.max(0, lumaSq / n - mean * mean)),
        meanRed: r / n,
        meanGreen: g / n,
        meanBlue: b / n,
    };
}

/** The report's thumbnail (THUMBNAIL_SIDE at most, JPEG) of the picture an image was measured on. */
function thumbnailJpeg(pixels: StatsPixels): Promise<Buffer> {
    return sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: 3 } })
        .resize(THUMBNAIL_SIDE, THUMBNAIL_SIDE, { fit: "inside", withoutEnlargement: true })
        .jpeg({ quality: 70 })
        .toBuffer();
}

interface Header {
    readonly format: string;
    readonly width: number;
    readonly height: number;
}

async function sharpHeader(encoded: Buffer): Promise<Header> {
    let meta: sharp.Metadata;
    try {
        meta = await sharp(encoded, { failOn: "error" }).metadata();
    } catch (e) {
        throw new ImageDecodeError(`not a decodable image: ${sharpReason(e)}`);
    }
    if (!meta.width || !meta.height || !meta.format) throw new ImageDecodeError("image has no dimensions");
    return { format: meta.format, width: meta.width, height: meta.height };
}

/**
 * Format and stored dimensions (before any EXIF orientation, as sharp's metadata() gives them) of a JPEG (its
 * frame header) or a PNG (its IHDR chunk), or undefined when the bytes are neither or the header is not where
 * it should be: sharp then reads it, and says what is wrong.
 */
function encodedHeader(b: Buffer): Header | undefined {
    if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a && b.toString("latin1", 12, 16) === "IHDR") {
        const width = b.readUInt32BE(16);
        const height = b.readUInt32BE(20);
        return width > 0 && height > 0 ? { format: "png", width, height } : undefined;
    }
    if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return undefined;
    let i = 2;
    while (i + 4 <= b.length) {
        if (b[i] !== 0xff) return undefined;
        const marker = b[i + 1];
        if (marker === 0xff) {
            i++; // fill byte
            continue;
        }
        // Markers without a length: TEM and RST0-7 (SOI again would be a broken file).
        if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
            i += 2;
            continue;
        }
        if (marker === 0xd8 || marker === 0xd9 || marker === 0xda) return undefined;
        const length = b.readUInt16BE(i + 2);
        if (length < 2) return undefined;
        // Start of frame: every SOFn but DHT (C4), JPG (C8) and DAC (CC).
        if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
            if (i + 9 > b.length || length < 8) return undefined;
            const height = b.readUInt16BE(i + 5);
            const width = b.readUInt16BE(i + 7);
            return width > 0 && height > 0 ? { format: "jpeg", width, height } : undefined;
        }
        i += 2 + length;
    }
    return undefined;
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
