import { expect } from "chai";
import { execFileSync, spawnSync } from "child_process";
import { mkdirSync, symlinkSync } from "fs";
import { join } from "path";
import { JobError } from "../../jobs/lib/errors";
import { walkFiles, WalkSkip } from "../../jobs/lib/fs-walk";
import { tempDir, writeAt } from "./support/images";

async function walk(root: string): Promise<{ files: string[]; skipped: WalkSkip[] }> {
    const files: string[] = [];
    const skipped: WalkSkip[] = [];
    for await (const f of walkFiles(root, (s) => skipped.push(s))) files.push(f);
    return { files, skipped };
}

describe("jobs/lib/fs-walk", () => {
    it("walks in a stable order, skipping hidden files", async () => {
        const root = tempDir("walk");
        writeAt(root, "b/2.jpg", "x");
        writeAt(root, "b/1.jpg", "x");
        writeAt(root, "a.jpg", "x");
        writeAt(root, ".DS_Store", "x");
        writeAt(root, "b/.hidden/3.jpg", "x");
        expect(await walk(root)).to.deep.equal({ files: ["a.jpg", "b/1.jpg", "b/2.jpg"], skipped: [] });
    });

    it("follows symbolic links that stay inside the root, and reports the others instead of skipping them silently", async () => {
        const root = tempDir("walk-links");
        const outside = tempDir("walk-outside");
        writeAt(root, "cat/real.jpg", "x");
        writeAt(root, "shared/s.jpg", "x");
        writeAt(outside, "elsewhere.jpg", "x");
        symlinkSync(join(root, "cat", "real.jpg"), join(root, "cat", "link.jpg"));
        symlinkSync("shared", join(root, "dog")); // a folder link inside the root, relative to the link
        symlinkSync(join(outside, "elsewhere.jpg"), join(root, "cat", "outside.jpg"));
        symlinkSync(outside, join(root, "bird"));
        symlinkSync(join(root, "missing.jpg"), join(root, "cat", "broken.jpg"));
        symlinkSync("..", join(root, "cat", "loop")); // a folder that contains itself
        const { files, skipped } = await walk(root);
        expect(files).to.deep.equal(["cat/link.jpg", "cat/real.jpg", "dog/s.jpg", "shared/s.jpg"]);
        expect(skipped).to.deep.equal([
            {
                path: "bird",
                reason: `symbolic link to ${outside}, outside the input folder; copy the files in or link to a folder inside it`,
            },
            { path: "cat/broken.jpg", reason: "broken symbolic link (its target does not exist)" },
            { path: "cat/loop", reason: "symbolic link to a folder that contains it (a loop)" },
            {
                path: "cat/outside.jpg",
                reason: `symbolic link to ${join(outside, "elsewhere.jpg")}, outside the input folder; copy the files in or link to a folder inside it`,
            },
        ]);
    });

    it("reports files that are not regular files", async function () {
        const root = tempDir("walk-fifo");
        writeAt(root, "cat/a.jpg", "x");
        if (spawnSync("mkfifo", [join(root, "cat", "pipe.jpg")]).status !== 0) this.skip();
        expect(await walk(root)).to.deep.equal({
            files: ["cat/a.jpg"],
            skipped: [{ path: "cat/pipe.jpg", reason: "not a regular file (a pipe, socket or device)" }],
        });
    });

    it("reports a folder whose path is too long for the file system instead of crashing", async () => {
        const root = tempDir("walk-deep");
        writeAt(root, "cat/a.jpg", "x");
        // 24 levels of 200-character names: about 4,800 characters, past Linux's 4,096-byte PATH_MAX. Built with
        // relative paths from inside the tree, the only way to make one.
        const name = "d".repeat(200);
        mkdirSync(join(root, "deep"));
        execFileSync("bash", ["-c", `cd deep && for i in $(seq 24); do mkdir ${name} && cd ${name}; done && echo x > a.jpg`], {
            cwd: root,
        });
        try {
            const { files, skipped } = await walk(root);
            expect(files).to.deep.equal(["cat/a.jpg"]);
            expect(skipped).to.have.length(1);
            expect(skipped[0].path.startsWith("deep/")).to.equal(true);
            expect(skipped[0].reason).to.match(
                /^path too long for the file system \(ENAMETOOLONG, \d+ characters\); move the images to a folder with a shorter path$/,
            );
        } finally {
            // Node's rm gives up on paths past PATH_MAX; GNU rm walks them relative to each folder.
            execFileSync("rm", ["-rf", join(root, "deep")]);
        }
    });

    it("names a root that does not exist", async () => {
        const err = await walk(join(tempDir("walk-none"), "nope")).catch((e) => e);
        expect(err).to.be.instanceOf(JobError);
        expect(err.message).to.match(/input folder .*nope does not exist or is not a folder/);
    });
});
