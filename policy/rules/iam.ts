import * as aws from "@pulumi/aws";
import { PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs, validateResourceOfType } from "@pulumi/policy";
import { PIPELINE_JOB_ACTIONS, PipelineJobType, Statement, writeActionsWithWildcardResource } from "../../infra/iam";
import { conditionKeys, conditionValues, listOf, matches, RawStatement, servicePrincipals } from "../../infra/policy-evaluation";
import { PIPELINE_TAG_KEY } from "../../infra/tags";
import { describe, message, PlatformRule, referencedBy, statementsOf, typeOf } from "../support";

/**
 * IAM rules: trust and resource policies that bind AWS services to the stack's account and resources
 * (the confused deputy), no write action on `*`, no broad AWS managed policies, and CloudWatch metrics
 * scoped by namespace to the one role that publishes them.
 */

// -------------------------------------------------------------------------------------------------------
// Where policy documents live

/** Identity policies: the documents that grant a principal actions. */
const IDENTITY_POLICY_TYPES = [aws.iam.RolePolicy, aws.iam.Policy, aws.iam.UserPolicy, aws.iam.GroupPolicy];

/** Validations over every identity-policy document of a resource: its `policy`, or a role's inline policies. */
function identityPolicyValidations(
    controls: readonly string[],
    check: (statements: RawStatement[], where: string, args: ResourceValidationArgs, report: ReportViolation) => void,
) {
    return [
        ...IDENTITY_POLICY_TYPES.map((type) =>
            validateResourceOfType(type as typeof aws.iam.RolePolicy, (resource, args, report) => {
                const statements = statementsOf(resource.policy, report, controls, describe(args.type, args.name));
                if (statements) check(statements, describe(args.type, args.name), args, report);
            }),
        ),
        validateResourceOfType(aws.iam.Role, (role, args, report) => {
            for (const inline of role.inlinePolicies ?? []) {
                if (inline.policy === undefined) continue;
                const where = `inline policy ${inline.name ?? "(unnamed)"} of ${describe(args.type, args.name)}`;
                const statements = statementsOf(inline.policy, report, controls, where);
                if (statements) check(statements, where, args, report);
            }
        }),
    ];
}

/** A statement in the shape of infra/iam's builders, for its checks. */
function asStatement(s: RawStatement): Statement {
    return {
        Effect: s.Effect,
        Action: listOf(s.Action),
        Resource: listOf(s.Resource),
        ...(s.Condition ? { Condition: s.Condition as Statement["Condition"] } : {}),
    };
}

// -------------------------------------------------------------------------------------------------------
// Confused deputy: service principals in trust and resource policies

/** Condition keys that bind a service principal to the stack's account or resources. */
const TRUST_SCOPING_KEYS = ["aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid", "aws:sourceorgpaths"];

/** Whether a statement binds its service principals: a scoping key whose values are not all wildcards. */
function bindsTheService(s: RawStatement, keys: readonly string[]): boolean {
    return keys.some((key) => {
        const prefix = key.endsWith(":") ? key : undefined;
        const present = prefix ? conditionKeys(s).filter((k) => k.startsWith(prefix)) : conditionKeys(s).filter((k) => k === key);
        return present.some((k) => conditionValues(s, k).some((v) => v !== "*" && v !== ""));
    });
}

const TRUST = ["confused deputy: aws:SourceAccount/aws:SourceArn"];
export const trustPoliciesBindServices: PlatformRule = {
    name: "iam-service-trust-source-conditions",
    description:
        "A role that AWS services assume names, in its trust policy, the account (aws:SourceAccount) and where known the resources (aws:SourceArn) they act for.",
    controls: TRUST,
    enforcementLevel: "mandatory",
    remediationSteps: "Build the trust policy with serviceTrustPolicy({ service, sourceAccount, sourceArns }) from infra/iam.ts.",
    validateResource: validateResourceOfType(aws.iam.Role, (role, args, report) => {
        const statements = statementsOf(role.assumeRolePolicy, report, TRUST, `trust policy of ${describe(args.type, args.name)}`);
        for (const s of statements ?? []) {
            const services = servicePrincipals(s);
            if (s.Effect !== "Allow" || services.length === 0 || bindsTheService(s, TRUST_SCOPING_KEYS)) continue;
            report(
                message(
                    TRUST,
                    `${describe(args.type, args.name)} lets ${services.join(", ")} assume it on behalf of any account's resources`,
                    "build the trust policy with serviceTrustPolicy({ service, sourceAccount, sourceArns }) (infra/iam.ts): aws:SourceAccount, and aws:SourceArn of the stack's rules, schedules or jobs",
                ),
            );
        }
    }),
};

