import { FileHandle, mkdir, open, rename, rm } from "fs/promises";
import { join } from "path";
import { tempPathFor } from "./atomic";

/**
 * MXNet RecordIO, as written by dmlc-core's RecordIOWriter and read by MXNet's ImageRecordIter (what the
 * SageMaker image-classification algorithm trains from):
 *
 *   record  = uint32 magic 0xCED7230A, uint32 lrecord, data, zero padding to a multiple of 4 bytes
 *   lrecord = cflag << 29 | length (length < 2^29)
 *   data    = IRHeader `<IfQQ` (flag, label float32, id, id2) followed by the encoded image
 *
 * The reader finds records by the magic, so a payload that holds the magic at a 4-byte aligned offset is cut
 * there into parts (cflag 1 = first, 2 = middle, 3 = last; the magic itself is dropped and the reader puts it
 * back). cflag 0 is a record in one part.
 */
export const RECORDIO_MAGIC = 0xced7230a;
export const IR_HEADER_BYTES = 24;
/** Longest record data a length field can describe. */
export const MAX_RECORD_BYTES = (1 << 29) - 1;

const MAGIC_BYTES = Buffer.alloc(4);
MAGIC_BYTES.writeUInt32LE(RECORDIO_MAGIC, 0);
const PADDING = Buffer.alloc(4);

/** IRHeader for a single-label image: flag 0 means the label is the float in the header. */
export function irHeader(label: number, id: number): Buffer {
    const header = Buffer.alloc(IR_HEADER_BYTES);
    header.writeUInt32LE(0, 0);
    header.writeFloatLE(label, 4);
    header.writeBigUInt64LE(BigInt(id), 8);
    header.writeBigUInt64LE(0n, 16);
    return header;
}

function partHeader(cflag: number, length: number): Buffer {
    const b = Buffer.alloc(8);
    b.writeUInt32LE(RECORDIO_MAGIC, 0);
    b.writeUInt32LE(((cflag << 29) | length) >>> 0, 4);
    return b;
}

/** The bytes of one record (possibly several parts) for `data`, in the order they go to the file. */
export function encodeRecord(data: Buffer): Buffer[] {
    if (data.length > MAX_RECORD_BYTES) throw new Error(`a RecordIO record holds at most ${MAX_RECORD_BYTES} bytes, got ${data.length}`);
    const out: Buffer[] = [];
    let start = 0;
    for (let at = data.indexOf(MAGIC_BYTES, 0); at !== -1 && at + 4 <= data.length; at = data.indexOf(MAGIC_BYTES, at + 1)) {
        if (at % 4 !== 0) continue;
        out.push(partHeader(start === 0 ? 1 : 2, at - start));
        if (at > start) out.push(data.subarray(start, at));
        start = at + 4;
    }
    out.push(partHeader(start === 0 ? 0 : 3, data.length - start));
    if (data.length > start) out.push(data.subarray(start));
    const pad = (4 - (data.length % 4)) % 4;
    if (pad > 0) out.push(PADDING.subarray(0, pad));
    return out;
}

/**
 * A path as the `.lst` file's third column: `%`, tab, newline and carriage return percent-encoded, so a file
 * name holding them cannot add a column or a line (`decodeURIComponent` gives the path back).
 */
export function listPath(path: string): string {
    return path.replace(/[%\t\n\r]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`);
}

/** Text lines buffered in memory up to a small size, then appended to a file. */
class LineFile {
    private pending: string[] = [];
    private pendingChars = 0;
    constructor(readonly handle: FileHandle) {}

    async add(line: string): Promise<void> {
        this.pending.push(line);
        this.pendingChars += line.length;
        if (this.pendingChars > 64 * 1024) await this.flush();
    }

    async flush(): Promise<void> {
        if (this.pending.length === 0) return;
        const text = this.pending.join("");
        this.pending = [];
        this.pendingChars = 0;
        await this.handle.write(text);
    }
}

/**
 * Streams image records to `<name>.rec`, with `<name>.idx` (`id\toffset`, what MXNet's indexed reader uses)
 * and `<name>.lst` (`id\tlabel\tpath`, im2rec's list format, the path escaped by `listPath`). Files are written under temporary names and
 * renamed by `commit()`; `abort()` removes them.
 */
export class RecordIOWriter {
    private offset = 0;
    private count = 0;

    private constructor(
        private readonly paths: { rec: string; idx: string; lst: string },
        private readonly rec: FileHandle,
        private readonly idx: LineFile,
        private readonly lst: LineFile,
    ) {}

    static async create(folder: string, name: string): Promise<RecordIOWriter> {
        await mkdir(folder, { recursive: true });
        const paths = { rec: join(folder, `${name}.rec`), idx: join(folder, `${name}.idx`), lst: join(folder, `${name}.lst`) };
        const [rec, idx, lst] = await Promise.all([paths.rec, paths.idx, paths.lst].map((p) => open(tempPathFor(p), "wx")));
        return new RecordIOWriter(paths, rec, new LineFile(idx), new LineFile(lst));
    }

    get records(): number {
        return this.count;
    }

    /** Appends one image with its class index; `source` is the path written to the `.lst` file. */
    async write(id: number, label: number, image: Buffer, source: string): Promise<void> {
        const parts = encodeRecord(Buffer.concat([irHeader(label, id), image]));
        const at = this.offset;
        let written = 0;
        for (const p of parts) written += p.length;
        const { bytesWritten } = await this.rec.writev(parts);
        if (bytesWritten !== written)
            throw new Error(`short write to ${this.paths.rec} (${bytesWritten} of ${written} bytes); is the disk full?`);
        this.offset += written;
        this.count++;
        await this.idx.add(`${id}\t${at}\n`);
        await this.lst.add(`${id}\t${label.toFixed(6)}\t${listPath(source)}\n`);
    }

    /** Closes the files and moves them to their final names. */
    async commit(): Promise<void> {
        await this.idx.flush();
        await this.lst.flush();
        await Promise.all([this.rec.close(), this.idx.handle.close(), this.lst.handle.close()]);
        for (const p of [this.paths.rec, this.paths.idx, this.paths.lst]) await rename(tempPathFor(p), p);
    }

    /** Closes and deletes the temporary files (used when the job fails half-way). */
    async abort(): Promise<void> {
        await Promise.allSettled([this.rec.close(), this.idx.handle.close(), this.lst.handle.close()]);
        await Promise.all([this.paths.rec, this.paths.idx, this.paths.lst].map((p) => rm(tempPathFor(p), { force: true })));
    }
}
