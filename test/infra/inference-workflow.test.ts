import { expect } from "chai";
import { ConfigError, formatProblem, parsePlatformConfig } from "../../infra/config";
import { writeActionsWithWildcardResource } from "../../infra/iam";
import {
    batchPolicy,
    callbackPolicy,
    classifyPolicy,
    executionName,
    heartbeatRate,
    INFERENCE_ERRORS,
    inferenceWorkflowDefinition,
    reviewPolicy,
    startPolicy,
    stateMachineName,
    WorkflowScope,
} from "../../infra/inference-workflow";
import { allowedBy, parsePolicy } from "../../infra/policy-evaluation";
import { ARN, definitionInput } from "../support/inference";

// asl-validator ships no type declarations.
const aslValidator = require("asl-validator") as (definition: unknown) => { isValid: boolean; errorsText: (sep?: string) => string };

type State = Record<string, any>;
const states = (d: Record<string, unknown>) => d.States as Record<string, State>;

const SCOPE: WorkflowScope = {
    model: "signs",
    region: "us-east-1",
    account: "123456789012",
    rawBucket: "vision-mlops-staging-raw-123456789012-us-east-1",
    dataKeyArn: "arn:aws:kms:us-east-1:123456789012:key/data",
    endpointName: "vision-mlops-staging-signs",
    alertTopicArn: "arn:aws:sns:us-east-1:123456789012:vision-mlops-staging-alerts",
    stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:vision-mlops-staging-signs-inference",
    triggerPrefix: "incoming/signs/",
};
const obj = (key: string) => `arn:aws:s3:::${SCOPE.rawBucket}/${key}`;

describe("inference workflow definition", () => {
    it("is valid Amazon States Language (asl-validator), with and without a margin", () => {
        for (const d of [
            inferenceWorkflowDefinition(definitionInput()),
            inferenceWorkflowDefinition(definitionInput({ confidenceMargin: 0.2 })),
        ]) {
            const result = aslValidator(d);
            expect(result.isValid, result.errorsText("\n")).to.equal(true);
        }
    });

    it("passes the image by URI and names the inference after the execution, never the bytes", () => {
        const c = states(inferenceWorkflowDefinition(definitionInput())).Classify;
        expect(c.Parameters.Payload).to.deep.equal({ "image.$": "$.image", "item_id.$": "$$.Execution.Name" });
        expect(c.Resource).to.equal("arn:aws:states:::lambda:invoke");
        expect(c.Parameters.FunctionName, "a function ARN, never $LATEST-pinned").to.equal(ARN("classify"));
    });

    it("retries the endpoint's throttling and unavailability with backoff and full jitter, and nothing that will not change", () => {
        const c = states(inferenceWorkflowDefinition(definitionInput())).Classify;
        expect(c.Retry).to.have.length(1);
        expect(c.Retry[0].ErrorEquals).to.include(INFERENCE_ERRORS.endpointBusy);
        expect(c.Retry[0].ErrorEquals).to.not.include.members([
            INFERENCE_ERRORS.badImage,
            INFERENCE_ERRORS.endpointFailed,
            "States.ALL",
            "States.TaskFailed",
        ]);
        expect(c.Retry[0]).to.deep.include({ BackoffRate: 2, JitterStrategy: "FULL" });
        expect(c.Retry[0].MaxDelaySeconds).to.be.a("number");
        expect(c.Catch).to.deep.equal([{ ErrorEquals: [INFERENCE_ERRORS.badImage], ResultPath: "$.error", Next: "BadImage" }]);
        const all = states(inferenceWorkflowDefinition(definitionInput()));
        expect(all.BadImage).to.deep.include({ Type: "Fail", Error: "BadImage" });
        for (const [name, s] of Object.entries(all))
            for (const c2 of s.Catch ?? []) expect(c2.ErrorEquals, `${name} catches everything`).to.not.include("States.ALL");
    });

    it("decides on the configured threshold, and on the margin only when one is set", () => {
        const plain = states(inferenceWorkflowDefinition(definitionInput()))["Confident?"];
        expect(plain.Choices).to.deep.equal([{ Variable: "$.confidence", NumericGreaterThanEquals: 0.93, Next: "WritePrediction" }]);
        expect(plain.Default).to.equal("QueueForReview");
        const margin = states(inferenceWorkflowDefinition(definitionInput({ confidenceMargin: 0.25 })))["Confident?"];
        expect(margin.Choices[0].And).to.deep.equal([
            { Variable: "$.confidence", NumericGreaterThanEquals: 0.93 },
            { Variable: "$.margin", NumericGreaterThanEquals: 0.25 },
        ]);
    });

    it("waits for the reviewer's task token with the heartbeat and timeout from config, and ends a timeout as ReviewTimedOut", () => {
        const d = states(inferenceWorkflowDefinition(definitionInput({ reviewTimeoutSeconds: 86400, reviewHeartbeatSeconds: 900 })));
        const q = d.QueueForReview;
        expect(q.Resource).to.equal("arn:aws:states:::lambda:invoke.waitForTaskToken");
        expect(q.Parameters.Payload["task_token.$"]).to.equal("$$.Task.Token");
        expect(q).to.deep.include({ HeartbeatSeconds: 900, TimeoutSeconds: 86400 });
        expect(q.Catch[0].ErrorEquals).to.have.members(["States.Timeout", "States.HeartbeatTimeout"]);
        expect(q.Catch[0].Next).to.equal("RecordTimeout");
        expect(d.RecordTimeout.Next).to.equal("ReviewTimedOut");
        expect(d.ReviewTimedOut).to.deep.include({ Type: "Fail", Error: "ReviewTimedOut" });
        expect(d["BatchDue?"].Choices[0]).to.deep.include({ Variable: "$.filed.waiting_for_batch", NumericGreaterThanEquals: 50 });
    });

    it("refuses a heartbeat that is not below the timeout", () => {
        expect(() => inferenceWorkflowDefinition(definitionInput({ reviewTimeoutSeconds: 600, reviewHeartbeatSeconds: 600 }))).to.throw(
            /heartbeat 600/,
        );
    });
});

