import { expect } from "chai";
import {
    allSteps,
    checkAcyclic,
    compare,
    Comparison,
    describeValue,
    execution,
    isExpression,
    join,
    jsonGet,
    PipelineBuilder,
    ProcessingArguments,
    PropertyFileRef,
    referencesIn,
    RetryPolicy,
    StepDefinition,
    stepDependencies,
    stepGraph,
    TrainingArguments,
    Value,
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
    it("keeps retry policies within SageMaker's limits: 1-20 attempts or 1-14400 minutes, not both, at least one exception", () => {
        const attempt = (policy: RetryPolicy) => {
            const p = new PipelineBuilder();
            p.training("T", { arguments: trainingArgs([]), retryPolicies: [policy] });
            return () => p.build();
        };
        const throttling = ["Step.THROTTLING"] as const;
        for (const ok of [{ MaxAttempts: 1 }, { MaxAttempts: 20 }, { ExpireAfterMin: 1 }, { ExpireAfterMin: 14400 }, {}])
            expect(attempt({ ExceptionType: throttling, ...ok })().Steps[0].RetryPolicies, JSON.stringify(ok)).to.deep.equal([
                { ExceptionType: ["Step.THROTTLING"], ...ok },
            ]);
        for (const n of [0, 21, 2.5])
            expect(attempt({ ExceptionType: throttling, MaxAttempts: n })).to.throw(`step T: retry MaxAttempts must be 1-20, got ${n}`);
        for (const n of [0, 14401, 1.5])
            expect(attempt({ ExceptionType: throttling, ExpireAfterMin: n })).to.throw(
                `step T: retry ExpireAfterMin must be 1-14400, got ${n}`,
            );
        expect(attempt({ ExceptionType: throttling, MaxAttempts: 3, ExpireAfterMin: 60 })).to.throw(
            "step T: a retry policy sets MaxAttempts or ExpireAfterMin, not both",
        );
        expect(attempt({ ExceptionType: [] })).to.throw("step T: a retry policy needs at least one exception type");
        const none = new PipelineBuilder();
        none.training("T", { arguments: trainingArgs([]), retryPolicies: [] });
        expect(none.build().Steps[0]).to.not.have.property("RetryPolicies");
    });

    it("caches a step without expiry, or for an ISO 8601 duration, and refuses anything else", () => {
        const cached = (cache: true | { expireAfter: string }) => {
            const p = new PipelineBuilder();
            p.training("T", { arguments: trainingArgs([]), cache });
            return () => p.build().Steps[0].CacheConfig;
        };
        expect(cached(true)()).to.deep.equal({ Enabled: true });
        for (const d of ["P30D", "PT12H", "P1Y2M3W4D", "P1DT2H3M4S", "PT5M", "PT30S", "P1M"])
            expect(cached({ expireAfter: d })(), d).to.deep.equal({ Enabled: true, ExpireAfter: d });
        for (const d of ["P", "PT", "P1DT", "PT1D", "P1H", "30D", "p30d", "P30D ", " P30D", "P1.5D", "PT1H2"])
            expect(cached({ expireAfter: d }), d).to.throw(
                `step T: cache expireAfter ${JSON.stringify(d)} must be an ISO 8601 duration such as P30D or PT12H`,
            );
        const p = new PipelineBuilder();
        p.training("T", { arguments: trainingArgs([]) });
        expect(p.build().Steps[0]).to.not.have.property("CacheConfig");
    });

    it("declares parameters of each type with a default of that type, names of 1-64 characters, and no default when none is given", () => {
        const p = new PipelineBuilder();
        expect(p.parameter("A".repeat(64), "String")).to.deep.equal({ Get: `Parameters.${"A".repeat(64)}` });
        p.parameter("Epochs", "Integer", { default: 3 });
        p.parameter("Rate", "Float", { default: 0.5 });
        p.parameter("Key", "String", { default: "" });
        p.fail("Stop", "x");
        expect(p.build().Parameters).to.deep.equal([
            { Name: "A".repeat(64), Type: "String" },
            { Name: "Epochs", Type: "Integer", DefaultValue: 3 },
            { Name: "Rate", Type: "Float", DefaultValue: 0.5 },
            { Name: "Key", Type: "String", DefaultValue: "" },
        ]);
        expect(() => p.parameter("B".repeat(65), "String")).to.throw(/parameter name "B{65}" must be 1-64 letters, digits, "-" or "_"/);
        expect(() => p.parameter("", "String")).to.throw('parameter name "" must be 1-64');
        expect(() => p.fail("C".repeat(65), "x")).to.throw(/step name "C{65}" must be 1-64/);
        // @ts-expect-error a String parameter's default is a string
        expect(() => p.parameter("S", "String", { default: 1 })).to.throw("parameter S: String default must be a string");
        // @ts-expect-error a Float parameter's default is a number
        expect(() => p.parameter("F", "Float", { default: "0.5" })).to.throw("parameter F: Float default must be a number");
    });

    it("refuses a condition with no comparison, no branch step, or one step named twice in its branches", () => {
        const p = new PipelineBuilder();
        const stop = p.fail("Stop", "no");
        const other = p.fail("Other", "no");
        expect(() => p.condition("A", { conditions: [], ifSteps: [stop] })).to.throw("condition step A needs at least one comparison");
        expect(() => p.condition("B", { conditions: [compare.equals(1, 1)], ifSteps: [], elseSteps: [] })).to.throw(
            "condition step B has no steps in either branch",
        );
        expect(() => p.condition("C", { conditions: [compare.equals(1, 1)], ifSteps: [stop], elseSteps: [stop] })).to.throw(
            "condition step C names a step twice in its branches; a step can run in one branch only",
        );
        p.condition("D", { conditions: [compare.equals(1, 1)], elseSteps: [other], ifSteps: [] });
        p.condition("E", { conditions: [compare.lessThan(1, 2)], ifSteps: [stop] });
        expect(p.build().Steps).to.deep.equal([
            {
                Name: "D",
                Type: "Condition",
                Arguments: {
                    Conditions: [{ Type: "Equals", LeftValue: 1, RightValue: 1 }],
                    IfSteps: [],
                    ElseSteps: [{ Name: "Other", Type: "Fail", Arguments: { ErrorMessage: "no" } }],
                },
            },
            {
                Name: "E",
                Type: "Condition",
                Arguments: {
                    Conditions: [{ Type: "LessThan", LeftValue: 1, RightValue: 2 }],
                    IfSteps: [{ Name: "Stop", Type: "Fail", Arguments: { ErrorMessage: "no" } }],
                    ElseSteps: [],
                },
            },
        ]);
    });

    it("resolves each step type's own properties and every execution variable, and says why any other reference does not", () => {
        const p = new PipelineBuilder({ pipelineName: "p" });
        const prep = p.processing("Prep", { arguments: processingArgs(["train"]) });
        const train = p.training("Train", { arguments: trainingArgs([]) });
        const gate = p.condition("Gate", { conditions: [compare.greaterThanOrEqualTo(1, 0)], ifSteps: [p.fail("Inner", "x")] });
        const fine: Value[] = [prep.outputUri("train"), train.modelArtifacts, gate.outcome, ...Object.values(execution)];
        p.fail("Fine", join(fine));
        expect(() => p.build()).to.not.throw();
        const bad = (get: string) => {
            const q = new PipelineBuilder();
            q.processing("Prep", { arguments: processingArgs(["train"]) });
            q.training("Train", { arguments: trainingArgs([]) });
            q.fail("Stop", join(["x", { Get: get }]));
            return () => q.build();
        };
        const single = (get: string, why: string) =>
            `the pipeline has 1 unresolved reference:\n  - step Stop: ${JSON.stringify(get)} ${why}`;
        expect(bad("Execution.Nope")).to.throw(single("Execution.Nope", "is not a pipeline execution variable"));
        expect(bad("Other.X")).to.throw(single("Other.X", "is neither a parameter, an execution variable nor a step property"));
        expect(bad("Steps.Train.ModelName")).to.throw(
            single("Steps.Train.ModelName", "is not a property of Training step Train (known: ModelArtifacts.S3ModelArtifacts)"),
        );
        expect(bad("Steps.Prep.Anything")).to.throw(
            single("Steps.Prep.Anything", "is not a property of Processing step Prep (known: none)"),
        );
        const output = "Steps.Prep.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri";
        expect(bad(output)).to.throw(single(output, "refers to output test, which step Prep does not declare"));
        expect(bad("Steps.Train.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri")).to.throw(
            "refers to output train, which step Train does not declare",
        );
        expect(bad("Steps.Prep.PropertyFiles.Report")).to.throw(
            single("Steps.Prep.PropertyFiles.Report", "refers to property file Report, which step Prep does not declare"),
        );
        expect(bad("Steps.Missing.Outcome")).to.throw(
            single("Steps.Missing.Outcome", "refers to step Missing, which is not in this pipeline"),
        );
        const experiment = new PipelineBuilder().experiment({ experimentName: { Get: "Parameters.Nope" }, trialName: "t" });
        experiment.fail("Stop", "x");
        expect(() => experiment.build()).to.throw(
            'the pipeline has 1 unresolved reference:\n  - PipelineExperimentConfig: "Parameters.Nope" names no declared parameter',
        );
    });

    it("hands out each step type's properties as SageMaker names them, with the description and DependsOn given", () => {
        const p = new PipelineBuilder({ pipelineName: "p" });
        const train = p.training("Train", { arguments: trainingArgs([]) });
        const model = p.model("Model", {
            arguments: { ExecutionRoleArn: ROLE, PrimaryContainer: { Image: "algo:1", ModelDataUrl: train.modelArtifacts } },
        });
        const transform = p.transform("Predict", {
            description: "batch transform of the test set",
            dependsOn: [train],
            arguments: {
                ModelName: model.modelName,
                TransformInput: { DataSource: { S3DataSource: { S3DataType: "S3Prefix", S3Uri: "s3://curated/test/" } } },
                TransformOutput: { S3OutputPath: "s3://artifacts/predictions/", KmsKeyId: KEY },
                TransformResources: { InstanceType: "ml.m5.xlarge", InstanceCount: 1 },
            },
        });
        const register = p.registerModel("Register", {
            arguments: { ModelPackageGroupName: "g", ModelApprovalStatus: "PendingManualApproval" },
        });
        const stop = p.fail("Stop", join([transform.outputPath, register.modelPackageArn]));
        const gate = p.condition("Gate", { conditions: [compare.equals(1, 1)], ifSteps: [stop] });
        expect([train, model, transform, register, stop, gate]).to.deep.equal([
            { name: "Train", type: "Training", modelArtifacts: { Get: "Steps.Train.ModelArtifacts.S3ModelArtifacts" } },
            { name: "Model", type: "Model", modelName: { Get: "Steps.Model.ModelName" } },
            { name: "Predict", type: "Transform", outputPath: { Get: "Steps.Predict.TransformOutput.S3OutputPath" } },
            { name: "Register", type: "RegisterModel", modelPackageArn: { Get: "Steps.Register.ModelPackageArn" } },
            { name: "Stop", type: "Fail" },
            { name: "Gate", type: "Condition", outcome: { Get: "Steps.Gate.Outcome" } },
        ]);
        const steps = p.build().Steps;
        expect(steps.map((s) => [s.Name, s.Type])).to.deep.equal([
            ["Train", "Training"],
            ["Model", "Model"],
            ["Predict", "Transform"],
            ["Register", "RegisterModel"],
            ["Gate", "Condition"],
        ]);
        expect(steps[2]).to.include({ Description: "batch transform of the test set" });
        expect(steps[2].DependsOn).to.deep.equal(["Train"]);
        expect(steps[0]).to.not.have.any.keys("Description", "DependsOn");
        // The pipeline's tag on the Model and Transform calls, not on the registered package.
        expect((steps[1].Arguments as { Tags?: unknown }).Tags).to.deep.equal([{ Key: "vision-mlops:pipeline", Value: "p" }]);
        expect((steps[2].Arguments as { Tags?: unknown }).Tags).to.deep.equal([{ Key: "vision-mlops:pipeline", Value: "p" }]);
        expect(steps[3].Arguments).to.not.have.property("Tags");
        expect(() => p.fail("Bad", { Get: "Steps.Stop.Anything" }).name && p.build()).to.throw(
            '"Steps.Stop.Anything" is not a property of Fail step Stop (known: none)',
        );
    });

    it("says which outputs and property files a step has, none included, and refuses two property files of one name", () => {
        const p = new PipelineBuilder();
        const bare = p.processing("Bare", { arguments: { ...processingArgs([]), ProcessingOutputConfig: undefined } });
        expect(() => bare.outputUri("x")).to.throw('step Bare has no output "x" (outputs: none)');
        // @ts-expect-error Bare declares no property file
        expect(() => bare.propertyFile("R")).to.throw('step Bare declares no property file "R" (declared: none)');
        expect(() =>
            p.processing("NoOutputs", {
                arguments: { ...processingArgs([]), ProcessingOutputConfig: undefined },
                propertyFiles: [{ PropertyFileName: "R", OutputName: "report", FilePath: "r.json" }],
            }),
        ).to.throw('step NoOutputs: property file R names output "report", which the step does not declare (outputs: none)');
        expect(() =>
            p.processing("Twice", {
                arguments: processingArgs(["report"]),
                propertyFiles: [
                    { PropertyFileName: "R", OutputName: "report", FilePath: "a.json" },
                    { PropertyFileName: "R", OutputName: "report", FilePath: "b.json" },
                ],
            }),
        ).to.throw("step Twice: two property files share a name");
    });

    it("keeps one pipeline tag when a step already gives the same one, and refuses another builder's step of the same name", () => {
        const TAG = { Key: "vision-mlops:pipeline", Value: "p" };
        const p = new PipelineBuilder({ pipelineName: "p" });
        p.processing("Prep", { arguments: { ...processingArgs([]), Tags: [TAG, { Key: "team", Value: "vision" }] } });
        const train = p.training("Train", { arguments: trainingArgs([]) });
        expect((p.build().Steps[0].Arguments as { Tags?: unknown }).Tags).to.deep.equal([{ Key: "team", Value: "vision" }, TAG]);
        const other = new PipelineBuilder();
        const lookalike = other.training("Train", { arguments: trainingArgs([]) });
        expect(() => p.fail("After", "x", { dependsOn: [lookalike] })).to.throw(
            "step After depends on Train, which is not a step of this pipeline; declare it on the same PipelineBuilder",
        );
        expect(p.fail("Fine", "x", { dependsOn: [train] }).name).to.equal("Fine");
    });

    it("resolves outputs and property files only as whole properties of the step they name", () => {
        const bad = (get: string) => {
            const q = new PipelineBuilder();
            q.processing("Prep", {
                arguments: processingArgs(["train"]),
                propertyFiles: [{ PropertyFileName: "R", OutputName: "train", FilePath: "r.json" }],
            });
            q.training("Train", { arguments: trainingArgs([]) });
            q.fail("Stop", join(["x", { Get: get }]));
            return () => q.build();
        };
        expect(bad("Steps.Prep.PropertyFiles.R")).to.not.throw();
        expect(bad("Steps.Prep.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri")).to.not.throw();
        for (const get of [
            "Steps.Prep.Foo.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri",
            "Steps.Prep.ProcessingOutputConfig.Outputs['train'].S3Output.S3UriX",
            "Steps.Prep.XPropertyFiles.R",
        ])
            expect(bad(get), get).to.throw(`${JSON.stringify(get)} is not a property of Processing step Prep (known: none)`);
        expect(bad("Steps.Train.PropertyFiles.R")).to.throw("refers to property file R, which step Train does not declare");
    });

    it("offers the pipeline's expressions as SageMaker spells them, and refuses an empty join or JSON path", () => {
        expect(execution).to.deep.equal({
            pipelineExecutionId: { Get: "Execution.PipelineExecutionId" },
            pipelineExecutionArn: { Get: "Execution.PipelineExecutionArn" },
            pipelineName: { Get: "Execution.PipelineName" },
            pipelineArn: { Get: "Execution.PipelineArn" },
            startDateTime: { Get: "Execution.StartDateTime" },
            currentDateTime: { Get: "Execution.CurrentDateTime" },
        });
        expect(join(["a", 1])).to.deep.equal({ "Std:Join": { On: "", Values: ["a", 1] } });
        expect(join(["a", "b"], "/")).to.deep.equal({ "Std:Join": { On: "/", Values: ["a", "b"] } });
        expect(() => join([])).to.throw("join needs at least one value");
        const file = { Get: "Steps.Eval.PropertyFiles.Report" } as PropertyFileRef;
        expect(jsonGet(file, "metrics.accuracy")).to.deep.equal({
            "Std:JsonGet": { PropertyFile: { Get: "Steps.Eval.PropertyFiles.Report" }, Path: "metrics.accuracy" },
        });
        expect(() => jsonGet(file, "")).to.throw("jsonGet on Steps.Eval.PropertyFiles.Report needs a JSON path such as metrics.accuracy");
        for (const e of [{ Get: "x" }, join(["a"]), jsonGet(file, "a")]) expect(isExpression(e), JSON.stringify(e)).to.equal(true);
        for (const v of [null, undefined, "Get", 1, {}, ["Get"], { get: "x" }]) expect(isExpression(v), JSON.stringify(v)).to.equal(false);
        expect([
            compare.equals(1, 2),
            compare.greaterThan(1, 2),
            compare.greaterThanOrEqualTo(1, 2),
            compare.lessThan(1, 2),
            compare.lessThanOrEqualTo(1, 2),
        ]).to.deep.equal(
            ["Equals", "GreaterThan", "GreaterThanOrEqualTo", "LessThan", "LessThanOrEqualTo"].map((Type) => ({
                Type,
                LeftValue: 1,
                RightValue: 2,
            })),
        );
    });
});

