import sharp from "sharp";
import { planTrainingImage, TrainingImagePlan } from "./training-plan";

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

/** Side of the thumbnails a monitoring report shows; small enough that a page of a few hundred stays light. */
export const THUMBNAIL_SIDE = 48;

/** A model's image shape, `[channels, height, width]`, as the stack config gives it. */
export type ImageShape = readonly [number, number, number];

/**
 * How image statistics are measured, recorded in every baseline (its `version`). A baseline measured one way
 * cannot be compared with traffic measured another: the monitor refuses it.
 * - 1: on the image shrunk into a 64 px box (alpha removed), a second decode besides the training copy's.
 * - 2: on the pixels the model trains on (flattened on white, sRGB), before any enlargement: the image shrunk
 *   as preprocess shrinks it to the model's image shape, or as it is when it is already that size or smaller.
 *   Preprocess measures and re-encodes an image from one decode, and the monitor measures traffic the same way.
 */
export const MEASUREMENT_VERSION = 2;

/** The sRGB pixels (3 channels) an image was measured on. */
export interface MeasuredPixels {
    readonly data: Buffer;
    readonly width: number;
    readonly height: number;
}

/** An image's measurements, the pixels they were computed on, and how it enters a dataset for the shape. */
export interface MeasuredImage {
    readonly properties: ImageProperties;
    readonly pixels: MeasuredPixels;
    readonly plan: TrainingImagePlan;
}

/** Decodes an image and measures it for a model of `imageShape`. Throws `ImageDecodeError` for anything sharp cannot decode. */
export async function imageProperties(encoded: Buffer, imageShape: ImageShape): Promise<ImageProperties> {
    return (await measureImage(encoded, imageShape)).properties;
}

/**
 * The measurement itself (MEASUREMENT_VERSION): one libvips pipeline per image, whose pixels are also what
 * preprocess encodes for training (see trainingJpegOf) and the monitor makes report thumbnails of. The header of
 * a JPEG or PNG is read here (the dimensions and format sharp's metadata() gives), other formats ask sharp first.
 */
export async function measureImage(encoded: Buffer, imageShape: ImageShape): Promise<MeasuredImage> {
    if (encoded.length === 0) throw new ImageDecodeError("empty file (0 bytes)");
    const header = encodedHeader(encoded) ?? (await sharpHeader(encoded));
    const { format, width, height } = header;
    const plan = planTrainingImage(format, width, height, imageShape);
    let pixels: Buffer;
    let info: sharp.OutputInfo;
    try {
        // Decoding the whole image (not just the header) is what catches truncated files. Enlarging comes after the
        // measurement (it adds no information and would make small images the dearest to measure).
        let image = sharp(encoded, { failOn: "error" }).flatten({ background: "#ffffff" }).toColourspace("srgb");
        if (plan.treatment === "resized") image = image.resize(plan.width, plan.height, { fit: "fill" });
        ({ data: pixels, info } = await image.raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true }));
    } catch {
        // A header sharp refuses is reported as such, as when the header was read first; anything else is the
        // pixel data. This failure's text is libvips' error buffer alone, which concurrent decodes share (see sharpReason).
        await sharpHeader(encoded);
        throw new ImageDecodeError("image data is corrupt or truncated");
    }
    if (info.channels !== 3) throw new Error(`expected 3 sRGB channels after conversion, got ${info.channels} (${format})`);
    return {
        properties: { format, width, height, aspect: width / height, bytes: encoded.length, ...pixelStatistics(pixels) },
        pixels: { data: pixels, width: info.width, height: info.height },
        plan,
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

/** The report's thumbnail (THUMBNAIL_SIDE at most, JPEG) of the pixels an image was measured on. */
export function thumbnailJpeg(pixels: MeasuredPixels): Promise<Buffer> {
    return sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: 3 } })
        .resize(THUMBNAIL_SIDE, THUMBNAIL_SIDE, { fit: "inside", withoutEnlargement: true })
        .jpeg({ quality: 70 })
        .toBuffer();
}

/**
 * sharp as the image jobs use it: no operation cache (every image is decoded once; the cache would only hold
 * memory that grows with the run) and one libvips thread per image, whatever the allocator (sharp's default is one
 * thread under glibc's malloc and one per CPU under jemalloc, which the jobs image preloads): the jobs keep several
 * images in flight per CPU, and `npm run bench` measured less CPU per image with one thread each.
 */
export function configureSharpForJobs(): void {
    sharp.cache(false);
    sharp.concurrency(1);
}

/** A report thumbnail of an encoded image (the training examples a report shows beside traffic). */
export async function reportThumbnail(encoded: Buffer): Promise<Buffer> {
    try {
        return await sharp(encoded, { failOn: "error" })
            .flatten({ background: "#ffffff" })
            .toColourspace("srgb")
            .resize(THUMBNAIL_SIDE, THUMBNAIL_SIDE, { fit: "inside", withoutEnlargement: true })
            .jpeg({ quality: 70 })
            .toBuffer();
    } catch (e) {
        throw new ImageDecodeError(`not a decodable image: ${sharpReason(e)}`);
    }
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
 * it should be: sharp then reads it, and says what is wrong. Exported for its tests: a walk that gave up too
 * early would only cost a second libvips call per image, which no result shows.
 */
export function encodedHeader(b: Buffer): Header | undefined {
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
