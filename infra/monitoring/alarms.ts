import { MONITORING_METRICS, MonitorThresholds } from "../job-contract";
import { DEFAULT_UNJUDGED_PERIODS, MonitoringEngine, MonitoringPeriod, PERIOD_SECONDS } from "./schedule";

/** Matches the persistent-drift alarm entering ALARM. */
export function retrainEventPattern(alarmArn: string): Record<string, unknown> {
    return {
        source: ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        resources: [alarmArn],
        detail: { state: { value: ["ALARM"] } },
    };
}

export interface AlarmSpec {
    /** Child resource suffix. */
    readonly id: string;
    readonly name: string;
    readonly description: string;
    readonly namespace: string;
    readonly metricName: string;
    readonly dimensions: Record<string, string>;
    readonly statistic: "Maximum" | "Sum";
    readonly period: number;
    readonly evaluationPeriods: number;
    readonly comparisonOperator: "GreaterThanThreshold" | "GreaterThanOrEqualToThreshold";
    readonly threshold: number;
    /** Defaults to notBreaching. */
    readonly treatMissingData?: "breaching" | "notBreaching";
}

export interface AlarmInput {
    readonly engine: MonitoringEngine;
    readonly model: string;
    readonly endpointName: string;
    readonly scheduleName: string;
    readonly period: MonitoringPeriod;
    readonly thresholds: MonitorThresholds;
    /** The CloudWatch namespace the job publishes to (`monitoringNamespace`). */
    readonly namespace: string;
    /** Drifting runs in a row that start the training pipeline; only when the stack can start one. */
    readonly retrainAfterPeriods?: number;
    /** Periods in a row without a verdict before the not-judged alarm fires. Defaults to 3. */
    readonly unjudgedPeriods?: number;
    readonly monitoringPipelineName?: string;
}

/**
 * Alarms on what the job concluded (it publishes drift metrics only for windows with enough records, so
 * missing data is "not breaching"): drift, low-confidence rate, undecodable payloads, image types never
 * seen in training, accuracy drop; for the pipeline engine also failed monitoring runs, since a monitor
 * that stopped running would otherwise look healthy; with retraining, drift in N consecutive runs.
 */
export function monitorAlarmSpecs(i: AlarmInput): AlarmSpec[] {
    const namespace = i.namespace;
    const dimensions = { Endpoint: i.endpointName, MonitoringSchedule: i.scheduleName };
    const period = PERIOD_SECONDS[i.period];
    const t = i.thresholds;
    const M = MONITORING_METRICS;
    const spec = (
        id: string,
        metricName: string,
        comparisonOperator: AlarmSpec["comparisonOperator"],
        threshold: number,
        description: string,
        evaluationPeriods = 1,
    ): AlarmSpec => ({
        id,
        name: `${i.scheduleName}-${id}`,
        description: `${i.model}: ${description}`,
        namespace,
        metricName,
        dimensions,
        statistic: "Maximum",
        period,
        evaluationPeriods,
        comparisonOperator,
        threshold,
    });
    const specs: AlarmSpec[] = [
        spec(
            "drift",
            M.driftDetected,
            "GreaterThanOrEqualToThreshold",
            1,
            "the monitor found drift in predicted classes, confidence or image properties; see report.html of the run",
        ),
        spec(
            "low-confidence",
            M.lowConfidenceRate,
            "GreaterThanThreshold",
            t.lowConfidenceRate,
            `more than ${t.lowConfidenceRate * 100}% of predictions are below confidence ${t.confidenceThreshold}`,
        ),
        spec(
            "decode-errors",
            M.decodeErrorRate,
            "GreaterThanThreshold",
            t.decodeErrorRate,
            `more than ${t.decodeErrorRate * 100}% of captured requests could not be decoded`,
        ),
        spec(
            "unseen-content-types",
            M.unseenContentTypes,
            "GreaterThanOrEqualToThreshold",
            1,
            "requests carry image types never seen in training",
        ),
        {
            // Published by every run; missing data counts too, since a monitor that stopped running judges nothing.
            ...spec(
                "not-judged",
                M.notJudged,
                "GreaterThanOrEqualToThreshold",
                1,
                `${i.unjudgedPeriods ?? DEFAULT_UNJUDGED_PERIODS} ${i.period} monitoring runs in a row judged nothing (no or too few ` +
                    "captured records, or no run at all): check the endpoint's data capture and the monitoring schedule",
                i.unjudgedPeriods ?? DEFAULT_UNJUDGED_PERIODS,
            ),
            treatMissingData: "breaching",
        },
    ];
    // Model Monitor's inline job definition has no ground-truth input and its network isolation keeps the job off
    // S3, so only the pipeline engine measures accuracy; an alarm that could never fire is left out.
    if (i.engine === "pipeline")
        specs.push(
            spec(
                "accuracy-drop",
                M.accuracyDrop,
                "GreaterThanThreshold",
                t.accuracyDrop,
                `accuracy on labelled traffic fell more than ${t.accuracyDrop} below the evaluation baseline`,
            ),
        );
    if (i.engine === "pipeline" && i.monitoringPipelineName)
        specs.push({
            id: "run-failed",
            name: `${i.scheduleName}-run-failed`,
            description: `${i.model}: a monitoring pipeline run failed`,
            namespace: "AWS/Sagemaker/ModelBuildingPipeline",
            metricName: "ExecutionFailed",
            dimensions: { PipelineName: i.monitoringPipelineName },
            statistic: "Sum",
            period,
            evaluationPeriods: 1,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
            threshold: 1,
        });
    if (i.retrainAfterPeriods !== undefined)
        specs.push(
            spec(
                "drift-persistent",
                M.driftDetected,
                "GreaterThanOrEqualToThreshold",
                1,
                `drift in ${i.retrainAfterPeriods} consecutive ${i.period} runs; the training pipeline is started`,
                i.retrainAfterPeriods,
            ),
        );
    return specs;
}
