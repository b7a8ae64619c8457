import { expect } from "chai";
import { execFileSync, spawnSync } from "child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "fs";
import { createServer } from "net";
import { tmpdir } from "os";
import { join } from "path";
import { gunzipSync } from "zlib";
import { SOURCE_BUNDLE_FILE, sourceBundle } from "../../../infra/pipeline/source-bundle";

describe("script-mode source bundle (sourcedir.tar.gz)", () => {
    function folder(files: Record<string, string>): string {
        const dir = mkdtempSync(join(tmpdir(), "source-bundle-"));
        for (const [path, text] of Object.entries(files)) {
            mkdirSync(join(dir, path, ".."), { recursive: true });
            writeFileSync(join(dir, path), text);
        }
        return dir;
    }
    const deep = `${"nested/".repeat(16)}helper.py`;
    const files = { "train.py": "print('train')\n", "inference.py": "x = 1\n", "lib/util.py": "", [deep]: "y = 2\n" };

    it("is a gzipped tar that tar and Python's tarfile (as the training toolkit opens it) read back file for file", () => {
        const dir = folder({ ...files, "__pycache__/train.cpython-311.pyc": "x", ".env": "SECRET=1", "lib/util.pyc": "x" });
        const bundle = sourceBundle(dir);
        expect(bundle.files).to.deep.equal(["inference.py", "lib/util.py", deep, "train.py"].sort());
        const archive = join(dir, "..", `${bundle.sha256}.tar.gz`);
        writeFileSync(archive, bundle.bytes);
        const out = mkdtempSync(join(tmpdir(), "source-bundle-out-"));
        execFileSync("tar", ["-xzf", archive, "-C", out]);
        for (const [path, text] of Object.entries(files)) expect(readFileSync(join(out, path), "utf8"), path).to.equal(text);
        const listed = spawnSync(
            "python3",
            ["-c", "import sys, tarfile; print('\\n'.join(tarfile.open(sys.argv[1], mode='r:gz').getnames()))", archive],
            {
                encoding: "utf8",
            },
        );
        expect(listed.stdout.trim().split("\n")).to.deep.equal(bundle.files);
    });

    it("is the same bytes for the same files, and other bytes when a script changes", () => {
        const a = sourceBundle(folder(files));
        expect(sourceBundle(folder(files)).sha256).to.equal(a.sha256);
        expect(sourceBundle(folder({ ...files, "train.py": "print('other')\n" })).sha256).to.not.equal(a.sha256);
    });

    it("refuses an empty folder", () => {
        expect(() => sourceBundle(folder({ ".gitignore": "*" }))).to.throw(/has no files to bundle/);
    });

    /** Each member as Python's tarfile reads it (it checks every header's checksum and refuses a bad one). */
    function readByTarfile(
        bytes: Buffer,
    ): { name: string; size: number; mode: number; uid: number; gid: number; mtime: number; type: string; uname: string; gname: string }[] {
        const archive = join(mkdtempSync(join(tmpdir(), "source-bundle-read-")), SOURCE_BUNDLE_FILE);
        writeFileSync(archive, bytes);
        const program = [
            "import json, sys, tarfile",
            "with tarfile.open(sys.argv[1], mode='r:gz') as t:",
            "    print(json.dumps([dict(name=m.name, size=m.size, mode=m.mode, uid=m.uid, gid=m.gid, mtime=m.mtime,",
            "        type=m.type.decode(), uname=m.uname, gname=m.gname) for m in t.getmembers()]))",
        ].join("\n");
        const read = spawnSync("python3", ["-c", program, archive], { encoding: "utf8" });
        expect(read.status, read.stderr).to.equal(0);
        return JSON.parse(read.stdout);
    }

    it("is named sourcedir.tar.gz, the name the SageMaker SDK uploads a script-mode folder under", () => {
        expect(SOURCE_BUNDLE_FILE).to.equal("sourcedir.tar.gz");
    });

    describe("the archive byte for byte (POSIX ustar, RFC 1952 gzip)", () => {
        const content = "print('train')\n"; // 15 bytes
        const bundle = () => sourceBundle(folder({ "train.py": content, "data/empty.txt": "", "data/big.bin": "b".repeat(600) }));

        it("gives each file a ustar header of mode 0644, owner 0:0, time 0, regular-file type, no owner names", () => {
            const tar = gunzipSync(bundle().bytes);
            // Members in name order: data/big.bin (header + 2 blocks), data/empty.txt (header), train.py.
            const header = tar.subarray(512 * 4, 512 * 5);
            const field = (from: number, length: number) => header.subarray(from, from + length).toString("latin1");
            expect(field(0, 100)).to.equal("train.py".padEnd(100, "\0"));
            expect(field(100, 8), "mode").to.equal("0000644\0");
            expect(field(108, 8), "uid").to.equal("0000000\0");
            expect(field(116, 8), "gid").to.equal("0000000\0");
            expect(field(124, 12), "size: 15 in octal").to.equal("00000000017\0");
            expect(field(136, 12), "mtime").to.equal("00000000000\0");
            expect(field(156, 1), "typeflag: regular file").to.equal("0");
            expect(field(157, 100), "linkname").to.equal("\0".repeat(100));
            expect(field(257, 6), "magic").to.equal("ustar\0");
            expect(field(263, 2), "version").to.equal("00");
            expect(field(265, 247), "uname, gname, devmajor, devminor, prefix, padding").to.equal("\0".repeat(247));
            // The checksum: the unsigned sum of the header's bytes with its own field read as eight spaces, written
            // as six octal digits, a NUL and a space.
            let sum = 0;
            for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
            expect(field(148, 8), "checksum").to.equal(`${sum.toString(8).padStart(6, "0")}\0 `);
        });

        it("pads each file to 512-byte blocks and ends with two zero blocks", () => {
            const tar = gunzipSync(bundle().bytes);
            // Headers at 0, 1536 and 2048: 512 + 1024 (600 bytes padded) + 512 (empty file) + 512 + 512 (15 bytes padded)
            // + 1024 (the end).
            expect(tar.length).to.equal(4096);
            expect(tar.subarray(512, 1112).toString("latin1")).to.equal("b".repeat(600));
            expect(
                tar.subarray(1112, 1536).every((b) => b === 0),
                "the rest of big.bin's last block",
            ).to.equal(true);
            expect(tar.subarray(2560, 2575).toString("latin1")).to.equal(content);
            expect(
                tar.subarray(2575, 3072).every((b) => b === 0),
                "the rest of train.py's block",
            ).to.equal(true);
            expect(
                tar.subarray(3072).every((b) => b === 0),
                "two zero blocks at the end",
            ).to.equal(true);
        });

        it("reads back in Python's tarfile with each member's size, mode, owner, time and type", () => {
            expect(readByTarfile(bundle().bytes)).to.deep.equal(
                [
                    ["data/big.bin", 600],
                    ["data/empty.txt", 0],
                    ["train.py", 15],
                ].map(([name, size]) => ({ name, size, mode: 0o644, uid: 0, gid: 0, mtime: 0, type: "0", uname: "", gname: "" })),
            );
        });

        it("is gzip at maximum compression (XFL 2) with no time, file name or builder's OS in its header", () => {
            // zlib writes the OS it was built for (3 Unix, 19 macOS, 10 Windows): the same scripts bundled on a
            // laptop and in CI would be two objects and two pipeline definitions. 255 is RFC 1952's "unknown".
            const bytes = bundle().bytes;
            expect([...bytes.subarray(0, 10)], "ID1 ID2, CM deflate, FLG none, MTIME 0, XFL 2, OS unknown").to.deep.equal([
                0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255,
            ]);
            expect(gunzipSync(bytes).length, "still a valid gzip stream").to.equal(4096);
        });
    });

    describe("paths longer than the name field", () => {
        const bundleOf = (path: string) => sourceBundle(folder({ [path]: "x = 1\n" }));

        it("keeps a path of exactly 100 bytes whole in the name field, with no prefix", () => {
            const path = `${"d".repeat(40)}/${"f".repeat(59)}`;
            expect(Buffer.byteLength(path)).to.equal(100);
            const header = gunzipSync(bundleOf(path).bytes).subarray(0, 512);
            expect(header.subarray(0, 100).toString("latin1")).to.equal(path);
            expect(
                header.subarray(345, 500).every((b) => b === 0),
                "no prefix",
            ).to.equal(true);
        });

        it("splits a longer path at a / into the prefix and name fields, up to 155 + 100 bytes, as tarfile reads back", () => {
            const longest = `${"p".repeat(155)}/${"n".repeat(100)}`;
            const header = gunzipSync(bundleOf(longest).bytes).subarray(0, 512);
            expect(header.subarray(0, 100).toString("latin1"), "name").to.equal("n".repeat(100));
            expect(header.subarray(345, 500).toString("latin1"), "prefix").to.equal("p".repeat(155));
            const split = `${"a".repeat(60)}/${"b".repeat(50)}/c.py`;
            expect(readByTarfile(bundleOf(split).bytes).map((m) => m.name)).to.deep.equal([split]);
            expect(readByTarfile(bundleOf(longest).bytes).map((m) => m.name)).to.deep.equal([longest]);
        });

        it("refuses a path that no / splits into a prefix of at most 155 bytes and a name of at most 100", () => {
            const refused = (path: string) => `${path}: too long a path for a tar archive (at most 155 + 100 characters, split at a /)`;
            for (const path of [
                "n".repeat(101), // no / at all
                `dir/${"n".repeat(101)}`, // the name alone is too long
                `${"p".repeat(156)}/x.py`, // no / within the first 155 bytes
                `${"é".repeat(78)}/x.py`, // 78 characters but 156 bytes before the /
            ])
                expect(() => bundleOf(path), path.slice(0, 12)).to.throw(refused(path));
        });
    });

    it("leaves out what the folder holds that is not a program file: a socket, and Python's temporary files in __pycache__", async () => {
        const dir = folder({ "train.py": "x = 1\n", "__pycache__/train.cpython-311.pyc.140234": "half-written" });
        const server = createServer();
        await new Promise<void>((resolve) => server.listen(join(dir, "serve.sock"), resolve));
        try {
            expect(sourceBundle(dir).files).to.deep.equal(["train.py"]);
        } finally {
            server.close();
        }
    });

    it("orders members the same on every machine: by JavaScript's string order, not the file system's", () => {
        // U+FF01 sorts before U+1F600 by UTF-8 bytes (how Linux lists them) and after it by UTF-16 code units.
        const names = ["\u{1F600}.py", "\uFF01.py"];
        expect(sourceBundle(folder({ [names[1]]: "", [names[0]]: "" })).files).to.deep.equal(names);
    });
});
