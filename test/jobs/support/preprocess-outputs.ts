import { join } from "path";
import { PreprocessOutputs } from "../../../jobs/preprocess";

/** A run's four output folders under one root, as `--output DIR` lays them out. */
export const outputsIn = (root: string): PreprocessOutputs => ({
    train: join(root, "train"),
    validation: join(root, "validation"),
    test: join(root, "test"),
    metadata: join(root, "metadata"),
});
