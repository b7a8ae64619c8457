import { MonitorJobInput } from "../../../infra/monitoring/job";

/** The data key of the capture bucket. */
export const KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
/** One model's monitor job on an instance with EBS storage, hourly, one instance. */
export const monitorJob: MonitorJobInput = {
    model: "traffic-signs",
    endpointName: "ep",
    period: "hourly",
    roleArn: "arn:aws:iam::123456789012:role/monitor",
    captureBucket: "capture-bucket",
    baselineUri: "s3://curated-bucket/traffic-signs/baselines/abc/monitoring_baseline.json",
    kmsKeyArn: KEY,
    jobsImageUri: "123456789012.dkr.ecr.us-east-1.amazonaws.com/jobs@sha256:" + "a".repeat(64),
    instanceType: "ml.m5.large",
    volumeSizeGb: 30,
    maxRuntimeSeconds: 3000,
    thresholdsJson: '{"classPsi":0.2}',
    imageSampleSize: 2000,
    instanceCount: 1,
};
