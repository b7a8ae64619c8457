import { pipelineTag } from "../tags";
import {
    CacheConfig,
    ConditionArguments,
    ModelArguments,
    ParameterDefinition,
    ParameterType,
    PipelineDefinition,
    ProcessingArguments,
    PropertyFileDefinition,
    RegisterModelArguments,
    RetryPolicy,
    StepDefinition,
    StepType,
    TrainingArguments,
    TransformArguments,
} from "./definition";
import { Comparison, execution, Get, isExecutionVariable, PropertyFileRef, Value } from "./expressions";
import { allSteps, checkAcyclic, referencesIn } from "./inspect";

// A pipeline's author imports everything from here: the expressions, the definition's types and its readers.
export * from "./definition";
export * from "./expressions";
export * from "./inspect";

/**
 * A small typed builder for SageMaker Model Building Pipeline definitions (the JSON passed to
 * CreatePipeline as `PipelineDefinition`, schema version 2020-12-01). Its parts are modules of their own:
 * expressions (infra/pipeline/expressions.ts), the definition's types (definition.ts) and the readers of a
 * built definition (inspect.ts); this module re-exports them.
 *
 * Step arguments are the SageMaker API request types minus the names SageMaker generates, so a misspelt or
 * mistyped argument does not compile; any value may instead be a pipeline expression (a parameter, a step
 * property, `Std:Join`, `Std:JsonGet`). References come from typed step handles, never from hand-written
 * strings, and `build()` checks that every reference resolves, that no two steps share a name and that
 * the steps form no cycle.
 *
 * A one-step processing pipeline:
 *
 * ```ts
 * const p = new PipelineBuilder();
 * const since = p.parameter("Since", "String", { default: "" });
 * const monitor = p.processing("Monitor", {
 *     arguments: {
 *         RoleArn: roleArn,
 *         AppSpecification: { ImageUri: image, ContainerEntrypoint: [...JOBS_ENTRYPOINT, "monitor", "--since", since] },
 *         ProcessingResources: { ClusterConfig: { InstanceType: "ml.m5.xlarge", InstanceCount: 1, VolumeSizeInGB: 30, VolumeKmsKeyId: keyArn } },
 *         ProcessingOutputConfig: { KmsKeyId: keyArn, Outputs: [{ OutputName: "report", S3Output: {
 *             S3Uri: join(["s3://", bucket, "/", model, "/monitoring/", execution.pipelineExecutionId]),
 *             LocalPath: PROCESSING_PATHS.monitor.output, S3UploadMode: "EndOfJob" } }] },
 *     },
 *     propertyFiles: [{ PropertyFileName: "Violations", OutputName: "report", FilePath: "constraint_violations.json" }],
 * });
 * monitor.outputUri("report");                      // {"Get": "Steps.Monitor.ProcessingOutputConfig.Outputs['report'].S3Output.S3Uri"}
 * jsonGet(monitor.propertyFile("Violations"), "violations[0].feature_name");
 * const json = JSON.stringify(p.build());
 * ```
 */

// ---------------------------------------------------------------------------------------------------------
// Handles

/** What every step handle has: its name, for `dependsOn`, conditions and error messages. */
export interface StepHandle {
    readonly name: string;
    readonly type: StepType;
}

export interface ParameterHandle<T extends ParameterType> extends Get {
    readonly __parameterType: T;
}

export interface ProcessingStep<O extends string, F extends string> extends StepHandle {
    readonly type: "Processing";
    /** The S3 URI an output was uploaded to. */
    outputUri(output: O): Get;
    /** A property file for `jsonGet`. */
    propertyFile(file: F): PropertyFileRef;
}

export interface TrainingStep extends StepHandle {
    readonly type: "Training";
    /** S3 URI of model.tar.gz. */
    readonly modelArtifacts: Get;
}

export interface ModelStep extends StepHandle {
    readonly type: "Model";
    readonly modelName: Get;
}

export interface TransformStep extends StepHandle {
    readonly type: "Transform";
    readonly outputPath: Get;
}

export interface RegisterModelStep extends StepHandle {
    readonly type: "RegisterModel";
    readonly modelPackageArn: Get;
}

export interface ConditionStep extends StepHandle {
    readonly type: "Condition";
    /** True when the condition held. */
    readonly outcome: Get;
}

export interface FailStep extends StepHandle {
    readonly type: "Fail";
}

