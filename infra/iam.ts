/**
 * IAM policy documents as plain data. Every role of the platform is built from these statements, so the
 * scoping rules (object ARNs under a key prefix, listing only that prefix, one key, one repository, one role
 * to pass) live in one place and `writeActionsWithWildcardResource` can check any document in a test.
 *
 * The builders take resolved strings (ARNs, names); components lift their outputs once with `pulumi.all`
 * and `JSON.stringify` the result.
 */

import { PIPELINE_TAG_KEY } from "./tags";

export type Effect = "Allow" | "Deny";

/** `{ "<operator>": { "<condition key>": value } }`, e.g. `{ StringEquals: { "iam:PassedToService": "sagemaker.amazonaws.com" } }`. */
export type Condition = Readonly<Record<string, Readonly<Record<string, string | boolean | readonly string[]>>>>;

export interface Statement {
    /** Letters and digits only (IAM rejects anything else). */
    readonly Sid?: string;
    readonly Effect: Effect;
    readonly Principal?: { readonly Service: readonly string[] } | { readonly AWS: readonly string[] };
    readonly Action: readonly string[];
    /** Absent only in trust policies, which name a Principal instead. */
    readonly Resource?: readonly string[];
    readonly Condition?: Condition;
}

export interface PolicyDocument {
    readonly Version: "2012-10-17";
    readonly Statement: readonly Statement[];
}

/** The AWS partition of every ARN built here; a stack in another partition passes its own. */
export const DEFAULT_PARTITION = "aws";

/**
 * A policy document of the given statements (arrays are flattened, so builders returning several
 * statements can be passed as they are). An empty document is an error: IAM rejects it.
 */
export function policyDocument(...statements: ReadonlyArray<Statement | readonly Statement[]>): PolicyDocument {
    const flat = statements.flat() as Statement[];
    if (flat.length === 0) throw new Error("a policy document needs at least one statement");
    for (const s of flat) {
        if (s.Sid !== undefined && !/^[A-Za-z0-9]+$/.test(s.Sid))
            throw new Error(`statement id ${JSON.stringify(s.Sid)} must be letters and digits only`);
        if (s.Action.length === 0) throw new Error(`statement ${s.Sid ?? "(no Sid)"} has no actions`);
        if (!s.Principal && (!s.Resource || s.Resource.length === 0)) throw new Error(`statement ${s.Sid ?? "(no Sid)"} has no resources`);
    }
    return { Version: "2012-10-17", Statement: flat };
}

/** One AWS service that may assume a role, and on whose behalf (confused-deputy prevention). */
export interface ServiceTrust {
    /** Service principal, e.g. `sagemaker.amazonaws.com`. */
    readonly service: string;
    /** The account whose resources make the service assume the role: `aws:SourceAccount`. */
    readonly sourceAccount: string;
    /**
     * The resources that make the service assume the role (`aws:SourceArn`, matched with `ArnLike`, so `*`
     * may stand for a name part), where the service sends that key. What each service sends:
     * - EventBridge rules (`events.amazonaws.com`): the rule, `eventRuleArn(...)`;
     * - EventBridge Scheduler (`scheduler.amazonaws.com`): the schedule *group*, not the schedule,
     *   `scheduleGroupArn(...)`;
     * - SageMaker (`sagemaker.amazonaws.com`): the job, pipeline or endpoint acting, `sagemakerArn(...)`.
     * Leave it out where the service does not document the key: a condition on a key that is absent fails
     * closed, and the service silently stops working.
     */
    readonly sourceArns?: readonly string[];
}

/**
 * Trust policy letting each given service assume the role only on behalf of the stack's account and, where
 * given, of the resources named by `sourceArns`: one statement per service, with `StringEquals
 * aws:SourceAccount` and `ArnLike aws:SourceArn`.
 */
