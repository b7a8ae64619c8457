import { expect } from "chai";
import { execFileSync, spawnSync } from "child_process";
import { mkdirSync, symlinkSync } from "fs";
import { join } from "path";
import { JobError } from "../../jobs/lib/errors";
import { unreadable, walkFiles, WalkSkip } from "../../jobs/lib/fs-walk";
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

    it("sorts names by code unit, whatever order the folder lists them in", async () => {
        const root = tempDir("walk-order");
        const names = ["b.jpg", "a.jpg", "B.jpg", "_x.jpg", "a10.jpg", "a2.jpg", "Z.jpg", "é.jpg", "1.jpg"];
        for (const name of names) writeAt(root, `c/${name}`, "x");
        expect((await walk(root)).files).to.deep.equal(
            ["1.jpg", "B.jpg", "Z.jpg", "_x.jpg", "a.jpg", "a10.jpg", "a2.jpg", "b.jpg", "é.jpg"].map((n) => `c/${n}`),
        );
    });

    it("walks a linked folder's subfolders, and reports links that loop among themselves or point at a pipe", async function () {
        const root = tempDir("walk-link-tree");
        writeAt(root, "real/sub/x.jpg", "x");
        symlinkSync("real", join(root, "alias"));
        symlinkSync("l2", join(root, "l1"));
        symlinkSync("l1", join(root, "l2"));
        if (spawnSync("mkfifo", [join(root, "real", "pipe")]).status !== 0) this.skip();
        symlinkSync(join("real", "pipe"), join(root, "to-pipe"));
        const { files, skipped } = await walk(root);
        expect(files).to.deep.equal(["alias/sub/x.jpg", "real/sub/x.jpg"]);
        expect(skipped).to.deep.equal([
            { path: "alias/pipe", reason: "not a regular file (a pipe, socket or device)" },
            { path: "l1", reason: "cannot read this link: ELOOP" },
            { path: "l2", reason: "cannot read this link: ELOOP" },
            { path: "real/pipe", reason: "not a regular file (a pipe, socket or device)" },
            { path: "to-pipe", reason: "symbolic link to something that is not a regular file (a pipe, socket or device)" },
        ]);
    });

    it("names a root that is a file, and passes on other errors of the root as they are", async () => {
        const root = tempDir("walk-root-file");
        writeAt(root, "a.jpg", "x");
        const err = await walk(join(root, "a.jpg")).catch((e) => e);
        expect(err).to.be.instanceOf(JobError);
        expect(err.message).to.equal(`input folder ${join(root, "a.jpg")} does not exist or is not a folder`);
        symlinkSync("self", join(root, "self"));
        const loop = await walk(join(root, "self")).catch((e) => e);
        expect([loop instanceof JobError, loop.code]).to.deep.equal([false, "ELOOP"]);
    });

    it("says why a folder, link or file could not be read", () => {
        const err = (code: string | undefined, message = "boom") => Object.assign(new Error(message), code ? { code } : {});
        expect(unreadable(err("EACCES"), "/x", "folder")).to.equal("cannot read this folder: permission denied (EACCES)");
        expect(unreadable(err("EPERM"), "/x", "file")).to.equal("cannot read this file: permission denied (EPERM)");
        expect(unreadable(err("EIO"), "/x", "link")).to.equal("cannot read this link: EIO");
        expect(unreadable(err(undefined, "odd failure"), "/x", "folder")).to.equal("cannot read this folder: odd failure");
        expect(unreadable(err("ENAMETOOLONG"), "/a/b", "folder")).to.equal(
            "path too long for the file system (ENAMETOOLONG, 4 characters); move the images to a folder with a shorter path",
        );
    });
});
