import {
    DEFAULT_PARTITION,
    ecrPullStatements,
    kmsUseStatement,
    passRoleStatement,
    pipelineJobStatements,
    PolicyDocument,
    policyDocument,
    putMetricDataStatement,
    s3BucketArn,
    s3ReadStatements,
    s3WriteStatements,
    sagemakerArn,
    sagemakerLogsStatement,
    sagemakerStatement,
    SAGEMAKER_JOB_METRIC_NAMESPACES,
} from "../iam";
import { Environment, modelPackageGroupName, pipelineName, prefixes } from "../naming";

/**
 * The permissions of one model's training pipeline role. The role is both the pipeline's role (it
 * creates the jobs, the model and the package) and the jobs' execution role (they read and write the
 * model's data), so it gets exactly that: the model's prefixes, the data key, the jobs repository, the
 * model's package group, and the jobs and models its own pipeline creates (tagged with its name, as SageMaker names
 * every pipeline's jobs `pipelines-...`).
 */
export interface TrainingRoleScope {
    readonly environment: Environment;
    readonly model: string;
    readonly region: string;
    readonly accountId: string;
    readonly partition?: string;
    /** Bucket names. */
    readonly buckets: { readonly raw: string; readonly curated: string; readonly artifacts: string };
    readonly kmsKeyArn: string;
    readonly jobsRepositoryArn: string;
    /** The role itself, which it passes to the jobs and the model it creates. */
    readonly roleArn: string;
    /** Other images its jobs and models run (a PyTorch model's training and inference repositories). None by default. */
    readonly pullRepositoryArns?: readonly string[];
}

export function trainingRolePolicy(scope: TrainingRoleScope): PolicyDocument {
    const partition = scope.partition ?? DEFAULT_PARTITION;
    const arn = (type: string, name: string) => sagemakerArn(scope.region, scope.accountId, type, name, partition);
    const bucket = (name: string) => s3BucketArn(name, partition);
    const group = modelPackageGroupName(scope.environment, scope.model);

    return policyDocument(
        s3ReadStatements([
            { bucketArn: bucket(scope.buckets.raw), prefixes: [prefixes.rawModel(scope.model)] },
            { bucketArn: bucket(scope.buckets.curated), prefixes: [prefixes.curatedModel(scope.model)] },
            { bucketArn: bucket(scope.buckets.artifacts), prefixes: [prefixes.artifactsModel(scope.model)] },
        ]),
        s3WriteStatements([
            { bucketArn: bucket(scope.buckets.curated), prefixes: [prefixes.curatedModel(scope.model)] },
            { bucketArn: bucket(scope.buckets.artifacts), prefixes: [prefixes.artifactsModel(scope.model)] },
        ]),
        kmsUseStatement(scope.kmsKeyArn, { grants: true }),
        ecrPullStatements(scope.jobsRepositoryArn),
        ...(scope.pullRepositoryArns ?? []).flatMap((arn, i) => ecrPullStatements(arn, `FrameworkImagePull${i}`).slice(0, 1)),
        sagemakerLogsStatement(scope.region, scope.accountId, partition),
        putMetricDataStatement(SAGEMAKER_JOB_METRIC_NAMESPACES),
        pipelineJobStatements({
            region: scope.region,
            accountId: scope.accountId,
            partition,
            pipelineName: pipelineName(scope.environment, scope.model, "training"),
            types: ["processing-job", "training-job", "transform-job", "model"],
            listTags: true,
        }),
        sagemakerStatement(
            ["CreateModelPackage", "DescribeModelPackage", "DescribeModelPackageGroup", "AddTags", "ListTags"],
            [arn("model-package-group", group), arn("model-package", `${group}/*`)],
            "ModelRegistry",
        ),
        // The evaluate job lists the group to find the Approved champion; ListModelPackages takes no resource.
        { Sid: "ModelRegistryList", Effect: "Allow", Action: ["sagemaker:ListModelPackages"], Resource: ["*"] },
        passRoleStatement(scope.roleArn),
    );
}

/** What EventBridge needs to start one pipeline: nothing else. */
export function pipelineStarterPolicy(pipelineArn: string): PolicyDocument {
    return policyDocument(sagemakerStatement(["StartPipelineExecution"], [pipelineArn], "StartTrainingPipeline"));
}
