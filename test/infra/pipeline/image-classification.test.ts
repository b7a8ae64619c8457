import { expect } from "chai";
import { ConfigError, ModelConfig, parsePlatformConfig, PlatformConfig } from "../../../infra/config";
import { JOBS_ENTRYPOINT, PROCESSING_PATHS, PROPERTY_FILES, PROPERTY_PATHS } from "../../../infra/job-contract";
import { modelPackageGroupName, pipelineName } from "../../../infra/naming";
import { allSteps, ConditionArguments, PipelineDefinition, referencesIn, StepDefinition, stepGraph } from "../../../infra/pipeline/builder";
import {
    BATCH_MANIFEST_PARAMETER,
    imageClassificationPipeline,
    ImageClassificationPipelineArgs,
    latestDatasetKey,
    modelConfigObject,
    PACKAGE_METADATA_KEYS,
} from "../../../infra/pipeline/image-classification";
import { readStackFile } from "../../../infra/stack-file";

const KEY = "arn:aws:kms:us-east-1:123456789012:key/0000-key";
const ROLE = "arn:aws:iam::123456789012:role/vision-mlops-staging-training";
const JOBS_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/jobs@sha256:" + "a".repeat(64);
const ALGORITHM_IMAGE = "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1";
const BUCKETS = { raw: "raw-bucket", curated: "curated-bucket", artifacts: "artifacts-bucket" };
const PYTORCH_IMAGES = {
    trainingImageUri: "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.3.0-gpu-py311",
    inferenceImageUri: "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.3.0-cpu-py311",
    sourceBundleUri: "s3://artifacts-bucket/dog-breeds/code/0123456789abcdef/sourcedir.tar.gz",
};
const EXECUTION_VARIABLES = [
    "PipelineExecutionId",
    "PipelineExecutionArn",
    "PipelineName",
    "PipelineArn",
    "StartDateTime",
    "CurrentDateTime",
];

const staging = readStackFile(".", "staging");

function definitionFor(model: string, config: ModelConfig, extra: Partial<ImageClassificationPipelineArgs> = {}): PipelineDefinition {
    return imageClassificationPipeline({
        environment: "staging",
        model,
        config,
        region: "us-east-1",
        roleArn: ROLE,
        buckets: BUCKETS,
        kmsKeyArn: KEY,
        jobsImageUri: JOBS_IMAGE,
        algorithmImageUri: ALGORITHM_IMAGE,
        gitCommit: "0123abcd",
        ...extra,
    });
}

function step(definition: PipelineDefinition, name: string): StepDefinition & { Arguments: any } {
    const hit = allSteps(definition).find((s) => s.Name === name);
    if (!hit) throw new Error(`no step ${name}`);
    return hit as StepDefinition & { Arguments: any };
}

/**
 * Resolves a `Get` the way SageMaker does: a declared parameter, an execution variable, or a property the
 * named step's type really has (for processing steps: a declared output or property file). Returns the
 * step it depends on, if any.
 */
function resolve(definition: PipelineDefinition, get: string): { step?: string } {
    const [root, name, ...rest] = get.split(".");
    if (root === "Parameters") {
        expect(
            definition.Parameters.map((p) => p.Name),
            get,
        ).to.include(get.slice("Parameters.".length));
        return {};
    }
    if (root === "Execution") {
        expect(EXECUTION_VARIABLES, get).to.include(name);
        return {};
    }
    expect(root, get).to.equal("Steps");
    const target = step(definition, name);
    const property = rest.join(".");
    switch (target.Type) {
        case "Processing": {
            const output = /^ProcessingOutputConfig\.Outputs\['([^']+)'\]\.S3Output\.S3Uri$/.exec(property);
            const file = /^PropertyFiles\.(.+)$/.exec(property);
            if (output)
                expect(
                    target.Arguments.ProcessingOutputConfig.Outputs.map((o: any) => o.OutputName),
                    get,
                ).to.include(output[1]);
            else if (file)
                expect(
                    (target.PropertyFiles ?? []).map((f) => f.PropertyFileName),
                    get,
                ).to.include(file[1]);
            else expect.fail(`${get} is no processing property`);
            break;
        }
        case "Training":
            expect(property, get).to.equal("ModelArtifacts.S3ModelArtifacts");
            break;
        case "Model":
            expect(property, get).to.equal("ModelName");
            break;
        case "Transform":
            expect(property, get).to.equal("TransformOutput.S3OutputPath");
            break;
        default:
            expect.fail(`${get} refers to a ${target.Type} step`);
    }
    return { step: name };
}

