import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { expect } from "chai";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join, relative } from "path";
import { MONITORING_NAMESPACE } from "../../../infra/job-contract";
import { JobError } from "../../../jobs/lib/errors";
import { runMonitor } from "../../../jobs/monitor/run";
import { MonitorSettings } from "../../../jobs/monitor/settings";
import { MotoServer, startMoto } from "../../support/moto";
import { buildBaseline, CLASSES, defaultThresholds, Sample, writeCapture } from "./corpus";

/** The pipeline engine's job reads the window's capture objects from S3, publishes metrics and uploads its outputs. */
describe("monitor job on S3 (moto)", function () {
    this.timeout(120_000);
    let moto: MotoServer;
    let s3: S3Client;
    let work: string;
    let samples: Sample[] = [];
    const bucket = "vision-mlops-staging-capture-123456789012-us-east-1";
    const endpoint = "vision-mlops-staging-signs";
    const window = { start: new Date("2026-01-10T12:00:00Z"), end: new Date("2026-01-10T13:00:00Z") };

    before(async () => {
        moto = await startMoto();
        s3 = new S3Client(moto.clientConfig);
        await s3.send(new CreateBucketCommand({ Bucket: bucket }));
        work = mkdtempSync(join(tmpdir(), "monitor-s3-"));
        // Capture files written locally, then put under <model>/capture/ as SageMaker lays them out.
        const local = join(work, "capture");
        samples = await writeCapture(local, 40, {}, { endpoint, start: new Date("2026-01-10T12:05:00Z") }, 7);
        await writeCapture(local, 40, { brightnessShift: 90 }, { endpoint, start: new Date("2026-01-10T14:05:00Z") }, 8);
        const walk = (dir: string): string[] =>
            readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
        for (const file of walk(local))
            await s3.send(
                new PutObjectCommand({
                    Bucket: bucket,
                    Key: `signs/capture/${relative(local, file)}`,
                    Body: require("fs").readFileSync(file),
                }),
            );
        writeFileSync(join(work, "monitoring_baseline.json"), JSON.stringify(await buildBaseline(120)));
        // Labels uploaded an hour after the window for its first 30 requests; labels from before the window are never read.
        const labels = samples
            .slice(0, 30)
            .map((s, i) => JSON.stringify({ inferenceId: `inf-7-${i}`, label: CLASSES[s.trueClass] }))
            .join("\n");
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "signs/ground-truth/2026/01/10/13/labels.jsonl", Body: labels }));
        await s3.send(
            new PutObjectCommand({
                Bucket: bucket,
                Key: "signs/ground-truth/2026/01/09/13/old.jsonl",
                Body: JSON.stringify({ inferenceId: "inf-7-31", label: CLASSES[0] }),
            }),
        );
    });
    after(async () => {
        rmSync(work, { recursive: true, force: true });
        await moto?.stop();
    });

    it("reads only the window's hour folders, publishes metrics and uploads outputs without overwriting", async () => {
        const sent: PutMetricDataCommand[] = [];
        const cloudwatch = {
            send: async (c: PutMetricDataCommand) => {
                sent.push(c);
                return {};
            },
        } as unknown as CloudWatchClient;
        const settings: MonitorSettings = {
            capture: `s3://${bucket}/signs/capture/`,
            groundTruth: `s3://${bucket}/signs/ground-truth/`,
            baseline: join(work, "monitoring_baseline.json"),
            output: join(work, "out"),
            putMetricsNamespace: MONITORING_NAMESPACE,
            upload: `s3://${bucket}/signs/monitoring/${endpoint}/sch/`,
            window,
            endpoint,
            schedule: "sch",
            thresholds: defaultThresholds(),
        };
        const result = await runMonitor(settings, { s3, cloudwatch });
        expect(result.counts.records).to.equal(40);
        expect(result.violations).to.deep.equal([]);
        expect(result.quality!.matched).to.equal(30);

        expect(sent).to.have.length(1);
        const input = sent[0].input;
        expect(input.Namespace).to.equal(MONITORING_NAMESPACE);
        expect(input.MetricData!.find((m) => m.MetricName === "records")!.Value).to.equal(40);
        expect(input.MetricData![0].Dimensions).to.deep.equal([
            { Name: "Endpoint", Value: endpoint },
            { Name: "MonitoringSchedule", Value: "sch" },
        ]);

        const key = `signs/monitoring/${endpoint}/sch/2026/01/10/13/statistics.json`;
        const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        expect(JSON.parse(await object.Body!.transformToString()).dataset.item_count).to.equal(40);

        let error: unknown;
        try {
            await runMonitor({ ...settings, output: join(work, "out-again") }, { s3, cloudwatch });
        } catch (e) {
            error = e;
        }
        expect(error, "the second run of the same window must not replace the first one's outputs").to.be.instanceOf(JobError);
        expect((error as Error).message).to.contain("is complete");
    });
});