describe("inference workflow names and events", () => {
    it("names an execution after the image's content, within Step Functions' and SageMaker's limits", () => {
        const name = executionName("ab".repeat(32));
        expect(name).to.equal(`img-${"ab".repeat(20)}`);
        expect(name.length).to.be.at.most(64);
        expect(stateMachineName("staging", "bikes-vs-motorcycles").length).to.be.at.most(80);
        expect(() => executionName("not-a-hash")).to.throw(/SHA-256/);
    });

    it("heartbeats three times per heartbeat timeout", () => {
        expect(heartbeatRate(3600)).to.equal("rate(20 minutes)");
        expect(heartbeatRate(300)).to.equal("rate(1 minute)");
    });
});

describe("inference workflow roles", () => {
    const can = (doc: unknown, action: string, resource: string) => allowedBy(parsePolicy(doc), { action, resource });

    it("lets the classify function invoke this endpoint only, and read images only where the workflow takes them", () => {
        const doc = classifyPolicy(SCOPE);
        expect(
            can(doc, "sagemaker:InvokeEndpoint", "arn:aws:sagemaker:us-east-1:123456789012:endpoint/vision-mlops-staging-signs"),
        ).to.equal(true);
        expect(
            can(doc, "sagemaker:InvokeEndpoint", "arn:aws:sagemaker:us-east-1:123456789012:endpoint/vision-mlops-staging-birds"),
        ).to.equal(false);
        expect(can(doc, "s3:GetObject", obj("incoming/signs/a.jpg"))).to.equal(true);
        expect(can(doc, "s3:GetObject", obj("signs/inference/incoming/a.jpg"))).to.equal(true);
        expect(can(doc, "s3:GetObject", obj("signs/batches/b1/stop/a.jpg"))).to.equal(false);
        expect(can(doc, "s3:PutObject", obj("incoming/signs/a.jpg"))).to.equal(false);
    });

    it("lets the callback resume only this state machine's executions, and start only this one from the trigger", () => {
        const cb = callbackPolicy(SCOPE);
        expect(can(cb, "states:SendTaskSuccess", SCOPE.stateMachineArn)).to.equal(true);
        expect(can(cb, "states:SendTaskSuccess", SCOPE.stateMachineArn.replace("signs", "birds"))).to.equal(false);
        expect(can(cb, "states:StartExecution", SCOPE.stateMachineArn)).to.equal(false);
        expect(can(cb, "cloudwatch:PutMetricData", "*"), "one writer per metric namespace").to.equal(false);
        const start = startPolicy(SCOPE);
        expect(can(start, "states:StartExecution", SCOPE.stateMachineArn)).to.equal(true);
        expect(can(start, "states:SendTaskSuccess", SCOPE.stateMachineArn)).to.equal(false);
    });

    it("lets the batch function write ingest's objects and delete only reviewed items", () => {
        const doc = batchPolicy(SCOPE);
        expect(can(doc, "s3:PutObject", obj("signs/batches/review-1/_manifest.json"))).to.equal(true);
        expect(can(doc, "s3:DeleteObject", obj("signs/review/reviewed/stop/img-1.jpg"))).to.equal(true);
        expect(can(doc, "s3:DeleteObject", obj("signs/batches/review-1/_manifest.json"))).to.equal(false);
        expect(can(doc, "s3:PutObject", obj("birds/batches/x/_manifest.json"))).to.equal(false);
    });

    it("grants no write action on a wildcard resource", () => {
        for (const doc of [classifyPolicy(SCOPE), reviewPolicy(SCOPE), callbackPolicy(SCOPE), batchPolicy(SCOPE), startPolicy(SCOPE)])
            expect(writeActionsWithWildcardResource(doc)).to.deep.equal([]);
    });
});