export function serviceTrustPolicy(...trusts: ServiceTrust[]): PolicyDocument {
    if (trusts.length === 0)
        throw new Error("serviceTrustPolicy needs at least one service, e.g. { service: sagemaker.amazonaws.com, sourceAccount }");
    return policyDocument(
        trusts.map((t): Statement => {
            checkedServicePrincipal(t.service);
            if (!/^\d{12}$/.test(t.sourceAccount))
                throw new Error(`${t.service}: sourceAccount ${JSON.stringify(t.sourceAccount)} must be a 12-digit AWS account id`);
            const arns = t.sourceArns ?? [];
            for (const arn of arns) {
                const account = /^arn:[a-z-]+:[a-z0-9-]+:[a-z0-9-]*:(\d{12}|\*)?:.+$/.exec(arn)?.[1];
                if (account === undefined)
                    throw new Error(
                        `${t.service}: source ARN ${JSON.stringify(arn)} is not an ARN (arn:<partition>:<service>:<region>:<account>:<resource>)`,
                    );
                if (account !== t.sourceAccount)
                    throw new Error(`${t.service}: source ARN ${arn} is not in the source account ${t.sourceAccount}`);
            }
            return {
                Effect: "Allow",
                Principal: { Service: [t.service] },
                Action: ["sts:AssumeRole"],
                Condition: {
                    StringEquals: { "aws:SourceAccount": t.sourceAccount },
                    ...(arns.length ? { ArnLike: { "aws:SourceArn": [...arns] } } : {}),
                },
            };
        }),
    );
}

function checkedServicePrincipal(service: string): string {
    if (!/^[a-z0-9.-]+\.amazonaws\.com$/.test(service))
        throw new Error(`${JSON.stringify(service)} is not a service principal; use a name such as sagemaker.amazonaws.com`);
    return service;
}

// ---------------------------------------------------------------------------------------------------------
// ARNs

export function s3BucketArn(bucketName: string, partition = DEFAULT_PARTITION): string {
    return `arn:${partition}:s3:::${bucketName}`;
}

/** `arn:<partition>:iam::<account>:role/<name>`: a role's ARN from its name, e.g. for a role that passes itself to its jobs. */
export function iamRoleArn(accountId: string, roleName: string, partition = DEFAULT_PARTITION): string {
    if (!/^\d{12}$/.test(accountId)) throw new Error(`account ${JSON.stringify(accountId)} must be a 12-digit AWS account id`);
    if (!/^[\w+=,.@-]{1,64}$/.test(roleName))
        throw new Error(`role name ${JSON.stringify(roleName)} must be 1-64 letters, digits and + = , . @ _ - (IAM's rule)`);
    return `arn:${partition}:iam::${accountId}:role/${roleName}`;
}

/** `arn:<partition>:events:<region>:<account>:rule/<name>`: an EventBridge rule on the default bus. */
export function eventRuleArn(region: string, accountId: string, ruleName: string, partition = DEFAULT_PARTITION): string {
    return `arn:${partition}:events:${region}:${accountId}:rule/${ruleName}`;
}

/** `arn:<partition>:cloudwatch:<region>:<account>:alarm:<name>` (a name may end in `*` for a prefix). */
export function cloudwatchAlarmArn(region: string, accountId: string, alarmName: string, partition = DEFAULT_PARTITION): string {
    return `arn:${partition}:cloudwatch:${region}:${accountId}:alarm:${alarmName}`;
}

/** `arn:<partition>:scheduler:<region>:<account>:schedule-group/<group>`; schedules without a group are in `default`. */
export function scheduleGroupArn(region: string, accountId: string, group = "default", partition = DEFAULT_PARTITION): string {
    return `arn:${partition}:scheduler:${region}:${accountId}:schedule-group/${group}`;
}

/** `arn:<partition>:sagemaker:<region>:<account>:<resourceType>/<name>`; SageMaker ARNs carry lowercase names. */
export function sagemakerArn(region: string, accountId: string, resourceType: string, name: string, partition = DEFAULT_PARTITION): string {
    return `arn:${partition}:sagemaker:${region}:${accountId}:${resourceType}/${name.toLowerCase()}`;
}

// ---------------------------------------------------------------------------------------------------------
// S3

