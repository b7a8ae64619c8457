import { expect } from "chai";
import { InferenceWorkflow, InferenceWorkflowArgs } from "../../components/inference-workflow";
import { Environment } from "../../infra/config";
import { INFERENCE_CLASSES_FILE, INFERENCE_ENV, inferenceNamespace } from "../../infra/inference-workflow";
import { allowedBy, parsePolicy } from "../../infra/policy-evaluation";
import { DeclaredResource, find, ofType, settled, TEST_ACCOUNT, useMocks } from "../support/mocks";
import { registeredOutputs } from "./support/component-tree";

const RAW = `vision-mlops-staging-raw-${TEST_ACCOUNT}-us-east-1`;

function args(environment: Environment, over: Partial<InferenceWorkflowArgs> = {}): InferenceWorkflowArgs {
    return {
        environment,
        model: "bikes",
        classes: ["bicycle", "motorcycle"],
        endpointName: `vision-mlops-${environment}-bikes`,
        modelPackageArn: `arn:aws:sagemaker:us-east-1:${TEST_ACCOUNT}:model-package/vision-mlops-staging-bikes/3`,
        confidenceThreshold: 0.93,
        reviewTimeoutSeconds: 86400,
        reviewHeartbeatSeconds: 3600,
        reviewBatchSize: 25,
        lowConfidenceAlarmRate: 0.2,
        rawBucket: RAW,
        dataKeyArn: `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/data`,
        logsKmsKeyArn: `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/logs`,
        alarmTopicArn: `arn:aws:sns:us-east-1:${TEST_ACCOUNT}:vision-mlops-${environment}-alerts`,
        accountId: TEST_ACCOUNT,
        region: "us-east-1",
        ...over,
    };
}

async function declare(
    environment: Environment,
    over: Partial<InferenceWorkflowArgs> = {},
): Promise<{ declared: DeclaredResource[]; workflow: InferenceWorkflow }> {
    const declared = useMocks(environment);
    const workflow = new InferenceWorkflow(`vision-mlops-${environment}-bikes-inference`, args(environment, over));
    await settled(declared, workflow.stateMachineArn);
    return { declared, workflow };
}

const T = {
    machine: "aws:sfn/stateMachine:StateMachine",
    fn: "aws:lambda/function:Function",
    role: "aws:iam/role:Role",
    policy: "aws:iam/rolePolicy:RolePolicy",
    rule: "aws:cloudwatch/eventRule:EventRule",
    alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
    permission: "aws:lambda/permission:Permission",
};

