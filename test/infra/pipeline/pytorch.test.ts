import { expect } from "chai";
import { spawnSync } from "child_process";
import { join } from "path";
import { parsePlatformConfig } from "../../../infra/config";
import { pytorchServingEnvironment, pytorchTrainingJob, PYTORCH_SOURCE_DIR } from "../../../infra/pipeline/pytorch";

const PYTHON = "/usr/bin/python3";

function training(extra: Record<string, unknown> = {}) {
    const c = parsePlatformConfig({
        environment: "staging",
        region: "eu-west-1",
        models: {
            "dog-breeds": {
                classes: ["beagle", "boxer"],
                imageShape: [3, 224, 224],
                quality: { minAccuracy: 0.8 },
                training: {
                    algorithm: "pytorch",
                    architecture: "resnet50",
                    hyperparameters: { optimizer: "sgd", weight_decay: 0.0005 },
                    ...extra,
                },
            },
        },
    });
    return c.models["dog-breeds"];
}

const job = (extra: Record<string, unknown> = {}) => {
    const m = training(extra);
    return pytorchTrainingJob({
        training: m.training,
        imageShape: m.imageShape,
        region: "eu-west-1",
        sourceBundleUri: "s3://artifacts/dog-breeds/code/abc/sourcedir.tar.gz",
        trainUri: "s3://curated/dog-breeds/train",
        validationUri: "s3://curated/dog-breeds/validation",
        artifactsModelUri: "s3://artifacts/dog-breeds/",
    });
};

describe("PyTorch training job (script mode)", () => {
    it("JSON-encodes every hyperparameter as the SDK does, the code coming in as a channel", () => {
        const { hyperParameters, channels } = job();
        expect(hyperParameters).to.include({
            architecture: '"resnet50"',
            image_shape: '"3,224,224"',
            epochs: "30",
            batch_size: "32",
            early_stopping: "true",
            weights: '"none"',
            optimizer: '"sgd"',
            weight_decay: "0.0005",
            sagemaker_program: '"train.py"',
            sagemaker_submit_directory: '"/opt/ml/input/data/code/sourcedir.tar.gz"',
            sagemaker_region: '"eu-west-1"',
        });
        expect(channels.map((c) => [c.ChannelName, c.DataSource.S3DataSource.S3Uri])).to.deep.equal([
            ["train", "s3://curated/dog-breeds/train"],
            ["validation", "s3://curated/dog-breeds/validation"],
            ["code", "s3://artifacts/dog-breeds/code/abc/sourcedir.tar.gz"],
        ]);
    });

    it("needs the network only to download ImageNet weights; a state dict in S3 is a channel and keeps the job isolated", () => {
        expect(job().enableNetworkIsolation, "random initialisation by default").to.equal(true);
        expect(job({ weights: "imagenet" }).enableNetworkIsolation).to.equal(false);
        const weightsOf = (w: string) =>
            job({ weights: w }).channels.find((c) => c.ChannelName === "weights")?.DataSource.S3DataSource.S3Uri;
        expect(weightsOf("none")).to.equal(undefined);
        expect(weightsOf("s3://my-weights/resnet50.pth")).to.equal("s3://my-weights/resnet50.pth");
        expect(weightsOf("pretrained/resnet50.pth"), "a key is under the model's artifacts prefix").to.equal(
            "s3://artifacts/dog-breeds/pretrained/resnet50.pth",
        );
        const fromS3 = job({ weights: "pretrained/resnet50.pth" });
        expect(fromS3.enableNetworkIsolation).to.equal(true);
        expect(fromS3.hyperParameters.weights).to.equal('"none"');
    });

    it("serves with code/inference.py of the model directory", () => {
        expect(pytorchServingEnvironment("us-east-1")).to.include({
            SAGEMAKER_PROGRAM: "inference.py",
            SAGEMAKER_SUBMIT_DIRECTORY: "/opt/ml/model/code",
        });
    });

    it("gives train.py arguments it parses to the configured values, decoded as the training toolkit does", () => {
        const { hyperParameters } = job({ earlyStopping: { enabled: false, patience: 3, minEpochs: 4 } });
        // The training toolkit: json.loads each value, then `--name str(value)` for everything but its own sagemaker_* keys.
        const script = `
import json, sys
from unittest import mock
# Argument parsing needs none of the libraries train.py trains with.
for name in ("torch", "torch.nn", "torchvision", "PIL"):
    sys.modules[name] = mock.MagicMock()
sys.modules["torch"].utils.data.Dataset = object
sys.path.insert(0, sys.argv[1])
import train
hps = {k: json.loads(v) for k, v in json.loads(sys.argv[2]).items() if not k.startswith("sagemaker_")}
argv = [a for k, v in hps.items() for a in ("--" + k, str(v))]
print(json.dumps(vars(train.parse_args(argv))))`;
        const r = spawnSync(
            PYTHON,
            ["-c", script, join(__dirname, "..", "..", "..", PYTORCH_SOURCE_DIR), JSON.stringify(hyperParameters)],
            {
                encoding: "utf8",
            },
        );
        expect(r.status, r.stderr).to.equal(0);
        expect(r.stdout).not.to.include("warning: ignoring");
        expect(JSON.parse(r.stdout.trim().split("\n").pop()!)).to.include({
            architecture: "resnet50",
            image_shape: "3,224,224",
            epochs: 30,
            learning_rate: 0.001,
            batch_size: 32,
            early_stopping: false,
            patience: 3,
            min_epochs: 4,
            seed: 42,
            weights: "none",
            optimizer: "sgd",
            weight_decay: 0.0005,
        });
    });
});