interface CommonOptions {
    readonly description?: string;
    /** Steps that must finish first although no argument references them. */
    readonly dependsOn?: readonly StepHandle[];
}
interface RetryOptions {
    readonly retryPolicies?: readonly RetryPolicy[];
}
interface CacheOptions {
    /** Reuse a previous successful run with identical arguments; `true` means no expiry. */
    readonly cache?: true | { readonly expireAfter: string };
}

export interface ProcessingOptions<O extends string, F extends string> extends CommonOptions, RetryOptions, CacheOptions {
    readonly arguments: ProcessingArguments<O>;
    readonly propertyFiles?: ReadonlyArray<PropertyFileDefinition<F, NoInfer<O>>>;
}
export interface TrainingOptions extends CommonOptions, RetryOptions, CacheOptions {
    readonly arguments: TrainingArguments;
}
export interface ModelOptions extends CommonOptions, RetryOptions {
    readonly arguments: ModelArguments;
}
export interface TransformOptions extends CommonOptions, RetryOptions, CacheOptions {
    readonly arguments: TransformArguments;
}
export interface RegisterModelOptions extends CommonOptions, RetryOptions {
    readonly arguments: RegisterModelArguments;
}
export interface ConditionOptions extends CommonOptions {
    /** All must hold for the `ifSteps` to run. */
    readonly conditions: readonly Comparison[];
    readonly ifSteps: readonly StepHandle[];
    readonly elseSteps?: readonly StepHandle[];
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const ISO_DURATION = /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$/;
const MAX_RETRY_ATTEMPTS = 20;
const MAX_RETRY_EXPIRE_MINUTES = 14400;

interface Registered {
    readonly handle: StepHandle;
    readonly definition: () => StepDefinition;
    readonly outputs?: ReadonlySet<string>;
    readonly propertyFiles?: ReadonlySet<string>;
}

export interface PipelineBuilderOptions {
    /**
     * The name the pipeline is deployed under. Every job and model it creates (Processing, Training, Transform and
     * Model steps) is then tagged with it (`pipelineTag`): that tag is what scopes the pipeline's role to its own
     * jobs, whose names SageMaker generates. Without it the steps carry only the tags their arguments give.
     */
    readonly pipelineName?: string;
}

/** Steps whose call creates a taggable job or model. */
const TAGGED_STEP_TYPES: ReadonlySet<StepType> = new Set<StepType>(["Processing", "Training", "Model", "Transform"]);

export class PipelineBuilder {
    private readonly jobTag?: { Key: string; Value: string };
    private readonly parameters = new Map<string, ParameterDefinition>();
    private readonly steps = new Map<string, Registered>();
    /** Steps placed inside a condition's branches, by step name -> condition name. */
    private readonly nestedIn = new Map<string, string>();
    private experimentConfig?: PipelineDefinition["PipelineExperimentConfig"];

    constructor(options: PipelineBuilderOptions = {}) {
        if (options.pipelineName !== undefined) this.jobTag = pipelineTag(options.pipelineName);
    }

    /** A pipeline parameter; the handle is the `{"Get": "Parameters.<name>"}` reference. */
    parameter<T extends ParameterType>(
        name: string,
        type: T,
        options: { default?: T extends "String" ? string : number } = {},
    ): ParameterHandle<T> {
        if (!NAME.test(name)) throw new Error(`parameter name ${JSON.stringify(name)} must be 1-64 letters, digits, "-" or "_"`);
        if (this.parameters.has(name)) throw new Error(`parameter ${name} is declared twice`);
        const d = options.default;
        if (d !== undefined) {
            if (type === "String" && typeof d !== "string") throw new Error(`parameter ${name}: String default must be a string`);
            if (type === "Integer" && !Number.isInteger(d))
                throw new Error(`parameter ${name}: Integer default must be a whole number, got ${d}`);
            if (type === "Float" && typeof d !== "number") throw new Error(`parameter ${name}: Float default must be a number`);
        }
        this.parameters.set(name, { Name: name, Type: type, ...(d !== undefined ? { DefaultValue: d } : {}) });
        return { Get: `Parameters.${name}` } as ParameterHandle<T>;
    }

    /** Groups runs in SageMaker Experiments: by default the pipeline name and the execution id. */
    experiment(config: { experimentName?: Value; trialName?: Value } = {}): this {
        this.experimentConfig = {
            ExperimentName: config.experimentName ?? execution.pipelineName,
            TrialName: config.trialName ?? execution.pipelineExecutionId,
        };
        return this;
    }