/** In resource policies KMS also offers keys that name the calling resource or account. */
const RESOURCE_SCOPING_KEYS = [...TRUST_SCOPING_KEYS, "kms:callingaccount", "kms:calleraccount", "kms:encryptioncontext:"];

const RESOURCE_POLICY = ["confused deputy in resource policies"];
export const resourcePoliciesBindServices: PlatformRule = {
    name: "resource-policy-service-conditions",
    description:
        "Key, bucket, topic and queue policies and Lambda permissions that admit an AWS service bind it to the stack's account or resources (aws:SourceAccount, aws:SourceArn, or for keys the encryption context).",
    controls: RESOURCE_POLICY,
    enforcementLevel: "mandatory",
    remediationSteps:
        "Add aws:SourceAccount / aws:SourceArn (or kms:EncryptionContext:<key> for KMS) to every statement that admits a service principal.",
    validateResource: [
        ...[aws.kms.Key, aws.kms.KeyPolicy, aws.s3.BucketPolicy, aws.sns.TopicPolicy, aws.sqs.QueuePolicy].map((type) =>
            validateResourceOfType(type as typeof aws.kms.Key, (resource, args, report) => {
                if (resource.policy === undefined) return;
                const where = describe(args.type, args.name);
                for (const s of statementsOf(resource.policy, report, RESOURCE_POLICY, `policy of ${where}`) ?? []) {
                    const services = servicePrincipals(s);
                    if (s.Effect !== "Allow" || services.length === 0 || bindsTheService(s, RESOURCE_SCOPING_KEYS)) continue;
                    report(
                        message(
                            RESOURCE_POLICY,
                            `${where} lets ${services.join(", ")} ${listOf(s.Action).join(", ")} on behalf of anyone (statement ${s.Sid ?? "without a Sid"})`,
                            "bind the statement with aws:SourceAccount and aws:SourceArn, or for a KMS key the encryption context of the one resource it serves",
                        ),
                    );
                }
            }),
        ),
        validateResourceOfType(aws.lambda.Permission, (permission, args, report) => {
            if (!String(permission.principal).endsWith(".amazonaws.com") || permission.sourceArn || permission.sourceAccount) return;
            report(
                message(
                    RESOURCE_POLICY,
                    `${describe(args.type, args.name)} lets ${permission.principal} invoke the function for anyone`,
                    "set sourceArn (and sourceAccount)",
                ),
            );
        }),
    ],
};

// -------------------------------------------------------------------------------------------------------
// What roles may do

const WILDCARD = ["no * resource on write actions"];
export const noWildcardWrites: PlatformRule = {
    name: "iam-no-wildcard-write",
    description:
        "No identity policy allows a write action on `*` (or a whole-service ARN), nor uses NotAction/NotResource in an Allow; actions that only accept `*` are fine with their scoping condition (PutMetricData with cloudwatch:namespace).",
    controls: WILDCARD,
    enforcementLevel: "mandatory",
    remediationSteps: "Scope the statement to the platform's own ARNs with the builders of infra/iam.ts.",
    validateResource: identityPolicyValidations(WILDCARD, (statements, where, _args, report) => {
        for (const s of statements) {
            if (s.Effect === "Allow" && (s.NotAction !== undefined || s.NotResource !== undefined))
                report(
                    message(
                        WILDCARD,
                        `${where} allows NotAction/NotResource (statement ${s.Sid ?? "without a Sid"}), which grants everything not listed`,
                        "list the actions and resources it needs",
                    ),
                );
        }
        for (const s of writeActionsWithWildcardResource({
            Version: "2012-10-17",
            Statement: statements.filter((x) => x.NotAction === undefined && x.NotResource === undefined).map(asStatement),
        }))
            report(
                message(
                    WILDCARD,
                    `${where} allows ${s.Action.join(", ")} on ${(s.Resource ?? []).join(", ")}`,
                    "name the platform's own resources (bucket prefixes, the key, the repository, the pipeline) with infra/iam.ts's builders",
                ),
            );
    }),
};