describe("infra/pipeline/inspect", () => {
    const fail = (Name: string, extra: Partial<StepDefinition> = {}, ErrorMessage: Value = "x"): StepDefinition => ({
        Name,
        Type: "Fail",
        Arguments: { ErrorMessage },
        ...extra,
    });
    const condition = (
        Name: string,
        Conditions: Comparison[],
        IfSteps: StepDefinition[],
        ElseSteps: StepDefinition[] = [],
    ): StepDefinition => ({
        Name,
        Type: "Condition",
        Arguments: { Conditions, IfSteps, ElseSteps },
    });
    const steps = (...s: StepDefinition[]) => ({ Steps: s });
    const empty = { Version: "2020-12-01" as const, Metadata: {}, Parameters: [] };

    it("lists every step, a condition before its if and else branches, and branches' references as their own", () => {
        const inner = condition("Inner", [compare.equals(1, 1)], [fail("Deep")]);
        const definition = steps(fail("A"), condition("Gate", [compare.equals(1, 1)], [inner], [fail("Else")]), fail("Z"));
        expect(allSteps(definition).map((s) => s.Name)).to.deep.equal(["A", "Gate", "Inner", "Deep", "Else", "Z"]);
        expect(
            referencesIn({
                a: [{ Get: "Steps.A.Outcome" }, { nested: { Get: "Parameters.P" } }],
                IfSteps: [{ Get: "Steps.If.Outcome" }],
                ElseSteps: [{ Get: "Steps.Else.Outcome" }],
                notAGet: { Get: 3 },
                text: "Get",
            }),
        ).to.deep.equal(["Steps.A.Outcome", "Parameters.P"]);
    });

    it("makes a step wait for the steps it references and depends on, once each, never for itself, and a branch for its condition", () => {
        const ref = (name: string) => ({ Get: `Steps.${name}.Outcome` });
        const definition = steps(
            fail("A"),
            fail("B", { DependsOn: ["A", "A"] }, join([ref("A"), ref("A"), ref("B"), { Get: "Parameters.P" }])),
            condition("Gate", [compare.equals(ref("B"), 1)], [fail("If", { DependsOn: ["A"] })], [fail("Else")]),
        );
        expect(Object.fromEntries(stepDependencies(definition))).to.deep.equal({
            A: [],
            B: ["A"],
            Gate: ["B"],
            If: ["A", "Gate"],
            Else: ["Gate"],
        });
    });

    it("names a cycle from where it starts, and accepts a diamond", () => {
        expect(() => checkAcyclic({ ...empty, ...steps(fail("A", { DependsOn: ["B"] }), fail("B", { DependsOn: ["A"] })) })).to.throw(
            "the pipeline's steps form a cycle: A -> B -> A",
        );
        expect(() =>
            checkAcyclic({
                ...empty,
                ...steps(fail("X"), fail("A", { DependsOn: ["B"] }), fail("B", { DependsOn: ["C"] }), fail("C", { DependsOn: ["A"] })),
            }),
        ).to.throw("the pipeline's steps form a cycle: A -> B -> C -> A");
        expect(() =>
            checkAcyclic({
                ...empty,
                ...steps(fail("A"), fail("B", { DependsOn: ["A"] }), fail("C", { DependsOn: ["A"] }), fail("D", { DependsOn: ["B", "C"] })),
            }),
        ).to.not.throw();
    });

    it("outlines the graph with each comparison's symbol and each branch's other upstream steps", () => {
        const file = { Get: "Steps.Eval.PropertyFiles.Report" } as PropertyFileRef;
        const definition = steps(
            fail("Eval"),
            fail("Pre"),
            condition(
                "Gate",
                [
                    compare.equals(jsonGet(file, "gate.ok"), true),
                    compare.greaterThan({ Get: "Parameters.Min" }, 0.5),
                    compare.greaterThanOrEqualTo(1, 2),
                    compare.lessThan("a", join(["b", { Get: "Execution.PipelineName" }])),
                    compare.lessThanOrEqualTo({ Get: "Steps.Eval.Outcome" }, 3),
                ],
                [fail("Ok", { DependsOn: ["Eval", "Pre"] })],
                [fail("No")],
            ),
            fail("Z", { DependsOn: ["Eval", "Gate"] }),
        );
        expect(stepGraph(definition)).to.deep.equal([
            "Eval (Fail)",
            "Pre (Fail)",
            "Gate (Condition) <- Eval",
            "    when Eval/Report:gate.ok == true",
            "    when Parameters.Min > 0.5",
            "    when 1 >= 2",
            '    when "a" < join("b", Execution.PipelineName)',
            "    when Eval.Outcome <= 3",
            "    if true: Ok (Fail) <- Eval, Pre",
            "    else: No (Fail)",
            "Z (Fail) <- Eval, Gate",
        ]);
        for (const [get, read] of [
            ["Other.PropertyFiles.R", "Other.PropertyFiles.R:a"],
            ["Other.Steps.A.PropertyFiles.R", "Other.Steps.A.PropertyFiles.R:a"],
            ["Steps.A.PropertyFiles.R", "A/R:a"],
        ])
            expect(describeValue({ "Std:JsonGet": { PropertyFile: { Get: get }, Path: "a" } })).to.equal(read);
    });
});
