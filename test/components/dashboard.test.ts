import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { Dashboard, dashboardBody } from "../../components/dashboard";
import { MODEL_MONITOR_NAMESPACE, MONITORING_METRICS } from "../../infra/job-contract";
import { find, settled, useMocks } from "../support/mocks";

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
    const body = dashboardBody({ region: "us-east-1", models: [SIGNS, BIKES] });
    const titled = (title: string, model: string) => {
        const header = body.widgets.findIndex((w) => w.type === "text" && String(w.properties.markdown).includes(`## ${model} `));
        const next = body.widgets.findIndex((w, i) => i > header && w.type === "text");
        return body.widgets.slice(header, next < 0 ? undefined : next).find((w) => w.properties.title === title)!;
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
        const cells = new Set<string>();
        for (const w of body.widgets) {
            expect(w.x + w.width).to.be.at.most(24);
            for (let x = w.x; x < w.x + w.width; x++)
                for (let y = w.y; y < w.y + w.height; y++) {
                    expect(cells.has(`${x},${y}`), `overlap at ${x},${y}`).to.equal(false);
                    cells.add(`${x},${y}`);
                }
        }
        expect(body.widgets.filter((w) => w.type === "text")).to.have.length(2);
        expect(body.widgets.every((w) => w.type === "text" || w.properties.region === "us-east-1")).to.equal(true);
    });

    it("declares one dashboard per stack with that body", async () => {
        const declared = useMocks("staging");
        const d = new Dashboard("dash", { environment: "staging", region: "us-east-1", models: [SIGNS] });
        await settled(declared, d.dashboardName);
        const r = find(declared, "aws:cloudwatch/dashboard:Dashboard", "dash-dashboard").inputs;
        expect(r.dashboardName).to.equal("vision-mlops-staging");
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
