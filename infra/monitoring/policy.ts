import {
    ecrPullStatements,
    kmsUseStatement,
    passRoleStatement,
    pipelineJobStatements,
    policyDocument,
    PolicyDocument,
    putMetricDataStatement,
    s3BucketArn,
    s3ReadStatements,
    s3WriteStatements,
    sagemakerLogsStatement,
    sagemakerStatement,
} from "../iam";
import { groundTruthPrefix } from "../job-contract";
import { prefixes } from "../naming";
import { parseS3Uri } from "../s3-uri";
import { MonitoringEngine } from "./schedule";

export interface MonitorPolicyInput {
    readonly engine: MonitoringEngine;
    readonly model: string;
    readonly region: string;
    readonly accountId: string;
    readonly roleArn: string;
    readonly captureBucket: string;
    readonly baselineUri: string;
    readonly kmsKeyArn: string;
    /** Defaults to kmsKeyArn. */
    readonly baselineKmsKeyArn?: string;
    readonly repositoryArn: string;
    /** The CloudWatch namespace the job publishes to (`monitoringNamespace`): the only one it may write. */
    readonly metricsNamespace: string;
    /** The monitoring pipeline's name (pipeline engine): the jobs it creates are tagged with it. */
    readonly pipelineName?: string;
}

/**
 * The monitor job's role: read the model's capture and ground-truth prefixes and its baseline object, write (never delete) its
 * monitoring prefix, use the data key, pull the jobs image, log, and publish metrics to its namespace only.
 * The pipeline engine's role also runs the pipeline, so it may create the processing jobs of that pipeline (named by
 * SageMaker Pipelines, tagged with the pipeline's name) and pass itself to them.
 */
export function monitorJobPolicy(i: MonitorPolicyInput): PolicyDocument {
    const capture = s3BucketArn(i.captureBucket);
    const baseline = parseS3Uri(i.baselineUri);
    const statements = [
        // The monitoring prefix is read too: the window's claim and completion record, and a sharded run's work files.
        s3ReadStatements([
            {
                bucketArn: capture,
                prefixes: [prefixes.captureModel(i.model), groundTruthPrefix(i.model), prefixes.monitoringModel(i.model)],
            },
            { bucketArn: s3BucketArn(baseline.bucket), prefixes: [baseline.key] },
        ]),
        s3WriteStatements([{ bucketArn: capture, prefixes: [prefixes.monitoringModel(i.model)] }]),
        kmsUseStatement(i.kmsKeyArn, { grants: true }),
        i.baselineKmsKeyArn && i.baselineKmsKeyArn !== i.kmsKeyArn ? kmsUseStatement(i.baselineKmsKeyArn, { sid: "BaselineKey" }) : [],
        ecrPullStatements(i.repositoryArn),
        sagemakerLogsStatement(i.region, i.accountId),
        putMetricDataStatement([i.metricsNamespace]),
    ];
    if (i.engine === "pipeline") {
        if (!i.pipelineName) throw new Error(`the monitor role of ${i.model} runs a pipeline: give its pipelineName`);
        statements.push(
            pipelineJobStatements({
                region: i.region,
                accountId: i.accountId,
                pipelineName: i.pipelineName,
                types: ["processing-job"],
                sid: "PipelineProcessingJobs",
            }),
            [passRoleStatement(i.roleArn)],
        );
    }
    return policyDocument(...statements);
}

/** StartPipelineExecution of one pipeline: the Scheduler role (monitoring) and the EventBridge role (retraining). */
export function startPipelinePolicy(pipelineArn: string): PolicyDocument {
    return policyDocument(sagemakerStatement(["StartPipelineExecution"], [pipelineArn], "StartPipeline"));
}
