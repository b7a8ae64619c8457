import { expect } from "chai";
import { allSteps, PipelineDefinition, StepDefinition } from "../../../infra/pipeline/builder";
import { imageClassificationPipeline } from "../../../infra/pipeline/image-classification";
import { jobModelConfig } from "../../../infra/job-contract";
import { PYTORCH_METRIC_DEFINITIONS } from "../../../infra/pipeline/pytorch";
import { readStackFile } from "../../../infra/stack-file";

const BUCKETS = { raw: "raw-bucket", curated: "curated-bucket", artifacts: "artifacts-bucket" };
const PYTORCH = {
    trainingImageUri: "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.6.0-gpu-py312",
    inferenceImageUri: "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6.0-cpu-py312",
    sourceBundleUri: "s3://artifacts-bucket/dog-breeds/code/0123456789abcdef/sourcedir.tar.gz",
};
const staging = readStackFile(".", "staging");
const config = staging.models["dog-breeds"];

function definition(extra: Record<string, unknown> = {}, pytorch: typeof PYTORCH | null = PYTORCH): PipelineDefinition {
    return imageClassificationPipeline({
        environment: "staging",
        model: "dog-breeds",
        config: { ...config, training: { ...config.training, ...extra } },
        region: "us-east-1",
        roleArn: "arn:aws:iam::123456789012:role/vision-mlops-staging-dog-breeds-training",
        buckets: BUCKETS,
        kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/0000-key",
        jobsImageUri: "123456789012.dkr.ecr.us-east-1.amazonaws.com/jobs@sha256:" + "a".repeat(64),
        algorithmImageUri: "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1",
        ...(pytorch ? { pytorch } : {}),
    });
}
const step = (d: PipelineDefinition, name: string) => allSteps(d).find((s) => s.Name === name) as StepDefinition & { Arguments: any };
const execUri = (bucket: string, what: string) => ({
    "Std:Join": { On: "", Values: [`s3://${bucket}/dog-breeds/executions/`, { Get: "Execution.PipelineExecutionId" }, `/${what}`] },
});

describe("training pipeline of a PyTorch model (dog-breeds, staging stack file)", () => {
    // Built in each test, not when the file loads: code run at load time would make every mutant of it rerun the whole file.
    let d: PipelineDefinition;
    let train: any;
    beforeEach(() => {
        d = definition();
        train = step(d, "Train").Arguments;
    });

    it("trains in the PyTorch training image, with the metric definitions train.py's lines match", () => {
        expect(train.AlgorithmSpecification).to.deep.equal({
            TrainingImage: PYTORCH.trainingImageUri,
            TrainingInputMode: "File",
            MetricDefinitions: PYTORCH_METRIC_DEFINITIONS,
        });
        expect(train.HyperParameters).to.include({ architecture: '"resnet50"', sagemaker_program: '"train.py"', epochs: "25" });
        expect(train.HyperParameters).not.to.have.property("num_layers");
    });

    it("reads the image folders preprocess writes, the code and the starting weights as channels", () => {
        const uris = Object.fromEntries(train.InputDataConfig.map((c: any) => [c.ChannelName, c.DataSource.S3DataSource.S3Uri]));
        expect(Object.keys(uris)).to.deep.equal(["train", "validation", "code", "weights"]);
        for (const split of ["train", "validation"])
            expect(uris[split]).to.deep.equal({
                "Std:Join": {
                    On: "",
                    Values: [{ Get: `Steps.Preprocess.ProcessingOutputConfig.Outputs['${split}'].S3Output.S3Uri` }, "/images"],
                },
            });
        expect(uris.code).to.equal(PYTORCH.sourceBundleUri);
        expect(uris.weights).to.equal("s3://artifacts-bucket/dog-breeds/pretrained/resnet50-imagenet.pth");
        for (const c of train.InputDataConfig) expect(c).not.to.have.property("ContentType");
        // Preprocess learns the layout from the model's job settings.
        expect(jobModelConfig("dog-breeds", config).trainingLayout).to.equal("image-folders");
        expect(jobModelConfig("birds-200", staging.models["birds-200"])).not.to.have.property("trainingLayout");
    });

    it("spot with checkpoints under /opt/ml/checkpoints, synced per execution, runtime and wait caps, network-isolated", () => {
        expect(train.EnableManagedSpotTraining).to.equal(true);
        expect(train.CheckpointConfig).to.deep.equal({
            S3Uri: execUri("artifacts-bucket", "checkpoints"),
            LocalPath: "/opt/ml/checkpoints",
        });
        expect(train.StoppingCondition).to.deep.equal({ MaxRuntimeInSeconds: 14400, MaxWaitTimeInSeconds: 28800 });
        expect(train.ResourceConfig).to.include({ InstanceType: "ml.g4dn.xlarge", InstanceCount: 1 });
        expect(train.EnableNetworkIsolation).to.equal(true);
        expect(train.EnableInterContainerTrafficEncryption).to.equal(true);
        const onDemand = step(definition({ spot: false, maxWaitSeconds: undefined }), "Train").Arguments;
        expect(onDemand.EnableManagedSpotTraining).to.equal(false);
        expect(onDemand.StoppingCondition).to.deep.equal({ MaxRuntimeInSeconds: 14400 });
        expect(onDemand.CheckpointConfig, "a retried step resumes too").to.have.property("LocalPath", "/opt/ml/checkpoints");
        expect(step(definition({ weights: "imagenet" }), "Train").Arguments.EnableNetworkIsolation).to.equal(false);
    });

    it("creates, transforms with and registers the PyTorch inference image running the model's code/inference.py", () => {
        const container = {
            Image: PYTORCH.inferenceImageUri,
            ModelDataUrl: { Get: "Steps.Train.ModelArtifacts.S3ModelArtifacts" },
            Environment: {
                SAGEMAKER_PROGRAM: "inference.py",
                SAGEMAKER_SUBMIT_DIRECTORY: "/opt/ml/model/code",
                SAGEMAKER_CONTAINER_LOG_LEVEL: "20",
                SAGEMAKER_REGION: "us-east-1",
            },
        };
        expect(step(d, "CreateModel").Arguments.PrimaryContainer).to.deep.equal(container);
        expect(step(d, "CreateModel").Arguments.EnableNetworkIsolation).to.equal(true);
        expect(step(d, "Register").Arguments.InferenceSpecification.Containers).to.deep.equal([container]);
        // The transform sends the test images as the endpoints get them; evaluation reads the same JSON.
        expect(step(d, "Transform").Arguments.TransformInput.ContentType).to.equal("application/x-image");
        expect(step(d, "Transform").Arguments.TransformOutput.Accept).to.equal("application/json");
    });

    it("refuses to build without the PyTorch images and source", () => {
        expect(() => definition({}, null)).to.throw(/dog-breeds: training.algorithm is pytorch, so the pipeline needs its PyTorch images/);
    });
});