/** One bucket and the key prefixes a role may touch in it. */
export interface S3Scope {
    /** `arn:aws:s3:::<bucket>`; see `s3BucketArn`. */
    readonly bucketArn: string;
    /** Key prefixes such as `traffic-signs/`; at least one. Objects under `<prefix>*` are in scope. */
    readonly prefixes: readonly string[];
}

function checkedScope(scope: S3Scope): S3Scope {
    if (!/^arn:[a-z-]+:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(scope.bucketArn))
        throw new Error(`${JSON.stringify(scope.bucketArn)} is not an S3 bucket ARN; build it with s3BucketArn(<bucket name>)`);
    if (scope.prefixes.length === 0)
        throw new Error(`no key prefixes given for ${scope.bucketArn}; pass the model's prefix, e.g. "traffic-signs/"`);
    for (const p of scope.prefixes)
        if (p === "" || p.startsWith("/") || p.includes("*"))
            throw new Error(
                `key prefix ${JSON.stringify(p)} for ${scope.bucketArn} must be a non-empty prefix without a leading "/" or "*", e.g. "traffic-signs/"`,
            );
    return scope;
}

function objectArns(scopes: readonly S3Scope[]): string[] {
    return scopes.flatMap((s) => checkedScope(s).prefixes.map((p) => `${s.bucketArn}/${p}*`));
}

/**
 * Read objects under the prefixes, and list the buckets only under them (ListBucket with an `s3:prefix`
 * condition; GetBucketLocation, which SDKs call before anything else, takes no such condition).
 */
export function s3ReadStatements(scopes: readonly S3Scope[], sid = "S3Read"): Statement[] {
    if (scopes.length === 0) throw new Error("s3ReadStatements needs at least one bucket scope");
    const read: Statement = {
        Sid: `${sid}Objects`,
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:GetObjectVersion"],
        Resource: objectArns(scopes),
    };
    const list: Statement[] = scopes.map((s, i) => ({
        Sid: `${sid}List${i}`,
        Effect: "Allow",
        Action: ["s3:ListBucket"],
        Resource: [s.bucketArn],
        Condition: { StringLike: { "s3:prefix": s.prefixes.map((p) => `${p}*`) } },
    }));
    const location: Statement = {
        Sid: `${sid}Location`,
        Effect: "Allow",
        Action: ["s3:GetBucketLocation"],
        Resource: unique(scopes.map((s) => s.bucketArn)),
    };
    return [read, ...list, location];
}

/** Write (never delete) objects under the prefixes, including multipart uploads. */
export function s3WriteStatements(scopes: readonly S3Scope[], sid = "S3Write"): Statement[] {
    if (scopes.length === 0) throw new Error("s3WriteStatements needs at least one bucket scope");
    return [
        {
            Sid: sid,
            Effect: "Allow",
            Action: ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
            Resource: objectArns(scopes),
        },
    ];
}

// ---------------------------------------------------------------------------------------------------------
// KMS, ECR, logs, metrics

/**
 * Encrypt and decrypt with one key. `grants` adds kms:CreateGrant for AWS services only
 * (`kms:GrantIsForAWSResource`), which a role needs when it creates SageMaker jobs or endpoints whose
 * volumes use the key.
 */
export function kmsUseStatement(keyArn: string, options: { grants?: boolean; sid?: string } = {}): Statement[] {
    if (!/^arn:[a-z-]+:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/.test(keyArn))
        throw new Error(`${JSON.stringify(keyArn)} is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)`);
    const sid = options.sid ?? "KmsUse";
    const use: Statement = {
        Sid: sid,
        Effect: "Allow",
        Action: [
            "kms:Decrypt",
            "kms:Encrypt",
            "kms:GenerateDataKey",
            "kms:GenerateDataKeyWithoutPlaintext",
            "kms:ReEncryptFrom",
            "kms:ReEncryptTo",
            "kms:DescribeKey",
        ],
        Resource: [keyArn],
    };
    if (!options.grants) return [use];
    return [
        use,
        {
            Sid: `${sid}Grants`,
            Effect: "Allow",
            Action: ["kms:CreateGrant"],
            Resource: [keyArn],
            Condition: { Bool: { "kms:GrantIsForAWSResource": true } },
        },
    ];
}

