import { expect } from "chai";
import {
    compare,
    execution,
    join,
    jsonGet,
    PipelineBuilder,
    ProcessingArguments,
    stepDependencies,
    stepGraph,
    TrainingArguments,
} from "../../../infra/pipeline/builder";

const ROLE = "arn:aws:iam::123456789012:role/pipeline";
const KEY = "arn:aws:kms:us-east-1:123456789012:key/k";

function processingArgs<O extends string>(outputs: O[]): ProcessingArguments<O> {
    return {
        RoleArn: ROLE,
        AppSpecification: {
            ImageUri: "123456789012.dkr.ecr.us-east-1.amazonaws.com/jobs@sha256:abc",
            ContainerEntrypoint: ["node", "main.js", "prep"],
        },
        ProcessingResources: { ClusterConfig: { InstanceType: "ml.m5.xlarge", InstanceCount: 1, VolumeSizeInGB: 30, VolumeKmsKeyId: KEY } },
        ProcessingOutputConfig: {
            KmsKeyId: KEY,
            Outputs: outputs.map((o) => ({
                OutputName: o,
                S3Output: {
                    S3Uri: join(["s3://curated/", execution.pipelineExecutionId, `/${o}`]),
                    LocalPath: `/opt/ml/processing/output/${o}`,
                    S3UploadMode: "EndOfJob" as const,
                },
            })),
        },
    };
}

function trainingArgs(train: TrainingArguments["InputDataConfig"]): TrainingArguments {
    return {
        RoleArn: ROLE,
        AlgorithmSpecification: { TrainingImage: "algo:1", TrainingInputMode: "File" },
        InputDataConfig: train,
        OutputDataConfig: { S3OutputPath: "s3://artifacts/model/", KmsKeyId: KEY },
        ResourceConfig: { InstanceType: "ml.g4dn.xlarge", InstanceCount: 1, VolumeSizeInGB: 50, VolumeKmsKeyId: KEY },
        StoppingCondition: { MaxRuntimeInSeconds: 3600 },
    };
}

/** Prepare -> Train -> Gate (accuracy >= 0.9) -> Register | Stop */
function smallPipeline() {
    const p = new PipelineBuilder();
    const input = p.parameter("InputKey", "String", { default: "batches/1/_manifest.json" });
    const threshold = p.parameter("MinAccuracy", "Float", { default: 0.9 });
    // Built first: a generic call nested in another loses its literal output names.
    const prepareArgs = processingArgs(["train", "report"]);
    const prepare = p.processing("Prepare", {
        arguments: prepareArgs,
        propertyFiles: [{ PropertyFileName: "Report", OutputName: "report", FilePath: "report.json" }],
        cache: { expireAfter: "P30D" },
    });
    const train = p.training("Train", {
        arguments: trainingArgs([
            {
                ChannelName: "train",
                DataSource: { S3DataSource: { S3DataType: "S3Prefix", S3Uri: prepare.outputUri("train") } },
            },
        ]),
        retryPolicies: [{ ExceptionType: ["SageMaker.CAPACITY_ERROR"], IntervalSeconds: 60, BackoffRate: 2, MaxAttempts: 3 }],
    });
    const accuracy = jsonGet(prepare.propertyFile("Report"), "metrics.accuracy");
    const register = p.registerModel("Register", {
        arguments: {
            ModelPackageGroupName: "group",
            ModelApprovalStatus: "PendingManualApproval",
            InferenceSpecification: {
                Containers: [{ Image: "algo:1", ModelDataUrl: train.modelArtifacts }],
                SupportedContentTypes: ["application/x-image"],
                SupportedResponseMIMETypes: ["application/json"],
            },
            CustomerMetadataProperties: { input },
        },
    });
    const stop = p.fail("Stop", join(["accuracy ", accuracy, " is below ", threshold]));
    p.condition("Gate", { conditions: [compare.greaterThanOrEqualTo(accuracy, threshold)], ifSteps: [register], elseSteps: [stop] });
    return { p, input, prepare, train };
}