/** AWS managed policies that grant a service (or everything) account-wide. */
const BROAD_MANAGED_POLICIES = [
    "AmazonSageMakerFullAccess",
    "AdministratorAccess",
    "PowerUserAccess",
    "AmazonS3FullAccess",
    "IAMFullAccess",
];
const broadPolicy = (arn: unknown) => {
    const m = typeof arn === "string" ? /^arn:aws[a-z-]*:iam::aws:policy\/(?:service-role\/)?([^/]+)$/.exec(arn) : null;
    return m && BROAD_MANAGED_POLICIES.includes(m[1]) ? m[1] : undefined;
};

const MANAGED = ["no AmazonSageMakerFullAccess"];
export const noBroadManagedPolicies: PlatformRule = {
    name: "iam-no-broad-managed-policies",
    description: `No role, user or group gets ${BROAD_MANAGED_POLICIES.join(", ")}: each grants its service (or everything) on every resource of the account.`,
    controls: MANAGED,
    enforcementLevel: "mandatory",
    remediationSteps: "Replace the attachment with an inline policy built from infra/iam.ts that names the platform's own resources.",
    validateResource: [
        ...[aws.iam.RolePolicyAttachment, aws.iam.PolicyAttachment, aws.iam.UserPolicyAttachment, aws.iam.GroupPolicyAttachment].map(
            (type) =>
                validateResourceOfType(type as typeof aws.iam.RolePolicyAttachment, (attachment, args, report) =>
                    reportBroadPolicies([attachment.policyArn], "attaches", args, report),
                ),
        ),
        validateResourceOfType(aws.iam.Role, (role, args, report) =>
            reportBroadPolicies(role.managedPolicyArns ?? [], "has in managedPolicyArns", args, report),
        ),
        validateResourceOfType(aws.iam.RolePolicyAttachmentsExclusive, (attachments, args, report) =>
            reportBroadPolicies(attachments.policyArns ?? [], "attaches", args, report),
        ),
    ],
};

function reportBroadPolicies(arns: readonly unknown[], how: string, args: ResourceValidationArgs, report: ReportViolation): void {
    for (const arn of arns) {
        const broad = broadPolicy(arn);
        if (broad)
            report(
                message(
                    MANAGED,
                    `${describe(args.type, args.name)} ${how} ${broad}`,
                    "grant exactly what the role does with an inline policy built from infra/iam.ts",
                ),
            );
    }
}

// -------------------------------------------------------------------------------------------------------
// CloudWatch metrics: who may write which namespace

const PUT_METRICS = (action: string) => /^cloudwatch:(\*|put\*|putmetricdata)$/i.test(action) || action === "*";

/** The namespaces an Allow statement lets its holder publish to, or `["*"]` when it names none. */
function publishedNamespaces(s: RawStatement): string[] | undefined {
    if (s.Effect !== "Allow" || !listOf(s.Action).some(PUT_METRICS)) return undefined;
    const namespaces = conditionValues(s, "cloudwatch:namespace");
    return namespaces.length ? namespaces : ["*"];
}

const METRICS = ["metric spoofing: cloudwatch:namespace"];
export const metricNamespacesAreLiteral: PlatformRule = {
    name: "iam-metric-namespace-literal",
    description:
        "PutMetricData is scoped with cloudwatch:namespace to the exact namespaces the role publishes; a pattern reaches namespaces others' alarms read.",
    controls: METRICS,
    enforcementLevel: "mandatory",
    remediationSteps: "Pass the exact namespaces to putMetricDataStatement (infra/iam.ts), e.g. /aws/sagemaker/TrainingJobs.",
    validateResource: identityPolicyValidations(METRICS, (statements, where, _args, report) => {
        for (const s of statements) {
            const patterns = (publishedNamespaces(s) ?? []).filter((n) => /[*?]/.test(n));
            if (patterns.length)
                report(
                    message(
                        METRICS,
                        `${where} may publish metrics to ${patterns.join(", ")}, which takes in namespaces other jobs and alarms own (drift metrics among them)`,
                        "list the exact namespaces it publishes in putMetricDataStatement",
                    ),
                );
        }
    }),
};