/** Pull images from one repository; GetAuthorizationToken takes only `*` and grants nothing by itself. */
export function ecrPullStatements(repositoryArn: string, sid = "EcrPull"): Statement[] {
    if (!/^arn:[a-z-]+:ecr:[a-z0-9-]+:\d{12}:repository\/[a-z0-9._/-]+$/.test(repositoryArn))
        throw new Error(`${JSON.stringify(repositoryArn)} is not an ECR repository ARN (arn:aws:ecr:<region>:<account>:repository/<name>)`);
    return [
        {
            Sid: sid,
            Effect: "Allow",
            Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
            Resource: [repositoryArn],
        },
        { Sid: `${sid}Token`, Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: ["*"] },
    ];
}

/** CloudWatch Logs for SageMaker jobs and endpoints: the `/aws/sagemaker/*` log groups of one account and region. */
export function sagemakerLogsStatement(region: string, accountId: string, partition = DEFAULT_PARTITION, sid = "SageMakerLogs"): Statement {
    const group = `arn:${partition}:logs:${region}:${accountId}:log-group:/aws/sagemaker/*`;
    return {
        Sid: sid,
        Effect: "Allow",
        Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
        Resource: [group, `${group}:log-stream:*`],
    };
}

/**
 * PutMetricData only accepts resource `*`; the `cloudwatch:namespace` condition is what scopes it, to the
 * exact namespaces given (a pattern would take in namespaces other roles own, such as another model's drift
 * metrics). SageMaker publishes job metrics under `/aws/sagemaker/TrainingJobs` etc.
 * (`SAGEMAKER_JOB_METRIC_NAMESPACES`); jobs of ours publish under their own namespace.
 */
export function putMetricDataStatement(namespaces: readonly string[], sid = "PutMetrics"): Statement {
    if (namespaces.length === 0) throw new Error("putMetricDataStatement needs at least one CloudWatch namespace");
    for (const n of namespaces)
        if (/[*?]/.test(n))
            throw new Error(`CloudWatch namespace ${JSON.stringify(n)} is a pattern; name the exact namespaces the role publishes`);
    return {
        Sid: sid,
        Effect: "Allow",
        Action: ["cloudwatch:PutMetricData"],
        Resource: ["*"],
        Condition: { StringEquals: { "cloudwatch:namespace": [...namespaces] } },
    };
}

/**
 * X-Ray segments from a traced Lambda function or state machine. X-Ray's write actions take no resource but
 * `*` and have no condition key to scope them (Service Authorization Reference), so they are listed in
 * `ACCEPT_ONLY_WILDCARD`.
 */
export function xrayWriteStatement(sid = "XRayTraces"): Statement {
    return {
        Sid: sid,
        Effect: "Allow",
        Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"],
        Resource: ["*"],
    };
}

/**
 * What a state machine needs to deliver its execution logs to CloudWatch Logs ("vended" logs): the log-delivery
 * actions, which accept only `*` (the Step Functions developer guide's logging policy); the log group itself is
 * named in the state machine's logging configuration.
 */
export function logDeliveryStatement(sid = "LogDelivery"): Statement {
    return { Sid: sid, Effect: "Allow", Action: [...LOG_DELIVERY_ACTIONS], Resource: ["*"] };
}

const LOG_DELIVERY_ACTIONS = [
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
] as const;

/** Write events to the named log groups (a Lambda function's own group), never create others. */
export function logWriteStatement(logGroupArns: readonly string[], sid = "Logs"): Statement {
    if (logGroupArns.length === 0) throw new Error("logWriteStatement needs at least one log group ARN");
    for (const arn of logGroupArns)
        if (!/^arn:[a-z-]+:logs:[a-z0-9-]+:\d{12}:log-group:[^*]+$/.test(arn))
            throw new Error(`${JSON.stringify(arn)} is not a log group ARN (arn:aws:logs:<region>:<account>:log-group:<name>)`);
    return {
        Sid: sid,
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: logGroupArns.map((arn) => `${arn}:log-stream:*`),
    };
}

