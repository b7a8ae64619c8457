import { expect } from "chai";
import {
    DEFAULT_PYTORCH_VERSION,
    isPyTorchVersion,
    PyTorchVersion,
    pytorchImageUri,
    pytorchModelImages,
    pytorchRegistry,
    pytorchRepositoryArn,
    pytorchVersion,
} from "../../infra/pytorch-images";

// Expected URIs as the SageMaker Python SDK's image_uris.retrieve("pytorch", ...) returns them (its pytorch.json table).
describe("infra/pytorch-images: the SageMaker PyTorch containers", () => {
    it("builds the SDK's image URI: registry, region, scope, full version, processor and Python", () => {
        expect(pytorchImageUri({ scope: "training", version: "2.6", region: "us-east-1", processor: "gpu" })).to.equal(
            "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.6.0-gpu-py312",
        );
        expect(pytorchImageUri({ scope: "inference", version: "1.13", region: "eu-west-1", processor: "cpu" })).to.equal(
            "763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-inference:1.13.1-cpu-py39",
        );
        expect(pytorchImageUri({ scope: "inference", version: "2.3", region: "af-south-1", processor: "gpu" })).to.equal(
            "626614931356.dkr.ecr.af-south-1.amazonaws.com/pytorch-inference:2.3.0-gpu-py311",
        );
        expect(pytorchImageUri({ scope: "inference", version: "2.3", region: "eu-south-1", processor: "cpu" })).to.equal(
            "692866216735.dkr.ecr.eu-south-1.amazonaws.com/pytorch-inference:2.3.0-cpu-py311",
        );
    });

    it("uses the China domain in the China regions", () => {
        expect(pytorchImageUri({ scope: "training", version: "2.0", region: "cn-north-1", processor: "gpu" })).to.equal(
            "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/pytorch-training:2.0.1-gpu-py310",
        );
        expect(pytorchImageUri({ scope: "inference", version: "1.13", region: "cn-north-1", processor: "cpu" })).to.equal(
            "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/pytorch-inference:1.13.1-cpu-py39",
        );
        expect(pytorchRegistry("cn-northwest-1")).to.equal("727897471807");
        expect(pytorchRegistry("us-gov-west-1")).to.equal("442386744353");
        expect(pytorchRegistry("us-east-7")).to.equal(undefined);
    });

    it("refuses a version or a region outside the table, naming it and what there is", () => {
        expect(() =>
            pytorchImageUri({ scope: "training", version: "1.12" as PyTorchVersion, region: "us-east-1", processor: "gpu" }),
        ).to.throw("PyTorch 1.12 has no SageMaker training and inference images; use one of 1.13, 2.0, 2.1, 2.2, 2.3, 2.4, 2.5, 2.6");
        const notPublished =
            "the SageMaker PyTorch containers are not published in mars-north-1 " +
            "(sagemaker-python-sdk sagemaker-core/src/sagemaker/core/image_uri_config/pytorch.json)";
        expect(() => pytorchImageUri({ scope: "training", version: "2.6", region: "mars-north-1", processor: "gpu" })).to.throw(
            notPublished,
        );
        expect(() => pytorchRepositoryArn({ scope: "training", region: "mars-north-1" })).to.throw(notPublished);
    });

    it("knows a version only by its own keys, not by what every object has", () => {
        expect(isPyTorchVersion("2.6")).to.equal(true);
        expect(isPyTorchVersion("2.7")).to.equal(false);
        expect(isPyTorchVersion("toString")).to.equal(false);
        expect(isPyTorchVersion("2.6.0")).to.equal(false);
    });

    it("runs a model on its frameworkVersion, or 2.6 by default", () => {
        expect(DEFAULT_PYTORCH_VERSION).to.equal("2.6");
        expect(pytorchVersion({})).to.equal("2.6");
        expect(pytorchVersion({ frameworkVersion: "2.1" })).to.equal("2.1");
    });

    it("trains on GPU and serves on the kind of instance batch transform runs on", () => {
        expect(pytorchModelImages({ processingInstanceType: "ml.m5.xlarge", frameworkVersion: "2.2" }, "us-west-2")).to.deep.equal({
            trainingImageUri: "763104351884.dkr.ecr.us-west-2.amazonaws.com/pytorch-training:2.2.0-gpu-py310",
            inferenceImageUri: "763104351884.dkr.ecr.us-west-2.amazonaws.com/pytorch-inference:2.2.0-cpu-py310",
        });
        expect(pytorchModelImages({ processingInstanceType: "ml.g4dn.xlarge" }, "us-west-2").inferenceImageUri).to.equal(
            "763104351884.dkr.ecr.us-west-2.amazonaws.com/pytorch-inference:2.6.0-gpu-py312",
        );
    });

    it("names the repository the roles pull from, in the partition given", () => {
        expect(pytorchRepositoryArn({ scope: "training", region: "us-east-1" })).to.equal(
            "arn:aws:ecr:us-east-1:763104351884:repository/pytorch-training",
        );
        expect(pytorchRepositoryArn({ scope: "inference", region: "cn-north-1" }, "aws-cn")).to.equal(
            "arn:aws-cn:ecr:cn-north-1:727897471807:repository/pytorch-inference",
        );
    });
});
