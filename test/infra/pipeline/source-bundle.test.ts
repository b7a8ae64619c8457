import { expect } from "chai";
import { execFileSync, spawnSync } from "child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { sourceBundle } from "../../../infra/pipeline/source-bundle";

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
});