/** `arn:<partition>:logs:<region>:<account>:log-group:<name>`. */
export function logGroupArn(region: string, accountId: string, name: string, partition = DEFAULT_PARTITION): string {
    return `arn:${partition}:logs:${region}:${accountId}:log-group:${name}`;
}

/** Where SageMaker's processing, training and transform jobs publish their metrics. */
export const SAGEMAKER_JOB_METRIC_NAMESPACES = [
    "/aws/sagemaker/ProcessingJobs",
    "/aws/sagemaker/TrainingJobs",
    "/aws/sagemaker/TransformJobs",
] as const;

// ---------------------------------------------------------------------------------------------------------
// SageMaker, PassRole

/** SageMaker actions (without the `sagemaker:` prefix, or with it) on the given ARNs only. */
export function sagemakerStatement(actions: readonly string[], resourceArns: readonly string[], sid?: string): Statement {
    if (resourceArns.length === 0) throw new Error(`no resources given for sagemaker actions ${actions.join(", ")}`);
    for (const arn of resourceArns)
        if (!/^arn:[a-z-]+:sagemaker:/.test(arn))
            throw new Error(`${JSON.stringify(arn)} is not a SageMaker ARN; build it with sagemakerArn(region, account, type, name)`);
    return {
        ...(sid ? { Sid: sid } : {}),
        Effect: "Allow",
        Action: actions.map((a) => (a.startsWith("sagemaker:") ? a : `sagemaker:${a}`)),
        Resource: [...resourceArns],
    };
}

/** Job and model names SageMaker Pipelines generates start with this, whichever pipeline creates them. */
export const PIPELINE_GENERATED = "pipelines-*";

/** What a pipeline creates, by the resource type of its ARN, and the actions on each. */
export const PIPELINE_JOB_ACTIONS = {
    "processing-job": { create: "CreateProcessingJob", manage: ["DescribeProcessingJob", "StopProcessingJob"] },
    "training-job": { create: "CreateTrainingJob", manage: ["DescribeTrainingJob", "StopTrainingJob"] },
    "transform-job": { create: "CreateTransformJob", manage: ["DescribeTransformJob", "StopTransformJob"] },
    model: { create: "CreateModel", manage: ["DescribeModel"] },
} as const;
export type PipelineJobType = keyof typeof PIPELINE_JOB_ACTIONS;

export interface PipelineJobScope {
    readonly region: string;
    readonly accountId: string;
    readonly partition?: string;
    /** The pipeline whose jobs these are: the value of their `PIPELINE_TAG_KEY` tag. */
    readonly pipelineName: string;
    readonly types: readonly PipelineJobType[];
    /** Also ListTags on them. Defaults to false. */
    readonly listTags?: boolean;
    /** Prefix of the three statement ids. Defaults to "PipelineJobs". */
    readonly sid?: string;
}

/**
 * The jobs and models one pipeline creates, and no other pipeline's. Their names (`pipelines-*`) do not say which
 * pipeline made them, so the grant goes by the tag every step of ours carries (`pipelineTag`): Create* only with
 * the tag naming this pipeline (`aws:RequestTag`), AddTags only so (which SageMaker also checks when a create
 * carries tags) and never onto a resource tagged for another pipeline, Describe/Stop/ListTags only on resources
 * tagged for it (`aws:ResourceTag`). No condition on `aws:TagKeys`: Pipelines adds tags of its own.
 */