/** SageMaker's own job and endpoint metric namespaces: every job's agent writes them, keyed by job or host. */
const SAGEMAKER_SHARED_NAMESPACES = [
    "/aws/sagemaker/TrainingJobs",
    "/aws/sagemaker/ProcessingJobs",
    "/aws/sagemaker/TransformJobs",
    "/aws/sagemaker/Endpoints",
    "/aws/sagemaker/InferenceRecommendationsJobs",
    // Model Monitor publishes every bring-your-own-container job's metric files here, keyed by the Endpoint
    // dimension; it offers no other namespace and PutMetricData no condition key on dimensions, so every
    // model-monitor engine role shares it (the default pipeline engine has one namespace per endpoint).
    "/aws/sagemaker/Endpoint/data-metrics",
];

export const metricNamespacesHaveOneWriter: PlatformRule = {
    name: "iam-metric-namespace-one-writer",
    description:
        "Each of the platform's metric namespaces is written by one role, so one model's jobs cannot publish another model's drift or quality metrics (SageMaker's own job namespaces excepted).",
    controls: METRICS,
    enforcementLevel: "mandatory",
    remediationSteps:
        "Give each model's publishing role a namespace of its own (e.g. VisionMLOps/Monitoring/<model>) and scope PutMetricData to it.",
    validateStack: (args: StackValidationArgs, report: ReportViolation) => {
        const roles = args.resources.filter((r) => r.type === typeOf(aws.iam.Role));
        const writers = new Map<string, { policy: PolicyResource; role: string }[]>();
        for (const policy of args.resources.filter((r) => r.type === typeOf(aws.iam.RolePolicy))) {
            const role = referencedBy(policy, "role", roles, (r) => [r.props.name]);
            const roleKey = role?.urn ?? String(policy.props.role);
            const statements = statementsOf(policy.props.policy, report, METRICS, describe(policy.type, policy.name), policy.urn) ?? [];
            for (const namespace of new Set(statements.flatMap((s) => publishedNamespaces(s) ?? []))) {
                if (SAGEMAKER_SHARED_NAMESPACES.includes(namespace)) continue;
                writers.set(namespace, [...(writers.get(namespace) ?? []), { policy, role: roleKey }]);
            }
        }
        for (const [namespace, list] of writers) {
            const distinct = new Set(list.map((w) => w.role));
            if (distinct.size < 2) continue;
            for (const w of list)
                report(
                    message(
                        METRICS,
                        `${describe(w.policy.type, w.policy.name)} may publish to ${namespace}, as ${distinct.size - 1} other role${distinct.size === 2 ? "" : "s"} may: any of them can write the others' metrics and silence or trip their alarms`,
                        "give each role its own namespace and scope its PutMetricData to it",
                    ),
                    w.policy.urn,
                );
        }
    },
};

// -------------------------------------------------------------------------------------------------------
// Jobs and models SageMaker Pipelines creates: one pipeline's, by tag

/** A name SageMaker Pipelines gives a job or model it creates (`pipelines-<execution>-<step>-<suffix>`). */
const PIPELINE_GENERATED_NAME = "pipelines-0abc123def45-Step-AbCdEf1234";

/** `arn:<partition>:sagemaker:<region>:<account>:<type>/<name>` of a job type a pipeline creates, or undefined. */
function pipelineJobResource(resource: string): { type: PipelineJobType; name: string; sample: string } | undefined {
    const m = /^arn:([^:]*):sagemaker:([^:]*):([^:]*):([a-z-]+)\/(.+)$/.exec(resource);
    if (!m || !(m[4] in PIPELINE_JOB_ACTIONS)) return undefined;
    const literal = (part: string, fallback: string) => (/[*?]/.test(part) ? fallback : part);
    const sample = `arn:${literal(m[1], "aws")}:sagemaker:${literal(m[2], "us-east-1")}:${literal(m[3], "123456789012")}:${m[4]}/${PIPELINE_GENERATED_NAME}`;
    return { type: m[4] as PipelineJobType, name: m[5], sample };
}

