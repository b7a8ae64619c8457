import { mkdirSync, mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { PlanResult, runPlan } from "../../scripts/plan";

const ROOT = resolve(__dirname, "../..");

/** An offline plan of one of the project's own stack files, and what it printed. */
export interface ProjectPlan {
    readonly result: PlanResult;
    readonly log: readonly string[];
    /** Where it wrote plan.json and the pipeline definitions. */
    readonly outDir: string;
}

const plans = new Map<string, Promise<ProjectPlan>>();

/**
 * The plan of Pulumi.<stack>.yaml with the sample registry, made once per test run and shared by every file that
 * reads it (a plan is the most expensive thing the suite does). Each is written into a folder holding what an
 * earlier plan left behind, so the files it removes and keeps can be checked on the same run: staging's folder has
 * a pipeline definition of an earlier staging plan that this one no longer declares; prod's folder holds another
 * stack's plan, whose files are not prod's to remove.
 */
export function projectPlan(stack: "staging" | "prod"): Promise<ProjectPlan> {
    let plan = plans.get(stack);
    if (!plan) {
        plan = makePlan(stack);
        plans.set(stack, plan);
    }
    return plan;
}

/** The stale file staging's plan folder starts with, and the other stack's file prod's starts with. */
export const EARLIER_PLAN_FILES = {
    staging: join("pipelines", "vision-mlops-staging-retired-model-training.json"),
    prod: join("pipelines", "keep-me.json"),
} as const;

async function makePlan(stack: "staging" | "prod"): Promise<ProjectPlan> {
    const outDir = mkdtempSync(join(tmpdir(), `plan-${stack}-`));
    mkdirSync(join(outDir, "pipelines"));
    writeFileSync(join(outDir, "plan.json"), JSON.stringify({ stack: stack === "staging" ? "staging" : "somewhere-else" }));
    writeFileSync(join(outDir, EARLIER_PLAN_FILES[stack]), "{}");
    const log: string[] = [];
    const result = await runPlan(stack, { projectDir: ROOT, outDir, registry: "sample", log: (l) => log.push(l) });
    return { result, log, outDir };
}