    processing<O extends string, F extends string = never>(name: string, options: ProcessingOptions<O, F>): ProcessingStep<O, F> {
        const outputs = new Set<string>((options.arguments.ProcessingOutputConfig?.Outputs ?? []).map((o) => o.OutputName));
        for (const f of options.propertyFiles ?? [])
            if (!outputs.has(f.OutputName))
                throw new Error(
                    `step ${name}: property file ${f.PropertyFileName} names output ${JSON.stringify(f.OutputName)}, which the step does not declare (outputs: ${[...outputs].join(", ") || "none"})`,
                );
        const files = new Set<string>((options.propertyFiles ?? []).map((f) => f.PropertyFileName));
        if (files.size !== (options.propertyFiles ?? []).length) throw new Error(`step ${name}: two property files share a name`);
        const handle: ProcessingStep<O, F> = {
            name,
            type: "Processing",
            outputUri: (output) => {
                if (!outputs.has(output))
                    throw new Error(`step ${name} has no output ${JSON.stringify(output)} (outputs: ${[...outputs].join(", ") || "none"})`);
                return { Get: `Steps.${name}.ProcessingOutputConfig.Outputs['${output}'].S3Output.S3Uri` };
            },
            propertyFile: (file) => {
                if (!files.has(file))
                    throw new Error(
                        `step ${name} declares no property file ${JSON.stringify(file)} (declared: ${[...files].join(", ") || "none"})`,
                    );
                return { Get: `Steps.${name}.PropertyFiles.${file}` } as PropertyFileRef;
            },
        };
        return this.jobStep(handle, options, options.propertyFiles?.length ? { PropertyFiles: options.propertyFiles } : {}, {
            outputs,
            propertyFiles: files,
        });
    }

    training(name: string, options: TrainingOptions): TrainingStep {
        return this.jobStep<TrainingStep>(
            { name, type: "Training", modelArtifacts: { Get: `Steps.${name}.ModelArtifacts.S3ModelArtifacts` } },
            options,
        );
    }

    /** A CreateModel step (serialized as type "Model"). */
    model(name: string, options: ModelOptions): ModelStep {
        return this.jobStep<ModelStep>({ name, type: "Model", modelName: { Get: `Steps.${name}.ModelName` } }, options);
    }

    transform(name: string, options: TransformOptions): TransformStep {
        return this.jobStep<TransformStep>(
            { name, type: "Transform", outputPath: { Get: `Steps.${name}.TransformOutput.S3OutputPath` } },
            options,
        );
    }

    /** Registers a model package version into a group (CreateModelPackage). */
    registerModel(name: string, options: RegisterModelOptions): RegisterModelStep {
        return this.jobStep<RegisterModelStep>(
            { name, type: "RegisterModel", modelPackageArn: { Get: `Steps.${name}.ModelPackageArn` } },
            options,
        );
    }

    /** Stops the execution as failed with a message (which may join run-time values). */
    fail(name: string, errorMessage: Value, options: CommonOptions = {}): FailStep {
        const handle: FailStep = { name, type: "Fail" };
        const base = this.common(name, "Fail", options);
        this.register(handle, () => ({ ...base, Arguments: { ErrorMessage: errorMessage } }));
        return handle;
    }

    /**
     * Runs `ifSteps` when every comparison holds, else `elseSteps`. Those steps must have been declared on
     * this builder; they move inside the condition and leave the top level.
     */
    condition(name: string, options: ConditionOptions): ConditionStep {
        if (options.conditions.length === 0) throw new Error(`condition step ${name} needs at least one comparison`);
        const branches = [...options.ifSteps, ...(options.elseSteps ?? [])];
        if (branches.length === 0) throw new Error(`condition step ${name} has no steps in either branch`);
        for (const s of branches) this.known(s, `condition ${name} branches to`);
        for (const s of branches) {
            const other = this.nestedIn.get(s.name);
            if (other) throw new Error(`step ${s.name} is already a branch of condition ${other}; a step can run in one branch only`);
        }
        if (new Set(branches.map((s) => s.name)).size !== branches.length)
            throw new Error(`condition step ${name} names a step twice in its branches; a step can run in one branch only`);
        const handle: ConditionStep = { name, type: "Condition", outcome: { Get: `Steps.${name}.Outcome` } };
        const base = this.common(name, "Condition", options);
        this.register(handle, () => ({
            ...base,
            Arguments: {
                Conditions: options.conditions,
                IfSteps: options.ifSteps.map((s) => this.definitionOf(s, name)),
                ElseSteps: (options.elseSteps ?? []).map((s) => this.definitionOf(s, name)),
            } satisfies ConditionArguments,
        }));
        for (const s of branches) this.nestedIn.set(s.name, name);
        return handle;
    }

