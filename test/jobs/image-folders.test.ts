import { expect } from "chai";
import { existsSync, readdirSync, readFileSync } from "fs";
import { join } from "path";
import { openImageFolders } from "../../jobs/preprocess/image-folders";
import { tempDir } from "./support/images";

describe("preprocess: image-folder layout for PyTorch models", () => {
    const classes = ["red", "green", "blue"];

    it("writes <class>/<image> folders and the model's class order, visible only once committed", async () => {
        const folder = tempDir("image-folders");
        const w = await openImageFolders(folder, classes);
        await w.write({ classIndex: 1, sha256: "a".repeat(64) }, Buffer.from("jpeg-a"));
        await w.write({ classIndex: 0, sha256: "b".repeat(64) }, Buffer.from("jpeg-b"));
        expect(existsSync(join(folder, "images")), "nothing under the final name before commit").to.equal(false);
        await w.commit();
        expect(readdirSync(join(folder, "images")).sort()).to.deep.equal(["blue", "class_map.json", "green", "red"]);
        expect(readFileSync(join(folder, "images", "green", `${"a".repeat(16)}.jpg`), "utf8")).to.equal("jpeg-a");
        expect(readdirSync(join(folder, "images", "blue"))).to.deep.equal([]);
        expect(JSON.parse(readFileSync(join(folder, "images", "class_map.json"), "utf8"))).to.deep.equal({ classes });
    });

    it("leaves nothing behind when aborted, and refuses to overwrite an image", async () => {
        const folder = tempDir("image-folders");
        const w = await openImageFolders(folder, classes);
        await w.write({ classIndex: 2, sha256: "c".repeat(64) }, Buffer.from("x"));
        let refused: unknown;
        await w.write({ classIndex: 2, sha256: "c".repeat(64) }, Buffer.from("y")).catch((e) => (refused = e));
        expect((refused as NodeJS.ErrnoException).code).to.equal("EEXIST");
        await w.abort();
        expect(readdirSync(folder)).to.deep.equal([]);
    });
});
