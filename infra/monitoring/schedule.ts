/**
 * When and how long a model's monitoring runs: the period, its schedule expressions per engine, the job's
 * defaults, and the limits CloudWatch puts on alarms over runs. One rule set for the component and the
 * stack config (which reports every problem at once).
 */

/** `pipeline` (EventBridge Scheduler -> SageMaker Pipeline) or `model-monitor` (MonitoringSchedule). */
export type MonitoringEngine = "pipeline" | "model-monitor";
/** How often the monitor judges a window of captured traffic. */
export type MonitoringPeriod = "hourly" | "daily";

export const DEFAULT_MONITOR_INSTANCE = "ml.m5.large";
export const DEFAULT_MONITOR_VOLUME_GB = 30;
export const PERIOD_SECONDS: Record<MonitoringPeriod, number> = { hourly: 3600, daily: 86400 };
/** CloudWatch refuses alarms whose periods x evaluation periods exceed 7 days (for periods of an hour or more). */
const MAX_ALARM_RANGE_SECONDS = 7 * 86400;
/** Model Monitor allows an hourly schedule's runs at most an hour. */
const MODEL_MONITOR_HOURLY_MAX_RUNTIME = 3600;

/** Windows in a row without a verdict before the not-judged alarm fires, when the model does not say. */
export const DEFAULT_UNJUDGED_PERIODS = 3;
/** The job's own default (jobs/monitor/sample.ts DEFAULT_IMAGE_SAMPLE), for components built without config defaults. */
export const DEFAULT_IMAGE_SAMPLE_SIZE = 2000;

/** The monitoring pipeline's window parameters; "auto" (the default) lets the job derive the window. */
export const WINDOW_PARAMETERS = { start: "StartTime", end: "EndTime" } as const;
export const MONITOR_STEP_NAME = "Monitor";

/** Job time limit: 50 minutes for hourly schedules (Model Monitor allows at most an hour), 4 hours for daily. */
export function defaultMaxRuntime(period: MonitoringPeriod): number {
    return period === "hourly" ? 50 * 60 : 4 * 3600;
}

/** What a model's monitoring asks of its engine and of CloudWatch. */
export interface MonitoringLimitsInput {
    readonly engine: MonitoringEngine;
    readonly period: MonitoringPeriod;
    /** Drifting runs in a row before retraining starts; none: no retraining. */
    readonly retrainAfterPeriods?: number;
    readonly unjudgedPeriods: number;
    readonly instanceCount: number;
    readonly maxRuntimeSeconds: number;
}

/** One setting of a model's `monitoring.` that cannot run, and why (the message follows the value). */
export interface MonitoringLimitProblem {
    readonly key: "retrainAfterPeriods" | "unjudgedPeriods" | "instanceCount" | "maxRuntimeSeconds";
    readonly value: number;
    readonly message: string;
}

/**
 * Every way these settings cannot run: an alarm range CloudWatch refuses, a sharded run Model Monitor
 * cannot merge, an hourly Model Monitor run longer than its hour.
 */
export function monitoringLimitProblems(i: MonitoringLimitsInput): MonitoringLimitProblem[] {
    const problems: MonitoringLimitProblem[] = [];
    const range = (key: "retrainAfterPeriods" | "unjudgedPeriods", n: number) => {
        if (n * PERIOD_SECONDS[i.period] > MAX_ALARM_RANGE_SECONDS)
            problems.push({
                key,
                value: n,
                message:
                    `${i.period} periods are more than CloudWatch's 7-day alarm range; ` +
                    `use at most ${Math.floor(MAX_ALARM_RANGE_SECONDS / PERIOD_SECONDS[i.period])} with a ${i.period} schedule`,
            });
    };
    // Stryker disable next-line ConditionalExpression: undefined periods give NaN seconds, which is never past the range
    if (i.retrainAfterPeriods !== undefined) range("retrainAfterPeriods", i.retrainAfterPeriods);
    range("unjudgedPeriods", i.unjudgedPeriods);
    if (i.engine === "model-monitor" && i.instanceCount > 1)
        problems.push({
            key: "instanceCount",
            value: i.instanceCount,
            message:
                "instances need the pipeline engine (monitoring.engine: pipeline); a Model Monitor schedule runs one job with no merge step",
        });
    if (i.engine === "model-monitor" && i.period === "hourly" && i.maxRuntimeSeconds > MODEL_MONITOR_HOURLY_MAX_RUNTIME)
        problems.push({
            key: "maxRuntimeSeconds",
            value: i.maxRuntimeSeconds,
            message: `seconds per run are more than the ${MODEL_MONITOR_HOURLY_MAX_RUNTIME} an hourly Model Monitor schedule allows`,
        });
    return problems;
}

/** `key value message; ...`: the problems as one line, for an error. */
export function formatMonitoringLimitProblems(problems: readonly MonitoringLimitProblem[]): string {
    return problems.map((p) => `${p.key} ${p.value}: ${p.message}`).join("; ");
}

/**
 * EventBridge Scheduler expression: ten minutes past each hour (or half past midnight UTC), so SageMaker has
 * finished writing the previous period's capture files when the job reads them.
 */
export function schedulerExpression(period: MonitoringPeriod): string {
    return period === "hourly" ? "cron(10 * * * ? *)" : "cron(30 0 * * ? *)";
}

/** Model Monitor's own expressions; it starts each run within its first 20 minutes and passes the window. */
export function modelMonitorExpression(period: MonitoringPeriod): string {
    return period === "hourly" ? "cron(0 * ? * * *)" : "cron(0 0 ? * * *)";
}
