import { expect } from "chai";
import {
    DEFAULT_IMAGE_SAMPLE_SIZE,
    DEFAULT_MONITOR_VOLUME_GB,
    DEFAULT_UNJUDGED_PERIODS,
    defaultMaxRuntime,
    formatMonitoringLimitProblems,
    MONITOR_STEP_NAME,
    modelMonitorExpression,
    MonitoringLimitsInput,
    monitoringLimitProblems,
    PERIOD_SECONDS,
    schedulerExpression,
    WINDOW_PARAMETERS,
} from "../../../infra/monitoring/schedule";

const ok: MonitoringLimitsInput = { engine: "pipeline", period: "hourly", unjudgedPeriods: 3, instanceCount: 1, maxRuntimeSeconds: 3000 };
const RANGE_HOURLY = "hourly periods are more than CloudWatch's 7-day alarm range; use at most 168 with a hourly schedule";
const RANGE_DAILY = "daily periods are more than CloudWatch's 7-day alarm range; use at most 7 with a daily schedule";

describe("infra/monitoring/schedule", () => {
    it("keeps the job defaults the config documents: 30 GB, 2000 images, three unjudged periods, an hour and a day in seconds", () => {
        expect(DEFAULT_MONITOR_VOLUME_GB).to.equal(30);
        expect(DEFAULT_IMAGE_SAMPLE_SIZE).to.equal(2000);
        expect(DEFAULT_UNJUDGED_PERIODS).to.equal(3);
        expect(PERIOD_SECONDS).to.deep.equal({ hourly: 3600, daily: 86400 });
        expect(WINDOW_PARAMETERS).to.deep.equal({ start: "StartTime", end: "EndTime" });
        expect(MONITOR_STEP_NAME).to.equal("Monitor");
    });

    it("gives an hourly run 50 minutes (Model Monitor allows an hour) and a daily one 4 hours", () => {
        expect(defaultMaxRuntime("hourly")).to.equal(3000);
        expect(defaultMaxRuntime("daily")).to.equal(14400);
    });

    it("schedules the pipeline ten minutes past each hour or at 00:30 UTC, and Model Monitor on the hour or at midnight", () => {
        expect(schedulerExpression("hourly")).to.equal("cron(10 * * * ? *)");
        expect(schedulerExpression("daily")).to.equal("cron(30 0 * * ? *)");
        expect(modelMonitorExpression("hourly")).to.equal("cron(0 * ? * * *)");
        expect(modelMonitorExpression("daily")).to.equal("cron(0 0 ? * * *)");
    });

    describe("monitoringLimitProblems", () => {
        it("accepts exactly CloudWatch's 7 days of evaluation (168 hourly or 7 daily periods) and refuses one period more", () => {
            expect(monitoringLimitProblems({ ...ok, retrainAfterPeriods: 168, unjudgedPeriods: 168 })).to.deep.equal([]);
            expect(monitoringLimitProblems({ ...ok, period: "daily", retrainAfterPeriods: 7, unjudgedPeriods: 7 })).to.deep.equal([]);
            expect(monitoringLimitProblems({ ...ok, retrainAfterPeriods: 169, unjudgedPeriods: 169 })).to.deep.equal([
                { key: "retrainAfterPeriods", value: 169, message: RANGE_HOURLY },
                { key: "unjudgedPeriods", value: 169, message: RANGE_HOURLY },
            ]);
            expect(monitoringLimitProblems({ ...ok, period: "daily", unjudgedPeriods: 8 })).to.deep.equal([
                { key: "unjudgedPeriods", value: 8, message: RANGE_DAILY },
            ]);
            expect(monitoringLimitProblems({ ...ok, period: "daily", retrainAfterPeriods: 8 })).to.deep.equal([
                { key: "retrainAfterPeriods", value: 8, message: RANGE_DAILY },
            ]);
        });

        it("refuses more than one instance only with Model Monitor, which has no merge step", () => {
            expect(monitoringLimitProblems({ ...ok, instanceCount: 4 })).to.deep.equal([]);
            expect(monitoringLimitProblems({ ...ok, engine: "model-monitor", instanceCount: 1 })).to.deep.equal([]);
            expect(monitoringLimitProblems({ ...ok, engine: "model-monitor", instanceCount: 2 })).to.deep.equal([
                {
                    key: "instanceCount",
                    value: 2,
                    message:
                        "instances need the pipeline engine (monitoring.engine: pipeline); a Model Monitor schedule runs one job with no merge step",
                },
            ]);
        });

        it("refuses an hourly Model Monitor run past 3600 seconds, and allows it daily or with the pipeline engine", () => {
            const mm = { ...ok, engine: "model-monitor" as const };
            expect(monitoringLimitProblems({ ...mm, maxRuntimeSeconds: 3600 })).to.deep.equal([]);
            expect(monitoringLimitProblems({ ...mm, period: "daily", maxRuntimeSeconds: 14400 })).to.deep.equal([]);
            expect(monitoringLimitProblems({ ...ok, maxRuntimeSeconds: 14400 })).to.deep.equal([]);
            expect(monitoringLimitProblems({ ...mm, maxRuntimeSeconds: 3601 })).to.deep.equal([
                {
                    key: "maxRuntimeSeconds",
                    value: 3601,
                    message: "seconds per run are more than the 3600 an hourly Model Monitor schedule allows",
                },
            ]);
        });

        it("formats the problems as one line, key and value before each message", () => {
            expect(formatMonitoringLimitProblems([])).to.equal("");
            expect(
                formatMonitoringLimitProblems([
                    { key: "unjudgedPeriods", value: 8, message: "too many" },
                    { key: "instanceCount", value: 2, message: "needs the pipeline engine" },
                ]),
            ).to.equal("unjudgedPeriods 8: too many; instanceCount 2: needs the pipeline engine");
        });
    });
});
