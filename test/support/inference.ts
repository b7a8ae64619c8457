import { WorkflowDefinitionInput } from "../../infra/inference-workflow";

export const ARN = (fn: string) => `arn:aws:lambda:us-east-1:123456789012:function:vision-mlops-staging-signs-inf-${fn}`;

/** A staging-like definition input; each test overrides what it is about. */
export function definitionInput(over: Partial<WorkflowDefinitionInput> = {}): WorkflowDefinitionInput {
    return {
        classifyFunctionArn: ARN("classify"),
        reviewFunctionArn: ARN("review"),
        batchFunctionArn: ARN("batch"),
        confidenceThreshold: 0.93,
        reviewTimeoutSeconds: 7 * 86400,
        reviewHeartbeatSeconds: 3600,
        reviewBatchSize: 50,
        ...over,
    };
}
