import { Condition, DEFAULT_PARTITION, Effect } from "./iam";

/**
 * Resource policies (bucket, key, topic) as plain data, like the IAM documents in iam.ts: every bucket, key and
 * topic policy of the platform is one of these builders over resolved strings, so the rules they share (TLS
 * only, the account administers keys through IAM) live in one place and a test can read any of them.
 *
 * Unlike identity policies, a resource policy names who it admits (`Principal`), and every statement has a
 * `Sid`, so a reviewer, Access Analyzer's findings and the policy pack can name the rule they mean.
 */

/** Who a statement admits: anyone (`*`, for Deny rules and conditions that bind the caller), AWS services, or AWS accounts and roles. */
export type Principal = "*" | { readonly Service: string | readonly string[] } | { readonly AWS: string | readonly string[] };

export interface ResourceStatement {
    /** Letters and digits only, unique in its policy. */
    readonly Sid: string;
    readonly Effect: Effect;
    readonly Principal: Principal;
    readonly Action: string | readonly string[];
    /** ARNs, or `*` in a key policy (which means the key itself). */
    readonly Resource: string | readonly string[];
    readonly Condition?: Condition;
}

export interface ResourcePolicy {
    readonly Version: "2012-10-17";
    readonly Statement: readonly ResourceStatement[];
}

const asList = (v: string | readonly string[]): readonly string[] => (typeof v === "string" ? [v] : v);

/**
 * A resource policy of the given statements (arrays are flattened). Refuses what the services refuse or what
 * would make a rule ambiguous: no statement, a Sid that is not letters and digits or repeats, a statement
 * without actions or resources, a principal that names nobody.
 */
export function resourcePolicy(...statements: ReadonlyArray<ResourceStatement | readonly ResourceStatement[]>): ResourcePolicy {
    const flat = statements.flat() as ResourceStatement[];
    if (flat.length === 0) throw new Error("a resource policy needs at least one statement");
    const sids = new Set<string>();
    for (const s of flat) {
        if (!/^[A-Za-z0-9]+$/.test(s.Sid)) throw new Error(`statement id ${JSON.stringify(s.Sid)} must be letters and digits only`);
        if (sids.has(s.Sid)) throw new Error(`statement id ${s.Sid} appears twice in one policy`);
        sids.add(s.Sid);
        if (asList(s.Action).length === 0) throw new Error(`statement ${s.Sid} has no actions`);
        if (asList(s.Resource).length === 0) throw new Error(`statement ${s.Sid} has no resources`);
        if (s.Principal !== "*") {
            const named = "Service" in s.Principal ? s.Principal.Service : s.Principal.AWS;
            if (asList(named).length === 0) throw new Error(`statement ${s.Sid} names no principal`);
        }
    }
    return { Version: "2012-10-17", Statement: flat };
}

// ---------------------------------------------------------------------------------------------------------
// S3 bucket policies

export interface BucketPolicyArgs {
    readonly bucketArn: string;
    /** The bucket's SSE-KMS key: uploads asking for any other encryption are refused. None for SSE-S3 buckets. */
    readonly kmsKeyArn?: string;
    /** What the bucket admits besides its owner's roles. Defaults to none. */
    readonly statements?: readonly ResourceStatement[];
}

/** A bucket's policy: TLS only (Security Hub S3.5), uploads only with the bucket's key, then the bucket's own statements. */
export function bucketPolicy(args: BucketPolicyArgs): ResourcePolicy {
    return resourcePolicy(
        denyInsecureTransport(args.bucketArn),
        args.kmsKeyArn !== undefined ? denyUploadsNotEncryptedWith(args.bucketArn, args.kmsKeyArn) : [],
        args.statements ?? [],
    );
}

/** Refuses every request to the bucket that does not arrive over TLS (Security Hub S3.5). */
export function denyInsecureTransport(bucketArn: string): ResourceStatement {
    return {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
    };
}

/**
 * Refuses uploads (PutObject, and so multipart uploads and copies into the bucket) that ask for any
 * encryption but SSE-KMS with the given key: another algorithm (SSE-S3, DSSE), another key, or SSE-KMS
 * without a key id, for which S3 would use the AWS managed `aws/s3` key. An upload that asks for no
 * encryption gets the bucket's default, which is this key, so writers that send no headers keep working.
 */
export function denyUploadsNotEncryptedWith(bucketArn: string, keyArn: string): ResourceStatement[] {
    const sse = "s3:x-amz-server-side-encryption";
    const keyId = "s3:x-amz-server-side-encryption-aws-kms-key-id";
    const deny = (sid: string, condition: Condition): ResourceStatement => ({
        Sid: sid,
        Effect: "Deny",
        Principal: "*",
        Action: "s3:PutObject",
        Resource: `${bucketArn}/*`,
        Condition: condition,
    });
    return [
        deny("DenyUploadsNotSseKms", { StringNotEquals: { [sse]: "aws:kms" }, Null: { [sse]: "false" } }),
        deny("DenyUploadsWithAnotherKey", { StringNotEquals: { [keyId]: keyArn }, Null: { [keyId]: "false" } }),
        deny("DenyUploadsSseKmsWithoutKeyId", { StringEquals: { [sse]: "aws:kms" }, Null: { [keyId]: "true" } }),
    ];
}

/** Lets S3 server access logging write into a logs bucket, only for the given account's buckets. */
export function s3LogDeliveryStatement(logsBucketArn: string, account: string): ResourceStatement {
    return {
        Sid: "AllowS3ServerAccessLogDelivery",
        Effect: "Allow",
        Principal: { Service: "logging.s3.amazonaws.com" },
        Action: "s3:PutObject",
        Resource: `${logsBucketArn}/*`,
        Condition: { StringEquals: { "aws:SourceAccount": account } },
    };
}

// ---------------------------------------------------------------------------------------------------------
// KMS key policies

/**
 * A key's policy: the account administers the key through IAM (so each role gets exactly the key permissions
 * its own policy grants), then what the key lets services do. Services' statements name `Resource: "*"`,
 * which in a key policy means this key.
 */
export function keyPolicy(account: string, statements: readonly ResourceStatement[], partition = DEFAULT_PARTITION): ResourcePolicy {
    if (!/^\d{12}$/.test(account)) throw new Error(`account ${JSON.stringify(account)} must be a 12-digit AWS account id`);
    return resourcePolicy(
        {
            Sid: "AccountAdministersKeyThroughIam",
            Effect: "Allow",
            Principal: { AWS: `arn:${partition}:iam::${account}:root` },
            Action: "kms:*",
            Resource: "*",
        },
        statements,
    );
}

/** One service's use of a key (`Resource: "*"`, the key itself), bound by a condition. */
export function keyServiceStatement(sid: string, service: string, actions: readonly string[], condition: Condition): ResourceStatement {
    return { Sid: sid, Effect: "Allow", Principal: { Service: service }, Action: actions, Resource: "*", Condition: condition };
}

// ---------------------------------------------------------------------------------------------------------
// SNS topic policies

/** A topic's policy: who may publish (the statements given), and nobody over plain HTTP. */
export function topicPolicy(topicArn: string, statements: readonly ResourceStatement[]): ResourcePolicy {
    return resourcePolicy(statements, {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "sns:Publish",
        Resource: topicArn,
        Condition: { Bool: { "aws:SecureTransport": "false" } },
    });
}