for (const environment of ["staging", "prod"] as const)
    describe(`InferenceWorkflow (${environment})`, () => {
        let declared: DeclaredResource[];
        let workflow: InferenceWorkflow;
        const name = `vision-mlops-${environment}-bikes-inference`;
        before(
            async () =>
                ({ declared, workflow } = await declare(environment, environment === "prod" ? { triggerPrefix: "incoming/bikes/" } : {})),
        );

        it("registers its state machine's ARN as its output", async () => {
            // The state machine's own ARN (as the mocks form it): what a caller starts executions on.
            const outputs = await registeredOutputs(workflow);
            expect(Object.keys(outputs)).to.deep.equal(["stateMachineArn"]);
            expect(outputs.stateMachineArn).to.match(/:statemachine\/vision-mlops-(staging|prod)-bikes-inference$/);
        });

        it("is a Standard state machine with full logging to an encrypted group and X-Ray (CKV_AWS_284/285)", () => {
            const m = find(declared, T.machine, `${name}-state-machine`).inputs;
            expect(m.type).to.equal("STANDARD");
            expect(m.name).to.equal(`vision-mlops-${environment}-bikes-inference`);
            expect(m.tracingConfiguration).to.deep.equal({ enabled: true });
            expect(m.loggingConfiguration).to.deep.include({ level: "ALL", includeExecutionData: true });
            const group = find(declared, "aws:cloudwatch/logGroup:LogGroup", `${name}-logs`).inputs;
            expect(m.loggingConfiguration.logDestination).to.match(/:\*$/);
            expect(group.name).to.equal(`/aws/vendedlogs/states/${m.name}`);
            expect(group.kmsKeyId).to.match(/key\/logs$/);
            const definition = JSON.parse(m.definition);
            expect(definition.States["Confident?"].Choices[0]).to.deep.include({ NumericGreaterThanEquals: 0.93 });
            expect(definition.States.QueueForReview).to.deep.include({ TimeoutSeconds: 86400, HeartbeatSeconds: 3600 });
        });

        it("lets Step Functions assume the role only for this state machine in this account, and invoke only its own functions", () => {
            const role = find(declared, T.role, `${name}-role`).inputs;
            const trust = JSON.parse(role.assumeRolePolicy).Statement[0];
            expect(trust.Principal).to.deep.equal({ Service: ["states.amazonaws.com"] });
            expect(trust.Condition.StringEquals).to.deep.equal({ "aws:SourceAccount": TEST_ACCOUNT });
            expect(trust.Condition.ArnLike["aws:SourceArn"]).to.deep.equal([
                `arn:aws:states:us-east-1:${TEST_ACCOUNT}:stateMachine:${name}`,
            ]);
            const policy = parsePolicy(find(declared, T.policy, `${name}-role-policy`).inputs.policy);
            const invoke = (fn: string) => allowedBy(policy, { action: "lambda:InvokeFunction", resource: `${fn}` });
            const arnOf = (fn: string) =>
                `arn:aws:lambda:us-east-1:${TEST_ACCOUNT}:function/${find(declared, T.fn, `${name}-${fn}-function`).inputs.name}`;
            for (const fn of ["classify", "review", "batch"]) expect(invoke(arnOf(fn)), fn).to.equal(true);
            expect(invoke(arnOf("callback")), "the callback is EventBridge's, not the state machine's").to.equal(false);
            expect(invoke("arn:aws:lambda:us-east-1:123456789012:function:other")).to.equal(false);
        });

        it("bundles each handler for Node 22 with the workflow's settings, one batch at a time", () => {
            const classify = find(declared, T.fn, `${name}-classify-function`).inputs;
            expect(classify.runtime).to.equal("nodejs22.x");
            expect(classify.environment.variables).to.deep.include({
                [INFERENCE_ENV.model]: "bikes",
                [INFERENCE_ENV.endpointName]: `vision-mlops-${environment}-bikes`,
                [INFERENCE_ENV.reviewBatchSize]: "25",
            });
            expect(workflow.functions.classify.archiveFiles[INFERENCE_CLASSES_FILE]).to.equal(JSON.stringify(["bicycle", "motorcycle"]));
            expect(find(declared, T.fn, `${name}-batch-function`).inputs.reservedConcurrentExecutions).to.equal(1);
            // One bundle, five functions: each runs the handler its environment names.
            for (const id of ["classify", "review", "callback", "batch"])
                expect(find(declared, T.fn, `${name}-${id}-function`).inputs.environment.variables[INFERENCE_ENV.function]).to.equal(id);
        });

        it("feeds the callback from the annotations prefix and the heartbeat schedule, each rule allowed to invoke it", () => {
            const rules = declared.filter(ofType(T.rule));
            const annotations = find(declared, T.rule, `${name}-annotations`).inputs;
            expect(JSON.parse(annotations.eventPattern).detail.object.key).to.deep.equal([{ prefix: "bikes/review/annotations/" }]);
            expect(find(declared, T.rule, `${name}-heartbeat`).inputs.scheduleExpression).to.equal("rate(20 minutes)");
            for (const id of ["annotations", "heartbeat"])
                expect(find(declared, T.permission, `${name}-${id}-permission`).inputs).to.deep.include({
                    principal: "events.amazonaws.com",
                });
            const trigger = rules.find((r) => r.name === `${name}-trigger`);
            if (environment === "prod") {
                expect(trigger, "a trigger prefix adds the trigger rule").to.not.equal(undefined);
                expect(find(declared, T.fn, `${name}-start-function`)).to.not.equal(undefined);
            } else {
                expect(trigger).to.equal(undefined);
            }
        });

        it("starts a review for every correction the prediction page files, and lets the start function read only records it starts from", () => {
            const corrections = find(declared, T.rule, `${name}-corrections`).inputs;
            expect(JSON.parse(corrections.eventPattern)).to.deep.equal({
                source: ["aws.s3"],
                "detail-type": ["Object Created"],
                detail: { bucket: { name: [RAW] }, object: { key: [{ wildcard: "bikes/review/corrections/fix-*.json" }] } },
            });
            const start = find(declared, T.fn, `${name}-start-function`).inputs;
            expect(start.environment.variables[INFERENCE_ENV.function]).to.equal("start");
            expect(find(declared, T.permission, `${name}-corrections-permission`).inputs).to.deep.include({
                principal: "events.amazonaws.com",
                function: start.name,
            });
            const policy = parsePolicy(find(declared, T.policy, `${name}-start-role-policy`).inputs.policy);
            const read = (key: string) => allowedBy(policy, { action: "s3:GetObject", resource: `arn:aws:s3:::${RAW}/${key}` });
            expect(read("bikes/review/corrections/fix-0123456789abcdef.json")).to.equal(true);
            expect(read("bikes/review/annotations/1"), "annotations are the callback's").to.equal(false);
            expect(read("cars/review/corrections/fix-0123456789abcdef.json"), "another model's corrections").to.equal(false);
            expect(read("incoming/bikes/x.jpg"), "the trigger prefix only where one is configured").to.equal(environment === "prod");
            const startThis = (arn: string) => allowedBy(policy, { action: "states:StartExecution", resource: arn });
            expect(startThis(`arn:aws:states:us-east-1:${TEST_ACCOUNT}:stateMachine:${name}`)).to.equal(true);
            expect(startThis(`arn:aws:states:us-east-1:${TEST_ACCOUNT}:stateMachine:vision-mlops-${environment}-cars-inference`)).to.equal(
                false,
            );
        });

        it("alarms on the low-confidence rate of the model's own metrics", () => {
            const alarm = find(declared, T.alarm, `${name}-low-confidence`).inputs;
            expect(alarm.threshold).to.equal(0.2);
            expect(alarm.metricQueries.find((q: { id: string }) => q.id === "rate").expression).to.equal("low / (low + high)");
            const low = alarm.metricQueries.find((q: { id: string }) => q.id === "low").metric;
            expect(low).to.deep.include({ namespace: inferenceNamespace("bikes"), metricName: "LowConfidence" });
            expect(alarm.alarmActions).to.deep.equal([`arn:aws:sns:us-east-1:${TEST_ACCOUNT}:vision-mlops-${environment}-alerts`]);
        });
    });

