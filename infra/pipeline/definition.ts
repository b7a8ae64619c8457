import type {
    CreateModelInput,
    CreateModelPackageInput,
    CreateProcessingJobRequest,
    CreateTrainingJobRequest,
    CreateTransformJobRequest,
    ProcessingOutput,
    ProcessingOutputConfig,
} from "@aws-sdk/client-sagemaker";
import { Comparison, Expressible, Expression, Value } from "./expressions";

/**
 * The types of a SageMaker Model Building Pipeline definition (the JSON passed to CreatePipeline as
 * `PipelineDefinition`, schema version 2020-12-01): steps, their arguments, retries, caching and property
 * files. Step arguments are the SageMaker API request types minus the names SageMaker generates, every leaf
 * also accepting an expression (infra/pipeline/expressions.ts).
 */

export type StepException = "Step.SERVICE_FAULT" | "Step.THROTTLING";
export type SageMakerJobException = "SageMaker.JOB_INTERNAL_ERROR" | "SageMaker.CAPACITY_ERROR" | "SageMaker.RESOURCE_LIMIT";

export interface RetryPolicy {
    readonly ExceptionType: ReadonlyArray<StepException | SageMakerJobException>;
    /** Seconds before the first retry. SageMaker's default is 1. */
    readonly IntervalSeconds?: number;
    /** Multiplier of the interval per attempt. SageMaker's default is 2.0. */
    readonly BackoffRate?: number;
    /** At most 20; exclusive with ExpireAfterMin. */
    readonly MaxAttempts?: number;
    /** At most 14400 minutes; exclusive with MaxAttempts. */
    readonly ExpireAfterMin?: number;
}

export interface CacheConfig {
    readonly Enabled: boolean;
    /** ISO 8601 duration such as P30D. */
    readonly ExpireAfter?: string;
}

export interface PropertyFileDefinition<F extends string = string, O extends string = string> {
    readonly PropertyFileName: F;
    /** The processing output the file is written to. */
    readonly OutputName: O;
    /** The file's path relative to that output's local path. */
    readonly FilePath: string;
}

export type ProcessingArguments<O extends string = string> = Omit<
    Expressible<CreateProcessingJobRequest>,
    "ProcessingJobName" | "ProcessingOutputConfig"
> & {
    readonly ProcessingOutputConfig?: Omit<Expressible<ProcessingOutputConfig>, "Outputs"> & {
        /** Output names are literal so handles can offer exactly these to later steps. */
        readonly Outputs: ReadonlyArray<Omit<Expressible<ProcessingOutput>, "OutputName"> & { readonly OutputName: O }>;
    };
};
export type TrainingArguments = Omit<Expressible<CreateTrainingJobRequest>, "TrainingJobName">;
export type ModelArguments = Omit<Expressible<CreateModelInput>, "ModelName">;
export type TransformArguments = Omit<Expressible<CreateTransformJobRequest>, "TransformJobName">;
export type RegisterModelArguments = Omit<Expressible<CreateModelPackageInput>, "ModelPackageName" | "ClientToken"> & {
    /** Versioned packages only: the group is required. */
    readonly ModelPackageGroupName: string | Expression;
};
export interface FailArguments {
    readonly ErrorMessage: Value;
}
export interface ConditionArguments {
    readonly Conditions: readonly Comparison[];
    readonly IfSteps: readonly StepDefinition[];
    readonly ElseSteps: readonly StepDefinition[];
}

export type StepType = "Processing" | "Training" | "Model" | "Transform" | "RegisterModel" | "Condition" | "Fail";

/** One step as it appears in the definition JSON. */
export interface StepDefinition {
    readonly Name: string;
    readonly Type: StepType;
    readonly Description?: string;
    readonly DependsOn?: readonly string[];
    readonly Arguments: object;
    readonly PropertyFiles?: readonly PropertyFileDefinition[];
    readonly CacheConfig?: CacheConfig;
    readonly RetryPolicies?: readonly RetryPolicy[];
}

export type ParameterType = "String" | "Integer" | "Float";

export interface ParameterDefinition {
    readonly Name: string;
    readonly Type: ParameterType;
    readonly DefaultValue?: string | number;
}

export interface PipelineDefinition {
    readonly Version: "2020-12-01";
    readonly Metadata: Record<string, never>;
    readonly Parameters: readonly ParameterDefinition[];
    readonly PipelineExperimentConfig?: { readonly ExperimentName: Value; readonly TrialName: Value };
    readonly Steps: readonly StepDefinition[];
}
