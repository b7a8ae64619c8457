import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import {
    encodeMonitorThresholds,
    ENVIRONMENT_VALUE_MAX,
    jobModelConfig,
    MONITOR_THRESHOLD_KEYS,
    MONITOR_THRESHOLDS_ENV,
} from "../../../infra/job-contract";
import { readStackFile } from "../../../infra/stack-file";
import {
    decodeMonitorThresholds,
    METRIC_FILES_DIR,
    MonitorSettingsError,
    parseInstant,
    previousPeriod,
    resolveSettings,
    thresholdsOf,
} from "../../../jobs/monitor/settings";
import { buildBaseline, CLASSES, defaultThresholds } from "./corpus";
import { readBaseline } from "../../../jobs/monitor/run";
import { JobError } from "../../../jobs/lib/errors";

describe("monitor settings", () => {
    let dir: string;
    before(() => {
        dir = mkdtempSync(join(tmpdir(), "monitor-settings-"));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    /** The environment Model Monitor gives a bring-your-own container (as its documentation lists it). */
    const byocEnv = () => ({
        dataset_format: '{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput","endpointOutput"]}}',
        dataset_source: "/opt/ml/processing/endpointdata",
        end_time: "2019-12-01T16: 20: 00Z",
        output_path: "/opt/ml/processing/resultdata",
        publish_cloudwatch_metrics: "Enabled",
        sagemaker_endpoint_name: "endpoint-name",
        sagemaker_monitoring_schedule_name: "schedule-name",
        start_time: "2019-12-01T15: 20: 00Z",
        baseline_statistics: "/opt/ml/processing/baseline/stats/monitoring_baseline.json",
        [MONITOR_THRESHOLDS_ENV]: encodeMonitorThresholds(defaultThresholds()),
    });

    it("takes everything from Model Monitor's environment variables when there are no flags", () => {
        const s = resolveSettings([], byocEnv());
        expect(s.capture).to.equal("/opt/ml/processing/endpointdata");
        expect(s.output).to.equal("/opt/ml/processing/resultdata");
        expect(s.baseline).to.equal("/opt/ml/processing/baseline/stats/monitoring_baseline.json");
        expect(s.endpoint).to.equal("endpoint-name");
        expect(s.schedule).to.equal("schedule-name");
        expect(s.window.start.toISOString()).to.equal("2019-12-01T15:20:00.000Z");
        expect(s.window.end.toISOString()).to.equal("2019-12-01T16:20:00.000Z");
        expect(s.metricFiles).to.equal(METRIC_FILES_DIR);
        expect(s.putMetricsNamespace).to.equal(undefined);
        expect(s.thresholds).to.deep.equal(defaultThresholds());
    });

    it("writes no metric files when Model Monitor says publish_cloudwatch_metrics=Disabled", () => {
        expect(resolveSettings([], { ...byocEnv(), publish_cloudwatch_metrics: "Disabled" }).metricFiles).to.equal(undefined);
    });

    it("refuses a Model Monitor job without the thresholds variable, naming it", () => {
        const env: Record<string, string> = byocEnv();
        delete env[MONITOR_THRESHOLDS_ENV];
        expect(() => resolveSettings([], env)).to.throw(MonitorSettingsError, MONITOR_THRESHOLDS_ENV);
        expect(() => resolveSettings([], { ...env, [MONITOR_THRESHOLDS_ENV]: '{"classPsi":0.2}' })).to.throw(
            MonitorSettingsError,
            "lacks numeric chiSquarePValue",
        );
    });

    it("lets flags override the environment, so a window can be re-run by hand", () => {
        const s = resolveSettings(
            ["--start-time", "2026-01-10T12:00:00Z", "--end-time", "2026-01-10T13:00:00Z", "--output", "/tmp/x"],
            byocEnv(),
        );
        expect(s.window.start.toISOString()).to.equal("2026-01-10T12:00:00.000Z");
        expect(s.output).to.equal("/tmp/x");
    });

    it("pipeline mode: thresholds from model.json, window from the execution time and period", () => {
        const config = readStackFile(process.cwd(), "staging");
        const [name, model] = Object.entries(config.models)[0];
        writeFileSync(join(dir, "model.json"), JSON.stringify(jobModelConfig(name, model)));
        const s = resolveSettings(
            [
                "--config",
                dir,
                "--endpoint",
                "ep",
                "--schedule",
                "sch",
                "--start-time",
                "auto",
                "--end-time",
                "auto",
                "--execution-time",
                "2026-01-10 13:10:02.123000+00:00",
                "--period",
                "hourly",
                "--put-metrics",
                "VisionMLOps/Monitoring",
            ],
            {},
        );
        expect(s.thresholds).to.deep.equal(thresholdsOf(jobModelConfig(name, model)));
        expect(s.window.start.toISOString()).to.equal("2026-01-10T12:00:00.000Z");
        expect(s.window.end.toISOString()).to.equal("2026-01-10T13:00:00.000Z");
        expect(s.putMetricsNamespace).to.equal("VisionMLOps/Monitoring");
        expect(s.metricFiles).to.equal(undefined);
    });

    it("derives the previous whole period: hourly and daily, UTC", () => {
        const at = new Date("2026-03-01T00:20:00Z");
        expect(previousPeriod(at, "hourly")).to.deep.equal({
            start: new Date("2026-02-28T23:00:00Z"),
            end: new Date("2026-03-01T00:00:00Z"),
        });
        expect(previousPeriod(at, "daily")).to.deep.equal({
            start: new Date("2026-02-28T00:00:00Z"),
            end: new Date("2026-03-01T00:00:00Z"),
        });
    });

    it("rejects half a window, a backwards window and times that are not ISO 8601", () => {
        const base = ["--config", dir, "--endpoint", "e", "--schedule", "s"];
        expect(() => resolveSettings([...base, "--start-time", "2026-01-10T12:00:00Z"], {})).to.throw(MonitorSettingsError, "both");
        expect(() => resolveSettings([...base, "--start-time", "2026-01-10T12:00:00Z", "--end-time", "2026-01-10T11:00:00Z"], {})).to.throw(
            MonitorSettingsError,
            "before it starts",
        );
        expect(() => parseInstant("yesterday", "start time")).to.throw(MonitorSettingsError, 'start time "yesterday"');
        expect(() => resolveSettings(["--endpoint", "e"], {})).to.throw(MonitorSettingsError, "--schedule");
        expect(() => resolveSettings(["--bogus"], {})).to.throw(MonitorSettingsError, "--capture DIR");
    });

    it("fits the thresholds of every model in both stack files, and extreme ones, in one 256-character value", () => {
        for (const stack of ["staging", "prod"]) {
            const config = readStackFile(process.cwd(), stack);
            for (const [name, model] of Object.entries(config.models)) {
                const text = encodeMonitorThresholds(thresholdsOf(jobModelConfig(name, model)));
                expect(text.length, `${stack}/${name}`).to.be.at.most(ENVIRONMENT_VALUE_MAX);
                expect(decodeMonitorThresholds(text)).to.deep.equal(thresholdsOf(jobModelConfig(name, model)));
            }
        }
        // Values with many digits are carried to 6 significant digits and still fit.
        const ugly = Object.fromEntries(
            Object.keys(defaultThresholds()).map((k) => [k, k === "minRecords" ? 1000000 : 1.2345678901234568e-7]),
        );
        const text = encodeMonitorThresholds(ugly as any);
        expect(text.length).to.be.at.most(ENVIRONMENT_VALUE_MAX);
        expect(decodeMonitorThresholds(text).classPsi).to.equal(1.23457e-7);
    });

    it("reports every missing flag at once", () => {
        let error: Error | undefined;
        try {
            resolveSettings(["--config", dir], {});
        } catch (e) {
            error = e as Error;
        }
        expect(error).to.be.instanceOf(MonitorSettingsError);
        expect(error!.message).to.contain("--endpoint NAME").and.to.contain("--schedule NAME");
        expect(() => resolveSettings(["--stack", "staging"], {})).to.throw(MonitorSettingsError, "--model M");
    });

    it("takes the endpoint, the schedule and the classes from --stack and --model, as the README's command runs it", () => {
        const config = readStackFile(process.cwd(), "staging");
        const name = Object.keys(config.models)[0];
        const s = resolveSettings(
            [
                "--capture",
                "./capture",
                "--baseline",
                "./eval/monitoring_baseline.json",
                "--output",
                "./monitoring",
                "--stack",
                "staging",
                "--model",
                name,
                "--start-time",
                "2026-11-01T00:00:00Z",
                "--end-time",
                "2026-11-02T00:00:00Z",
            ],
            {},
        );
        expect(s.endpoint).to.equal(`vision-mlops-staging-${name}`);
        expect(s.schedule).to.equal(`vision-mlops-staging-${name}-monitor`);
        expect(s.expectedClasses).to.deep.equal({ count: config.models[name].classes.length, names: config.models[name].classes });
    });

    it("refuses a baseline whose classes are not the model's", async () => {
        const baseline = join(dir, "monitoring_baseline.json");
        writeFileSync(baseline, JSON.stringify(await buildBaseline(20)));
        expect(() => readBaseline(baseline, { count: 5 })).to.throw(
            JobError,
            "is for 3 classes (red-sign, green-sign, blue-sign) but the model has 5",
        );
        expect(() => readBaseline(baseline, { count: 3, names: ["a", "b", "c"] })).to.throw(JobError, "(a, b, c)");
        expect(readBaseline(baseline, { count: 3, names: CLASSES }).classes).to.deep.equal(CLASSES);
    });
});

describe("monitor settings: every flag's rule and default", () => {
    const env = () => ({ [MONITOR_THRESHOLDS_ENV]: encodeMonitorThresholds(defaultThresholds()) });
    const window = ["--start-time", "2026-01-10T12:00:00Z", "--end-time", "2026-01-10T13:00:00Z"];
    const base = ["--endpoint", "e", "--schedule", "s", ...window];
    const resolve = (...flags: string[]) => resolveSettings([...base, ...flags], env());

    it("takes whole numbers from their minimum up, naming the flag otherwise", () => {
        const s = resolve("--image-sample", "1", "--max-line-bytes", "1024", "--claim-lease", "1", "--shards", "2", "--class-count", "2");
        expect([s.imageSampleSize, s.maxLineBytes, s.claimLeaseSeconds, s.shards, s.expectedClasses]).to.deep.equal([
            1,
            1024,
            1,
            2,
            { count: 2 },
        ]);
        const refused: Array<[string, string, string]> = [
            ["--image-sample", "0", '--image-sample "0" must be a whole number >= 1'],
            ["--max-line-bytes", "1023", '--max-line-bytes "1023" must be a whole number >= 1024'],
            ["--claim-lease", "1.5", '--claim-lease "1.5" must be a whole number >= 1'],
            ["--shards", "two", '--shards "two" must be a whole number >= 1'],
            ["--class-count", "1", '--class-count "1" must be a whole number >= 2'],
        ];
        for (const [flag, value, message] of refused) expect(() => resolve(flag, value), flag).to.throw(MonitorSettingsError, message);
        const defaults = resolve();
        expect([
            defaults.imageSampleSize,
            defaults.maxLineBytes,
            defaults.claimLeaseSeconds,
            defaults.shards,
            defaults.expectedClasses,
        ]).to.deep.equal([undefined, undefined, undefined, undefined, undefined]);
    });

    it("passes the run's names and folders through, and takes an empty value as not given", () => {
        const given = resolve(
            ...["--upload", "s3://b/m/monitoring/e/s/", "--kms-key", "arn:aws:kms:eu-west-1:1:key/k", "--run-id", "job-1"],
            ...["--partial-output", "/p", "--merge-from", "/m", "--list-manifest", "/l", "--host", "algo-2", "--put-metrics", "NS"],
            ...["--ground-truth", "/gt", "--metric-files", "/mf"],
        );
        expect(given).to.deep.include({
            upload: "s3://b/m/monitoring/e/s/",
            uploadKmsKeyId: "arn:aws:kms:eu-west-1:1:key/k",
            runId: "job-1",
            partialOutput: "/p",
            mergeFrom: "/m",
            listManifest: "/l",
            host: "algo-2",
            putMetricsNamespace: "NS",
            groundTruth: "/gt",
            metricFiles: "/mf",
        });
        const empty = resolve(
            ...["--upload", "", "--kms-key", "", "--run-id", "", "--partial-output", "", "--merge-from", "", "--list-manifest", ""],
            ...["--put-metrics", ""],
        );
        expect([empty.upload, empty.uploadKmsKeyId, empty.runId, empty.partialOutput, empty.mergeFrom, empty.listManifest]).to.deep.equal([
            undefined,
            undefined,
            undefined,
            undefined,
            undefined,
            undefined,
        ]);
        expect(empty.putMetricsNamespace).to.equal(undefined);
    });

    it("finds the baseline file in a folder, and writes metric files only when Model Monitor enables them", () => {
        const dir = mkdtempSync(join(tmpdir(), "monitor-baseline-"));
        try {
            expect(resolve("--baseline", dir).baseline).to.equal(join(dir, "monitoring_baseline.json"));
            expect(resolve("--baseline", join(dir, "b.json")).baseline).to.equal(join(dir, "b.json"));
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
        expect(resolveSettings(base, { ...env(), publish_cloudwatch_metrics: "ENABLED" }).metricFiles).to.equal(
            "/opt/ml/output/metrics/cloudwatch",
        );
        expect(resolve().metricFiles).to.equal(undefined);
    });

    it("takes the thresholds from the environment in the pipeline, and from model.json only where no variable says", () => {
        expect(resolve().thresholds).to.deep.equal(defaultThresholds());
        // Neither Model Monitor nor the pipeline: the default model.json, which does not exist here.
        expect(() => resolveSettings(base, {})).to.throw(
            JobError,
            "model config /opt/ml/processing/input/config/model.json does not exist",
        );
        // Model Monitor without the variable: named, not a missing model.json.
        expect(() => resolveSettings(base, { dataset_source: "/opt/ml/processing/endpointdata" })).to.throw(
            MonitorSettingsError,
            `the thresholds are missing: a Model Monitor job definition must set the ${MONITOR_THRESHOLDS_ENV} environment variable ` +
                "(compact JSON of the model's drift thresholds and confidenceThreshold)",
        );
    });

    it("names what is wrong with the thresholds variable: not JSON, not an object, or keys missing", () => {
        expect(() => decodeMonitorThresholds("{classPsi", "T")).to.throw(MonitorSettingsError, /^T is not JSON \(.+\): \{classPsi$/);
        expect(() => decodeMonitorThresholds("x".repeat(100), "T")).to.throw(MonitorSettingsError, new RegExp(`: ${"x".repeat(80)}$`));
        const keys = MONITOR_THRESHOLD_KEYS.join(", ");
        expect(() => decodeMonitorThresholds("5", "T")).to.throw(MonitorSettingsError, `T must be a JSON object with ${keys}`);
        expect(() => decodeMonitorThresholds("null", "T")).to.throw(MonitorSettingsError, `T must be a JSON object with ${keys}`);
        const text = JSON.stringify({ ...defaultThresholds(), classPsi: "0.2", minRecords: undefined });
        expect(() => decodeMonitorThresholds(text, "T")).to.throw(
            MonitorSettingsError,
            `T lacks numeric classPsi, minRecords; it must carry ${keys}`,
        );
    });

    it("reads ISO 8601 times with Model Monitor's spaces, and nothing looser", () => {
        expect(parseInstant(" 2019-12-01T16:  20: 00Z ", "t").toISOString()).to.equal("2019-12-01T16:20:00.000Z");
        expect(parseInstant("2026-01-10 13:10:02+00:00", "t").toISOString()).to.equal("2026-01-10T13:10:02.000Z");
        for (const text of ["2026-01-10", "x2026-01-10T12:00:00Z", "2026-01-10T25:00:00Z"])
            expect(() => parseInstant(text, "start time"), text).to.throw(
                MonitorSettingsError,
                `start time "${text}" is not an ISO 8601 time such as 2026-01-31T13:00:00Z`,
            );
        expect(() =>
            resolveSettings(
                ["--endpoint", "e", "--schedule", "s", "--start-time", "2026-01-10", "--end-time", "2026-01-10T13:00:00Z"],
                env(),
            ),
        ).to.throw('start time "2026-01-10"');
        expect(() =>
            resolveSettings(["--endpoint", "e", "--schedule", "s", "--start-time", "2026-01-10T12:00:00Z", "--end-time", "soon"], env()),
        ).to.throw('end time "soon"');
        expect(() => resolveSettings(["--endpoint", "e", "--schedule", "s", "--execution-time", "later"], env())).to.throw(
            '--execution-time "later"',
        );
    });

    it("takes an empty or AUTO time as the last whole period, refuses an empty window and an unknown period", () => {
        const auto = resolveSettings(
            [
                "--endpoint",
                "e",
                "--schedule",
                "s",
                "--start-time",
                "",
                "--end-time",
                " AUTO ",
                "--execution-time",
                "2026-01-10T13:10:00Z",
                "--period",
                "daily",
            ],
            env(),
        );
        expect(auto.window).to.deep.equal({ start: new Date("2026-01-09T00:00:00Z"), end: new Date("2026-01-10T00:00:00Z") });
        expect(() => resolveSettings(["--endpoint", "e", "--schedule", "s", "--period", "weekly"], env())).to.throw(
            MonitorSettingsError,
            '--period "weekly" must be hourly or daily',
        );
        expect(() =>
            resolveSettings(
                ["--endpoint", "e", "--schedule", "s", "--start-time", "2026-01-10T12:00:00Z", "--end-time", "2026-01-10T12:00:00Z"],
                env(),
            ),
        ).to.throw(MonitorSettingsError, "the window ends (2026-01-10T12:00:00.000Z) before it starts (2026-01-10T12:00:00.000Z)");
    });

    it("names every missing flag in one message, and refuses a flag it does not know with the usage", () => {
        expect(() => resolveSettings(["--stack", "staging"], env())).to.throw(
            MonitorSettingsError,
            "missing: --model M (with --stack, the model whose thresholds apply); " +
                "--endpoint NAME (Model Monitor sets sagemaker_endpoint_name; --stack S --model M implies it); " +
                "--schedule NAME (Model Monitor sets sagemaker_monitoring_schedule_name; --stack S --model M implies it)",
        );
        let error: Error | undefined;
        try {
            resolve("--bogus");
        } catch (e) {
            error = e as Error;
        }
        expect(error).to.be.instanceOf(MonitorSettingsError);
        expect(error!.name).to.equal("MonitorSettingsError");
        expect(error!.message)
            .to.match(/^Unknown option '--bogus'/)
            .and.to.contain("\n\nmonitor: compares captured endpoint traffic");
    });
});
