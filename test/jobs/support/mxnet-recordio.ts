import { readFileSync } from "fs";

/**
 * An independent reader of MXNet RecordIO written from the format (dmlc-core recordio + mxnet.recordio's
 * IRHeader), used to check the jobs' writer without trusting it. It checks every invariant a reader relies
 * on and throws on the first violation.
 */
export interface ImageRecord {
    /** Byte offset of the record's first magic in the file. */
    readonly offset: number;
    readonly flag: number;
    readonly label: number;
    readonly id: bigint;
    readonly id2: bigint;
    readonly image: Buffer;
    /** How many parts the record was cut into (1 unless the payload held the magic number). */
    readonly parts: number;
}

const MAGIC = 0xced7230a;

/** Splits a .rec file into raw records (payload bytes), reassembling multi-part records. */
export function readRawRecords(file: Buffer): Array<{ offset: number; data: Buffer; parts: number }> {
    const records: Array<{ offset: number; data: Buffer; parts: number }> = [];
    let pos = 0;
    while (pos < file.length) {
        const offset = pos;
        const chunks: Buffer[] = [];
        let parts = 0;
        for (;;) {
            if (pos + 8 > file.length) throw new Error(`truncated record header at ${pos}`);
            const magic = file.readUInt32LE(pos);
            if (magic !== MAGIC) throw new Error(`bad magic 0x${magic.toString(16)} at ${pos}`);
            const lrec = file.readUInt32LE(pos + 4);
            const cflag = lrec >>> 29;
            const length = lrec & ((1 << 29) - 1);
            pos += 8;
            if (pos + length > file.length) throw new Error(`record at ${offset} claims ${length} bytes past the end`);
            if (parts === 0 && cflag !== 0 && cflag !== 1) throw new Error(`record at ${offset} starts with cflag ${cflag}`);
            if (parts > 0 && cflag !== 2 && cflag !== 3) throw new Error(`continuation at ${pos - 8} has cflag ${cflag}`);
            if (parts > 0) chunks.push(Buffer.from([0x0a, 0x23, 0xd7, 0xce]));
            chunks.push(file.subarray(pos, pos + length));
            pos += length;
            parts++;
            const padded = (4 - (length % 4)) % 4;
            if (cflag === 0 || cflag === 3) {
                for (let i = 0; i < padded; i++) if (file[pos + i] !== 0) throw new Error(`non-zero padding after record at ${offset}`);
                pos += padded;
                break;
            }
            if (padded !== 0) throw new Error(`a middle part of the record at ${offset} is not 4-byte aligned`);
        }
        if (pos % 4 !== 0) throw new Error(`record at ${offset} does not end on a 4-byte boundary`);
        records.push({ offset, data: Buffer.concat(chunks), parts });
    }
    return records;
}

export function readImageRecords(path: string): ImageRecord[] {
    return readRawRecords(readFileSync(path)).map(({ offset, data, parts }) => {
        if (data.length < 24) throw new Error(`record at ${offset} is shorter than an IRHeader`);
        return {
            offset,
            flag: data.readUInt32LE(0),
            label: data.readFloatLE(4),
            id: data.readBigUInt64LE(8),
            id2: data.readBigUInt64LE(16),
            image: data.subarray(24),
            parts,
        };
    });
}

/** `.idx`: `id\toffset` per line. */
export function readIndex(path: string): Array<{ id: number; offset: number }> {
    return readFileSync(path, "utf8")
        .trim()
        .split("\n")
        .map((line) => {
            const [id, offset] = line.split("\t");
            return { id: Number(id), offset: Number(offset) };
        });
}

/** `.lst`: `id\tlabel\tpath` per line. */
export function readList(path: string): Array<{ id: number; label: number; path: string }> {
    return readFileSync(path, "utf8")
        .trim()
        .split("\n")
        .map((line) => {
            const [id, label, p] = line.split("\t");
            return { id: Number(id), label: Number(label), path: p };
        });
}
