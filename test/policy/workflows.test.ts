import { declared, expectFail, expectPass } from "./support";

const MACHINE = "aws:sfn/stateMachine:StateMachine";
const FUNCTION = "aws:lambda/function:Function";
const machine = (over: Record<string, unknown> = {}) =>
    declared(MACHINE, "vision-mlops-staging-m-inference-state-machine", {
        type: "STANDARD",
        roleArn: "arn:aws:iam::123456789012:role/r",
        definition: "{}",
        tracingConfiguration: { enabled: true },
        loggingConfiguration: {
            level: "ALL",
            includeExecutionData: true,
            logDestination: "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/m:*",
        },
        ...over,
    });

describe("policy: workflows", () => {
    it("CKV_AWS_284: a state machine traces with X-Ray", async () => {
        await expectPass("sfn-xray-tracing", [machine()]);
        await expectFail("sfn-xray-tracing", [machine({ tracingConfiguration: undefined })], /CKV_AWS_284.*does not trace/);
    });

    it("CKV_AWS_285: a state machine logs its executions", async () => {
        await expectPass("sfn-execution-logging", [machine()]);
        await expectFail("sfn-execution-logging", [machine({ loggingConfiguration: { level: "OFF" } })], /CKV_AWS_285.*level OFF/);
        await expectFail("sfn-execution-logging", [machine({ loggingConfiguration: undefined })], /CKV_AWS_285.*level unset/);
    });

    it("CKV_AWS_50: a Lambda function traces with X-Ray", async () => {
        const fn = (tracingConfig?: unknown) =>
            declared(FUNCTION, "f", {
                role: "arn:aws:iam::123456789012:role/r",
                runtime: "nodejs22.x",
                handler: "index.handler",
                ...(tracingConfig ? { tracingConfig } : {}),
            });
        await expectPass("lambda-xray-tracing", [fn({ mode: "Active" })]);
        await expectFail("lambda-xray-tracing", [fn()], /CKV_AWS_50.*does not trace/);
    });
});
