import { prefixes } from "../naming";
import { MonitoringPeriod } from "./schedule";

/** What either engine's monitor job is built from. */
export interface MonitorJobInput {
    readonly model: string;
    readonly endpointName: string;
    readonly period: MonitoringPeriod;
    readonly roleArn: string;
    readonly captureBucket: string;
    readonly baselineUri: string;
    readonly kmsKeyArn: string;
    readonly jobsImageUri: string;
    readonly instanceType: string;
    readonly volumeSizeGb: number;
    readonly maxRuntimeSeconds: number;
    /** `encodeMonitorThresholds` of the model's thresholds. */
    readonly thresholdsJson: string;
    /** Images decoded per window at most. */
    readonly imageSampleSize: number;
    /** Processing instances (pipeline engine): above 1, a sharded run (list, monitor on N instances, merge). */
    readonly instanceCount: number;
    /** The model's number of classes, when known. */
    readonly classCount?: number;
}

/** Flags every engine passes the job: the image sample, the claim's lease (the job's time limit), the class count. */
export function commonJobFlags(i: MonitorJobInput): string[] {
    return [
        "--image-sample",
        String(i.imageSampleSize),
        "--claim-lease",
        String(i.maxRuntimeSeconds),
        ...(i.classCount !== undefined ? ["--class-count", String(i.classCount)] : []),
    ];
}

/** `s3://<capture bucket>/<model>/monitoring/<endpoint>/<schedule>/`: runs add `yyyy/mm/dd/hh/` (MONITORING_OUTPUT_FILES). */
export function monitoringOutputUri(captureBucket: string, model: string, endpoint: string, schedule: string): string {
    return `s3://${captureBucket}/${prefixes.monitoringModel(model)}${endpoint}/${schedule}/`;
}
