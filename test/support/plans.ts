import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { PlanResult, runPlan } from "../../scripts/plan";
import { RUN_FOLDER_ENV } from "./run-folder";

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
 * stack's plan, whose files are not prod's to remove. Every reader, the process that made it included, gets it as
 * JSON read back, so what a test sees does not depend on which process made the plan.
 */
export function projectPlan(stack: "staging" | "prod"): Promise<ProjectPlan> {
    let plan = plans.get(stack);
    if (!plan) {
        plan = sharedPlan(stack);
        plans.set(stack, plan);
    }
    return plan;
}

/** The first process to ask makes the plan (it holds `<stack>.making`); the others wait for `<stack>.json`. */
async function sharedPlan(stack: "staging" | "prod"): Promise<ProjectPlan> {
    // With mocha's --parallel every worker has its own module cache, and a plan is too costly to make in each.
    const folder = process.env[RUN_FOLDER_ENV];
    if (!folder) return fromJson(await planAsJson(stack));
    const done = join(folder, `${stack}.json`);
    try {
        mkdirSync(join(folder, `${stack}.making`));
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        while (!existsSync(done)) await new Promise((r) => setTimeout(r, 200));
        return fromJson(readFileSync(done, "utf8"));
    }
    const text = await planAsJson(stack);
    writeFileSync(`${done}.partial`, text);
    renameSync(`${done}.partial`, done);
    return fromJson(text);
}

/** The plan, or the error that stopped it (so a waiting process fails with the same error instead of waiting on). */
async function planAsJson(stack: "staging" | "prod"): Promise<string> {
    try {
        return JSON.stringify({ plan: await makePlan(stack) });
    } catch (e) {
        return JSON.stringify({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    }
}

function fromJson(text: string): ProjectPlan {
    const parsed = JSON.parse(text) as { plan?: ProjectPlan; error?: string };
    if (parsed.error !== undefined) throw new Error(`the shared plan failed: ${parsed.error}`);
    return parsed.plan!;
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