describe("infra/pipeline/builder", () => {
    it("emits the SageMaker definition shape: version, parameters, steps, nested branches", () => {
        const definition = smallPipeline().p.build();
        expect(definition.Version).to.equal("2020-12-01");
        expect(definition.Parameters).to.deep.equal([
            { Name: "InputKey", Type: "String", DefaultValue: "batches/1/_manifest.json" },
            { Name: "MinAccuracy", Type: "Float", DefaultValue: 0.9 },
        ]);
        expect(definition.Steps.map((s) => [s.Name, s.Type])).to.deep.equal([
            ["Prepare", "Processing"],
            ["Train", "Training"],
            ["Gate", "Condition"],
        ]);
        const [prepare, train, gate] = definition.Steps as any[];
        expect(prepare.CacheConfig).to.deep.equal({ Enabled: true, ExpireAfter: "P30D" });
        expect(prepare.PropertyFiles).to.deep.equal([{ PropertyFileName: "Report", OutputName: "report", FilePath: "report.json" }]);
        expect(prepare.Arguments.ProcessingOutputConfig.Outputs[0].S3Output.S3Uri).to.deep.equal({
            "Std:Join": { On: "", Values: ["s3://curated/", { Get: "Execution.PipelineExecutionId" }, "/train"] },
        });
        expect(train.Arguments.InputDataConfig[0].DataSource.S3DataSource.S3Uri).to.deep.equal({
            Get: "Steps.Prepare.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri",
        });
        expect(train.RetryPolicies).to.deep.equal([
            { ExceptionType: ["SageMaker.CAPACITY_ERROR"], IntervalSeconds: 60, BackoffRate: 2, MaxAttempts: 3 },
        ]);
        expect(train).to.not.have.property("CacheConfig");
        const accuracy = { "Std:JsonGet": { PropertyFile: { Get: "Steps.Prepare.PropertyFiles.Report" }, Path: "metrics.accuracy" } };
        expect(gate.Arguments.Conditions).to.deep.equal([
            { Type: "GreaterThanOrEqualTo", LeftValue: accuracy, RightValue: { Get: "Parameters.MinAccuracy" } },
        ]);
        expect(gate.Arguments.IfSteps.map((s: any) => s.Name)).to.deep.equal(["Register"]);
        expect(gate.Arguments.IfSteps[0].Arguments.InferenceSpecification.Containers[0].ModelDataUrl).to.deep.equal({
            Get: "Steps.Train.ModelArtifacts.S3ModelArtifacts",
        });
        expect(gate.Arguments.ElseSteps).to.deep.equal([
            {
                Name: "Stop",
                Type: "Fail",
                Arguments: {
                    ErrorMessage: {
                        "Std:Join": { On: "", Values: ["accuracy ", accuracy, " is below ", { Get: "Parameters.MinAccuracy" }] },
                    },
                },
            },
        ]);
        // The definition is what CreatePipeline receives: plain JSON that survives a round trip.
        expect(JSON.parse(JSON.stringify(definition))).to.deep.equal(definition);
    });

    it("derives the step graph from references, DependsOn and branches", () => {
        const definition = smallPipeline().p.build();
        expect(Object.fromEntries(stepDependencies(definition))).to.deep.equal({
            Prepare: [],
            Train: ["Prepare"],
            Gate: ["Prepare"],
            Register: ["Train", "Gate"],
            Stop: ["Prepare", "Gate"],
        });
        expect(stepGraph(definition)).to.deep.equal([
            "Prepare (Processing)",
            "Train (Training) <- Prepare",
            "Gate (Condition) <- Prepare",
            "    when Prepare/Report:metrics.accuracy >= Parameters.MinAccuracy",
            "    if true: Register (RegisterModel) <- Train",
            "    else: Stop (Fail) <- Prepare",
        ]);
    });

    it("offers only declared outputs and property files on a step handle", () => {
        const { prepare } = smallPipeline();
        // @ts-expect-error "validation" is not an output of Prepare
        expect(() => prepare.outputUri("validation")).to.throw(/step Prepare has no output "validation" \(outputs: train, report\)/);
        // @ts-expect-error "Dataset" is not a property file of Prepare
        expect(() => prepare.propertyFile("Dataset")).to.throw(/step Prepare declares no property file "Dataset" \(declared: Report\)/);
    });

    it("rejects two steps or parameters with one name", () => {
        const { p } = smallPipeline();
        expect(() => p.fail("Train", "again")).to.throw(/two steps are named Train; step names must be unique/);
        expect(() => p.parameter("InputKey", "String")).to.throw(/parameter InputKey is declared twice/);
    });

    it("rejects references to steps and parameters of another pipeline", () => {
        const other = smallPipeline();
        const p = new PipelineBuilder();
        p.processing("Use", {
            arguments: {
                ...processingArgs(["out"]),
                ProcessingInputs: [
                    {
                        InputName: "data",
                        S3Input: {
                            S3Uri: other.prepare.outputUri("train"),
                            LocalPath: "/opt/ml/processing/input",
                            S3DataType: "S3Prefix",
                            S3InputMode: "File",
                        },
                    },
                    {
                        InputName: "key",
                        S3Input: {
                            S3Uri: join(["s3://raw/", other.input]),
                            LocalPath: "/opt/ml/processing/key",
                            S3DataType: "S3Prefix",
                            S3InputMode: "File",
                        },
                    },
                ],
            },
        });
        expect(() => p.build()).to.throw(
            /2 unresolved references:\n {2}- step Use: "Steps\.Prepare\.ProcessingOutputConfig\.Outputs\['train'\]\.S3Output\.S3Uri" refers to step Prepare, which is not in this pipeline\n {2}- step Use: "Parameters\.InputKey" names no declared parameter/,
        );
        expect(() => p.fail("After", "x", { dependsOn: [other.train] })).to.throw(
            /step After depends on Train, which is not a step of this pipeline/,
        );
        expect(() => p.condition("Gate", { conditions: [compare.equals(1, 1)], ifSteps: [other.train] })).to.throw(
            /condition Gate branches to Train, which is not a step of this pipeline/,
        );
    });

    it("rejects a step in two branches and a condition that branches to its own upstream", () => {
        const p = new PipelineBuilder();
        const prep = p.processing("Prep", {
            arguments: processingArgs(["report"]),
            propertyFiles: [{ PropertyFileName: "R", OutputName: "report", FilePath: "r.json" }],
        });
        const stop = p.fail("Stop", "no");
        p.condition("A", { conditions: [compare.equals(1, 1)], ifSteps: [stop] });
        expect(() => p.condition("B", { conditions: [compare.equals(1, 1)], ifSteps: [stop] })).to.throw(
            /step Stop is already a branch of condition A/,
        );
        p.condition("C", { conditions: [compare.greaterThan(jsonGet(prep.propertyFile("R"), "x"), 0)], ifSteps: [prep] });
        expect(() => p.build()).to.throw(/the pipeline's steps form a cycle: .*Prep -> C -> Prep|C -> Prep -> C/);
    });

    it("validates names, property files, retry policies and cache expiry", () => {
        const p = new PipelineBuilder();
        expect(() => p.fail("has space", "x")).to.throw(/step name "has space" must be 1-64 letters, digits, "-" or "_"/);
        expect(() => p.parameter("Batch.Key", "String")).to.throw(/parameter name "Batch.Key" must be 1-64/);
        expect(() => p.parameter("Epochs", "Integer", { default: 2.5 })).to.throw(/Integer default must be a whole number, got 2.5/);
        const trainOnly = processingArgs(["train"]);
        expect(() =>
            p.processing("P", {
                arguments: trainOnly,
                // @ts-expect-error the property file must name a declared output
                propertyFiles: [{ PropertyFileName: "D", OutputName: "metadata", FilePath: "dataset.json" }],
            }),
        ).to.throw(/property file D names output "metadata", which the step does not declare \(outputs: train\)/);
        p.training("T", { arguments: trainingArgs([]), retryPolicies: [{ ExceptionType: ["Step.THROTTLING"], MaxAttempts: 21 }] });
        expect(() => p.build()).to.throw(/step T: retry MaxAttempts must be 1-20, got 21/);
        const q = new PipelineBuilder();
        q.training("T", { arguments: trainingArgs([]), cache: { expireAfter: "30 days" } });
        expect(() => q.build()).to.throw(/cache expireAfter "30 days" must be an ISO 8601 duration such as P30D/);
        expect(() => new PipelineBuilder().build()).to.throw(/at least one step/);
    });

    it("rejects mistyped step arguments at compile time", () => {
        const p = new PipelineBuilder();
        p.training("T", {
            arguments: {
                ...trainingArgs([]),
                // @ts-expect-error a misspelt argument does not compile
                StopingCondition: { MaxRuntimeInSeconds: 1 },
            },
        });
        p.training("U", {
            // @ts-expect-error a string where SageMaker wants an integer does not compile
            arguments: { ...trainingArgs([]), StoppingCondition: { MaxRuntimeInSeconds: "3600" } },
        });
        expect(p.build().Steps).to.have.length(2);
    });

    it("tags the jobs and models of a named pipeline with its name, after their own tags, and nothing else", () => {
        const p = new PipelineBuilder({ pipelineName: "vision-mlops-staging-signs-training" });
        const TAG = { Key: "vision-mlops:pipeline", Value: "vision-mlops-staging-signs-training" };
        const prep = p.processing("Prep", { arguments: { ...processingArgs(["train"]), Tags: [{ Key: "team", Value: "vision" }] } });
        p.training("Train", {
            arguments: trainingArgs([
                { ChannelName: "train", DataSource: { S3DataSource: { S3DataType: "S3Prefix", S3Uri: prep.outputUri("train") } } },
            ]),
        });
        p.fail("Stop", "x");
        const byName = Object.fromEntries(p.build().Steps.map((s) => [s.Name, s.Arguments as { Tags?: unknown }]));
        expect(byName.Prep.Tags).to.deep.equal([{ Key: "team", Value: "vision" }, TAG]);
        expect(byName.Train.Tags).to.deep.equal([TAG]);
        expect(byName.Stop).to.not.have.property("Tags");
        // Unnamed, a pipeline adds nothing; a step may not claim the key for another pipeline, nor a name be invalid.
        const unnamed = new PipelineBuilder();
        unnamed.processing("Prep", { arguments: processingArgs([]) });
        expect(unnamed.build().Steps[0].Arguments).to.not.have.property("Tags");
        expect(() =>
            p.processing("Other", { arguments: { ...processingArgs([]), Tags: [{ Key: "vision-mlops:pipeline", Value: "another" }] } }),
        ).to.throw(/Other: tag vision-mlops:pipeline="another" would name another pipeline than vision-mlops-staging-signs-training/);
        expect(() => new PipelineBuilder({ pipelineName: "bad name" })).to.throw(/not a SageMaker pipeline name/);
    });

    it("adds the experiment config from execution variables", () => {
        const p = new PipelineBuilder().experiment();
        p.fail("Stop", "x");
        expect(p.build().PipelineExperimentConfig).to.deep.equal({
            ExperimentName: { Get: "Execution.PipelineName" },
            TrialName: { Get: "Execution.PipelineExecutionId" },
        });
    });
});
