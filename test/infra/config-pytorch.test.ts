import { expect } from "chai";
import { parsePlatformConfig } from "../../infra/config";
import { PYTORCH_SCRIPT_HYPERPARAMETERS, PYTORCH_STEP_HYPERPARAMETERS } from "../../infra/pipeline/pytorch";
import { DEFAULT_PYTORCH_VERSION, pytorchVersion } from "../../infra/pytorch-images";
import { readFileSync } from "fs";
import { join } from "path";
import { readStackFile } from "../../infra/stack-file";
import { problemsOf } from "../support/config-problems";

/** A valid staging config with one PyTorch model; each case below breaks one thing. */
function base(training: Record<string, unknown> = {}): any {
    return {
        environment: "staging",
        region: "us-east-1",
        models: {
            "dog-breeds": {
                classes: ["beagle", "boxer"],
                imageShape: [3, 224, 224],
                quality: { minAccuracy: 0.8 },
                training: { algorithm: "pytorch", architecture: "resnet50", ...training },
            },
        },
    };
}

describe("stack config: training.algorithm pytorch", () => {
    it("defaults to the built-in algorithm, and a PyTorch model to the newest servable container", () => {
        const builtin = base();
        delete builtin.models["dog-breeds"].training;
        expect(parsePlatformConfig(builtin).models["dog-breeds"].training.algorithm).to.equal("builtin");
        const t = parsePlatformConfig(base()).models["dog-breeds"].training;
        expect(t).to.include({ algorithm: "pytorch", architecture: "resnet50" });
        expect(pytorchVersion(t)).to.equal(DEFAULT_PYTORCH_VERSION);
    });

    it("accepts every PyTorch key together", () => {
        const t = parsePlatformConfig(
            base({
                frameworkVersion: "2.3",
                weights: "s3://my-weights/imagenet/resnet50.pth",
                hyperparameters: { optimizer: "sgd", weight_decay: 0.0005, label_smoothing: 0.1 },
                sourceDir: "jobs/pytorch",
            }),
        ).models["dog-breeds"].training;
        expect(t.hyperparameters).to.deep.equal({ optimizer: "sgd", weight_decay: 0.0005, label_smoothing: 0.1 });
        expect(pytorchVersion(t)).to.equal("2.3");
    });

    const cases: Array<[string, Record<string, unknown>, string, ((c: any) => void)?]> = [
        [
            "an unknown algorithm",
            { algorithm: "tensorflow" },
            'models.dog-breeds.training.algorithm: "tensorflow" must be one of builtin, pytorch',
        ],
        [
            "a PyTorch model without an architecture",
            { architecture: undefined },
            "models.dog-breeds.training.architecture: missing is required when training.algorithm is pytorch: a torchvision model name such as resnet50",
        ],
        [
            "a misspelt architecture",
            { architecture: "resnet-50" },
            'models.dog-breeds.training.architecture: "resnet-50" is not a torchvision classification model; did you mean resnet50',
        ],
        [
            "a framework version without both images",
            { frameworkVersion: "2.8" },
            'models.dog-breeds.training.frameworkVersion: "2.8" must be one of 1.13, 2.0, 2.1, 2.2, 2.3, 2.4, 2.5, 2.6',
        ],
        [
            "a framework version YAML read as a number",
            { frameworkVersion: 2.1 },
            `models.dog-breeds.training.frameworkVersion: 2.1 must be a quoted version such as "${DEFAULT_PYTORCH_VERSION}"`,
        ],
        [
            "weights that are neither a mode nor a state dict in S3",
            { weights: "https://download.pytorch.org/models/resnet50.pth" },
            'models.dog-breeds.training.weights: "https://download.pytorch.org/models/resnet50.pth" must be none, imagenet, a .pth key under the model\'s prefix',
        ],
        [
            "a weights key that climbs out of the model's prefix",
            { weights: "../traffic-signs/pretrained/resnet50.pth" },
            'models.dog-breeds.training.weights: "../traffic-signs/pretrained/resnet50.pth" must be none, imagenet',
        ],
        [
            "a hyperparameter the step sets from another key",
            { hyperparameters: { epochs: 3 } },
            "models.dog-breeds.training.hyperparameters.epochs: 3 is set from the other training keys",
        ],
        [
            "a hyperparameter the platform's train.py does not take",
            { hyperparameters: { dropout: 0.2 } },
            "models.dog-breeds.training.hyperparameters.dropout: 0.2 is not an option of the platform's train.py, which takes optimizer, momentum",
        ],
        [
            "a hyperparameter SageMaker reserves",
            { hyperparameters: { sagemaker_program: "x.py" }, sourceDir: "jobs/pytorch" },
            'models.dog-breeds.training.hyperparameters.sagemaker_program: "x.py" is a name SageMaker\'s script mode reserves',
        ],
        [
            "a hyperparameter name that is no argument",
            { hyperparameters: { "learning rate": 1 }, sourceDir: "jobs/pytorch" },
            "models.dog-breeds.training.hyperparameters.learning rate: 1 names must be letters, digits, _ and -",
        ],
        [
            "a hyperparameter value longer than SageMaker takes",
            { hyperparameters: { notes: "x".repeat(2501) }, sourceDir: "jobs/pytorch" },
            "is 2501 characters; SageMaker takes at most 2500",
        ],
        [
            "a source folder outside the project",
            { sourceDir: "../elsewhere" },
            'models.dog-breeds.training.sourceDir: "../elsewhere" must be a folder inside the project',
        ],
        [
            "a source folder that does not exist",
            { sourceDir: "models/nowhere" },
            'models.dog-breeds.training.sourceDir: "models/nowhere" is not a folder',
        ],
        ["a source folder without train.py", { sourceDir: "infra" }, 'models.dog-breeds.training.sourceDir: "infra" has no train.py'],
        [
            "several instances for the single-instance train.py",
            { instanceCount: 2 },
            "models.dog-breeds.training.instanceCount: 2 must be 1 with the platform's train.py",
        ],
        [
            "a K80 instance",
            { instanceType: "ml.p2.xlarge" },
            'models.dog-breeds.training.instanceType: "ml.p2.xlarge" has K80 GPUs, which the PyTorch 2 containers do not support',
        ],
        [
            "a built-in algorithm key on a PyTorch model",
            { numLayers: 50 },
            "models.dog-breeds.training.numLayers: 50 applies to the built-in algorithm only; with pytorch the network is training.architecture",
        ],
        [
            "the built-in augmentation key on a PyTorch model",
            { augmentationType: "crop" },
            'models.dog-breeds.training.augmentationType: "crop" applies to the built-in algorithm only; with pytorch set training.hyperparameters.augmentation',
        ],
        [
            "PyTorch keys on a built-in model",
            { algorithm: "builtin", architecture: "resnet50" },
            'models.dog-breeds.training.architecture: "resnet50" applies to training.algorithm pytorch only',
        ],
        [
            "an image shape below what torchvision's networks take",
            {},
            "models.dog-breeds.imageShape: [3,28,28] must be at least 32x32 with training.algorithm pytorch",
            (c) => (c.models["dog-breeds"].imageShape = [3, 28, 28]),
        ],
        [
            "a ViT at another size than 224x224",
            { architecture: "vit_b_16" },
            "models.dog-breeds.imageShape: [3,256,256] must be [3, 224, 224] for vit_b_16",
            (c) => (c.models["dog-breeds"].imageShape = [3, 256, 256]),
        ],
    ];
    for (const [what, training, expected, mutate] of cases)
        it(`reports ${what} with key, value and what is allowed`, () => {
            const c = base(training);
            mutate?.(c);
            const problems = problemsOf(c);
            expect(
                problems.some((p) => p.includes(expected)),
                `got:\n${problems.join("\n")}`,
            ).to.equal(true);
        });

    it("names as allowed hyperparameters exactly the options train.py has beyond those the step sets and its folders", () => {
        const script = readFileSync(join(__dirname, "..", "..", "jobs", "pytorch", "train.py"), "utf8");
        const options = [...script.matchAll(/add_argument\("--([a-z_]+)"/g)].map((m) => m[1]);
        const folders = ["train", "validation", "weights_dir", "model_dir", "checkpoint_dir"];
        expect([...options].sort()).to.deep.equal([...PYTORCH_STEP_HYPERPARAMETERS, ...PYTORCH_SCRIPT_HYPERPARAMETERS, ...folders].sort());
    });
});

describe("shipped stack files: dog-breeds and birds-200", () => {
    for (const stack of ["staging", "prod"]) {
        const config = () => readStackFile(".", stack);
        it(`${stack}: dog-breeds trains with PyTorch on Udacity's 133 dogImages breeds, in the dataset's folder names`, () => {
            const m = config().models["dog-breeds"];
            expect(m.training).to.include({
                algorithm: "pytorch",
                architecture: "resnet50",
                frameworkVersion: "2.6",
                weights: "pretrained/resnet50-imagenet.pth",
            });
            expect(m.classes).to.have.length(133);
            expect(m.classes.slice(0, 2)).to.deep.equal(["001.Affenpinscher", "002.Afghan_hound"]);
            expect(m.classes[132]).to.equal("133.Yorkshire_terrier");
            // NNN. prefixes run 001..133 in order, so class indices are the dataset's label numbers minus one.
            m.classes.forEach((c, i) => expect(c.slice(0, 4)).to.equal(`${String(i + 1).padStart(3, "0")}.`));
            expect(m.imageShape).to.deep.equal([3, 224, 224]);
        });
        it(`${stack}: birds-200 holds CUB-200-2011's 200 species from classes.txt, built-in algorithm`, () => {
            const m = config().models["birds-200"];
            expect(m.training.algorithm).to.equal("builtin");
            expect(m.classes).to.have.length(200);
            expect([m.classes[0], m.classes[102], m.classes[199]]).to.deep.equal([
                "001.Black_footed_Albatross",
                "103.Sayornis",
                "200.Common_Yellowthroat",
            ]);
            m.classes.forEach((c, i) => expect(c.slice(0, 4)).to.equal(`${String(i + 1).padStart(3, "0")}.`));
            expect(m.imageShape).to.deep.equal([3, 224, 224]);
        });
    }
    it("staging and prod name the same classes in the same order, so a promoted model's indices mean the same", () => {
        const [staging, prod] = ["staging", "prod"].map((s) => readStackFile(".", s));
        for (const model of ["dog-breeds", "birds-200"]) expect(prod.models[model].classes).to.deep.equal(staging.models[model].classes);
    });
});
