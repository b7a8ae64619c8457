import * as aws from "@pulumi/aws";
import { ResourceValidationArgs, validateResourceOfType } from "@pulumi/policy";
import { describe, message, PlatformRule } from "../support";

/** Checkov's Step Functions and Lambda observability controls, for the inference workflow. */
const where = (args: ResourceValidationArgs) => describe(args.type, args.name);

export const stateMachineTracing: PlatformRule = {
    name: "sfn-xray-tracing",
    description: "State machines trace executions with X-Ray, so a slow or failing step can be found (Checkov CKV_AWS_284).",
    controls: ["CKV_AWS_284"],
    enforcementLevel: "mandatory",
    remediationSteps: "Set tracingConfiguration: { enabled: true } on the state machine.",
    validateResource: validateResourceOfType(aws.sfn.StateMachine, (machine, args, report) => {
        if (machine.tracingConfiguration?.enabled !== true)
            report(
                message(
                    ["CKV_AWS_284"],
                    `${where(args)} does not trace its executions with X-Ray`,
                    "set tracingConfiguration: { enabled: true }",
                ),
            );
    }),
};

export const stateMachineLogging: PlatformRule = {
    name: "sfn-execution-logging",
    description: "State machines log every execution event to CloudWatch Logs (Checkov CKV_AWS_285).",
    controls: ["CKV_AWS_285"],
    enforcementLevel: "mandatory",
    remediationSteps: "Set loggingConfiguration: { level: ALL, includeExecutionData: true, logDestination: <log group ARN>:* }.",
    validateResource: validateResourceOfType(aws.sfn.StateMachine, (machine, args, report) => {
        const logging = machine.loggingConfiguration;
        if (!logging?.logDestination || !logging.level || logging.level === "OFF")
            report(
                message(
                    ["CKV_AWS_285"],
                    `${where(args)} keeps no execution log (level ${logging?.level ?? "unset"})`,
                    "set loggingConfiguration with level ALL (or ERROR/FATAL) and a log group as logDestination",
                ),
            );
    }),
};

export const lambdaTracing: PlatformRule = {
    name: "lambda-xray-tracing",
    description: "Lambda functions trace invocations with X-Ray (Checkov CKV_AWS_50).",
    controls: ["CKV_AWS_50"],
    enforcementLevel: "mandatory",
    remediationSteps: "Set tracingConfig: { mode: Active } (LambdaFunction does).",
    validateResource: validateResourceOfType(aws.lambda.Function, (fn, args, report) => {
        if (fn.tracingConfig?.mode !== "Active" && fn.tracingConfig?.mode !== "PassThrough")
            report(message(["CKV_AWS_50"], `${where(args)} does not trace with X-Ray`, "set tracingConfig: { mode: Active }"));
    }),
};

export const WORKFLOW_RULES: readonly PlatformRule[] = [stateMachineTracing, stateMachineLogging, lambdaTracing];
