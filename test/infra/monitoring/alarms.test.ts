import { expect } from "chai";
import { AlarmInput, AlarmSpec, monitorAlarmSpecs, retrainEventPattern } from "../../../infra/monitoring/alarms";

const thresholds = {
    classPsi: 0.2,
    chiSquarePValue: 0.01,
    confidencePsi: 0.2,
    imagePropertyPsi: 0.25,
    lowConfidenceRate: 0.3,
    decodeErrorRate: 0.05,
    accuracyDrop: 0.1,
    minRecords: 100,
    confidenceThreshold: 0.6,
};
const base: AlarmInput = {
    engine: "model-monitor",
    model: "traffic-signs",
    endpointName: "ep",
    scheduleName: "sched",
    period: "hourly",
    thresholds,
    namespace: "VisionMLOps/Monitoring/ep",
};
const dimensions = { Endpoint: "ep", MonitoringSchedule: "sched" };
/** A verdict alarm as a reviewer would write it by hand: Maximum over one hour, missing data not breaching. */
const verdict = (id: string, metricName: string, comparisonOperator: AlarmSpec["comparisonOperator"], threshold: number, text: string) => ({
    id,
    name: `sched-${id}`,
    description: `traffic-signs: ${text}`,
    namespace: "VisionMLOps/Monitoring/ep",
    metricName,
    dimensions,
    statistic: "Maximum",
    period: 3600,
    evaluationPeriods: 1,
    comparisonOperator,
    threshold,
});
const common = [
    verdict(
        "drift",
        "drift_detected",
        "GreaterThanOrEqualToThreshold",
        1,
        "the monitor found drift in predicted classes, confidence or image properties; see report.html of the run",
    ),
    verdict("low-confidence", "low_confidence_rate", "GreaterThanThreshold", 0.3, "more than 30% of predictions are below confidence 0.6"),
    verdict("decode-errors", "decode_error_rate", "GreaterThanThreshold", 0.05, "more than 5% of captured requests could not be decoded"),
    verdict(
        "unseen-content-types",
        "unseen_content_types",
        "GreaterThanOrEqualToThreshold",
        1,
        "requests carry image types never seen in training",
    ),
    {
        ...verdict(
            "not-judged",
            "not_judged",
            "GreaterThanOrEqualToThreshold",
            1,
            "3 hourly monitoring runs in a row judged nothing (no or too few captured records, or no run at all): " +
                "check the endpoint's data capture and the monitoring schedule",
        ),
        evaluationPeriods: 3,
        treatMissingData: "breaching",
    },
];

describe("infra/monitoring/alarms", () => {
    it("matches only the drift alarm's own transition into ALARM", () => {
        expect(retrainEventPattern("arn:aws:cloudwatch:us-east-1:123456789012:alarm:sched-drift-persistent")).to.deep.equal({
            source: ["aws.cloudwatch"],
            "detail-type": ["CloudWatch Alarm State Change"],
            resources: ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:sched-drift-persistent"],
            detail: { state: { value: ["ALARM"] } },
        });
    });

    it("Model Monitor: five verdict alarms per schedule, and none on accuracy, which that engine never measures", () => {
        expect(monitorAlarmSpecs(base)).to.deep.equal(common);
    });

    it("Model Monitor: no failed-run alarm even when a pipeline name is given", () => {
        expect(monitorAlarmSpecs({ ...base, monitoringPipelineName: "p" }).map((s) => s.id)).to.not.include("run-failed");
    });

    it("pipeline engine: the accuracy drop, and failed runs of the monitoring pipeline summed over the period", () => {
        expect(monitorAlarmSpecs({ ...base, engine: "pipeline" })).to.deep.equal([
            ...common,
            verdict(
                "accuracy-drop",
                "accuracy_drop",
                "GreaterThanThreshold",
                0.1,
                "accuracy on labelled traffic fell more than 0.1 below the evaluation baseline",
            ),
        ]);
        const specs = monitorAlarmSpecs({ ...base, engine: "pipeline", monitoringPipelineName: "vision-mlops-staging-ts-monitoring" });
        expect(specs.map((s) => s.id)).to.deep.equal([...common.map((s) => s.id), "accuracy-drop", "run-failed"]);
        expect(specs[6]).to.deep.equal({
            id: "run-failed",
            name: "sched-run-failed",
            description: "traffic-signs: a monitoring pipeline run failed",
            namespace: "AWS/Sagemaker/ModelBuildingPipeline",
            metricName: "ExecutionFailed",
            dimensions: { PipelineName: "vision-mlops-staging-ts-monitoring" },
            statistic: "Sum",
            period: 3600,
            evaluationPeriods: 1,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
            threshold: 1,
        });
    });

    it("daily runs: a day per period, the model's own unjudged count, and retraining after N drifting runs", () => {
        const specs = monitorAlarmSpecs({ ...base, period: "daily", unjudgedPeriods: 2, retrainAfterPeriods: 4 });
        expect(specs.every((s) => s.period === 86400)).to.equal(true);
        const notJudged = specs.find((s) => s.id === "not-judged")!;
        expect(notJudged.evaluationPeriods).to.equal(2);
        expect(notJudged.description).to.match(/^traffic-signs: 2 daily monitoring runs in a row judged nothing /);
        expect(specs[specs.length - 1]).to.deep.equal({
            ...verdict(
                "drift-persistent",
                "drift_detected",
                "GreaterThanOrEqualToThreshold",
                1,
                "drift in 4 consecutive daily runs; the training pipeline is started",
            ),
            period: 86400,
            evaluationPeriods: 4,
        });
    });
});
