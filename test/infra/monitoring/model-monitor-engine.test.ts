import { expect } from "chai";
import { commonJobFlags, monitoringOutputUri } from "../../../infra/monitoring/job";
import { monitoringScheduleConfig } from "../../../infra/monitoring/model-monitor-engine";
import { KEY, monitorJob } from "./support";

describe("infra/monitoring/job", () => {
    it("passes every engine the image sample and the claim lease, and the class count only when known", () => {
        expect(commonJobFlags(monitorJob)).to.deep.equal(["--image-sample", "2000", "--claim-lease", "3000"]);
        expect(commonJobFlags({ ...monitorJob, classCount: 43 })).to.deep.equal([
            "--image-sample",
            "2000",
            "--claim-lease",
            "3000",
            "--class-count",
            "43",
        ]);
        expect(commonJobFlags({ ...monitorJob, classCount: 0 }).slice(4)).to.deep.equal(["--class-count", "0"]);
    });

    it("uploads runs under <model>/monitoring/<endpoint>/<schedule>/ of the capture bucket", () => {
        expect(monitoringOutputUri("capture-bucket", "traffic-signs", "ep", "sched")).to.equal(
            "s3://capture-bucket/traffic-signs/monitoring/ep/sched/",
        );
    });
});

describe("infra/monitoring/model-monitor-engine", () => {
    it("runs the jobs image hourly as a DataQuality schedule with the Security Hub settings", () => {
        expect(monitoringScheduleConfig({ ...monitorJob, classCount: 43 })).to.deep.equal({
            monitoringType: "DataQuality",
            scheduleConfig: { scheduleExpression: "cron(0 * ? * * *)" },
            monitoringJobDefinition: {
                roleArn: "arn:aws:iam::123456789012:role/monitor",
                monitoringAppSpecification: {
                    imageUri: monitorJob.jobsImageUri,
                    containerEntrypoints: ["/app/entrypoint.sh", "monitor"],
                    containerArguments: ["--image-sample", "2000", "--claim-lease", "3000", "--class-count", "43"],
                },
                environment: { monitor_thresholds: '{"classPsi":0.2}', publish_cloudwatch_metrics: "Enabled" },
                baseline: { statisticsResource: { s3Uri: "s3://curated-bucket/traffic-signs/baselines/abc/monitoring_baseline.json" } },
                monitoringInputs: {
                    endpointInput: {
                        endpointName: "ep",
                        localPath: "/opt/ml/processing/input/endpoint",
                        s3InputMode: "File",
                        s3DataDistributionType: "FullyReplicated",
                    },
                },
                monitoringOutputConfig: {
                    kmsKeyId: KEY,
                    monitoringOutputs: {
                        s3Output: {
                            // No trailing slash: Model Monitor appends /<endpoint>/<schedule>/yyyy/mm/dd/hh/ itself.
                            s3Uri: "s3://capture-bucket/traffic-signs/monitoring",
                            localPath: "/opt/ml/processing/resultdata",
                            s3UploadMode: "EndOfJob",
                        },
                    },
                },
                monitoringResources: {
                    clusterConfig: { instanceType: "ml.m5.large", instanceCount: 1, volumeSizeInGb: 30, volumeKmsKeyId: KEY },
                },
                networkConfig: { enableNetworkIsolation: true, enableInterContainerTrafficEncryption: true },
                stoppingConditions: [{ maxRuntimeInSeconds: 3000 }],
            },
        });
    });

    it("runs daily at midnight, and gives no volume key to an instance whose storage is NVMe (AWS refuses one there)", () => {
        const config = monitoringScheduleConfig({ ...monitorJob, period: "daily", instanceType: "ml.m5d.large" });
        expect(config.scheduleConfig).to.deep.equal({ scheduleExpression: "cron(0 0 ? * * *)" });
        expect((config.monitoringJobDefinition as { monitoringResources: unknown }).monitoringResources).to.deep.equal({
            clusterConfig: { instanceType: "ml.m5d.large", instanceCount: 1, volumeSizeInGb: 30 },
        });
    });
});
