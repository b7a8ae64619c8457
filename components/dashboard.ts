import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { INFERENCE_METRICS, inferenceNamespace } from "../infra/inference-workflow";
import { MONITORING_METRICS, monitoringNamespace, MonitorThresholds } from "../infra/job-contract";
import { Environment, fitName, PROJECT } from "../infra/naming";
import type { MonitoringEngine } from "../infra/monitoring/schedule";

/** One model's row of the dashboard: its endpoint, its monitoring and its pipelines. */
export interface DashboardModel {
    readonly model: string;
    readonly endpointName: string;
    /** The endpoint's production variant. Defaults to AllTraffic. */
    readonly variantName?: string;
    /** The monitoring schedule name (the MonitoringSchedule dimension of the monitor's metrics). */
    readonly scheduleName: string;
    /** Which engine publishes the monitor's metrics (decides their namespace). Defaults to pipeline. */
    readonly engine?: MonitoringEngine;
    /** Drawn as threshold lines on the drift and rate charts when given. */
    readonly thresholds?: Pick<
        MonitorThresholds,
        "classPsi" | "confidencePsi" | "imagePropertyPsi" | "lowConfidenceRate" | "decodeErrorRate"
    >;
    readonly trainingPipelineName?: string;
    readonly monitoringPipelineName?: string;
    /** The model's inference workflow, when it has one: its outcome counts and its executions are charted. */
    readonly inference?: DashboardInference;
}

export interface DashboardInference {
    /** The Environment dimension the workflow's functions publish with (the Model dimension is the model). */
    readonly environment: string;
    /** The state machine (the StateMachineArn dimension of Step Functions' execution metrics). */
    readonly stateMachineArn: string;
}

export interface DashboardArgs {
    readonly environment: Environment;
    readonly region: string;
    /** One row per model; a model may wait on values not known until deploy (a state machine's ARN). */
    readonly models: readonly pulumi.Input<DashboardModel>[];
}

/**
 * The stack's CloudWatch dashboard: per model, endpoint traffic, latency and errors, the monitor's drift
 * scores, low-confidence and decode-error rates, its verdicts, the training and monitoring pipelines'
 * executions, and the inference workflow's outcomes, confidence and executions.
 */
export class Dashboard extends pulumi.ComponentResource {
    public readonly dashboard: aws.cloudwatch.Dashboard;
    public readonly dashboardName: pulumi.Output<string>;

    constructor(name: string, args: DashboardArgs, opts?: pulumi.ComponentResourceOptions) {
        super("vision-mlops:monitoring:Dashboard", name, {}, opts);
        this.dashboard = new aws.cloudwatch.Dashboard(
            `${name}-dashboard`,
            {
                dashboardName: dashboardName(args.environment),
                dashboardBody: pulumi
                    .all([...args.models])
                    .apply((models) => JSON.stringify(dashboardBody({ region: args.region, models }))),
            },
            { parent: this },
        );
        this.dashboardName = this.dashboard.dashboardName;
        this.registerOutputs({ dashboardName: this.dashboardName });
    }
}

export function dashboardName(environment: Environment): string {
    return fitName([PROJECT, environment], 255);
}

type MetricLine = Array<string | Record<string, unknown>>;

interface Widget {
    readonly type: "metric" | "text";
    readonly x: number;
    readonly y: number;
    readonly width: number;
    readonly height: number;
    readonly properties: Record<string, unknown>;
}

/** CloudWatch's grid is 24 units wide; three charts per row. */
const GRID_WIDTH = 24;
const CHART_WIDTH = 8;
const CHART_HEIGHT = 6;
const HEADER_HEIGHT = 1;

/** The dashboard body (CloudWatch's JSON), built from plain values so it can be tested without a cloud. */
export function dashboardBody(args: { readonly region: string; readonly models: readonly DashboardModel[] }): { widgets: Widget[] } {
    const widgets: Widget[] = [];
    let y = 0;
    for (const m of args.models) {
        widgets.push({
            type: "text",
            x: 0,
            y,
            width: GRID_WIDTH,
            height: HEADER_HEIGHT,
            properties: { markdown: `## ${m.model} · endpoint \`${m.endpointName}\` · monitoring \`${m.scheduleName}\`` },
        });
        y += HEADER_HEIGHT;
        const charts = modelCharts(args.region, m);
        charts.forEach((properties, i) => {
            widgets.push({
                type: "metric",
                x: (i * CHART_WIDTH) % GRID_WIDTH,
                y: y + Math.floor((i * CHART_WIDTH) / GRID_WIDTH) * CHART_HEIGHT,
                width: CHART_WIDTH,
                height: CHART_HEIGHT,
                properties,
            });
        });
        y += Math.ceil((charts.length * CHART_WIDTH) / GRID_WIDTH) * CHART_HEIGHT;
    }
    return { widgets };
}