describe("InferenceWorkflow class lists", () => {
    it("gives every function the class list in its code, whatever its length, and keeps the environment within Lambda's 4 KB", async () => {
        // CUB-200-2011's species as its classes.txt names them are 4,733 characters as JSON; these 200 are longer still.
        const classes = Array.from({ length: 200 }, (_, i) => `${String(i + 1).padStart(3, "0")}.Species_number_${i + 1}_of_the_birds`);
        expect(JSON.stringify(classes).length).to.be.greaterThan(6000);
        const declared = useMocks("staging");
        const wf = new InferenceWorkflow("vision-mlops-staging-birds-inference", args("staging", { model: "birds", classes }));
        await settled(declared, wf.stateMachineArn);
        for (const [id, fn] of Object.entries(wf.functions)) {
            expect(JSON.parse(fn.archiveFiles[INFERENCE_CLASSES_FILE]), id).to.deep.equal(classes);
            const variables: Record<string, string> = find(declared, T.fn, `vision-mlops-staging-birds-inference-${id}-function`).inputs
                .environment.variables;
            expect(Object.values(variables).join(""), id).to.not.include("Species_number");
            // Lambda counts every key and value against 4 KB.
            expect(
                Object.entries(variables).reduce((n, [k, v]) => n + k.length + v.length, 0),
                id,
            ).to.be.below(4096);
        }
    });
});
