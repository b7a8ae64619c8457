import { ComparisonType, Value } from "./expressions";
import { ConditionArguments, PipelineDefinition, StepDefinition } from "./definition";

/**
 * Reading a built definition: its steps with condition branches, the references in a value, what each step
 * waits for, and a printable outline of the graph. The builder checks a definition with these; tests and the
 * offline plan read one with them.
 */

/** Every step, condition branches included, in definition order (a condition before its branches). */
export function allSteps(definition: Pick<PipelineDefinition, "Steps">): StepDefinition[] {
    const out: StepDefinition[] = [];
    const visit = (steps: readonly StepDefinition[]) => {
        for (const s of steps) {
            out.push(s);
            if (s.Type === "Condition") {
                const a = s.Arguments as ConditionArguments;
                visit(a.IfSteps);
                visit(a.ElseSteps);
            }
        }
    };
    visit(definition.Steps);
    return out;
}

/** Every `Get` string inside a value (arguments, conditions), in order of appearance. */
export function referencesIn(value: unknown): string[] {
    const out: string[] = [];
    const visit = (v: unknown) => {
        // Stryker disable next-line ConditionalExpression: Object.entries of an array visits its elements in the same order
        if (Array.isArray(v)) v.forEach(visit);
        else if (typeof v === "object" && v !== null) {
            for (const [k, inner] of Object.entries(v)) {
                if (k === "Get" && typeof inner === "string") out.push(inner);
                else if (k === "IfSteps" || k === "ElseSteps")
                    continue; // branches are steps of their own
                else visit(inner);
            }
        }
    };
    visit(value);
    return out;
}

/**
 * The steps each step waits for: those its arguments reference, its DependsOn, and for a branch step the
 * condition it belongs to.
 */
export function stepDependencies(definition: Pick<PipelineDefinition, "Steps">): Map<string, string[]> {
    const deps = new Map<string, string[]>();
    const add = (step: string, on: string) => {
        const list = deps.get(step) ?? [];
        if (on !== step && !list.includes(on)) list.push(on);
        deps.set(step, list);
    };
    const steps = allSteps(definition);
    for (const s of steps) {
        deps.set(s.Name, deps.get(s.Name) ?? []);
        for (const get of referencesIn(s.Arguments)) if (get.startsWith("Steps.")) add(s.Name, get.split(".")[1]);
        for (const d of s.DependsOn ?? []) add(s.Name, d);
    }
    for (const s of steps) {
        if (s.Type === "Condition") {
            const a = s.Arguments as ConditionArguments;
            for (const b of [...a.IfSteps, ...a.ElseSteps]) add(b.Name, s.Name);
        }
    }
    return deps;
}

/** Throws when the steps wait for each other in a cycle, naming it. */
export function checkAcyclic(definition: PipelineDefinition): void {
    const deps = stepDependencies(definition);
    const state = new Map<string, "visiting" | "done">();
    const visit = (name: string, path: string[]) => {
        // Stryker disable next-line ConditionalExpression,StringLiteral: a finished step is only visited again, to the same result
        if (state.get(name) === "done") return;
        if (state.get(name) === "visiting") throw new Error(`the pipeline's steps form a cycle: ${[...path, name].join(" -> ")}`);
        state.set(name, "visiting");
        for (const d of deps.get(name) ?? []) visit(d, [...path, name]);
        // Stryker disable next-line StringLiteral: any mark but "visiting" lets a finished step be visited again, to the same result
        state.set(name, "done");
    };
    for (const name of deps.keys()) visit(name, []);
}

/**
 * A printable outline of the step graph, one line per step, e.g.
 * `Train (Training) <- Preprocess`, with condition branches indented under their condition.
 */
export function stepGraph(definition: Pick<PipelineDefinition, "Steps">): string[] {
    const deps = stepDependencies(definition);
    const lines: string[] = [];
    const describe = (s: StepDefinition) => {
        const upstream = deps.get(s.Name) ?? [];
        lines.push(`${s.Name} (${s.Type})${upstream.length ? ` <- ${upstream.join(", ")}` : ""}`);
        if (s.Type === "Condition") {
            const a = s.Arguments as ConditionArguments;
            for (const c of a.Conditions)
                lines.push(`    when ${describeValue(c.LeftValue)} ${SYMBOL[c.Type]} ${describeValue(c.RightValue)}`);
            for (const b of a.IfSteps) describeBranch(b, s.Name, "    ", "if true");
            for (const b of a.ElseSteps) describeBranch(b, s.Name, "    ", "else");
        }
    };
    const describeBranch = (s: StepDefinition, condition: string, indent: string, label: string) => {
        const upstream = (deps.get(s.Name) ?? []).filter((d) => d !== condition);
        lines.push(`${indent}${label}: ${s.Name} (${s.Type})${upstream.length ? ` <- ${upstream.join(", ")}` : ""}`);
    };
    for (const s of definition.Steps) describe(s);
    return lines;
}

const SYMBOL: Record<ComparisonType, string> = {
    Equals: "==",
    GreaterThan: ">",
    GreaterThanOrEqualTo: ">=",
    LessThan: "<",
    LessThanOrEqualTo: "<=",
};

/** A short human reading of a value: `Evaluate/EvaluationReport:metrics.accuracy`, `Parameters.X`, literals as JSON. */
export function describeValue(v: Value): string {
    if (typeof v !== "object") return JSON.stringify(v);
    if ("Get" in v) return v.Get.startsWith("Steps.") ? v.Get.slice("Steps.".length) : v.Get;
    if ("Std:JsonGet" in v) {
        const file = v["Std:JsonGet"].PropertyFile.Get.replace(/^Steps\.([^.]+)\.PropertyFiles\./, "$1/");
        return `${file}:${v["Std:JsonGet"].Path}`;
    }
    return `join(${v["Std:Join"].Values.map(describeValue).join(", ")})`;
}
