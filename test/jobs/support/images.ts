import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { dirname, join } from "path";
import sharp from "sharp";

const created: string[] = [];

/** A fresh temporary folder, removed when the test run ends. */
export function tempDir(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), `vision-mlops-${prefix}-`));
    created.push(dir);
    return dir;
}

// A root-level hook: registered once, when the first test file imports this module.
after(() => {
    for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A random-noise image (every call gives different pixels, so different bytes). */
export async function noiseImage(width: number, height: number, format: "jpeg" | "png" | "webp", mean = 128): Promise<Buffer> {
    const image = sharp({ create: { width, height, channels: 3, background: "#000", noise: { type: "gaussian", mean, sigma: 40 } } });
    return format === "jpeg" ? image.jpeg({ quality: 85 }).toBuffer() : format === "png" ? image.png().toBuffer() : image.webp().toBuffer();
}

export function writeAt(root: string, rel: string, data: Buffer | string): string {
    const path = join(root, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, data);
    return path;
}