    /**
     * The definition, after checking it: every `Get` names a declared parameter, execution variable, or a
     * step of this pipeline and a property that step has; every DependsOn names a step; no cycles.
     */
    build(): PipelineDefinition {
        if (this.steps.size === 0) throw new Error("a pipeline needs at least one step");
        const topLevel = [...this.steps.values()].filter((r) => !this.nestedIn.has(r.handle.name)).map((r) => r.definition());
        const definition: PipelineDefinition = {
            Version: "2020-12-01",
            Metadata: {},
            Parameters: [...this.parameters.values()],
            ...(this.experimentConfig ? { PipelineExperimentConfig: this.experimentConfig } : {}),
            Steps: topLevel,
        };
        this.checkReferences(definition);
        checkAcyclic(definition);
        return definition;
    }

    /** A step that makes one SageMaker API call: its arguments, then caching (where allowed) and retries. */
    private jobStep<H extends StepHandle & { type: StepType }>(
        handle: H,
        options: CommonOptions & RetryOptions & Partial<CacheOptions> & { readonly arguments: unknown },
        extraFields: Record<string, unknown> = {},
        registered: Partial<Registered> = {},
    ): H {
        const base = this.common(handle.name, handle.type, options);
        const args = this.tagged(handle, options.arguments);
        this.register(
            handle,
            () =>
                ({
                    ...base,
                    Arguments: args,
                    ...extraFields,
                    ...cacheConfig(handle.name, options.cache),
                    ...retryPolicies(handle.name, options.retryPolicies),
                }) as StepDefinition,
            registered,
        );
        return handle;
    }

    /** A job step's arguments with the pipeline's tag added to its own tags (none of which may claim the key). */
    private tagged(step: StepHandle, args: unknown): unknown {
        const tag = this.jobTag;
        if (!tag || !TAGGED_STEP_TYPES.has(step.type)) return args;
        const own = (args as { Tags?: ReadonlyArray<{ Key: unknown; Value?: unknown }> }).Tags ?? [];
        const clash = own.find((t) => t.Key === tag.Key);
        if (clash && clash.Value !== tag.Value)
            throw new Error(
                `step ${step.name}: tag ${tag.Key}=${JSON.stringify(clash.Value)} would name another pipeline than ${tag.Value}; leave ${tag.Key} to the builder`,
            );
        return { ...(args as object), Tags: [...own.filter((t) => t.Key !== tag.Key), tag] };
    }

    private register(handle: StepHandle, definition: () => StepDefinition, extra: Partial<Registered> = {}): void {
        if (!NAME.test(handle.name)) throw new Error(`step name ${JSON.stringify(handle.name)} must be 1-64 letters, digits, "-" or "_"`);
        if (this.steps.has(handle.name)) throw new Error(`two steps are named ${handle.name}; step names must be unique in a pipeline`);
        this.steps.set(handle.name, { handle, definition, ...extra });
    }

    private common(
        name: string,
        type: StepType,
        options: CommonOptions,
    ): Pick<StepDefinition, "Name" | "Type" | "Description" | "DependsOn"> {
        const dependsOn = (options.dependsOn ?? []).map((s) => this.known(s, `step ${name} depends on`).name);
        return {
            Name: name,
            Type: type,
            ...(options.description ? { Description: options.description } : {}),
            ...(dependsOn.length ? { DependsOn: dependsOn } : {}),
        };
    }

    private known(step: StepHandle, context: string): StepHandle {
        const registered = this.steps.get(step.name);
        if (!registered || registered.handle !== step)
            throw new Error(`${context} ${step.name}, which is not a step of this pipeline; declare it on the same PipelineBuilder`);
        return step;
    }

    private definitionOf(step: StepHandle, condition: string): StepDefinition {
        return this.steps.get(this.known(step, `condition ${condition} branches to`).name)!.definition();
    }

