import { mkdir, rename, rm, writeFile } from "fs/promises";
import { join } from "path";
import { PYTORCH_CLASS_MAP_FILE, PYTORCH_IMAGE_FOLDERS_DIR } from "../../infra/pipeline/pytorch";
import { tempPathFor } from "../lib/atomic";
import { SplitLayout } from "./outputs";

/**
 * A training split as image folders, what a PyTorch script reads (torchvision's ImageFolder layout):
 * `<split folder>/images/<class>/<sha256 prefix>.jpg` and `images/class_map.json` (`{"classes": [...]}`, the
 * model's class order, which folder names sorted alphabetically would not keep). Written under a temporary
 * name and renamed into place whole, so a failed run leaves nothing a training job could mistake for a split.
 */
export const IMAGE_FOLDERS_DIR = PYTORCH_IMAGE_FOLDERS_DIR;

/** The folder a training channel names: the split's output folder plus IMAGE_FOLDERS_DIR. */
export function imageFoldersPath(folder: string): string {
    return join(folder, IMAGE_FOLDERS_DIR);
}

export interface ImageFolderEntry {
    readonly classIndex: number;
    readonly sha256: string;
}

export interface ImageFolderWriter {
    write(image: ImageFolderEntry, jpeg: Buffer): Promise<void>;
    commit(): Promise<void>;
    abort(): Promise<void>;
}

export async function openImageFolders(folder: string, classes: readonly string[]): Promise<ImageFolderWriter> {
    const final = imageFoldersPath(folder);
    const temp = tempPathFor(final);
    await mkdir(temp, { recursive: true });
    // Every class gets its folder, so a class with no images in this split is still one of the model's classes.
    await Promise.all(classes.map((c) => mkdir(join(temp, c))));
    return {
        write: (image, jpeg) => writeFile(join(temp, classes[image.classIndex], `${image.sha256.slice(0, 16)}.jpg`), jpeg, { flag: "wx" }),
        async commit() {
            await writeFile(join(temp, PYTORCH_CLASS_MAP_FILE), `${JSON.stringify({ classes })}\n`);
            await rename(temp, final);
        },
        abort: () => rm(temp, { recursive: true, force: true }),
    };
}

/** The layout preprocess writes a PyTorch model's train and validation splits with. */
export const imageFoldersLayout: SplitLayout = {
    files: (folder) => [imageFoldersPath(folder)],
    open: (folder, _split, classes) => openImageFolders(folder, classes),
};
