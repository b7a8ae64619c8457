import { expect } from "chai";
import { isReadAction, Statement, writeActionsWithWildcardResource } from "../../../infra/iam";
import { pipelineStarterPolicy, trainingRolePolicy } from "../../../infra/pipeline/training-role";

const KEY = "arn:aws:kms:us-east-1:123456789012:key/0000-key";
const REPO = "arn:aws:ecr:us-east-1:123456789012:repository/vision-mlops-staging-jobs";
const ROLE = "arn:aws:iam::123456789012:role/vision-mlops-staging-traffic-signs-training";

const policy = trainingRolePolicy({
    environment: "staging",
    model: "traffic-signs",
    region: "us-east-1",
    accountId: "123456789012",
    buckets: { raw: "raw-b", curated: "curated-b", artifacts: "artifacts-b" },
    kmsKeyArn: KEY,
    jobsRepositoryArn: REPO,
    roleArn: ROLE,
});
const statements = policy.Statement;
const withAction = (action: string): Statement[] => statements.filter((s) => s.Action.includes(action));

describe("infra/pipeline/training-role", () => {
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
