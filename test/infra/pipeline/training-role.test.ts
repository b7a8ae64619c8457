import { expect } from "chai";
import { isReadAction, Statement, writeActionsWithWildcardResource } from "../../../infra/iam";
import { pipelineStarterPolicy, trainingRolePolicy } from "../../../infra/pipeline/training-role";
import { allowedBy, parsePolicy } from "../../../infra/policy-evaluation";

const KEY = "arn:aws:kms:us-east-1:123456789012:key/0000-key";
const REPO = "arn:aws:ecr:us-east-1:123456789012:repository/vision-mlops-staging-jobs";
const ROLE = "arn:aws:iam::123456789012:role/vision-mlops-staging-traffic-signs-training";

describe("infra/pipeline/training-role", () => {
    // Built in each test, not when the file loads: code run at load time would make every mutant of it rerun the whole file.
    let policy: ReturnType<typeof trainingRolePolicy>;
    let statements: readonly Statement[];
    beforeEach(() => {
        policy = trainingRolePolicy({
            environment: "staging",
            model: "traffic-signs",
            region: "us-east-1",
            accountId: "123456789012",
            buckets: { raw: "raw-b", curated: "curated-b", artifacts: "artifacts-b" },
            kmsKeyArn: KEY,
            jobsRepositoryArn: REPO,
            roleArn: ROLE,
        });
        statements = policy.Statement;
    });
    const withAction = (action: string): Statement[] => statements.filter((s) => s.Action.includes(action));

    it("grants no write action on a wildcard resource, and no managed-policy-style wildcards", () => {
        expect(writeActionsWithWildcardResource(policy)).to.deep.equal([]);
        for (const s of statements)
            expect(
                s.Action.filter((a) => a.includes("*")),
                JSON.stringify(s),
            ).to.deep.equal([]);
        const wildcard = statements.filter((s) => (s.Resource ?? []).includes("*"));
        expect(wildcard.flatMap((s) => s.Action).sort()).to.deep.equal([
            "cloudwatch:PutMetricData",
            "ecr:GetAuthorizationToken",
            "sagemaker:ListModelPackages",
        ]);
        expect(
            wildcard
                .flatMap((s) => s.Action)
                .filter((a) => a !== "cloudwatch:PutMetricData")
                .every(isReadAction),
        ).to.equal(true);
    });

    it("reads the model's raw, curated and artifacts prefixes and writes only curated and artifacts", () => {
        expect(withAction("s3:GetObject").flatMap((s) => s.Resource)).to.deep.equal([
            "arn:aws:s3:::raw-b/traffic-signs/*",
            "arn:aws:s3:::curated-b/traffic-signs/*",
            "arn:aws:s3:::artifacts-b/traffic-signs/*",
        ]);
        expect(withAction("s3:PutObject").flatMap((s) => s.Resource)).to.deep.equal([
            "arn:aws:s3:::curated-b/traffic-signs/*",
            "arn:aws:s3:::artifacts-b/traffic-signs/*",
        ]);
        for (const list of withAction("s3:ListBucket"))
            expect(list.Condition).to.deep.equal({ StringLike: { "s3:prefix": ["traffic-signs/*"] } });
        expect(statements.flatMap((s) => s.Action).filter((a) => /^s3:Delete/.test(a))).to.deep.equal([]);
    });

    it("uses only the data key, the jobs repository and the model's package group", () => {
        expect(withAction("kms:Decrypt").flatMap((s) => s.Resource)).to.deep.equal([KEY]);
        expect(withAction("kms:CreateGrant")[0].Condition).to.deep.equal({ Bool: { "kms:GrantIsForAWSResource": true } });
        expect(withAction("ecr:BatchGetImage").flatMap((s) => s.Resource)).to.deep.equal([REPO]);
        expect(withAction("sagemaker:CreateModelPackage").flatMap((s) => s.Resource)).to.deep.equal([
            "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/vision-mlops-staging-traffic-signs",
            "arn:aws:sagemaker:us-east-1:123456789012:model-package/vision-mlops-staging-traffic-signs/*",
        ]);
        expect(withAction("sagemaker:CreateTrainingJob").flatMap((s) => s.Resource)).to.include(
            "arn:aws:sagemaker:us-east-1:123456789012:training-job/pipelines-*",
        );
    });

    it("registers, describes and tags packages of its own group only, and lists packages, which takes no resource", () => {
        expect(statements.filter((s) => s.Sid?.startsWith("ModelRegistry"))).to.deep.equal([
            {
                Sid: "ModelRegistry",
                Effect: "Allow",
                Action: [
                    "sagemaker:CreateModelPackage",
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:DescribeModelPackageGroup",
                    "sagemaker:AddTags",
                    "sagemaker:ListTags",
                ],
                Resource: [
                    "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/vision-mlops-staging-traffic-signs",
                    "arn:aws:sagemaker:us-east-1:123456789012:model-package/vision-mlops-staging-traffic-signs/*",
                ],
            },
            { Sid: "ModelRegistryList", Effect: "Allow", Action: ["sagemaker:ListModelPackages"], Resource: ["*"] },
        ]);
    });

    it("pulls a PyTorch model's framework images from their repositories, and writes every ARN in the role's partition", () => {
        const training = "arn:aws-cn:ecr:cn-north-1:727897471807:repository/pytorch-training";
        const inference = "arn:aws-cn:ecr:cn-north-1:727897471807:repository/pytorch-inference";
        const policy = trainingRolePolicy({
            environment: "staging",
            model: "traffic-signs",
            region: "cn-north-1",
            accountId: "123456789012",
            partition: "aws-cn",
            buckets: { raw: "raw-b", curated: "curated-b", artifacts: "artifacts-b" },
            kmsKeyArn: "arn:aws-cn:kms:cn-north-1:123456789012:key/0000-key",
            jobsRepositoryArn: "arn:aws-cn:ecr:cn-north-1:123456789012:repository/jobs",
            roleArn: "arn:aws-cn:iam::123456789012:role/training",
            pullRepositoryArns: [training, inference],
        });
        const pull = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"];
        expect(policy.Statement.filter((s) => s.Sid?.startsWith("FrameworkImagePull"))).to.deep.equal([
            { Sid: "FrameworkImagePull0", Effect: "Allow", Action: pull, Resource: [training] },
            { Sid: "FrameworkImagePull1", Effect: "Allow", Action: pull, Resource: [inference] },
        ]);
        const arns = policy.Statement.flatMap((s) => s.Resource ?? []).filter((r) => r !== "*");
        expect(
            arns.filter((r) => !r.startsWith("arn:aws-cn:")),
            "ARNs outside aws-cn",
        ).to.deep.equal([]);
        expect(arns).to.include("arn:aws-cn:s3:::raw-b/traffic-signs/*");
        expect(arns).to.include("arn:aws-cn:sagemaker:cn-north-1:123456789012:model-package-group/vision-mlops-staging-traffic-signs");
    });

    it("creates, tags, describes and stops only the jobs and models tagged with its own pipeline's name", () => {
        // Written out: the tag key every pipeline step carries, and the pipelines of this model and of another one.
        const TAG = "vision-mlops:pipeline";
        const own = "vision-mlops-staging-traffic-signs-training";
        const other = "vision-mlops-staging-birds-200-training";
        const allowed = parsePolicy(policy);
        const sm = (type: string) => `arn:aws:sagemaker:us-east-1:123456789012:${type}/pipelines-0abc123def45-Step-AbCdEf1234`;
        const can = (action: string, resource: string, context: Record<string, string> = {}) =>
            allowedBy(allowed, { action: `sagemaker:${action}`, resource, context });
        const kinds: [string, string, string][] = [
            ["processing-job", "ProcessingJob", "ProcessingJob"],
            ["training-job", "TrainingJob", "TrainingJob"],
            ["transform-job", "TransformJob", "TransformJob"],
            ["model", "Model", ""],
        ];
        for (const [type, create, stop] of kinds) {
            const arn = sm(type);
            const requestTag = (value: string) => ({ [`aws:RequestTag/${TAG}`]: value });
            const resourceTag = (value: string) => ({ [`aws:ResourceTag/${TAG}`]: value });
            expect(can(`Create${create}`, arn, requestTag(own)), `Create${create} for its own pipeline`).to.equal(true);
            expect(can(`Create${create}`, arn, requestTag(other)), `Create${create} tagged for another model's pipeline`).to.equal(false);
            expect(can(`Create${create}`, arn), `Create${create} untagged`).to.equal(false);
            // Tagging on create: the request's tags name the pipeline, the new resource has none yet.
            expect(can("AddTags", arn, requestTag(own)), `AddTags on create of a ${type}`).to.equal(true);
            expect(can("AddTags", arn, requestTag(other)), `AddTags naming another pipeline on a ${type}`).to.equal(false);
            expect(can("AddTags", arn, { ...requestTag(own), ...resourceTag(other) }), `re-tagging another pipeline's ${type}`).to.equal(
                false,
            );
            const reads = [`Describe${create}`, "ListTags", ...(stop ? [`Stop${stop}`] : [])];
            for (const action of reads) {
                expect(can(action, arn, resourceTag(own)), `${action} on its own ${type}`).to.equal(true);
                expect(can(action, arn, resourceTag(other)), `${action} on another pipeline's ${type}`).to.equal(false);
                expect(can(action, arn), `${action} on an untagged ${type}`).to.equal(false);
            }
        }
    });

    it("passes only itself, only to SageMaker", () => {
        expect(withAction("iam:PassRole")).to.deep.equal([
            {
                Sid: "PassRole",
                Effect: "Allow",
                Action: ["iam:PassRole"],
                Resource: [ROLE],
                Condition: { StringEquals: { "iam:PassedToService": "sagemaker.amazonaws.com" } },
            },
        ]);
    });

    it("lets EventBridge start one pipeline and nothing else", () => {
        const arn = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/vision-mlops-staging-traffic-signs-training";
        expect(pipelineStarterPolicy(arn)).to.deep.equal({
            Version: "2012-10-17",
            Statement: [{ Sid: "StartTrainingPipeline", Effect: "Allow", Action: ["sagemaker:StartPipelineExecution"], Resource: [arn] }],
        });
    });
});