export function pipelineJobStatements(scope: PipelineJobScope): Statement[] {
    if (scope.types.length === 0) throw new Error(`pipelineJobStatements for ${scope.pipelineName} needs at least one job type`);
    const partition = scope.partition ?? DEFAULT_PARTITION;
    const resources = scope.types.map((type) => sagemakerArn(scope.region, scope.accountId, type, PIPELINE_GENERATED, partition));
    const requestTag = { [`aws:RequestTag/${PIPELINE_TAG_KEY}`]: scope.pipelineName };
    const resourceTag = { [`aws:ResourceTag/${PIPELINE_TAG_KEY}`]: scope.pipelineName };
    const sid = scope.sid ?? "PipelineJobs";
    const create = scope.types.map((type) => PIPELINE_JOB_ACTIONS[type].create);
    const manage = [...scope.types.flatMap((type) => PIPELINE_JOB_ACTIONS[type].manage), ...(scope.listTags ? ["ListTags"] : [])];
    return [
        { ...sagemakerStatement(create, resources, `${sid}Create`), Condition: { StringEquals: requestTag } },
        {
            ...sagemakerStatement(["AddTags"], resources, `${sid}Tag`),
            Condition: { StringEquals: requestTag, StringEqualsIfExists: resourceTag },
        },
        { ...sagemakerStatement(manage, resources, `${sid}Manage`), Condition: { StringEquals: resourceTag } },
    ];
}

/** iam:PassRole of one role, only to the given service (e.g. a SageMaker execution role passing itself to the jobs it creates). */
export function passRoleStatement(roleArn: string, service = "sagemaker.amazonaws.com", sid = "PassRole"): Statement {
    if (!/^arn:[a-z-]+:iam::\d{12}:role\/.+$/.test(roleArn))
        throw new Error(`${JSON.stringify(roleArn)} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)`);
    return {
        Sid: sid,
        Effect: "Allow",
        Action: ["iam:PassRole"],
        Resource: [roleArn],
        Condition: { StringEquals: { "iam:PassedToService": service } },
    };
}

// ---------------------------------------------------------------------------------------------------------
// Checks

/** Action verbs that only read or describe; every other action (and any wildcard action) counts as a write. */
const READ_VERBS = ["Get", "List", "Describe", "BatchGet", "BatchCheck", "Search", "Query", "Head", "Lookup"];

/**
 * Actions that accept no resource but `*` and are scoped by a condition key instead; such a statement is
 * fine when it carries that condition.
 */
const SCOPED_BY_CONDITION: Readonly<Record<string, string>> = {
    "cloudwatch:PutMetricData": "cloudwatch:namespace",
};

/** Write actions that accept no resource but `*` and have no condition key to scope them by. */
const ACCEPT_ONLY_WILDCARD: ReadonlySet<string> = new Set([
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    ...LOG_DELIVERY_ACTIONS,
]);

export function isReadAction(action: string): boolean {
    const [, verb] = action.split(":");
    if (!verb || verb.includes("*")) return false;
    return READ_VERBS.some((v) => verb.startsWith(v) && verb.length > v.length && /[A-Z]/.test(verb[v.length]));
}

/** `*`, or an ARN whose resource part is `*` (e.g. `arn:aws:s3:::*`, `arn:aws:sagemaker:us-east-1:123456789012:*`). */
export function isWildcardResource(resource: string): boolean {
    return resource === "*" || /^arn:[^:]*:[^:]*:[^:]*:[^:]*:\*$/.test(resource);
}

function hasConditionKey(s: Statement, key: string): boolean {
    return Object.values(s.Condition ?? {}).some((byKey) => Object.prototype.hasOwnProperty.call(byKey, key));
}

/**
 * Allow statements that grant a write action on a wildcard resource, e.g. for a test asserting that none
 * exist. An action that only accepts `*` and is scoped by its condition key (PutMetricData with a
 * namespace) does not count when the statement carries that key.
 */
export function writeActionsWithWildcardResource(doc: PolicyDocument): Statement[] {
    return doc.Statement.filter((s) => {
        if (s.Effect !== "Allow" || s.Principal) return false;
        if (!(s.Resource ?? []).some(isWildcardResource)) return false;
        return s.Action.some((a) => {
            if (isReadAction(a) || ACCEPT_ONLY_WILDCARD.has(a)) return false;
            const key = SCOPED_BY_CONDITION[a];
            return !(key && hasConditionKey(s, key));
        });
    });
}

function unique<T>(items: readonly T[]): T[] {
    return [...new Set(items)];
}