    private checkReferences(definition: PipelineDefinition): void {
        const problems: string[] = [];
        for (const step of allSteps(definition)) {
            for (const get of referencesIn(step.Arguments)) {
                const problem = this.resolve(get);
                if (problem) problems.push(`step ${step.Name}: ${JSON.stringify(get)} ${problem}`);
            }
        }
        // Stryker disable next-line ConditionalExpression: referencesIn(undefined) is [], so the guard only skips an empty loop
        if (this.experimentConfig)
            for (const get of referencesIn(this.experimentConfig)) {
                const problem = this.resolve(get);
                if (problem) problems.push(`PipelineExperimentConfig: ${JSON.stringify(get)} ${problem}`);
            }
        if (problems.length)
            throw new Error(
                `the pipeline has ${problems.length} unresolved reference${problems.length === 1 ? "" : "s"}:\n  - ${problems.join("\n  - ")}`,
            );
    }

    /** Why a `Get` does not resolve, or undefined when it does. */
    private resolve(get: string): string | undefined {
        const [root, name, ...rest] = get.split(".");
        if (root === "Parameters") return this.parameters.has(get.slice("Parameters.".length)) ? undefined : "names no declared parameter";
        if (root === "Execution") return isExecutionVariable(get) ? undefined : "is not a pipeline execution variable";
        if (root !== "Steps") return "is neither a parameter, an execution variable nor a step property";
        const step = this.steps.get(name);
        if (!step) return `refers to step ${name}, which is not in this pipeline`;
        const property = rest.join(".");
        const output = /^ProcessingOutputConfig\.Outputs\['([^']+)'\]\.S3Output\.S3Uri$/.exec(property);
        if (output) return step.outputs?.has(output[1]) ? undefined : `refers to output ${output[1]}, which step ${name} does not declare`;
        const file = /^PropertyFiles\.(.+)$/.exec(property);
        if (file)
            return step.propertyFiles?.has(file[1]) ? undefined : `refers to property file ${file[1]}, which step ${name} does not declare`;
        const expected = STEP_PROPERTIES[step.handle.type];
        return expected.includes(property)
            ? undefined
            : `is not a property of ${step.handle.type} step ${name} (known: ${expected.join(", ") || "none"})`;
    }
}

/** The scalar properties each step type exposes to later steps (besides processing outputs and property files). */
const STEP_PROPERTIES: Readonly<Record<StepType, readonly string[]>> = {
    Processing: [],
    Training: ["ModelArtifacts.S3ModelArtifacts"],
    Model: ["ModelName"],
    Transform: ["TransformOutput.S3OutputPath"],
    RegisterModel: ["ModelPackageArn"],
    Condition: ["Outcome"],
    Fail: [],
};

function cacheConfig(step: string, cache: CacheOptions["cache"]): { CacheConfig?: CacheConfig } {
    if (!cache) return {};
    if (cache === true) return { CacheConfig: { Enabled: true } };
    if (!ISO_DURATION.test(cache.expireAfter))
        throw new Error(
            `step ${step}: cache expireAfter ${JSON.stringify(cache.expireAfter)} must be an ISO 8601 duration such as P30D or PT12H`,
        );
    return { CacheConfig: { Enabled: true, ExpireAfter: cache.expireAfter } };
}

function retryPolicies(step: string, policies: readonly RetryPolicy[] | undefined): { RetryPolicies?: readonly RetryPolicy[] } {
    if (!policies?.length) return {};
    for (const p of policies) {
        if (p.ExceptionType.length === 0) throw new Error(`step ${step}: a retry policy needs at least one exception type`);
        if (p.MaxAttempts !== undefined && p.ExpireAfterMin !== undefined)
            throw new Error(`step ${step}: a retry policy sets MaxAttempts or ExpireAfterMin, not both`);
        if (p.MaxAttempts !== undefined && (!Number.isInteger(p.MaxAttempts) || p.MaxAttempts < 1 || p.MaxAttempts > MAX_RETRY_ATTEMPTS))
            throw new Error(`step ${step}: retry MaxAttempts must be 1-${MAX_RETRY_ATTEMPTS}, got ${p.MaxAttempts}`);
        if (
            p.ExpireAfterMin !== undefined &&
            (!Number.isInteger(p.ExpireAfterMin) || p.ExpireAfterMin < 1 || p.ExpireAfterMin > MAX_RETRY_EXPIRE_MINUTES)
        )
            throw new Error(`step ${step}: retry ExpireAfterMin must be 1-${MAX_RETRY_EXPIRE_MINUTES}, got ${p.ExpireAfterMin}`);
    }
    return { RetryPolicies: policies };
}
