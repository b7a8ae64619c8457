import { keyPolicy } from "../../components/data-lake";
import { alertTopicPolicy } from "../../components/alerts";
import { policyDocument, putMetricDataStatement, s3WriteStatements, serviceTrustPolicy } from "../../infra/iam";
import { monitorJobPolicy } from "../../infra/monitoring/policy";
import { trainingRolePolicy } from "../../infra/pipeline/training-role";
import { declared, doc, expectFail, expectPass, unconditionedTrust } from "./support";

const ACCOUNT = "123456789012";
const T = {
    role: "aws:iam/role:Role",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    policy: "aws:iam/policy:Policy",
    attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    key: "aws:kms/key:Key",
    bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
    topicPolicy: "aws:sns/topicPolicy:TopicPolicy",
    permission: "aws:lambda/permission:Permission",
};

const role = (name: string, trust: unknown, extra: Record<string, unknown> = {}) =>
    declared(T.role, name, { name, assumeRolePolicy: JSON.stringify(trust), ...extra });
const rolePolicy = (name: string, roleId: string, document: unknown) =>
    declared(T.rolePolicy, name, { role: roleId, policy: JSON.stringify(document) });

describe("policy pack: IAM rules", function () {
    this.timeout(30_000);

    describe("iam-service-trust-source-conditions", () => {
        const rule = "iam-service-trust-source-conditions";
        it("passes trust policies built with serviceTrustPolicy, and roles only principals of an account assume", async () => {
            await expectPass(rule, [
                role(
                    "starter",
                    serviceTrustPolicy({
                        service: "events.amazonaws.com",
                        sourceAccount: ACCOUNT,
                        sourceArns: [`arn:aws:events:us-east-1:${ACCOUNT}:rule/r`],
                    }),
                ),
                role("job", serviceTrustPolicy({ service: "sagemaker.amazonaws.com", sourceAccount: ACCOUNT })),
                role("ci", {
                    Version: "2012-10-17",
                    Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "sts:AssumeRole" }],
                }),
            ]);
        });
        it("fails a service trust without source conditions, or with only wildcards", async () => {
            await expectFail(
                rule,
                [role("vision-mlops-staging-traffic-signs-training-role", JSON.parse(unconditionedTrust("sagemaker.amazonaws.com")))],
                /^\[confused deputy: aws:SourceAccount\/aws:SourceArn\] iam Role "vision-mlops-staging-traffic-signs-training-role" lets sagemaker\.amazonaws\.com assume it on behalf of any account's resources\. Fix: build the trust policy with serviceTrustPolicy/,
            );
            const wildcard = {
                Statement: [
                    {
                        Effect: "Allow",
                        Principal: { Service: "scheduler.amazonaws.com" },
                        Action: "sts:AssumeRole",
                        Condition: { ArnLike: { "aws:SourceArn": "*" } },
                    },
                ],
            };
            await expectFail(rule, [role("scheduler", wildcard)], /lets scheduler\.amazonaws\.com assume it/);
        });
    });

    describe("resource-policy-service-conditions", () => {
        const rule = "resource-policy-service-conditions";
        it("passes the data key, the logs bucket and the alert topic as the platform writes them", async () => {
            await expectPass(rule, [
                declared(T.key, "key", {
                    policy: JSON.stringify(keyPolicy({ account: ACCOUNT, region: "us-east-1", environment: "staging" })),
                }),
                declared(T.bucketPolicy, "logs-policy", {
                    bucket: "logs-id",
                    policy: doc({
                        Effect: "Allow",
                        Principal: { Service: "logging.s3.amazonaws.com" },
                        Action: "s3:PutObject",
                        Resource: "arn:aws:s3:::logs/*",
                        Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT } },
                    }),
                }),
                declared(T.topicPolicy, "topic-policy", {
                    arn: "arn:aws:sns:us-east-1:123456789012:t",
                    policy: JSON.stringify(alertTopicPolicy("arn:aws:sns:us-east-1:123456789012:t", ACCOUNT, "staging")),
                }),
                declared(T.permission, "invoke", {
                    action: "lambda:InvokeFunction",
                    function: "f",
                    principal: "s3.amazonaws.com",
                    sourceArn: "arn:aws:s3:::b",
                }),
            ]);
        });
        it("fails the data key's old unconditioned statement, a service in a bucket policy, and an open Lambda permission", async () => {
            const unconditioned = doc(
                { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" },
                {
                    Sid: "AlarmsAndEventsPublishToEncryptedTopic",
                    Effect: "Allow",
                    Principal: { Service: ["cloudwatch.amazonaws.com", "events.amazonaws.com"] },
                    Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
                    Resource: "*",
                },
            );
            await expectFail(
                rule,
                [declared(T.key, "key", { policy: unconditioned })],
                /^\[confused deputy in resource policies\] kms Key "key" lets cloudwatch\.amazonaws\.com, events\.amazonaws\.com kms:Decrypt, kms:GenerateDataKey\* on behalf of anyone \(statement AlarmsAndEventsPublishToEncryptedTopic\)/,
            );
            // kms:ViaService alone names a service, not whose request: any account's topic would do.
            const viaServiceOnly = doc({
                Effect: "Allow",
                Principal: { Service: "events.amazonaws.com" },
                Action: "kms:Decrypt",
                Resource: "*",
                Condition: { StringEquals: { "kms:ViaService": "sns.us-east-1.amazonaws.com" } },
            });
            await expectFail(
                rule,
                [declared(T.key, "key", { policy: viaServiceOnly })],
                /kms Key "key" lets events\.amazonaws\.com kms:Decrypt/,
            );
            await expectFail(
                rule,
                [
                    declared(T.bucketPolicy, "p", {
                        bucket: "b",
                        policy: doc({
                            Effect: "Allow",
                            Principal: { Service: "logging.s3.amazonaws.com" },
                            Action: "s3:PutObject",
                            Resource: "arn:aws:s3:::b/*",
                        }),
                    }),
                ],
                /s3 BucketPolicy "p" lets logging\.s3\.amazonaws\.com s3:PutObject/,
            );
            await expectFail(
                rule,
                [declared(T.permission, "invoke", { action: "lambda:InvokeFunction", function: "f", principal: "events.amazonaws.com" })],
                /lets events\.amazonaws\.com invoke the function for anyone/,
            );
        });
    });

    describe("iam-no-wildcard-write", () => {
        const rule = "iam-no-wildcard-write";
        it("passes scoped writes, reads on *, and PutMetricData on * with its namespace condition", async () => {
            await expectPass(rule, [
                rolePolicy(
                    "ok",
                    "r-id",
                    policyDocument(
                        s3WriteStatements([{ bucketArn: "arn:aws:s3:::bucket", prefixes: ["traffic-signs/"] }]),
                        putMetricDataStatement(["VisionMLOps/Monitoring"]),
                        { Effect: "Allow", Action: ["sagemaker:ListModelPackages", "ecr:GetAuthorizationToken"], Resource: ["*"] },
                    ),
                ),
            ]);
        });
        it("fails a write on *, on a whole-service ARN, NotResource, and the same inside a role's inline policy or a managed policy", async () => {
            await expectFail(
                rule,
                [rolePolicy("star", "r-id", { Statement: [{ Effect: "Allow", Action: "s3:PutObject", Resource: "*" }] })],
                /^\[no \* resource on write actions\] iam RolePolicy "star" allows s3:PutObject on \*/,
            );
            await expectFail(
                rule,
                [
                    rolePolicy("service", "r-id", {
                        Statement: [
                            {
                                Effect: "Allow",
                                Action: ["sagemaker:CreateTrainingJob"],
                                Resource: "arn:aws:sagemaker:us-east-1:123456789012:*",
                            },
                        ],
                    }),
                ],
                /allows sagemaker:CreateTrainingJob on arn:aws:sagemaker:us-east-1:123456789012:\*/,
            );
            await expectFail(
                rule,
                [
                    rolePolicy("not", "r-id", {
                        Statement: [{ Effect: "Allow", Action: "s3:GetObject", NotResource: "arn:aws:s3:::secret/*" }],
                    }),
                ],
                /allows NotAction\/NotResource/,
            );
            await expectFail(
                rule,
                [
                    role("inline", serviceTrustPolicy({ service: "sagemaker.amazonaws.com", sourceAccount: ACCOUNT }), {
                        inlinePolicies: [{ name: "x", policy: doc({ Effect: "Allow", Action: "iam:*", Resource: "*" }) }],
                    }),
                ],
                /inline policy x of iam Role "inline" allows iam:\* on \*/,
            );
            await expectFail(
                rule,
                [declared(T.policy, "managed", { policy: doc({ Effect: "Allow", Action: "cloudwatch:PutMetricData", Resource: "*" }) })],
                /iam Policy "managed" allows cloudwatch:PutMetricData on \*/,
            );
        });
    });

    describe("iam-no-broad-managed-policies", () => {
        const rule = "iam-no-broad-managed-policies";
        it("passes narrow managed policies", async () => {
            await expectPass(rule, [declared(T.attachment, "a", { role: "r", policyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess" })]);
        });
        it("fails AmazonSageMakerFullAccess as an attachment or in managedPolicyArns, in any partition", async () => {
            await expectFail(
                rule,
                [declared(T.attachment, "a", { role: "r", policyArn: "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess" })],
                /^\[no AmazonSageMakerFullAccess\] iam RolePolicyAttachment "a" attaches AmazonSageMakerFullAccess/,
            );
            await expectFail(
                rule,
                [
                    role("r", serviceTrustPolicy({ service: "sagemaker.amazonaws.com", sourceAccount: ACCOUNT }), {
                        managedPolicyArns: ["arn:aws-us-gov:iam::aws:policy/AdministratorAccess"],
                    }),
                ],
                /iam Role "r" has in managedPolicyArns AdministratorAccess/,
            );
        });
    });

    describe("metric namespaces: iam-metric-namespace-literal and iam-metric-namespace-one-writer", () => {
        const trust = serviceTrustPolicy({ service: "sagemaker.amazonaws.com", sourceAccount: ACCOUNT });
        it("pass exact namespaces, one writer each; SageMaker's own job namespaces may be shared", async () => {
            const resources = [
                role("a", trust),
                role("b", trust),
                rolePolicy(
                    "a-policy",
                    "a-id",
                    policyDocument(putMetricDataStatement(["VisionMLOps/Monitoring/a", "/aws/sagemaker/TrainingJobs"])),
                ),
                rolePolicy(
                    "b-policy",
                    "b-id",
                    policyDocument(putMetricDataStatement(["VisionMLOps/Monitoring/b", "/aws/sagemaker/TrainingJobs"])),
                ),
            ];
            await expectPass("iam-metric-namespace-literal", resources);
            await expectPass("iam-metric-namespace-one-writer", resources);
            // Model Monitor's fixed namespace for bring-your-own containers: AWS offers no per-model one.
            const modelMonitor = [
                role("a", trust),
                role("b", trust),
                rolePolicy("a-policy", "a-id", policyDocument(putMetricDataStatement(["/aws/sagemaker/Endpoint/data-metrics"]))),
                rolePolicy("b-policy", "b-id", policyDocument(putMetricDataStatement(["/aws/sagemaker/Endpoint/data-metrics"]))),
            ];
            await expectPass("iam-metric-namespace-one-writer", modelMonitor);
        });
        it("fail a namespace pattern, and a namespace two roles may write", async () => {
            await expectFail(
                "iam-metric-namespace-literal",
                [
                    rolePolicy(
                        "training-policy",
                        "t-id",
                        // What putMetricDataStatement now refuses to build, as a hand-written document might have it.
                        policyDocument({
                            Effect: "Allow",
                            Action: ["cloudwatch:PutMetricData"],
                            Resource: ["*"],
                            Condition: { StringLike: { "cloudwatch:namespace": ["/aws/sagemaker/*"] } },
                        }),
                    ),
                ],
                /^\[metric spoofing: cloudwatch:namespace\] iam RolePolicy "training-policy" may publish metrics to \/aws\/sagemaker\/\*, which takes in namespaces other jobs and alarms own/,
            );
            const shared = [
                role("a", trust),
                role("b", trust),
                rolePolicy("a-policy", "a-id", policyDocument(putMetricDataStatement(["VisionMLOps/Monitoring"]))),
                rolePolicy("b-policy", "b-id", policyDocument(putMetricDataStatement(["VisionMLOps/Monitoring"]))),
            ];
            await expectFail(
                "iam-metric-namespace-one-writer",
                shared,
                /iam RolePolicy "a-policy" may publish to VisionMLOps\/Monitoring, as 1 other role may/,
                /iam RolePolicy "b-policy" may publish to VisionMLOps\/Monitoring/,
            );
            // Two policies of the same role are one writer.
            await expectPass("iam-metric-namespace-one-writer", [
                role("a", trust),
                shared[2],
                rolePolicy("a-more", "a-id", policyDocument(putMetricDataStatement(["VisionMLOps/Monitoring"]))),
            ]);
        });
    });
    describe("iam-pipeline-jobs-tag-scoped", () => {
        const rule = "iam-pipeline-jobs-tag-scoped";
        const jobs = (type: string) => `arn:aws:sagemaker:us-east-1:${ACCOUNT}:${type}/pipelines-*`;
        const TAG = "vision-mlops:pipeline";
        it("passes the training and monitoring roles, whose job grants name their own pipeline's tag", async () => {
            const training = trainingRolePolicy({
                environment: "staging",
                model: "signs",
                region: "us-east-1",
                accountId: ACCOUNT,
                buckets: { raw: "raw", curated: "curated", artifacts: "artifacts" },
                kmsKeyArn: `arn:aws:kms:us-east-1:${ACCOUNT}:key/k`,
                jobsRepositoryArn: `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/jobs`,
                roleArn: `arn:aws:iam::${ACCOUNT}:role/training`,
            });
            const monitor = monitorJobPolicy({
                engine: "pipeline",
                model: "signs",
                region: "us-east-1",
                accountId: ACCOUNT,
                roleArn: `arn:aws:iam::${ACCOUNT}:role/monitor`,
                captureBucket: "capture",
                baselineUri: "s3://artifacts/signs/baseline.json",
                kmsKeyArn: `arn:aws:kms:us-east-1:${ACCOUNT}:key/k`,
                repositoryArn: `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/jobs`,
                metricsNamespace: "VisionMLOps/Monitoring/signs",
                pipelineName: "vision-mlops-staging-signs-monitoring",
            });
            await expectPass(rule, [
                rolePolicy("training-policy", "t-id", training),
                role("monitor", serviceTrustPolicy({ service: "sagemaker.amazonaws.com", sourceAccount: ACCOUNT }), {
                    inlinePolicies: [{ name: "monitor", policy: JSON.stringify(monitor) }],
                }),
                // Jobs the platform names itself are not the shared pipelines-* ones.
                rolePolicy(
                    "other",
                    "o-id",
                    policyDocument({
                        Effect: "Allow",
                        Action: ["sagemaker:CreateTrainingJob"],
                        Resource: [`arn:aws:sagemaker:us-east-1:${ACCOUNT}:training-job/vision-mlops-*`],
                    }),
                ),
            ]);
        });
        it("fails job grants on pipelines-* open to any pipeline: untagged, any value, two pipelines, or the whole tag-key set", async () => {
            await expectFail(
                rule,
                [
                    // The shape the training role had: every pipelines-* job of the account.
                    rolePolicy(
                        "training-policy",
                        "t-id",
                        policyDocument({
                            Sid: "PipelineJobs",
                            Effect: "Allow",
                            Action: ["sagemaker:CreateTrainingJob", "sagemaker:StopTrainingJob", "sagemaker:AddTags"],
                            Resource: [jobs("training-job")],
                        }),
                    ),
                ],
                /^\[cross-model reach: pipeline job tag\] iam RolePolicy "training-policy" allows sagemaker:CreateTrainingJob on training-job\/pipelines-\* \(statement PipelineJobs\) without aws:RequestTag\/vision-mlops:pipeline naming one pipeline: any pipeline's role could act on the other models' jobs\. Fix: /,
                /allows sagemaker:StopTrainingJob on training-job\/pipelines-\* \(statement PipelineJobs\) without aws:ResourceTag\/vision-mlops:pipeline naming one pipeline/,
                /allows sagemaker:AddTags on training-job\/pipelines-\* \(statement PipelineJobs\) without aws:RequestTag\/vision-mlops:pipeline naming one pipeline/,
            );
            await expectFail(
                rule,
                [
                    rolePolicy(
                        "any-value",
                        "a-id",
                        policyDocument({
                            Sid: "AnyPipeline",
                            Effect: "Allow",
                            Action: ["sagemaker:Create*"],
                            Resource: [jobs("processing-job")],
                            Condition: { StringLike: { [`aws:RequestTag/${TAG}`]: "*" } },
                        }),
                    ),
                    rolePolicy(
                        "two-pipelines",
                        "b-id",
                        policyDocument({
                            Sid: "TwoPipelines",
                            Effect: "Allow",
                            Action: ["sagemaker:DescribeModel"],
                            Resource: [jobs("model")],
                            Condition: { StringEquals: { [`aws:ResourceTag/${TAG}`]: ["p-a", "p-b"] } },
                        }),
                    ),
                    rolePolicy(
                        "tag-keys",
                        "c-id",
                        policyDocument({
                            Sid: "OnlyOurKey",
                            Effect: "Allow",
                            Action: ["sagemaker:CreateTransformJob"],
                            Resource: [jobs("transform-job")],
                            Condition: {
                                StringEquals: { [`aws:RequestTag/${TAG}`]: "p-a" },
                                "ForAllValues:StringEquals": { "aws:TagKeys": [TAG] },
                            },
                        }),
                    ),
                ],
                /iam RolePolicy "any-value" allows sagemaker:CreateProcessingJob on processing-job\/pipelines-\* \(statement AnyPipeline\) without aws:RequestTag\/vision-mlops:pipeline naming one pipeline/,
                /iam RolePolicy "two-pipelines" allows sagemaker:DescribeModel on model\/pipelines-\* \(statement TwoPipelines\) without aws:ResourceTag\/vision-mlops:pipeline naming one pipeline/,
                /iam RolePolicy "tag-keys" limits aws:TagKeys for sagemaker:CreateTransformJob on transform-job\/pipelines-\* \(statement OnlyOurKey\), but SageMaker Pipelines adds tags of its own \(sagemaker:pipeline-execution-arn\)/,
            );
        });
    });
});
