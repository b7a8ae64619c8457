import sharp from "sharp";

/** One generated image and what it is, for messages. */
export interface VariedImage {
    readonly name: string;
    readonly bytes: Buffer;
}

type Content = "noise" | "gradient" | "flat";

/** Pixels of `channels` (1-4) bands: seeded noise, a diagonal gradient or a flat colour. */
function pixels(width: number, height: number, channels: number, content: Content, seed: number): Buffer {
    const data = Buffer.alloc(width * height * channels);
    let state = seed * 2654435761 + 1;
    const random = () => {
        state = (state * 1103515245 + 12345) >>> 0;
        return state >>> 24;
    };
    for (let y = 0; y < height; y++)
        for (let x = 0; x < width; x++)
            for (let c = 0; c < channels; c++) {
                const i = (y * width + x) * channels + c;
                const alpha = channels === 4 || channels === 2 ? c === channels - 1 : false;
                if (alpha) data[i] = content === "flat" ? 128 : Math.round((255 * x) / Math.max(1, width - 1));
                else if (content === "flat") data[i] = (seed * 53 + c * 71) % 256;
                else if (content === "gradient") data[i] = Math.round((255 * (x + y + c * 13)) / Math.max(1, width + height + 26)) % 256;
                else data[i] = random();
            }
    return data;
}

const made = new Map<string, Buffer>();
const image = (width: number, height: number, channels: 1 | 2 | 3 | 4, content: Content, seed: number) => {
    const key = `${width}x${height}x${channels} ${content} ${seed}`;
    if (!made.has(key)) made.set(key, pixels(width, height, channels, content, seed));
    return sharp(made.get(key)!, { raw: { width, height, channels } });
};

/**
 * A varied set of real encoded images: sizes from 1 px to a 1280 on a side and extreme aspects; JPEG
 * (baseline, progressive, 4:4:4, grey, CMYK, EXIF orientations), PNG (RGB, RGBA, grey, grey with alpha,
 * palette, 16-bit), WebP (lossy, lossless with alpha), GIF, TIFF and AVIF; noise, gradients and flat colour.
 */
export async function variedImages(): Promise<VariedImage[]> {
    const out: VariedImage[] = [];
    const add = async (name: string, made: Promise<Buffer>) => out.push({ name, bytes: await made });
    let seed = 1;
    const sizes: Array<[number, number]> = [
        [1, 1],
        [7, 3],
        [64, 64],
        [65, 63],
        [320, 240],
        [240, 320],
        [1000, 40],
        [1280, 960],
    ];
    for (const [w, h] of sizes)
        for (const content of ["noise", "gradient", "flat"] as const) {
            const s = seed++;
            await add(`jpeg ${w}x${h} ${content}`, image(w, h, 3, content, s).jpeg({ quality: 85 }).toBuffer());
            await add(`png rgb ${w}x${h} ${content}`, image(w, h, 3, content, s).png().toBuffer());
        }
    const mid: Array<[number, number]> = [
        [97, 61],
        [400, 300],
    ];
    for (const [w, h] of mid)
        for (const content of ["noise", "gradient"] as const) {
            const s = seed++;
            const tag = `${w}x${h} ${content}`;
            await add(`jpeg progressive ${tag}`, image(w, h, 3, content, s).jpeg({ quality: 90, progressive: true }).toBuffer());
            await add(`jpeg 4:4:4 ${tag}`, image(w, h, 3, content, s).jpeg({ quality: 95, chromaSubsampling: "4:4:4" }).toBuffer());
            await add(`jpeg grey ${tag}`, image(w, h, 1, content, s).jpeg({ quality: 85 }).toBuffer());
            await add(`jpeg cmyk ${tag}`, image(w, h, 3, content, s).toColourspace("cmyk").jpeg({ quality: 85 }).toBuffer());
            for (const orientation of [3, 6, 8])
                await add(
                    `jpeg exif orientation ${orientation} ${tag}`,
                    image(w, h, 3, content, s).jpeg({ quality: 85 }).withMetadata({ orientation }).toBuffer(),
                );
            await add(`png rgba ${tag}`, image(w, h, 4, content, s).png().toBuffer());
            await add(`png grey ${tag}`, image(w, h, 1, content, s).png().toBuffer());
            await add(`png grey+alpha ${tag}`, image(w, h, 2, content, s).png().toBuffer());
            await add(`png palette ${tag}`, image(w, h, 3, content, s).png({ palette: true, colours: 64 }).toBuffer());
            await add(`png 16-bit ${tag}`, image(w, h, 3, content, s).toColourspace("rgb16").png().toBuffer());
            await add(`webp lossy ${tag}`, image(w, h, 3, content, s).webp({ quality: 80 }).toBuffer());
            await add(`webp lossless rgba ${tag}`, image(w, h, 4, content, s).webp({ lossless: true }).toBuffer());
            await add(`gif ${tag}`, image(w, h, 3, content, s).gif().toBuffer());
            await add(`tiff ${tag}`, image(w, h, 3, content, s).tiff().toBuffer());
            await add(`tiff rgba ${tag}`, image(w, h, 4, content, s).tiff().toBuffer());
        }
    made.clear();
    await add("avif 96x64 gradient", image(96, 64, 3, "gradient", seed).avif({ quality: 60, effort: 0 }).toBuffer());
    return out;
}

/** Files that are not whole images: what a decoder must refuse, each with its own reason. */
export async function brokenImages(): Promise<VariedImage[]> {
    const jpeg = await image(320, 240, 3, "noise", 99).jpeg({ quality: 85 }).toBuffer();
    const png = await image(320, 240, 3, "noise", 98).png().toBuffer();
    return [
        { name: "empty", bytes: Buffer.alloc(0) },
        { name: "text", bytes: Buffer.from("not an image at all") },
        { name: "fake png signature", bytes: Buffer.from("\x89PNG\r\n\x1a\n this is not really a png", "latin1") },
        { name: "jpeg header only (40 bytes)", bytes: jpeg.subarray(0, 40) },
        { name: "jpeg truncated to its headers", bytes: jpeg.subarray(0, 700) },
        { name: "jpeg truncated at 60%", bytes: jpeg.subarray(0, Math.floor(jpeg.length * 0.6)) },
        { name: "png truncated at 60%", bytes: png.subarray(0, Math.floor(png.length * 0.6)) },
        { name: "png IHDR only", bytes: png.subarray(0, 33) },
        { name: "jpeg SOI then garbage", bytes: Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 4]), Buffer.alloc(64, 7)]) },
    ];
}
