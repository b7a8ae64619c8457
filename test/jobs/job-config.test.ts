import { expect } from "chai";
import { join } from "path";
import { JobError } from "../../jobs/lib/errors";
import { loadJobModelConfig } from "../../jobs/lib/job-config";
import { tempDir, writeAt } from "./support/images";

/** A model.json as the pipeline writes it (written out by hand; `drift` is passed through unchecked). */
const valid = {
    model: "signs",
    classes: ["stop", "yield"],
    imageShape: [3, 224, 224],
    split: { validation: 0.1, test: 0.2 },
    seed: 42,
    minImageSide: 32,
    minAccuracy: 0.9,
    maxRegression: 0.01,
    confidenceThreshold: 0.8,
    drift: { psi: 0.2, pValue: 0.01 },
};

function configFile(doc: unknown): string {
    return writeAt(tempDir("job-config"), "model.json", typeof doc === "string" ? doc : JSON.stringify(doc));
}

function problemsOf(doc: unknown): string {
    const path = configFile(doc);
    try {
        loadJobModelConfig({ config: path });
    } catch (e) {
        expect(e).to.be.instanceOf(JobError);
        const message = (e as Error).message;
        const head = `model config ${path} is not a valid model.json: `;
        expect(message.startsWith(head), message).to.equal(true);
        return message.slice(head.length);
    }
    throw new Error("expected the config to be refused");
}

describe("jobs/lib/job-config loadJobModelConfig", () => {
    it("reads model.json from a file or from the folder holding it, passing unknown settings through", () => {
        const file = configFile(valid);
        expect(loadJobModelConfig({ config: file })).to.deep.equal(valid);
        expect(loadJobModelConfig({ config: join(file, "..") })).to.deep.equal(valid);
        const { minImageSide: _, ...withoutMinSide } = valid;
        expect(loadJobModelConfig({ config: configFile(withoutMinSide) })).to.deep.equal(withoutMinSide);
    });

    it("accepts fractions at 0 and 1 exactly", () => {
        const edges = { ...valid, split: { validation: 0, test: 1 }, minAccuracy: 1, maxRegression: 0, confidenceThreshold: 0 };
        expect(loadJobModelConfig({ config: configFile(edges) })).to.deep.equal(edges);
    });

    it("says where to find the config when it is missing, and why it cannot be read", () => {
        const missing = join(tempDir("job-config-missing"), "nope.json");
        expect(() => loadJobModelConfig({ config: missing })).to.throw(
            JobError,
            `model config ${missing} does not exist; pass --config model.json, or --stack <stack> --model <model> to read it from Pulumi.<stack>.yaml`,
        );
        // An empty folder: the model.json it should hold is named.
        const folder = tempDir("job-config-empty");
        expect(() => loadJobModelConfig({ config: folder })).to.throw(
            JobError,
            `model config ${join(folder, "model.json")} cannot be read`,
        );
        const broken = configFile("{ not json");
        expect(() => loadJobModelConfig({ config: broken })).to.throw(
            JobError,
            new RegExp(`^model config ${broken} cannot be read as JSON: .+`),
        );
    });

    it("refuses each setting out of range, naming the setting by its path", () => {
        const cases: [Record<string, unknown>, string][] = [
            [{ model: "" }, "model"],
            [{ classes: ["stop"] }, "classes"],
            [{ classes: ["stop", ""] }, "classes.1"],
            [{ imageShape: [3, 224] }, "imageShape"],
            [{ imageShape: [3, 0, 224] }, "imageShape.1"],
            [{ imageShape: [3, 224, 22.5] }, "imageShape.2"],
            [{ split: { validation: -0.1, test: 0.2 } }, "split.validation"],
            [{ split: { validation: 0.1, test: 1.5 } }, "split.test"],
            [{ seed: 4.2 }, "seed"],
            [{ minImageSide: 0 }, "minImageSide"],
            [{ minImageSide: 1.5 }, "minImageSide"],
            [{ minAccuracy: 1.01 }, "minAccuracy"],
            [{ maxRegression: -0.01 }, "maxRegression"],
            [{ confidenceThreshold: 2 }, "confidenceThreshold"],
        ];
        for (const [change, path] of cases) {
            const problems = problemsOf({ ...valid, ...change });
            expect(problems, JSON.stringify(change)).to.match(new RegExp(`^${path.replace(".", "\\.")}: [^;]+$`));
        }
    });

    it("lists every problem together, and a document that is no object as the top level", () => {
        expect(
            problemsOf({ ...valid, seed: "42", minAccuracy: 2 })
                .split("; ")
                .map((p) => p.split(":")[0]),
        ).to.deep.equal(["seed", "minAccuracy"]);
        expect(problemsOf([1, 2])).to.match(/^\(top level\): /);
    });

    it("builds the config from the stack file with --stack and --model", () => {
        // Pulumi.staging.yaml's traffic-signs model.
        const c = loadJobModelConfig({ stack: "staging", model: "traffic-signs" });
        expect(c).to.deep.include({
            model: "traffic-signs",
            imageShape: [3, 224, 224],
            minAccuracy: 0.9,
            maxRegression: 0.01,
            confidenceThreshold: 0.8,
        });
        expect(c.classes.slice(0, 2)).to.deep.equal(["speed-limit-20", "speed-limit-30"]);
        expect(() => loadJobModelConfig({ stack: "staging" })).to.throw(/^--model is required; stack staging has: traffic-signs/);
    });
});