function jsonGets(value: unknown): Array<{ file: string; path: string }> {
    const out: Array<{ file: string; path: string }> = [];
    const visit = (v: unknown) => {
        if (Array.isArray(v)) v.forEach(visit);
        else if (v && typeof v === "object") {
            for (const [k, inner] of Object.entries(v)) {
                if (k === "Std:JsonGet") out.push({ file: (inner as any).PropertyFile.Get, path: (inner as any).Path });
                else if (k !== "IfSteps" && k !== "ElseSteps") visit(inner);
            }
        }
    };
    visit(value);
    return out;
}

function withModel(base: PlatformConfig, change: (m: Record<string, unknown>) => void): unknown {
    const raw = JSON.parse(JSON.stringify({ ...base, models: { m1: base.models["traffic-signs"] } }));
    change(raw.models.m1);
    return raw;
}

describe("infra/pipeline/image-classification", () => {
    // The built-in algorithm's models; PyTorch ones: test/infra/pipeline/pytorch-pipeline.test.ts.
    for (const [model, config] of Object.entries(staging.models).filter(([, c]) => c.training.algorithm === "builtin")) {
        describe(`${model} (staging stack file)`, () => {
            // Built in each test, not when the file loads: code run at load time would make every mutant of it rerun the whole file.
            let definition: PipelineDefinition;
            let steps: StepDefinition[];
            beforeEach(() => {
                definition = definitionFor(model, config);
                steps = allSteps(definition);
            });

            it("bounds every processing job's runtime, keeps Dataset and Preprocess off the network, and encrypts traffic between instances", () => {
                const limits = Object.fromEntries(
                    steps
                        .filter((s) => s.Type === "Processing")
                        .map((s) => {
                            const a = s.Arguments as { StoppingCondition: unknown; NetworkConfig: unknown };
                            return [s.Name, [a.StoppingCondition, a.NetworkConfig]];
                        }),
                );
                const isolated = { EnableNetworkIsolation: true, EnableInterContainerTrafficEncryption: true };
                expect(limits).to.deep.equal({
                    // Ten minutes to read one JSON object; preprocess as long as training may; evaluate an hour.
                    Dataset: [{ MaxRuntimeInSeconds: 600 }, isolated],
                    Preprocess: [{ MaxRuntimeInSeconds: config.training.maxRuntimeSeconds }, isolated],
                    // Evaluate asks the model registry for the Approved champion, so it keeps the network.
                    Evaluate: [
                        { MaxRuntimeInSeconds: 3600 },
                        { EnableNetworkIsolation: false, EnableInterContainerTrafficEncryption: true },
                    ],
                });
            });

            it("runs Dataset -> Preprocess -> Train -> CreateModel -> Transform -> Evaluate -> QualityGate -> Register | Fail", () => {
                expect(definition.Steps.map((s) => s.Name)).to.deep.equal([
                    "Dataset",
                    "Preprocess",
                    "Train",
                    "CreateModel",
                    "Transform",
                    "Evaluate",
                    "QualityGate",
                ]);
                expect(steps.map((s) => `${s.Name}:${s.Type}`)).to.deep.equal([
                    "Dataset:Processing",
                    "Preprocess:Processing",
                    "Train:Training",
                    "CreateModel:Model",
                    "Transform:Transform",
                    "Evaluate:Processing",
                    "QualityGate:Condition",
                    "Register:RegisterModel",
                    "Fail:Fail",
                ]);
                const gate = step(definition, "QualityGate").Arguments as ConditionArguments;
                expect(gate.IfSteps.map((s) => s.Name)).to.deep.equal(["Register"]);
                expect(gate.ElseSteps.map((s) => s.Name)).to.deep.equal(["Fail"]);
                expect(stepGraph(definition).filter((l) => !l.startsWith(" "))).to.deep.equal([
                    "Dataset (Processing)",
                    "Preprocess (Processing) <- Dataset",
                    "Train (Training) <- Preprocess",
                    "CreateModel (Model) <- Train",
                    "Transform (Transform) <- CreateModel, Preprocess",
                    "Evaluate (Processing) <- Transform, Preprocess",
                    "QualityGate (Condition) <- Evaluate",
                ]);
            });

            it("resolves every reference to a declared parameter, execution variable or an earlier step's real property", () => {
                const order = steps.map((s) => s.Name);
                let count = 0;
                for (const s of steps) {
                    for (const get of referencesIn(s.Arguments)) {
                        count++;
                        const { step: upstream } = resolve(definition, get);
                        if (upstream) expect(order.indexOf(upstream), `${s.Name} -> ${get}`).to.be.lessThan(order.indexOf(s.Name));
                    }
                    for (const { file, path } of jsonGets(s.Arguments)) {
                        const [, producer, , name] = file.split(".");
                        const declared = (step(definition, producer).PropertyFiles ?? []).find((f) => f.PropertyFileName === name)!;
                        expect(declared, file).to.exist;
                        expect([PROPERTY_FILES.resolvedDataset, PROPERTY_FILES.dataset, PROPERTY_FILES.evaluation]).to.include(
                            declared.FilePath,
                        );
                        expect(Object.values(PROPERTY_PATHS)).to.include(path);
                    }
                }
                expect(count).to.be.greaterThan(20);
            });

            it("resolves the requested key to a manifest in an uncached Dataset step, without network access", () => {
                expect(definition.Parameters).to.deep.equal([
                    { Name: BATCH_MANIFEST_PARAMETER, Type: "String", DefaultValue: latestDatasetKey(model) },
                ]);
                const d = step(definition, "Dataset");
                expect(d).to.not.have.property("CacheConfig");
                expect(d.Arguments.AppSpecification.ContainerEntrypoint).to.deep.equal([
                    ...JOBS_ENTRYPOINT,
                    "dataset",
                    "--model",
                    model,
                    "--requested",
                    { Get: "Parameters.BatchManifestKey" },
                    "--input",
                    PROCESSING_PATHS.dataset.requested,
                    "--output",
                    PROCESSING_PATHS.dataset.output,
                ]);
                expect(d.Arguments.ProcessingInputs).to.deep.equal([
                    {
                        InputName: "requested",
                        S3Input: {
                            S3Uri: { "Std:Join": { On: "", Values: ["s3://raw-bucket/", { Get: "Parameters.BatchManifestKey" }] } },
                            LocalPath: PROCESSING_PATHS.dataset.requested,
                            S3DataType: "S3Prefix",
                            S3InputMode: "File",
                            S3DataDistributionType: "FullyReplicated",
                        },
                    },
                ]);
                expect(d.Arguments.NetworkConfig).to.deep.equal({
                    EnableNetworkIsolation: true,
                    EnableInterContainerTrafficEncryption: true,
                });
                expect(d.Arguments.ProcessingResources.ClusterConfig).to.deep.equal({
                    InstanceType: config.training.processingInstanceType,
                    InstanceCount: 1,
                    VolumeSizeInGB: 1,
                    VolumeKmsKeyId: KEY,
                });
                expect(d.PropertyFiles).to.deep.equal([
                    { PropertyFileName: "ResolvedDataset", OutputName: "dataset", FilePath: PROPERTY_FILES.resolvedDataset },
                ]);
            });

            it("preprocesses the resolved manifest, cached on it and on the content-addressed model config, on a CPU instance", () => {
                const pre = step(definition, "Preprocess");
                expect(pre.CacheConfig).to.deep.equal({ Enabled: true, ExpireAfter: "P30D" });
                expect(pre.Arguments.AppSpecification).to.deep.equal({
                    ImageUri: JOBS_IMAGE,
                    ContainerEntrypoint: [...JOBS_ENTRYPOINT, "preprocess"],
                });
                const resolved = (path: string) => ({
                    "Std:JsonGet": { PropertyFile: { Get: "Steps.Dataset.PropertyFiles.ResolvedDataset" }, Path: path },
                });
                expect(pre.Arguments.Environment).to.deep.equal({
                    DATASET_MANIFEST_KEY: resolved("manifest_key"),
                    DATASET_MANIFEST_SHA256: resolved("manifest_sha256"),
                });
                expect(pre.Arguments.ProcessingResources.ClusterConfig.InstanceType)
                    .to.equal(config.training.processingInstanceType)
                    .and.match(/^ml\.m5\./);
                const [raw, cfg] = pre.Arguments.ProcessingInputs;
                expect(raw.S3Input).to.deep.include({ S3DataType: "ManifestFile", LocalPath: PROCESSING_PATHS.preprocess.raw });
                expect(raw.S3Input.S3Uri).to.deep.equal({ "Std:Join": { On: "", Values: ["s3://raw-bucket/", resolved("manifest_key")] } });
                expect(modelConfigObject(model, config).key).to.match(new RegExp(`^${model}/config/model-[0-9a-f]{16}\\.json$`));
                expect(cfg.S3Input).to.deep.include({
                    S3Uri: `s3://artifacts-bucket/${modelConfigObject(model, config).key}`,
                    LocalPath: PROCESSING_PATHS.config,
                });
                expect(pre.Arguments.ProcessingOutputConfig.Outputs.map((o: any) => [o.OutputName, o.S3Output.LocalPath])).to.deep.equal([
                    ["train", PROCESSING_PATHS.preprocess.train],
                    ["validation", PROCESSING_PATHS.preprocess.validation],
                    ["test", PROCESSING_PATHS.preprocess.test],
                    ["metadata", PROCESSING_PATHS.preprocess.metadata],
                ]);
                expect(pre.Arguments.ProcessingOutputConfig.Outputs[0].S3Output.S3Uri["Std:Join"].Values).to.deep.equal([
                    `s3://curated-bucket/${model}/executions/`,
                    { Get: "Execution.PipelineExecutionId" },
                    "/train",
                ]);
                expect(pre.PropertyFiles).to.deep.equal([
                    { PropertyFileName: "Dataset", OutputName: "metadata", FilePath: "dataset.json" },
                ]);
            });

            it("trains the built-in algorithm with the model's hyperparameters on its GPU instance", () => {
                const t = step(definition, "Train").Arguments;
                expect(t.OutputDataConfig).to.deep.equal({
                    S3OutputPath: {
                        "Std:Join": {
                            On: "",
                            Values: [`s3://artifacts-bucket/${model}/executions/`, { Get: "Execution.PipelineExecutionId" }, "/model"],
                        },
                    },
                    KmsKeyId: KEY,
                });
                expect(t.AlgorithmSpecification).to.deep.equal({ TrainingImage: ALGORITHM_IMAGE, TrainingInputMode: "File" });
                expect(t.ResourceConfig.InstanceType).to.equal(config.training.instanceType);
                const h = t.HyperParameters;
                expect(h.num_classes).to.equal(String(config.classes.length));
                expect(h.image_shape).to.equal(config.imageShape.join(","));
                expect(h.use_pretrained_model).to.equal("1");
                expect(h.num_layers).to.equal(String(config.training.numLayers));
                expect(h.epochs).to.equal(String(config.training.epochs));
                expect(h.mini_batch_size).to.equal(String(config.training.miniBatchSize));
                expect(h.early_stopping).to.equal("True");
                expect(h.num_training_samples).to.deep.equal({
                    "Std:Join": {
                        On: "",
                        Values: [
                            {
                                "Std:JsonGet": {
                                    PropertyFile: { Get: "Steps.Preprocess.PropertyFiles.Dataset" },
                                    Path: "num_training_samples",
                                },
                            },
                        ],
                    },
                });
                for (const v of Object.values(h)) expect(typeof v === "string" || "Std:Join" in (v as object)).to.equal(true);
                expect(
                    t.InputDataConfig.map((c: any) => [
                        c.ChannelName,
                        c.ContentType,
                        c.DataSource.S3DataSource.S3Uri["Std:Join"].Values[1],
                    ]),
                ).to.deep.equal([
                    ["train", "application/x-recordio", "/train.rec"],
                    ["validation", "application/x-recordio", "/validation.rec"],
                ]);
            });

            it("downloads every processing input whole (File mode, fully replicated) and uploads every output when the job ends", () => {
                const exec = (bucket: string, what: string) => ({
                    "Std:Join": {
                        On: "",
                        Values: [`s3://${bucket}/${model}/executions/`, { Get: "Execution.PipelineExecutionId" }, `/${what}`],
                    },
                });
                const io = Object.fromEntries(
                    steps
                        .filter((s) => s.Type === "Processing")
                        .map((s) => {
                            const a = s.Arguments as any;
                            return [
                                s.Name,
                                {
                                    inputs: a.ProcessingInputs.map((i: any) => [
                                        i.InputName,
                                        i.S3Input.S3DataType,
                                        i.S3Input.S3InputMode,
                                        i.S3Input.S3DataDistributionType,
                                    ]),
                                    outputs: a.ProcessingOutputConfig.Outputs.map((o: any) => [
                                        o.OutputName,
                                        o.S3Output.S3UploadMode,
                                        o.S3Output.S3Uri,
                                    ]),
                                },
                            ];
                        }),
                );
                const whole = ["S3Prefix", "File", "FullyReplicated"];
                expect(io).to.deep.equal({
                    Dataset: { inputs: [["requested", ...whole]], outputs: [["dataset", "EndOfJob", exec("curated-bucket", "dataset")]] },
                    Preprocess: {
                        inputs: [
                            ["raw", "ManifestFile", "File", "FullyReplicated"],
                            ["config", ...whole],
                        ],
                        outputs: ["train", "validation", "test", "metadata"].map((o) => [o, "EndOfJob", exec("curated-bucket", o)]),
                    },
                    Evaluate: {
                        inputs: [
                            ["predictions", ...whole],
                            ["labels", ...whole],
                            ["metadata", ...whole],
                            ["config", ...whole],
                        ],
                        outputs: [["evaluation", "EndOfJob", exec("artifacts-bucket", "evaluation")]],
                    },
                });
            });

            it("predicts one image per request, uncompressed and unsplit, JSON out, under the execution's predictions folder", () => {
                const t = step(definition, "Transform").Arguments;
                expect(t).to.deep.include({ BatchStrategy: "SingleRecord", MaxPayloadInMB: 6 });
                expect(t.TransformInput).to.deep.include({
                    ContentType: "application/x-image",
                    SplitType: "None",
                    CompressionType: "None",
                });
                expect(t.TransformInput.DataSource.S3DataSource.S3DataType).to.equal("S3Prefix");
                expect(t.TransformOutput).to.deep.equal({
                    S3OutputPath: {
                        "Std:Join": {
                            On: "",
                            Values: [`s3://curated-bucket/${model}/executions/`, { Get: "Execution.PipelineExecutionId" }, "/predictions"],
                        },
                    },
                    Accept: "application/json",
                    AssembleWith: "None",
                    KmsKeyId: KEY,
                });
            });

            it("passes an augmentation type to the algorithm only when it is not none", () => {
                const hyper = (augmentationType: string) =>
                    step(definitionFor(model, { ...config, training: { ...config.training, augmentationType } } as ModelConfig), "Train")
                        .Arguments.HyperParameters;
                expect(hyper("crop_color").augmentation_type).to.equal("crop_color");
                expect(hyper("none")).to.not.have.property("augmentation_type");
            });

            it("trains on managed spot with MaxWait >= MaxRuntime and checkpoints under the artifacts bucket", () => {
                const t = step(definition, "Train").Arguments;
                expect(t.EnableManagedSpotTraining).to.equal(true);
                expect(t.StoppingCondition.MaxRuntimeInSeconds).to.equal(config.training.maxRuntimeSeconds);
                expect(t.StoppingCondition.MaxWaitTimeInSeconds).to.be.at.least(t.StoppingCondition.MaxRuntimeInSeconds);
                expect(t.CheckpointConfig.S3Uri["Std:Join"].Values).to.deep.equal([
                    `s3://artifacts-bucket/${model}/executions/`,
                    { Get: "Execution.PipelineExecutionId" },
                    "/checkpoints",
                ]);
                expect(t.EnableNetworkIsolation).to.equal(true);
                expect(t.EnableInterContainerTrafficEncryption).to.equal(true);
                expect(step(definition, "Train").RetryPolicies![0].ExceptionType).to.include.members([
                    "SageMaker.CAPACITY_ERROR",
                    "SageMaker.JOB_INTERNAL_ERROR",
                ]);
                expect(step(definition, "Transform").RetryPolicies!.flatMap((r) => r.ExceptionType)).to.include.members([
                    "SageMaker.CAPACITY_ERROR",
                    "Step.THROTTLING",
                ]);
            });

            it("encrypts every job's outputs with the data key, and every EBS volume", () => {
                const pre = step(definition, "Preprocess").Arguments;
                const ev = step(definition, "Evaluate").Arguments;
                const t = step(definition, "Train").Arguments;
                const tr = step(definition, "Transform").Arguments;
                for (const job of [pre, ev]) {
                    expect(job.ProcessingOutputConfig.KmsKeyId).to.equal(KEY);
                    expect(job.ProcessingResources.ClusterConfig.VolumeKmsKeyId).to.equal(KEY); // ml.m5: EBS
                }
                expect(t.OutputDataConfig.KmsKeyId).to.equal(KEY);
                expect(tr.TransformOutput.KmsKeyId).to.equal(KEY);
                expect(tr.TransformResources.VolumeKmsKeyId).to.equal(KEY);
                // ml.g4dn has local NVMe storage, encrypted by the instance; SageMaker refuses a volume key there.
                expect(config.training.instanceType).to.match(/^ml\.g4dn\./);
                expect(t.ResourceConfig).to.not.have.property("VolumeKmsKeyId");
            });

            it("predicts the test images and evaluates them against the labels", () => {
                const tr = step(definition, "Transform").Arguments;
                expect(tr.ModelName).to.deep.equal({ Get: "Steps.CreateModel.ModelName" });
                expect(tr.TransformInput).to.deep.include({ ContentType: "application/x-image", SplitType: "None" });
                expect(tr.TransformInput.DataSource.S3DataSource.S3Uri["Std:Join"].Values).to.deep.equal([
                    { Get: "Steps.Preprocess.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri" },
                    "/images/",
                ]);
                expect(tr.TransformOutput.Accept).to.equal("application/json");
                expect(tr.TransformOutput.S3OutputPath["Std:Join"].Values.at(-1)).to.equal("/predictions");
                const cm = step(definition, "CreateModel").Arguments;
                expect(cm).to.deep.equal({
                    ExecutionRoleArn: ROLE,
                    EnableNetworkIsolation: true,
                    PrimaryContainer: { Image: ALGORITHM_IMAGE, ModelDataUrl: { Get: "Steps.Train.ModelArtifacts.S3ModelArtifacts" } },
                    Tags: [{ Key: "vision-mlops:pipeline", Value: pipelineName("staging", model, "training") }],
                });
                const ev = step(definition, "Evaluate");
                expect(ev.Arguments.AppSpecification.ContainerEntrypoint).to.deep.equal([
                    ...JOBS_ENTRYPOINT,
                    "evaluate",
                    "--model-package-group",
                    modelPackageGroupName("staging", model),
                    "--region",
                    "us-east-1",
                ]);
                expect(ev.Arguments.ProcessingInputs.map((i: any) => i.S3Input.LocalPath)).to.deep.equal([
                    PROCESSING_PATHS.evaluate.predictions,
                    PROCESSING_PATHS.evaluate.test,
                    PROCESSING_PATHS.evaluate.metadata,
                    PROCESSING_PATHS.config,
                ]);
                expect(ev.Arguments.ProcessingInputs[0].S3Input.S3Uri).to.deep.equal({
                    Get: "Steps.Transform.TransformOutput.S3OutputPath",
                });
                expect(ev.Arguments.ProcessingInputs[1].S3Input.S3Uri).to.deep.equal({
                    Get: "Steps.Preprocess.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri",
                });
                expect(ev.PropertyFiles).to.deep.equal([
                    { PropertyFileName: "Evaluation", OutputName: "evaluation", FilePath: "evaluation.json" },
                ]);
            });

            it("registers only when accuracy reaches the model's own threshold and the champion floor", () => {
                const gate = step(definition, "QualityGate").Arguments as ConditionArguments;
                const accuracy = {
                    "Std:JsonGet": { PropertyFile: { Get: "Steps.Evaluate.PropertyFiles.Evaluation" }, Path: "metrics.accuracy" },
                };
                const floor = {
                    "Std:JsonGet": { PropertyFile: { Get: "Steps.Evaluate.PropertyFiles.Evaluation" }, Path: "gate.champion_floor" },
                };
                expect(gate.Conditions).to.deep.equal([
                    { Type: "GreaterThanOrEqualTo", LeftValue: accuracy, RightValue: config.quality.minAccuracy },
                    { Type: "LessThanOrEqualTo", LeftValue: floor, RightValue: accuracy },
                ]);
                const message = (step(definition, "Fail").Arguments.ErrorMessage as any)["Std:Join"].Values;
                expect(message).to.deep.include(accuracy);
                expect(message).to.deep.include(floor);
                expect(message.filter((v: unknown) => typeof v === "string").join("")).to.include(
                    `>= the required ${config.quality.minAccuracy}`,
                );
            });

            it("registers a PendingManualApproval package with the evaluation evidence and batch metadata", () => {
                const r = step(definition, "Register").Arguments;
                expect(r.ModelPackageGroupName).to.equal(modelPackageGroupName("staging", model));
                expect(r.ModelApprovalStatus).to.equal("PendingManualApproval");
                expect(r.InferenceSpecification.Containers).to.deep.equal([
                    { Image: ALGORITHM_IMAGE, ModelDataUrl: { Get: "Steps.Train.ModelArtifacts.S3ModelArtifacts" } },
                ]);
                expect(r.InferenceSpecification.SupportedContentTypes).to.include("application/x-image");
                expect(r.InferenceSpecification.SupportedResponseMIMETypes).to.deep.equal(["application/json"]);
                const realtime = r.InferenceSpecification.SupportedRealtimeInferenceInstanceTypes;
                expect(realtime[0]).to.equal(config.endpoint.instanceType);
                // prod serves the same package on its own instance types
                for (const m of Object.values(readStackFile(".", "prod").models)) expect(realtime).to.include(m.endpoint.instanceType);
                expect(new Set(realtime).size).to.equal(realtime.length);
                const evaluation = { Get: "Steps.Evaluate.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri" };
                expect(r.ModelMetrics.ModelQuality.Statistics).to.deep.equal({
                    ContentType: "application/json",
                    S3Uri: { "Std:Join": { On: "", Values: [evaluation, "/statistics.json"] } },
                });
                expect(r.DriftCheckBaselines.ModelDataQuality.Statistics).to.deep.equal({
                    ContentType: "application/json",
                    S3Uri: { "Std:Join": { On: "", Values: [evaluation, "/monitoring_baseline.json"] } },
                });
                // Batch transform on the instance type the test set was predicted on, the one its accuracy is known for.
                expect(r.InferenceSpecification.SupportedTransformInstanceTypes).to.deep.equal([config.training.processingInstanceType]);
                expect(r.CustomerMetadataProperties).to.deep.equal({
                    [PACKAGE_METADATA_KEYS.batchManifestKey]: {
                        "Std:JsonGet": { PropertyFile: { Get: "Steps.Dataset.PropertyFiles.ResolvedDataset" }, Path: "manifest_key" },
                    },
                    [PACKAGE_METADATA_KEYS.gitCommit]: "0123abcd",
                    [PACKAGE_METADATA_KEYS.pipelineExecution]: { Get: "Execution.PipelineExecutionArn" },
                });
            });

            it("stays well inside CreatePipeline's definition size limit", () => {
                const bytes = Buffer.byteLength(JSON.stringify(definition));
                expect(bytes).to.be.lessThan(1024 * 1024);
            });
        });
    }

    it("tags every job and model a training pipeline creates with that pipeline's name, and nothing else", () => {
        const jobTypes = ["Processing", "Training", "Model", "Transform"];
        expect(Object.values(staging.models).map((c) => c.training.algorithm)).to.include.members(["builtin", "pytorch"]);
        for (const [model, config] of Object.entries(staging.models)) {
            const d = definitionFor(model, config, config.training.algorithm === "pytorch" ? { pytorch: PYTORCH_IMAGES } : {});
            const jobs = allSteps(d).filter((s) => jobTypes.includes(s.Type));
            expect(jobs.map((s) => s.Type)).to.include.members(jobTypes);
            for (const s of jobs)
                expect((s.Arguments as { Tags?: unknown }).Tags, `${model} ${s.Name}`).to.deep.equal([
                    { Key: "vision-mlops:pipeline", Value: pipelineName("staging", model, "training") },
                ]);
            for (const s of allSteps(d).filter((s) => !jobTypes.includes(s.Type)))
                expect(s.Arguments, `${model} ${s.Name}`).to.not.have.property("Tags");
        }
    });

    it("uses each model's own threshold", () => {
        const thresholds = Object.entries(staging.models)
            .filter(([, c]) => c.training.algorithm === "builtin")
            .map(([m, c]) => (step(definitionFor(m, c), "QualityGate").Arguments as ConditionArguments).Conditions[0].RightValue);
        expect(thresholds).to.deep.equal([0.9, 0.85, 0.7]);
    });

    it("refuses a CPU training instance in config with a message naming the GPU families", () => {
        const bad = withModel(staging, (m) => {
            (m.training as any).instanceType = "ml.m5.xlarge";
        });
        let error: unknown;
        try {
            parsePlatformConfig(bad, "Pulumi.staging.yaml");
        } catch (e) {
            error = e;
        }
        expect(error).to.be.instanceOf(ConfigError);
        expect((error as Error).message).to.include(
            'models.m1.training.instanceType: "ml.m5.xlarge" is not a GPU instance, which policy rule sagemaker-training-gpu requires; the image-classification algorithm trains on ml.p2, ml.p3, ml.p3dn, ml.g4dn, ml.g5 (for example ml.g4dn.xlarge)',
        );
    });

    it("puts a volume key on EBS-backed GPU instances and leaves spot settings out when spot is off", () => {
        const config = parsePlatformConfig(
            withModel(staging, (m) => {
                Object.assign(m.training as object, { instanceType: "ml.p3.2xlarge", spot: false });
            }),
        ).models.m1;
        const t = step(definitionFor("m1", config), "Train").Arguments;
        expect(t.ResourceConfig.VolumeKmsKeyId).to.equal(KEY);
        expect(t.EnableManagedSpotTraining).to.equal(false);
        expect(t.StoppingCondition).to.deep.equal({ MaxRuntimeInSeconds: config.training.maxRuntimeSeconds });
        expect(t).to.not.have.property("CheckpointConfig");
    });

    it("refuses a spot wait shorter than the runtime, and a git commit that cannot be metadata", () => {
        expect(() =>
            parsePlatformConfig(
                withModel(staging, (m) => {
                    Object.assign(m.training as object, { maxRuntimeSeconds: 7200, maxWaitSeconds: 3600 });
                }),
            ),
        ).to.throw(/maxWaitSeconds: 3600 must be >= training.maxRuntimeSeconds \(7200\)/);
        // A ModelConfig that did not come through the schema gets the same answer from the builder.
        const base = staging.models["traffic-signs"];
        const config = { ...base, training: { ...base.training, maxRuntimeSeconds: 7200, maxWaitSeconds: 3600 } };
        expect(() => definitionFor("m1", config)).to.throw("models.m1.training.maxWaitSeconds (3600) must be >= maxRuntimeSeconds (7200)");
        expect(() => definitionFor("traffic-signs", staging.models["traffic-signs"], { gitCommit: "abc; rm -rf" })).to.throw(
            /gitCommit "abc; rm -rf" cannot be package metadata/,
        );
    });

    it("keeps names within AWS limits for a 48-character model name", () => {
        const model = "a".repeat(20) + "-" + "b".repeat(27);
        expect(model).to.have.length(48);
        const config = parsePlatformConfig({ ...JSON.parse(JSON.stringify(staging)), models: { [model]: staging.models["traffic-signs"] } })
            .models[model];
        const definition = definitionFor(model, config);
        for (const env of ["staging", "prod"] as const) {
            expect(pipelineName(env, model, "training"))
                .to.have.length.at.most(63)
                .and.match(/^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/);
            expect(modelPackageGroupName(env, model))
                .to.have.length.at.most(63)
                .and.match(/^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/);
        }
        for (const s of allSteps(definition)) expect(s.Name).to.match(/^[A-Za-z0-9_-]{1,64}$/);
        const metadata = step(definition, "Register").Arguments.CustomerMetadataProperties;
        for (const k of Object.keys(metadata)) expect(k.length).to.be.at.most(128);
        // The longest manifest key the trigger passes (parameter values may be 1024 characters).
        expect(`${model}/batches/20261122T173500Z-abcdef/_manifest.json`.length).to.be.lessThan(1024);
    });
});