describe("inference config", () => {
    const base = (inference: Record<string, unknown>): unknown => ({
        environment: "staging",
        region: "us-east-1",
        models: { signs: { classes: ["stop", "yield"], imageShape: [3, 224, 224], quality: { minAccuracy: 0.9 }, inference } },
    });
    const problems = (inference: Record<string, unknown>) => {
        try {
            parsePlatformConfig(base(inference));
            return [];
        } catch (e) {
            return (e as ConfigError).problems.map(formatProblem);
        }
    };

    it("fills the review loop's defaults", () => {
        const m = parsePlatformConfig(base({})).models.signs.inference;
        expect(m).to.deep.equal({
            confidenceThreshold: 0.8,
            topK: 5,
            reviewTimeoutSeconds: 604800,
            reviewHeartbeatSeconds: 3600,
            reviewBatchSize: 50,
        });
    });

    it("names each bad key, its value's problem and what is allowed", () => {
        const all = problems({
            confidenceMargin: 2,
            reviewBatchSize: 0,
            reviewHeartbeatSeconds: 60,
            reviewBatchSchedule: "every day",
            triggerPrefix: "/incoming",
        });
        expect(all.join("\n")).to.match(/inference\.confidenceMargin.*from 0 to 1/);
        expect(all.join("\n")).to.match(/inference\.reviewBatchSize.*>= 1/);
        expect(all.join("\n")).to.match(/inference\.reviewHeartbeatSeconds.*>= 300/);
        expect(all.join("\n")).to.match(/inference\.reviewBatchSchedule.*rate\(1 day\)/);
        expect(all.join("\n")).to.match(/inference\.triggerPrefix.*ending in "\/"/);
        expect(problems({ reviewTimeoutSeconds: 3600, reviewHeartbeatSeconds: 3600 }).join("\n")).to.match(
            /reviewHeartbeatSeconds.*below reviewTimeoutSeconds/,
        );
        expect(problems({ triggerPrefix: "signs/batches/" }).join("\n")).to.match(/training data or review queue/);
    });
});
