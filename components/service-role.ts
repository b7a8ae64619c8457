import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { PolicyDocument, ServiceTrust, serviceTrustPolicy } from "../infra/iam";

export interface ServiceRoleArgs {
    /** The role's IAM name (1-64 characters); the platform's roles are named with `iamName(...)`. */
    readonly roleName: string;
    /** What the role is for, shown in the IAM console. */
    readonly description: string;
    /**
     * The AWS services that may assume the role, each bound to the account (`aws:SourceAccount`) and, where
     * the service sends it, to the resources that act (`aws:SourceArn`): see `ServiceTrust` in infra/iam.ts.
     * At least one.
     */
    readonly trust: pulumi.Input<readonly ServiceTrust[]>;
    /**
     * Everything the role may do, as one inline policy built from infra/iam.ts's statements. A role that
     * passes itself to the jobs it creates names its own ARN with `iamRoleArn(account, roleName)`.
     */
    readonly policy: pulumi.Input<PolicyDocument>;
    /** Longest session, in seconds. Defaults to IAM's default (3600). */
    readonly maxSessionDuration?: number;
    /**
     * Logical name of the inline policy. Defaults to `<name>-policy`; a role declared before ServiceRole keeps
     * its policy's old name here, so a deployed stack adopts the policy instead of replacing it.
     */
    readonly policyResourceName?: string;
}

/**
 * The one way the platform makes a role that an AWS service assumes (the shape of pulumi-eks's
 * `ServiceRole` and awsx's `defaultRoleWithPolicies`): a trust policy from `serviceTrustPolicy`, so every
 * service is bound to the stack's account and resources (the confused deputy), and one inline policy, so
 * the role holds no managed policy and exactly what its document says.
 *
 * Children are named `<name>` (the role) and `<name>-policy` (or `policyResourceName`). Give resources that run with the role
 * `arn`, not `role.arn`: it resolves once the policy is attached, so SageMaker never checks a role that
 * cannot yet read what it needs.
 */
export class ServiceRole extends pulumi.ComponentResource {
    public readonly role: aws.iam.Role;
    public readonly policy: aws.iam.RolePolicy;
    /** The role's ARN, known once its policy is attached. */
    public readonly arn: pulumi.Output<string>;
    public readonly roleName: pulumi.Output<string>;

    constructor(name: string, args: ServiceRoleArgs, opts?: pulumi.ComponentResourceOptions) {
        super("vision-mlops:iam:ServiceRole", name, {}, opts);
        const child = serviceRoleChildOptions(this, opts);
        this.role = new aws.iam.Role(
            name,
            {
                name: args.roleName,
                description: args.description,
                assumeRolePolicy: pulumi.output(args.trust).apply((trust) => JSON.stringify(serviceTrustPolicy(...trust))),
                ...(args.maxSessionDuration !== undefined ? { maxSessionDuration: args.maxSessionDuration } : {}),
            },
            child,
        );
        this.policy = new aws.iam.RolePolicy(
            args.policyResourceName ?? `${name}-policy`,
            { role: this.role.id, policy: pulumi.output(args.policy).apply((doc) => JSON.stringify(doc)) },
            child,
        );
        this.arn = pulumi.all({ arn: this.role.arn, attached: this.policy.id }).apply(({ arn }) => arn);
        this.roleName = this.role.name;
        this.registerOutputs({ arn: this.arn, roleName: this.roleName });
    }
}

/**
 * Options of a ServiceRole's children: parented to it, and aliased to the parent the component was given,
 * because the platform's roles were declared directly under their components before ServiceRole existed; the
 * alias lets a stack adopt them instead of replacing roles whose names are fixed (which IAM would refuse).
 */
export function serviceRoleChildOptions(
    role: pulumi.Resource,
    opts: pulumi.ComponentResourceOptions | undefined,
): pulumi.CustomResourceOptions {
    // The old parent by its URN: an alias naming the resource itself makes the engine walk the whole component tree
    // beneath it for unknowns, once per alias (seconds per plan on a platform of a few hundred resources).
    return { parent: role, ...(opts?.parent ? { aliases: [{ parent: opts.parent.urn }] } : {}) };
}
