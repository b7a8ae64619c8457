/**
 * Pipeline expressions: the values SageMaker resolves when a step starts (a parameter, a step's property, an
 * execution variable, `Std:Join`, `Std:JsonGet`), and the comparisons a condition step is made of. Plain data
 * with no imports, so the definition's types, the builder and the readers of a definition all build on it.
 */

/** `{"Get": "Parameters.X" | "Steps.X.<property>" | "Execution.<variable>"}` */
export interface Get {
    readonly Get: string;
}

/** String concatenation evaluated at run time. */
export interface Join {
    readonly "Std:Join": { readonly On: string; readonly Values: readonly Value[] };
}

/** A value read from a property file (a JSON file a processing step declared) at run time. */
export interface JsonGet {
    readonly "Std:JsonGet": { readonly PropertyFile: Get; readonly Path: string };
}

export type Expression = Get | Join | JsonGet;
export type Value = string | number | boolean | Expression;

/** A reference to a declared property file; only `jsonGet` reads it. */
export interface PropertyFileRef extends Get {
    readonly __propertyFile: true;
}

/**
 * The SDK request type `T` with every leaf also accepting a pipeline expression, which SageMaker resolves
 * when the step starts.
 */
export type Expressible<T> = T extends string
    ? T | Expression
    : T extends number
      ? number | Expression
      : T extends boolean
        ? boolean | Expression
        : T extends Date
          ? never
          : T extends ReadonlyArray<infer E>
            ? ReadonlyArray<Expressible<E>>
            : T extends object
              ? { [K in keyof T]: Expressible<T[K]> }
              : T;

/** Pipeline execution variables SageMaker fills in at run time. */
export const execution = {
    pipelineExecutionId: { Get: "Execution.PipelineExecutionId" },
    pipelineExecutionArn: { Get: "Execution.PipelineExecutionArn" },
    pipelineName: { Get: "Execution.PipelineName" },
    pipelineArn: { Get: "Execution.PipelineArn" },
    startDateTime: { Get: "Execution.StartDateTime" },
    currentDateTime: { Get: "Execution.CurrentDateTime" },
} as const satisfies Record<string, Get>;

const EXECUTION_VARIABLES = new Set<string>(Object.values(execution).map((g) => g.Get));

/** Whether `get` (`Execution.<variable>`) names one of the variables above. */
export function isExecutionVariable(get: string): boolean {
    return EXECUTION_VARIABLES.has(get);
}

/** Concatenates values at run time (`Std:Join`); numbers and JsonGet results become strings this way. */
export function join(values: readonly Value[], on = ""): Join {
    if (values.length === 0) throw new Error("join needs at least one value");
    return { "Std:Join": { On: on, Values: [...values] } };
}

/** Reads `path` (e.g. `metrics.accuracy`) from a property file at run time. */
export function jsonGet(file: PropertyFileRef, path: string): JsonGet {
    if (!path) throw new Error(`jsonGet on ${file.Get} needs a JSON path such as metrics.accuracy`);
    return { "Std:JsonGet": { PropertyFile: { Get: file.Get }, Path: path } };
}

export function isExpression(v: unknown): v is Expression {
    return typeof v === "object" && v !== null && ("Get" in v || "Std:Join" in v || "Std:JsonGet" in v);
}

export type ComparisonType = "Equals" | "GreaterThan" | "GreaterThanOrEqualTo" | "LessThan" | "LessThanOrEqualTo";

export interface Comparison {
    readonly Type: ComparisonType;
    readonly LeftValue: Value;
    readonly RightValue: Value;
}

/** Comparisons for a condition step; a condition step is true when all of its comparisons are. */
export const compare = {
    equals: (left: Value, right: Value): Comparison => ({ Type: "Equals", LeftValue: left, RightValue: right }),
    greaterThan: (left: Value, right: Value): Comparison => ({ Type: "GreaterThan", LeftValue: left, RightValue: right }),
    greaterThanOrEqualTo: (left: Value, right: Value): Comparison => ({ Type: "GreaterThanOrEqualTo", LeftValue: left, RightValue: right }),
    lessThan: (left: Value, right: Value): Comparison => ({ Type: "LessThan", LeftValue: left, RightValue: right }),
    lessThanOrEqualTo: (left: Value, right: Value): Comparison => ({ Type: "LessThanOrEqualTo", LeftValue: left, RightValue: right }),
};
