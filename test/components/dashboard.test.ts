import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { Dashboard, dashboardBody } from "../../components/dashboard";
import { MODEL_MONITOR_NAMESPACE, MONITORING_METRICS } from "../../infra/job-contract";
import { find, settled, useMocks } from "../support/mocks";
import { componentTree } from "./support/component-tree";

const SIGNS = {
    model: "traffic-signs",
    endpointName: "vision-mlops-staging-traffic-signs",
    scheduleName: "vision-mlops-staging-traffic-signs-monitor",
    trainingPipelineName: "vision-mlops-staging-traffic-signs-training",
    monitoringPipelineName: "vision-mlops-staging-traffic-signs-monitoring",
    thresholds: { classPsi: 0.2, confidencePsi: 0.2, imagePropertyPsi: 0.25, lowConfidenceRate: 0.2, decodeErrorRate: 0.01 },
    inference: {
        environment: "staging",
        stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:vision-mlops-staging-traffic-signs-inference",
    },
};
const BIKES = {
    model: "bikes",
    endpointName: "vision-mlops-staging-bikes",
    scheduleName: "vision-mlops-staging-bikes-monitor",
    engine: "model-monitor" as const,
};

describe("Dashboard", () => {
    // Built in each test (it takes milliseconds), so a change that breaks it fails the tests, not the loading of this file.
    const body = () => dashboardBody({ region: "us-east-1", models: [SIGNS, BIKES] });
    const titled = (title: string, model: string) => {
        const { widgets } = body();
        const header = widgets.findIndex((w) => w.type === "text" && String(w.properties.markdown).includes(`## ${model} `));
        const next = widgets.findIndex((w, i) => i > header && w.type === "text");
        return widgets.slice(header, next < 0 ? undefined : next).find((w) => w.properties.title === title)!;
    };

    it("charts invocations, 4XX/5XX and p50/p99 latency of each model's endpoint variant", () => {
        const dims = ["EndpointName", "vision-mlops-staging-traffic-signs", "VariantName", "AllTraffic"];
        expect(titled("Invocations and errors", "traffic-signs").properties.metrics).to.deep.equal([
            ["AWS/SageMaker", "Invocations", ...dims, { stat: "Sum", label: "invocations" }],
            ["AWS/SageMaker", "Invocation4XXErrors", ...dims, { stat: "Sum", label: "4XX" }],
            ["AWS/SageMaker", "Invocation5XXErrors", ...dims, { stat: "Sum", label: "5XX" }],
        ]);
        expect(titled("Model latency (microseconds)", "traffic-signs").properties.metrics).to.deep.equal([
            ["AWS/SageMaker", "ModelLatency", ...dims, { stat: "p50", label: "p50" }],
            ["AWS/SageMaker", "ModelLatency", ...dims, { stat: "p99", label: "p99" }],
        ]);
    });

    it("reads drift metrics from the namespace of each model's engine, with threshold lines when given", () => {
        const drift = titled("Drift (PSI against the training baseline)", "traffic-signs").properties;
        expect((drift.metrics as unknown[][])[0]).to.deep.equal([
            `VisionMLOps/Monitoring/${SIGNS.endpointName}`,
            "predicted_class_psi",
            "Endpoint",
            SIGNS.endpointName,
            "MonitoringSchedule",
            SIGNS.scheduleName,
            { stat: "Maximum", label: "predicted classes" },
        ]);
        expect(drift.annotations).to.deep.equal({
            horizontal: [
                { label: "class PSI limit", value: 0.2 },
                { label: "image PSI limit", value: 0.25 },
            ],
        });
        const bikes = titled("Low-confidence and undecodable requests (share)", "bikes").properties;
        expect((bikes.metrics as unknown[][]).map((l) => [l[0], l[1]])).to.deep.equal([
            [MODEL_MONITOR_NAMESPACE, "low_confidence_rate"],
            [MODEL_MONITOR_NAMESPACE, "decode_error_rate"],
        ]);
        expect(bikes).to.not.have.property("annotations");
    });

    it("charts each monitoring run's verdicts, including windows that were not judged", () => {
        const lines = titled("Monitoring runs", "traffic-signs").properties.metrics as unknown[][];
        expect(lines.map((l) => l[1])).to.deep.equal([
            MONITORING_METRICS.records,
            MONITORING_METRICS.violations,
            MONITORING_METRICS.driftDetected,
            MONITORING_METRICS.notJudged,
        ]);
        expect(lines[3][6]).to.deep.equal({ stat: "Maximum", label: "not judged (no or too few records)" });
    });

    it("charts started, succeeded and failed executions of the model's pipelines", () => {
        const lines = titled("Pipeline executions", "traffic-signs").properties.metrics as unknown[][];
        expect(lines.map((l) => [l[0], l[1], l[2], l[3]])).to.deep.equal(
            [SIGNS.trainingPipelineName, SIGNS.monitoringPipelineName].flatMap((p) =>
                ["ExecutionStarted", "ExecutionSucceeded", "ExecutionFailed"].map((metric) => [
                    "AWS/Sagemaker/ModelBuildingPipeline",
                    metric,
                    "PipelineName",
                    p,
                ]),
            ),
        );
        expect(titled("Pipeline executions", "bikes")).to.equal(undefined);
    });

    it("charts what the inference workflow made of each image, its top-1 confidence and its executions", () => {
        const dims = ["Environment", "staging", "Model", "traffic-signs"];
        const ns = "VisionMLOps/Inference/traffic-signs";
        const outcomes = titled("Inference workflow: images by outcome", "traffic-signs").properties;
        expect(outcomes.metrics).to.deep.equal([
            [ns, "Classified", ...dims, { stat: "Sum", label: "classified" }],
            [ns, "LowConfidence", ...dims, { stat: "Sum", label: "sent to review (low confidence)" }],
            [ns, "Correction", ...dims, { stat: "Sum", label: "corrections from the page" }],
            [ns, "Reviewed", ...dims, { stat: "Sum", label: "reviewed" }],
            [ns, "InvalidImage", ...dims, { stat: "Sum", label: "not a valid image" }],
            [ns, "ReviewTimedOut", ...dims, { stat: "Sum", label: "review timed out" }],
        ]);
        expect(outcomes).to.deep.include({ period: 3600, region: "us-east-1" });
        expect(titled("Inference workflow: top-1 confidence", "traffic-signs").properties.metrics).to.deep.equal([
            [ns, "Confidence", ...dims, { stat: "Average", label: "average" }],
        ]);
        const arn = "arn:aws:states:us-east-1:123456789012:stateMachine:vision-mlops-staging-traffic-signs-inference";
        expect(titled("Inference workflow: executions", "traffic-signs").properties.metrics).to.deep.equal([
            ["AWS/States", "ExecutionsStarted", "StateMachineArn", arn, { stat: "Sum", label: "started" }],
            ["AWS/States", "ExecutionsSucceeded", "StateMachineArn", arn, { stat: "Sum", label: "succeeded" }],
            ["AWS/States", "ExecutionsFailed", "StateMachineArn", arn, { stat: "Sum", label: "failed" }],
            ["AWS/States", "ExecutionsTimedOut", "StateMachineArn", arn, { stat: "Sum", label: "timed out" }],
        ]);
        expect(titled("Inference workflow: executions", "bikes"), "bikes has no workflow here").to.equal(undefined);
    });

    it("lays widgets out on the 24-wide grid without overlaps", () => {
        const { widgets } = body();
        const cells = new Set<string>();
        for (const w of widgets) {
            expect(w.x + w.width).to.be.at.most(24);
            for (let x = w.x; x < w.x + w.width; x++)
                for (let y = w.y; y < w.y + w.height; y++) {
                    expect(cells.has(`${x},${y}`), `overlap at ${x},${y}`).to.equal(false);
                    cells.add(`${x},${y}`);
                }
        }
        expect(widgets.filter((w) => w.type === "text")).to.have.length(2);
        expect(widgets.every((w) => w.type === "text" || w.properties.region === "us-east-1")).to.equal(true);
    });

    it("places each model's header across the grid, then its charts three to a row of 8x6 cells", () => {
        const { widgets } = body();
        const at = (w: (typeof widgets)[number]) => [w.type, w.x, w.y, w.width, w.height];
        // traffic-signs: 5 charts, its pipelines' and the workflow's 3 (9: three rows); bikes: the 5 endpoint and monitor charts.
        expect(widgets.map(at)).to.deep.equal([
            ["text", 0, 0, 24, 1],
            ["metric", 0, 1, 8, 6],
            ["metric", 8, 1, 8, 6],
            ["metric", 16, 1, 8, 6],
            ["metric", 0, 7, 8, 6],
            ["metric", 8, 7, 8, 6],
            ["metric", 16, 7, 8, 6],
            ["metric", 0, 13, 8, 6],
            ["metric", 8, 13, 8, 6],
            ["metric", 16, 13, 8, 6],
            ["text", 0, 19, 24, 1],
            ["metric", 0, 20, 8, 6],
            ["metric", 8, 20, 8, 6],
            ["metric", 16, 20, 8, 6],
            ["metric", 0, 26, 8, 6],
            ["metric", 8, 26, 8, 6],
        ]);
        expect(widgets[0].properties).to.deep.equal({
            markdown:
                "## traffic-signs · endpoint `vision-mlops-staging-traffic-signs` · monitoring `vision-mlops-staging-traffic-signs-monitor`",
        });
    });

    it("draws time series, unstacked, at 5-minute periods for traffic and hourly for the monitor, bars for counts", () => {
        const shape = body()
            .widgets.filter((w) => w.type === "metric")
            .slice(0, 9)
            .map((w) => [w.properties.title, w.properties.view, w.properties.stacked, w.properties.period, w.properties.yAxis]);
        const share = { left: { min: 0, max: 1 } };
        expect(shape).to.deep.equal([
            ["Invocations and errors", "timeSeries", false, 300, undefined],
            ["Model latency (microseconds)", "timeSeries", false, 300, undefined],
            ["Drift (PSI against the training baseline)", "timeSeries", false, 3600, undefined],
            ["Low-confidence and undecodable requests (share)", "timeSeries", false, 3600, share],
            ["Monitoring runs", "timeSeries", false, 3600, undefined],
            ["Pipeline executions", "bar", false, 3600, undefined],
            ["Inference workflow: images by outcome", "bar", false, 3600, undefined],
            ["Inference workflow: top-1 confidence", "timeSeries", false, 3600, share],
            ["Inference workflow: executions", "timeSeries", false, 3600, undefined],
        ]);
    });

    it("takes each monitor line's maximum with a label, and draws every threshold it is given", () => {
        const line = (metric: string, label: string) => [
            `VisionMLOps/Monitoring/${SIGNS.endpointName}`,
            metric,
            "Endpoint",
            SIGNS.endpointName,
            "MonitoringSchedule",
            SIGNS.scheduleName,
            { stat: "Maximum", label },
        ];
        const drift = titled("Drift (PSI against the training baseline)", "traffic-signs").properties;
        expect(drift.metrics).to.deep.equal([
            line("predicted_class_psi", "predicted classes"),
            line("confidence_psi", "confidence"),
            line("image_property_psi_max", "image properties (max)"),
        ]);
        const rates = titled("Low-confidence and undecodable requests (share)", "traffic-signs").properties;
        expect(rates.metrics).to.deep.equal([line("low_confidence_rate", "low confidence"), line("decode_error_rate", "undecodable")]);
        expect(rates.annotations).to.deep.equal({
            horizontal: [
                { label: "low-confidence limit", value: 0.2 },
                { label: "decode-error limit", value: 0.01 },
            ],
        });
        expect(titled("Monitoring runs", "traffic-signs").properties.metrics).to.deep.equal([
            line("records", "records analysed"),
            line("violations", "violations"),
            line("drift_detected", "drift detected"),
            line("not_judged", "not judged (no or too few records)"),
        ]);
        const bikesDrift = titled("Drift (PSI against the training baseline)", "bikes").properties;
        expect(bikesDrift).to.not.have.property("annotations");
        // Only one threshold given: only its line.
        const one = dashboardBody({ region: "us-east-1", models: [{ ...BIKES, thresholds: { imagePropertyPsi: 0.3 } as never }] });
        const oneDrift = one.widgets.find((w) => w.properties.title === "Drift (PSI against the training baseline)")!;
        expect(oneDrift.properties.annotations).to.deep.equal({ horizontal: [{ label: "image PSI limit", value: 0.3 }] });
    });

    it("labels each pipeline's started, succeeded and failed counts, and charts a lone monitoring pipeline", () => {
        const labels = (titled("Pipeline executions", "traffic-signs").properties.metrics as unknown[][]).map((l) => l[4]);
        expect(labels).to.deep.equal(
            ["training", "monitoring"].flatMap((p) =>
                ["started", "succeeded", "failed"].map((what) => ({ stat: "Sum", label: `${p} ${what}` })),
            ),
        );
        const lone = dashboardBody({ region: "us-east-1", models: [{ ...BIKES, monitoringPipelineName: "p-mon" }] });
        const executions = lone.widgets.find((w) => w.properties.title === "Pipeline executions")!;
        expect((executions.properties.metrics as unknown[][]).map((l) => [l[3], l[4]])).to.deep.equal([
            ["p-mon", { stat: "Sum", label: "monitoring started" }],
            ["p-mon", { stat: "Sum", label: "monitoring succeeded" }],
            ["p-mon", { stat: "Sum", label: "monitoring failed" }],
        ]);
    });

    it("charts the variant it is given", () => {
        const blue = dashboardBody({ region: "eu-west-1", models: [{ ...BIKES, variantName: "Blue" }] });
        const traffic = blue.widgets.find((w) => w.properties.title === "Invocations and errors")!;
        expect((traffic.properties.metrics as unknown[][])[0]).to.deep.equal([
            "AWS/SageMaker",
            "Invocations",
            "EndpointName",
            "vision-mlops-staging-bikes",
            "VariantName",
            "Blue",
            { stat: "Sum", label: "invocations" },
        ]);
        expect(traffic.properties.region).to.equal("eu-west-1");
    });

    it("declares one dashboard per stack with that body", async () => {
        const { declared, orphans, outputs } = await componentTree(
            (opts) => new Dashboard("dash", { environment: "staging", region: "us-east-1", models: [SIGNS] }, opts),
        );
        const r = find(declared, "aws:cloudwatch/dashboard:Dashboard", "dash-dashboard").inputs;
        expect(r.dashboardName).to.equal("vision-mlops-staging");
        expect(orphans).to.deep.equal([]);
        expect(outputs).to.deep.equal({ dashboardName: "vision-mlops-staging" });
        expect(JSON.parse(r.dashboardBody)).to.deep.equal(dashboardBody({ region: "us-east-1", models: [SIGNS] }));
    });

    it("waits for a row's state machine ARN, known only once the stack deploys, and charts its executions", async () => {
        const declared = useMocks("staging");
        const arn = pulumi.output("arn:aws:states:us-east-1:123456789012:stateMachine:later");
        const row = arn.apply((stateMachineArn) => ({ ...BIKES, inference: { environment: "staging", stateMachineArn } }));
        const d = new Dashboard("dash", { environment: "staging", region: "us-east-1", models: [row] });
        await settled(declared, d.dashboardName);
        const widgets = JSON.parse(find(declared, "aws:cloudwatch/dashboard:Dashboard", "dash-dashboard").inputs.dashboardBody)
            .widgets as Array<{ properties: { title?: string; metrics?: unknown[][] } }>;
        const executions = widgets.find((w) => w.properties.title === "Inference workflow: executions")!;
        expect(executions.properties.metrics!.map((l) => l[3])).to.deep.equal(
            Array(4).fill("arn:aws:states:us-east-1:123456789012:stateMachine:later"),
        );
    });
});