function modelCharts(region: string, m: DashboardModel): Record<string, unknown>[] {
    const endpoint = ["EndpointName", m.endpointName, "VariantName", m.variantName ?? "AllTraffic"];
    const ns = monitoringNamespace(m.engine ?? "pipeline", m.endpointName);
    const monitor = (metric: string, label: string, stat = "Maximum"): MetricLine => [
        ns,
        metric,
        "Endpoint",
        m.endpointName,
        "MonitoringSchedule",
        m.scheduleName,
        { stat, label },
    ];
    const line = (label: string, value: number | undefined) => (value === undefined ? [] : [{ label, value }]);
    const annotations = (...lines: Array<Array<{ label: string; value: number }>>) => {
        const horizontal = lines.flat();
        return horizontal.length ? { annotations: { horizontal } } : {};
    };
    const chart = (title: string, metrics: MetricLine[], extra: Record<string, unknown> = {}) => ({
        title,
        region,
        view: "timeSeries",
        stacked: false,
        metrics,
        ...extra,
    });
    const M = MONITORING_METRICS;
    const t = m.thresholds;
    const charts: Record<string, unknown>[] = [
        chart(
            "Invocations and errors",
            [
                ["AWS/SageMaker", "Invocations", ...endpoint, { stat: "Sum", label: "invocations" }],
                ["AWS/SageMaker", "Invocation4XXErrors", ...endpoint, { stat: "Sum", label: "4XX" }],
                ["AWS/SageMaker", "Invocation5XXErrors", ...endpoint, { stat: "Sum", label: "5XX" }],
            ],
            { period: 300 },
        ),
        chart(
            "Model latency (microseconds)",
            [
                ["AWS/SageMaker", "ModelLatency", ...endpoint, { stat: "p50", label: "p50" }],
                ["AWS/SageMaker", "ModelLatency", ...endpoint, { stat: "p99", label: "p99" }],
            ],
            { period: 300 },
        ),
        chart(
            "Drift (PSI against the training baseline)",
            [
                monitor(M.classPsi, "predicted classes"),
                monitor(M.confidencePsi, "confidence"),
                monitor(M.imagePropertyPsiMax, "image properties (max)"),
            ],
            {
                period: 3600,
                ...annotations(line("class PSI limit", t?.classPsi), line("image PSI limit", t?.imagePropertyPsi)),
            },
        ),
        chart(
            "Low-confidence and undecodable requests (share)",
            [monitor(M.lowConfidenceRate, "low confidence"), monitor(M.decodeErrorRate, "undecodable")],
            {
                period: 3600,
                yAxis: { left: { min: 0, max: 1 } },
                ...annotations(line("low-confidence limit", t?.lowConfidenceRate), line("decode-error limit", t?.decodeErrorRate)),
            },
        ),
        chart(
            "Monitoring runs",
            [
                monitor(M.records, "records analysed"),
                monitor(M.violations, "violations"),
                monitor(M.driftDetected, "drift detected"),
                monitor(M.notJudged, "not judged (no or too few records)"),
            ],
            { period: 3600 },
        ),
    ];
    const pipelines = [
        ...(m.trainingPipelineName ? [["training", m.trainingPipelineName]] : []),
        ...(m.monitoringPipelineName ? [["monitoring", m.monitoringPipelineName]] : []),
    ];
    if (pipelines.length)
        charts.push(
            chart(
                "Pipeline executions",
                pipelines.flatMap(([what, name]) =>
                    (["ExecutionStarted", "ExecutionSucceeded", "ExecutionFailed"] as const).map((metric): MetricLine => [
                        "AWS/Sagemaker/ModelBuildingPipeline",
                        metric,
                        "PipelineName",
                        name,
                        { stat: "Sum", label: `${what} ${metric.replace("Execution", "").toLowerCase()}` },
                    ]),
                ),
                { period: 3600, view: "bar" },
            ),
        );
    if (m.inference) charts.push(...inferenceCharts(m.model, m.inference, chart));
    return charts;
}

/** The inference workflow's rows: what became of each image (the review function's counts), confidence, executions. */
function inferenceCharts(
    model: string,
    inference: DashboardInference,
    chart: (title: string, metrics: MetricLine[], extra?: Record<string, unknown>) => Record<string, unknown>,
): Record<string, unknown>[] {
    const ns = inferenceNamespace(model);
    const dims = ["Environment", inference.environment, "Model", model];
    const M = INFERENCE_METRICS;
    const outcomes: Array<[string, string]> = [
        [M.classified, "classified"],
        [M.lowConfidence, "sent to review (low confidence)"],
        [M.correction, "corrections from the page"],
        [M.reviewed, "reviewed"],
        [M.invalidImage, "not a valid image"],
        [M.reviewTimedOut, "review timed out"],
    ];
    const executions: Array<[string, string]> = [
        ["ExecutionsStarted", "started"],
        ["ExecutionsSucceeded", "succeeded"],
        ["ExecutionsFailed", "failed"],
        ["ExecutionsTimedOut", "timed out"],
    ];
    return [
        chart(
            "Inference workflow: images by outcome",
            outcomes.map(([metric, label]): MetricLine => [ns, metric, ...dims, { stat: "Sum", label }]),
            { period: 3600, view: "bar" },
        ),
        chart("Inference workflow: top-1 confidence", [[ns, M.confidence, ...dims, { stat: "Average", label: "average" }]], {
            period: 3600,
            yAxis: { left: { min: 0, max: 1 } },
        }),
        chart(
            "Inference workflow: executions",
            executions.map(([metric, label]): MetricLine => [
                "AWS/States",
                metric,
                "StateMachineArn",
                inference.stateMachineArn,
                { stat: "Sum", label },
            ]),
            { period: 3600 },
        ),
    ];
}