/** Whether a statement tests the set of request tag keys (`ForAllValues:...`/`ForAnyValue:...` on aws:TagKeys). */
function limitsTagKeys(s: RawStatement): boolean {
    return Object.entries(s.Condition ?? {}).some(
        ([op, byKey]) => op.includes(":") && Object.keys(byKey).some((k) => k.toLowerCase() === "aws:tagkeys"),
    );
}

const PIPELINE_JOBS = ["cross-model reach: pipeline job tag"];
export const pipelineJobsAreTagScoped: PlatformRule = {
    name: "iam-pipeline-jobs-tag-scoped",
    description: `Grants on the jobs and models SageMaker Pipelines names pipelines-* (every pipeline's, whichever model) are scoped to one pipeline by the ${PIPELINE_TAG_KEY} tag its steps carry: Create* and AddTags by aws:RequestTag, Describe/Stop/ListTags by aws:ResourceTag, each naming exactly one pipeline; never by the whole tag-key set, since Pipelines adds tags of its own.`,
    controls: PIPELINE_JOBS,
    enforcementLevel: "mandatory",
    remediationSteps:
        "Build the grant with pipelineJobStatements (infra/iam.ts) and create the pipeline with PipelineBuilder({ pipelineName }), which tags every job step.",
    validateResource: identityPolicyValidations(PIPELINE_JOBS, (statements, where, _args, report) => {
        const fix =
            "build the grant with pipelineJobStatements({ pipelineName, ... }) (infra/iam.ts) and tag the steps through PipelineBuilder({ pipelineName })";
        for (const s of statements) {
            if (s.Effect !== "Allow" || s.NotAction !== undefined || s.NotResource !== undefined) continue;
            const unconditioned: RawStatement = { ...s, Condition: undefined };
            for (const resource of listOf(s.Resource)) {
                const job = pipelineJobResource(resource);
                if (!job) continue;
                const { create, manage } = PIPELINE_JOB_ACTIONS[job.type];
                const byRequest = [create, "AddTags"];
                for (const verb of [create, ...manage, "AddTags", "ListTags"]) {
                    const action = `sagemaker:${verb}`;
                    if (!matches(unconditioned, { action, resource: job.sample })) continue;
                    const on = `${action} on ${job.type}/${job.name} (statement ${s.Sid ?? "without a Sid"})`;
                    const requested = byRequest.includes(verb);
                    if (requested && limitsTagKeys(s)) {
                        report(
                            message(
                                PIPELINE_JOBS,
                                `${where} limits aws:TagKeys for ${on}, but SageMaker Pipelines adds tags of its own (sagemaker:pipeline-execution-arn), so its jobs would be refused`,
                                `test only aws:RequestTag/${PIPELINE_TAG_KEY}; ${fix}`,
                            ),
                        );
                        continue;
                    }
                    const key = `aws:${requested ? "Request" : "Resource"}Tag/${PIPELINE_TAG_KEY}`;
                    const named = conditionValues(s, key);
                    const tagged = (value: string, extra: Record<string, string> = {}) => ({
                        action,
                        resource: job.sample,
                        context: { [key]: value, ...extra },
                    });
                    const foreign = `another-pipeline-than-${named[0] ?? "this"}`;
                    let open: boolean;
                    try {
                        open =
                            named.length !== 1 ||
                            /[*?]/.test(named[0]) ||
                            matches(s, { action, resource: job.sample }) ||
                            matches(s, tagged(foreign)) ||
                            (verb === "AddTags" && matches(s, tagged(named[0], { [`aws:ResourceTag/${PIPELINE_TAG_KEY}`]: foreign })));
                    } catch {
                        open = true;
                    }
                    if (open)
                        report(
                            message(
                                PIPELINE_JOBS,
                                `${where} allows ${on} without ${key} naming one pipeline: any pipeline's role could act on the other models' jobs`,
                                fix,
                            ),
                        );
                }
            }
        }
    }),
};

export const IAM_RULES: readonly PlatformRule[] = [
    trustPoliciesBindServices,
    resourcePoliciesBindServices,
    noWildcardWrites,
    noBroadManagedPolicies,
    metricNamespacesAreLiteral,
    metricNamespacesHaveOneWriter,
    pipelineJobsAreTagScoped,
];
