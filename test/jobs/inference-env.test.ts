import { expect } from "chai";
import { writeFileSync } from "fs";
import { join } from "path";
import { INFERENCE_CLASSES_FILE, INFERENCE_ENV } from "../../infra/inference-workflow";
import { settingsFromEnvironment } from "../../jobs/inference/env";
import { tempDir } from "./support/images";

const ENV = {
    AWS_REGION: "eu-west-1",
    [INFERENCE_ENV.environment]: "prod",
    [INFERENCE_ENV.model]: "birds-200",
    [INFERENCE_ENV.rawBucket]: "vision-mlops-prod-raw-123456789012-eu-west-1",
    [INFERENCE_ENV.endpointName]: "vision-mlops-prod-birds-200",
    [INFERENCE_ENV.topK]: "3",
    [INFERENCE_ENV.imagePrefixes]: '["birds-200/inference/incoming/"]',
};

function taskRoot(classesFile?: string): string {
    const root = tempDir("inference-task");
    if (classesFile !== undefined) writeFileSync(join(root, INFERENCE_CLASSES_FILE), classesFile);
    return root;
}

describe("inference handler settings", () => {
    it("reads the class list from the file beside the bundle, the rest from the environment", () => {
        const root = taskRoot('["001.Black_footed_Albatross","002.Laysan_Albatross"]');
        expect(settingsFromEnvironment(ENV, root)).to.deep.include({
            environment: "prod",
            model: "birds-200",
            region: "eu-west-1",
            classes: ["001.Black_footed_Albatross", "002.Laysan_Albatross"],
            topK: 3,
            imagePrefixes: ["birds-200/inference/incoming/"],
        });
        // In Lambda, the task root is where the archive was unpacked.
        expect(settingsFromEnvironment({ ...ENV, LAMBDA_TASK_ROOT: root }).classes).to.have.members([
            "001.Black_footed_Albatross",
            "002.Laysan_Albatross",
        ]);
    });

    it("says which file is missing or wrong, and which variable is not set", () => {
        const missing = taskRoot();
        expect(() => settingsFromEnvironment(ENV, missing)).to.throw(
            `cannot read the class list ${join(missing, INFERENCE_CLASSES_FILE)} (ENOENT`,
        );
        for (const bad of ["not json", "{}", "[]", '["ok", 3]', '[""]'])
            expect(() => settingsFromEnvironment(ENV, taskRoot(bad)), bad).to.throw(/classes\.json is not a JSON list of class names/);
        const { [INFERENCE_ENV.model]: _model, ...withoutModel } = ENV;
        expect(() => settingsFromEnvironment(withoutModel, taskRoot('["a"]'))).to.throw(
            "environment variable VISION_MODEL is not set; the function is deployed by the InferenceWorkflow component",
        );
    });
});
