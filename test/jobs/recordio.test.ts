import { expect } from "chai";
import { readFileSync, readdirSync } from "fs";
import { join } from "path";
import { encodeRecord, irHeader, listPath, MAX_RECORD_BYTES, RecordIOWriter } from "../../jobs/lib/recordio";
import { tempDir } from "./support/images";
import { readImageRecords, readIndex, readList, readRawRecords } from "./support/mxnet-recordio";

const MAGIC_LE = [0x0a, 0x23, 0xd7, 0xce];

describe("jobs/lib/recordio", () => {
    it("packs the IRHeader as <IfQQ: flag 0, float32 label, uint64 id, uint64 0", () => {
        const h = irHeader(42, 7);
        expect([...h]).to.deep.equal([
            0,
            0,
            0,
            0,
            0x00,
            0x00,
            0x28,
            0x42, // 42.0f little-endian
            7,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
        ]);
    });

    it("writes a single-part record: magic, cflag 0 and length, data, zero padding to 4 bytes", () => {
        const bytes = Buffer.concat(encodeRecord(Buffer.from([1, 2, 3, 4, 5])));
        expect([...bytes]).to.deep.equal([...MAGIC_LE, 5, 0, 0, 0, 1, 2, 3, 4, 5, 0, 0, 0]);
    });

    it("cuts a payload at an aligned magic number into parts (cflag 1, 3) that a reader reassembles", () => {
        const data = Buffer.from([9, 9, 9, 9, ...MAGIC_LE, 8, 8]);
        const bytes = Buffer.concat(encodeRecord(data));
        // part 1: cflag 1, length 4; part 2: cflag 3, length 2, padded by 2
        expect([...bytes]).to.deep.equal([...MAGIC_LE, 4, 0, 0, 1 << 5, 9, 9, 9, 9, ...MAGIC_LE, 2, 0, 0, 3 << 5, 8, 8, 0, 0]);
        const [record] = readRawRecords(bytes);
        expect(record.parts).to.equal(2);
        expect(record.data.equals(data)).to.equal(true);
    });

    it("uses middle parts (cflag 2) for several aligned magics and leaves unaligned ones alone", () => {
        const data = Buffer.from([...MAGIC_LE, 1, 2, 3, 4, ...MAGIC_LE, 0, ...MAGIC_LE, 5, 6, 7]);
        const records = readRawRecords(Buffer.concat(encodeRecord(data)));
        expect(records).to.have.length(1);
        expect(records[0].parts).to.equal(3); // cut at offsets 0 and 8; the magic at offset 13 is unaligned
        expect(records[0].data.equals(data)).to.equal(true);
    });

    it("streams records with .idx offsets and .lst lines, visible only after commit", async () => {
        const dir = tempDir("recordio");
        const writer = await RecordIOWriter.create(dir, "train");
        const images = [Buffer.from("first image"), Buffer.from([...MAGIC_LE, 1, 2, 3, 4]), Buffer.from("x")];
        for (const [i, image] of images.entries()) await writer.write(i, i % 2, image, `c${i % 2}/img${i}.jpg`);
        expect(readdirSync(dir).filter((f) => !f.startsWith("."))).to.deep.equal([]);
        await writer.commit();
        expect(readdirSync(dir).sort()).to.deep.equal(["train.idx", "train.lst", "train.rec"]);
        const records = readImageRecords(join(dir, "train.rec"));
        expect(records.map((r) => r.image.toString("hex"))).to.deep.equal(images.map((b) => b.toString("hex")));
        expect(records.map((r) => [r.flag, r.label, Number(r.id), Number(r.id2)])).to.deep.equal([
            [0, 0, 0, 0],
            [0, 1, 1, 0],
            [0, 0, 2, 0],
        ]);
        expect(readIndex(join(dir, "train.idx"))).to.deep.equal(records.map((r, i) => ({ id: i, offset: r.offset })));
        expect(readFileSync(join(dir, "train.lst"), "utf8")).to.equal(
            "0\t0.000000\tc0/img0.jpg\n1\t1.000000\tc1/img1.jpg\n2\t0.000000\tc0/img2.jpg\n",
        );
        expect(readList(join(dir, "train.lst"))[1]).to.deep.equal({ id: 1, label: 1, path: "c1/img1.jpg" });
    });

    it("leaves nothing behind when aborted", async () => {
        const dir = tempDir("recordio-abort");
        const writer = await RecordIOWriter.create(dir, "validation");
        await writer.write(0, 0, Buffer.from("a"), "a.jpg");
        await writer.abort();
        expect(readdirSync(dir)).to.deep.equal([]);
    });

    it("escapes the characters that would break a .lst line, reversibly", () => {
        expect(listPath("cat/a\tb\nc\rd%e.jpg")).to.equal("cat/a%09b%0Ac%0Dd%25e.jpg");
        expect(decodeURIComponent(listPath("cat/a\tb\nc\rd%e é.jpg"))).to.equal("cat/a\tb\nc\rd%e é.jpg");
        expect(listPath("cat/plain-name_1.jpg")).to.equal("cat/plain-name_1.jpg");
    });

    it("cuts at a magic number that ends the payload, and bounds a record by its 29-bit length field", () => {
        const data = Buffer.from([9, 9, 9, 9, ...MAGIC_LE]);
        expect([...Buffer.concat(encodeRecord(data))]).to.deep.equal([
            ...MAGIC_LE,
            4,
            0,
            0,
            1 << 5,
            9,
            9,
            9,
            9,
            ...MAGIC_LE,
            0,
            0,
            0,
            3 << 5,
        ]);
        expect(readRawRecords(Buffer.concat(encodeRecord(data)))[0].data.equals(data)).to.equal(true);
        expect(MAX_RECORD_BYTES).to.equal(2 ** 29 - 1);
    });

    it("counts the records written and keeps every .lst and .idx line past its in-memory buffer", async () => {
        const dir = tempDir("recordio-many");
        const writer = await RecordIOWriter.create(dir, "train");
        // 800 lines of about 100 characters: more than the 64 KiB a list file holds before appending.
        const folder = "f".repeat(80);
        for (let i = 0; i < 800; i++) await writer.write(i, i % 3, Buffer.from([i % 256]), `${folder}/${i}.jpg`);
        expect(writer.records).to.equal(800);
        await writer.commit();
        expect(readList(join(dir, "train.lst"))).to.deep.equal(
            Array.from({ length: 800 }, (_, i) => ({ id: i, label: i % 3, path: `${folder}/${i}.jpg` })),
        );
        expect(readIndex(join(dir, "train.idx")).map((e) => e.id)).to.deep.equal(Array.from({ length: 800 }, (_, i) => i));
    });

    it("can be aborted again, as a failing job's clean-up may do", async () => {
        const dir = tempDir("recordio-abort-twice");
        const writer = await RecordIOWriter.create(dir, "validation");
        await writer.abort();
        await writer.abort();
        expect(readdirSync(dir)).to.deep.equal([]);
    });
});
