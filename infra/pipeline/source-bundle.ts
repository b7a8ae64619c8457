import { createHash } from "crypto";
import { readdirSync, readFileSync, statSync } from "fs";
import { join, posix } from "path";
import { gzipSync } from "zlib";

/**
 * The `sourcedir.tar.gz` SageMaker script mode runs a training script from: a folder's files as a gzipped tar,
 * built the same byte for byte from the same files (sorted names, no times, owners, modes or OS of this machine),
 * so its hash names its content and a changed script is a new object and a new pipeline definition.
 */

/** The name the SDK gives the archive; the training toolkit extracts it wherever `sagemaker_submit_directory` names it. */
export const SOURCE_BUNDLE_FILE = "sourcedir.tar.gz";

export interface SourceBundle {
    readonly bytes: Buffer;
    /** Hex SHA-256 of `bytes`. */
    readonly sha256: string;
    /** Paths inside the archive, sorted. */
    readonly files: readonly string[];
}

/** Caches and hidden files stay out: they are not the program, and would make the bundle differ between machines. */
const LEFT_OUT = (name: string) => name.startsWith(".") || name === "__pycache__" || name.endsWith(".pyc");
const BLOCK = 512;
const GZIP_OS_BYTE = 9;
const GZIP_OS_UNKNOWN = 255;

export function sourceBundle(dir: string): SourceBundle {
    const files = listFiles(dir, "");
    if (files.length === 0) throw new Error(`${dir} has no files to bundle`);
    const blocks: Buffer[] = [];
    for (const file of files) {
        const content = readFileSync(join(dir, ...file.split("/")));
        blocks.push(tarHeader(file, content.length), content, Buffer.alloc((BLOCK - (content.length % BLOCK)) % BLOCK));
    }
    blocks.push(Buffer.alloc(2 * BLOCK));
    const bytes = gzipSync(Buffer.concat(blocks), { level: 9 });
    // zlib writes the OS it was built for into the header (RFC 1952's OS byte: 3 Unix, 19 macOS, 10 Windows), which
    // would make the same files two bundles on two machines; 255 is "unknown". No header CRC covers it (FLG is 0).
    bytes[GZIP_OS_BYTE] = GZIP_OS_UNKNOWN;
    return { bytes, sha256: createHash("sha256").update(bytes).digest("hex"), files };
}

function listFiles(root: string, rel: string): string[] {
    const out: string[] = [];
    for (const name of readdirSync(join(root, rel)).sort()) {
        if (LEFT_OUT(name)) continue;
        const path = rel ? posix.join(rel, name) : name;
        const stat = statSync(join(root, path));
        if (stat.isDirectory()) out.push(...listFiles(root, path));
        else if (stat.isFile()) out.push(path);
    }
    return out;
}

/** A POSIX ustar header for a regular file, mode 0644, owned by 0:0, time 0. */
function tarHeader(path: string, size: number): Buffer {
    const h = Buffer.alloc(BLOCK);
    let name = path;
    let prefix = "";
    if (Buffer.byteLength(path) > 100) {
        const cut = path.lastIndexOf("/", 155);
        [prefix, name] = [path.slice(0, cut), path.slice(cut + 1)];
        if (cut <= 0 || Buffer.byteLength(prefix) > 155 || Buffer.byteLength(name) > 100)
            throw new Error(`${path}: too long a path for a tar archive (at most 155 + 100 characters, split at a /)`);
    }
    const octal = (n: number, width: number) => `${n.toString(8).padStart(width - 1, "0")}\0`;
    h.write(name, 0, 100, "utf8");
    h.write(octal(0o644, 8), 100, "ascii");
    h.write(octal(0, 8), 108, "ascii");
    h.write(octal(0, 8), 116, "ascii");
    h.write(octal(size, 12), 124, "ascii");
    h.write(octal(0, 12), 136, "ascii");
    h.write("        ", 148, "ascii"); // the checksum counts its own field as spaces
    h.write("0", 156, "ascii");
    h.write("ustar\u000000", 257, "binary");
    h.write(prefix, 345, 155, "utf8");
    const sum = h.reduce((s, b) => s + b, 0);
    h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
    return h;
}
