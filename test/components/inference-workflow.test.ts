import { expect } from "chai";
import { InferenceWorkflow, InferenceWorkflowArgs } from "../../components/inference-workflow";
import { Environment } from "../../infra/config";
import { INFERENCE_CLASSES_FILE, INFERENCE_ENV, inferenceNamespace } from "../../infra/inference-workflow";
import { allowedBy, parsePolicy } from "../../infra/policy-evaluation";
import { DeclaredResource, find, ofType, settled, TEST_ACCOUNT, useMocks } from "../support/mocks";
import { componentTree, registeredOutputs } from "./support/component-tree";

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

describe("InferenceWorkflow: what each function, rule and alarm is given", () => {
    // Written out: the physical names the stack's operators and its IAM policies read.
    const fnName = (id: string) => `vision-mlops-staging-bikes-inf-${id}`;
    const name = "vision-mlops-staging-bikes-inference";
    const TOPIC = `arn:aws:sns:us-east-1:${TEST_ACCOUNT}:vision-mlops-staging-alerts`;
    const MACHINE = `arn:aws:states:us-east-1:${TEST_ACCOUNT}:stateMachine:${name}`;
    let declared: DeclaredResource[];
    // No model package and no top-k given: the defaults.
    before(async () => ({ declared } = await declare("staging", { modelPackageArn: undefined })));
    const fn = (d: DeclaredResource[], id: string) => find(d, T.fn, `${name}-${id}-function`).inputs;

    it("sizes each function for its work: timeouts, memory, /tmp for a batch of 6 MB images, one batch at a time", () => {
        const sizes = Object.fromEntries(
            ["classify", "review", "callback", "batch", "start"].map((id) => {
                const f = fn(declared, id);
                return [id, [f.timeout, f.memorySize, f.ephemeralStorage.size, f.reservedConcurrentExecutions]];
            }),
        );
        expect(sizes).to.deep.equal({
            classify: [90, 512, 512, -1],
            review: [60, 256, 512, -1],
            callback: [300, 256, 512, -1],
            // 25 images of 6 MB and 512 MB to spare.
            batch: [900, 1024, 25 * 6 + 512, 1],
            start: [30, 256, 512, -1],
        });
        // The functions EventBridge invokes keep what they could not handle; the state machine's own retry.
        const dead = (id: string) => fn(declared, id).deadLetterConfig !== undefined;
        expect(["classify", "review", "callback", "batch", "start"].filter(dead)).to.deep.equal(["callback", "batch", "start"]);
        for (const id of ["classify", "review", "callback", "batch", "start"]) {
            expect(fn(declared, id).name, id).to.equal(fnName(id));
            expect(fn(declared, id).description, id).to.match(/^bikes: /);
        }
        expect(fn(declared, "classify").description).to.equal(
            "bikes: reads an image by S3 URI and classifies it with vision-mlops-staging-bikes",
        );
        expect(fn(declared, "start").description).to.equal("bikes: starts a review for each correction");
    });

    it("gives every function the workflow's settings, with no model package and the default top-5 when none is given", () => {
        for (const id of ["classify", "review", "callback", "batch", "start"])
            expect(fn(declared, id).environment.variables, id).to.deep.equal({
                VISION_FUNCTION: id,
                VISION_ENVIRONMENT: "staging",
                VISION_MODEL: "bikes",
                VISION_RAW_BUCKET: RAW,
                VISION_ENDPOINT_NAME: "vision-mlops-staging-bikes",
                VISION_MODEL_PACKAGE_ARN: "",
                VISION_TOP_K: "5",
                VISION_ALERT_TOPIC_ARN: TOPIC,
                VISION_STATE_MACHINE_ARN: MACHINE,
                VISION_REVIEW_BATCH_SIZE: "25",
                VISION_IMAGE_PREFIXES: JSON.stringify(["bikes/inference/incoming/"]),
            });
    });

    it("keeps a year of the state machine's logs", () => {
        const group = find(declared, "aws:cloudwatch/logGroup:LogGroup", `${name}-logs`).inputs;
        expect(group).to.deep.include({ name: `/aws/vendedlogs/states/${name}`, retentionInDays: 365 });
        expect(group.kmsKeyId).to.equal(`arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/logs`);
        const m = find(declared, T.machine, `${name}-state-machine`).inputs;
        expect(m.loggingConfiguration.logDestination).to.equal(
            `arn:aws:cloudwatch:us-east-1:${TEST_ACCOUNT}:loggroup//aws/vendedlogs/states/${name}:*`,
        );
        expect(m.roleArn).to.equal(`arn:aws:iam::${TEST_ACCOUNT}:role/vision-mlops-staging-bikes-inference`);
        const role = find(declared, T.role, `${name}-role`).inputs;
        expect(role.description).to.equal(`State machine ${name}`);
    });

    it("runs the classify, review and batch functions from the definition, and batches at the review batch size", () => {
        const definition = find(declared, T.machine, `${name}-state-machine`).inputs.definition;
        const arn = (id: string) => `arn:aws:lambda:us-east-1:${TEST_ACCOUNT}:function/${fnName(id)}`;
        const functions = new Set([...definition.matchAll(/"FunctionName":"([^"]+)"/g)].map((m: RegExpMatchArray) => m[1]));
        expect([...functions].sort()).to.deep.equal([arn("batch"), arn("classify"), arn("review")]);
        expect(definition).to.include('"Variable":"$.filed.waiting_for_batch","NumericGreaterThanEquals":25');
        expect(definition, "no margin unless one is given").to.not.include("$.margin");
    });

    it("retries each rule's delivery for a day, and lets only that rule invoke its function", () => {
        const expected: Record<string, string> = { annotations: "callback", heartbeat: "callback", corrections: "start" };
        expect(declared.filter(ofType("aws:cloudwatch/eventTarget:EventTarget")).map((r) => r.name)).to.have.members(
            Object.keys(expected).map((id) => `${name}-${id}-target`),
        );
        for (const [id, target] of Object.entries(expected)) {
            const ruleName = `vision-mlops-staging-bikes-inf-${id}`;
            const rule = find(declared, T.rule, `${name}-${id}`).inputs;
            expect(rule.name, id).to.equal(ruleName);
            expect(rule.description, id).to.match(/^bikes: /);
            const t = find(declared, "aws:cloudwatch/eventTarget:EventTarget", `${name}-${id}-target`).inputs;
            expect(t, id).to.deep.include({
                rule: ruleName,
                arn: `arn:aws:lambda:us-east-1:${TEST_ACCOUNT}:function/${fnName(target)}`,
            });
            expect(t.retryPolicy, id).to.deep.equal({ maximumRetryAttempts: 20, maximumEventAgeInSeconds: 86400 });
            expect(find(declared, T.permission, `${name}-${id}-permission`).inputs, id).to.deep.equal({
                action: "lambda:InvokeFunction",
                function: fnName(target),
                principal: "events.amazonaws.com",
                sourceArn: `arn:aws:cloudwatch:us-east-1:${TEST_ACCOUNT}:eventrule/${ruleName}`,
            });
        }
        expect(find(declared, T.rule, `${name}-annotations`).inputs.description).to.equal("bikes: Label Studio exported a review");
    });

    it("lets the classify function invoke only the workflow's endpoint, read only its images, and decrypt with the data key", () => {
        const policy = parsePolicy(find(declared, T.policy, `${name}-classify-role-policy`).inputs.policy);
        const allowed = (action: string, resource: string) => allowedBy(policy, { action, resource });
        const endpoint = (n: string) => `arn:aws:sagemaker:us-east-1:${TEST_ACCOUNT}:endpoint/${n}`;
        expect(allowed("sagemaker:InvokeEndpoint", endpoint("vision-mlops-staging-bikes"))).to.equal(true);
        expect(allowed("sagemaker:InvokeEndpoint", endpoint("vision-mlops-staging-cars"))).to.equal(false);
        expect(allowed("s3:GetObject", `arn:aws:s3:::${RAW}/bikes/inference/incoming/a.jpg`)).to.equal(true);
        expect(allowed("s3:GetObject", `arn:aws:s3:::${RAW}/cars/inference/incoming/a.jpg`)).to.equal(false);
        expect(allowed("kms:Decrypt", `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/data`)).to.equal(true);
        expect(allowed("kms:Decrypt", `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/logs`)).to.equal(false);
    });

    it("alarms on the hourly share of low-confidence images, and clears to the topic", () => {
        const alarm = find(declared, T.alarm, `${name}-low-confidence`).inputs;
        const metric = (metricName: string) => ({
            namespace: "VisionMLOps/Inference/bikes",
            metricName,
            dimensions: { Environment: "staging", Model: "bikes" },
            period: 3600,
            stat: "Sum",
        });
        expect(alarm).to.deep.equal({
            name: "vision-mlops-staging-bikes-low-confidence-rate",
            alarmDescription: "More than 20% of bikes's images in an hour were below the confidence threshold (sent to review)",
            metricQueries: [
                { id: "low", metric: metric("LowConfidence") },
                { id: "high", metric: metric("Classified") },
                { id: "rate", expression: "low / (low + high)", label: "Low-confidence rate", returnData: true },
            ],
            comparisonOperator: "GreaterThanThreshold",
            threshold: 0.2,
            evaluationPeriods: 1,
            treatMissingData: "notBreaching",
            alarmActions: [TOPIC],
            okActions: [TOPIC],
        });
    });

    it("with a batch schedule, a margin, a top-k, a trigger prefix and a large batch: the extra rules, settings and /tmp", async () => {
        const d = useMocks("staging");
        const wf = new InferenceWorkflow(
            name,
            args("staging", {
                reviewBatchSchedule: "rate(6 hours)",
                confidenceMargin: 0.15,
                topK: 3,
                triggerPrefix: "incoming/bikes/",
                reviewBatchSize: 2000,
            }),
        );
        await settled(d, wf.stateMachineArn);
        const schedule = find(d, T.rule, `${name}-batch-schedule`).inputs;
        expect(schedule).to.deep.include({
            name: "vision-mlops-staging-bikes-inf-batch-schedule",
            scheduleExpression: "rate(6 hours)",
            description: "bikes: batches whatever is reviewed",
        });
        expect(find(d, "aws:cloudwatch/eventTarget:EventTarget", `${name}-batch-schedule-target`).inputs.arn).to.equal(
            `arn:aws:lambda:us-east-1:${TEST_ACCOUNT}:function/${fnName("batch")}`,
        );
        expect(find(d, T.rule, `${name}-trigger`).inputs.description).to.equal("bikes: images dropped under incoming/bikes/");
        expect(find(d, "aws:cloudwatch/eventTarget:EventTarget", `${name}-trigger-target`).inputs.arn).to.equal(
            `arn:aws:lambda:us-east-1:${TEST_ACCOUNT}:function/${fnName("start")}`,
        );
        expect(fn(d, "start").description).to.equal(
            "bikes: starts a review for each correction and an execution for each image under the trigger prefix",
        );
        expect(fn(d, "classify").environment.variables).to.deep.include({
            VISION_TOP_K: "3",
            VISION_IMAGE_PREFIXES: JSON.stringify(["bikes/inference/incoming/", "incoming/bikes/"]),
        });
        expect(find(d, T.machine, `${name}-state-machine`).inputs.definition).to.include(
            '{"Variable":"$.margin","NumericGreaterThanEquals":0.15}',
        );
        // 2,000 images of 6 MB would need 12,512 MB: capped at Lambda's 10,240.
        expect(fn(d, "batch").ephemeralStorage.size).to.equal(10240);
    });

    it("starts an execution for each JPEG or PNG image dropped under the trigger prefix, never for the prediction beside it", async () => {
        const d = useMocks("staging");
        const wf = new InferenceWorkflow(name, args("staging", { triggerPrefix: "incoming/bikes/" }));
        await settled(d, wf.stateMachineArn);
        const image = (ext: string) => ({ wildcard: `incoming/bikes/*${ext}` });
        expect(JSON.parse(find(d, T.rule, `${name}-trigger`).inputs.eventPattern)).to.deep.equal({
            source: ["aws.s3"],
            "detail-type": ["Object Created"],
            detail: { bucket: { name: [RAW] }, object: { key: [".jpg", ".jpeg", ".png", ".JPG", ".JPEG", ".PNG"].map(image) } },
        });
    });

    it("declares every function, role, rule, log group and alarm as its own child", async () => {
        const { declared, orphans } = await componentTree((opts) => new InferenceWorkflow(name, args("staging"), opts));
        expect(declared.length).to.be.above(20);
        expect(orphans).to.deep.equal([]);
    });
});
