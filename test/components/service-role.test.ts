import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { ServiceRole, serviceRoleChildOptions } from "../../components/service-role";
import { iamRoleArn, policyDocument, sagemakerStatement } from "../../infra/iam";
import { find, settled, TEST_ACCOUNT, useMocks } from "../support/mocks";
import { componentTree } from "./support/component-tree";

const PIPELINE = `arn:aws:sagemaker:us-east-1:${TEST_ACCOUNT}:pipeline/p`;

describe("ServiceRole", () => {
    it("binds each trusted service to the account and its source ARNs, and attaches exactly the given policy inline", async () => {
        const declared = useMocks("staging");
        const role = new ServiceRole("starter-role", {
            roleName: "vision-mlops-staging-m-starter",
            description: "EventBridge starts p",
            trust: pulumi.output(TEST_ACCOUNT).apply((account) => [
                {
                    service: "events.amazonaws.com",
                    sourceAccount: account,
                    sourceArns: [`arn:aws:events:us-east-1:${account}:rule/vision-mlops-staging-m-batch-manifest`],
                },
            ]),
            policy: policyDocument(sagemakerStatement(["StartPipelineExecution"], [PIPELINE], "Start")),
        });
        await settled(declared, role.arn);

        const declaredRole = find(declared, "aws:iam/role:Role", "starter-role").inputs;
        expect(declaredRole.name).to.equal("vision-mlops-staging-m-starter");
        expect(declaredRole.description).to.equal("EventBridge starts p");
        expect(declaredRole).to.not.have.property("maxSessionDuration");
        expect(declaredRole).to.not.have.property("managedPolicyArns");
        // Written out by hand: what IAM is to evaluate.
        expect(JSON.parse(declaredRole.assumeRolePolicy)).to.deep.equal({
            Version: "2012-10-17",
            Statement: [
                {
                    Effect: "Allow",
                    Principal: { Service: ["events.amazonaws.com"] },
                    Action: ["sts:AssumeRole"],
                    Condition: {
                        StringEquals: { "aws:SourceAccount": "123456789012" },
                        ArnLike: { "aws:SourceArn": ["arn:aws:events:us-east-1:123456789012:rule/vision-mlops-staging-m-batch-manifest"] },
                    },
                },
            ],
        });
        const policy = find(declared, "aws:iam/rolePolicy:RolePolicy", "starter-role-policy").inputs;
        expect(policy.role).to.equal("starter-role-id");
        expect(JSON.parse(policy.policy)).to.deep.equal({
            Version: "2012-10-17",
            Statement: [{ Sid: "Start", Effect: "Allow", Action: ["sagemaker:StartPipelineExecution"], Resource: [PIPELINE] }],
        });
        expect(
            declared.filter((r) => r.type.startsWith("aws:iam/") && !r.type.endsWith(":Role") && !r.type.endsWith(":RolePolicy")),
        ).to.deep.equal([]);
    });

    it("hands out its ARN only with the policy attached, so whatever runs with the role waits for it", async () => {
        const declared = useMocks("staging");
        const role = new ServiceRole("r", {
            roleName: "vision-mlops-staging-r",
            description: "r",
            trust: [{ service: "sagemaker.amazonaws.com", sourceAccount: TEST_ACCOUNT }],
            policy: policyDocument(sagemakerStatement(["DescribeModel"], [`arn:aws:sagemaker:us-east-1:${TEST_ACCOUNT}:model/m`])),
            maxSessionDuration: 7200,
        });
        await settled(declared, role.arn);
        expect(await unwrap(role.arn)).to.equal(iamRoleArn(TEST_ACCOUNT, "vision-mlops-staging-r"));
        expect(find(declared, "aws:iam/role:Role", "r").inputs.maxSessionDuration).to.equal(7200);
        // An output's resources are what a resource given it depends on.
        const dependsOn = await (role.arn as unknown as { resources(): Promise<Set<pulumi.Resource>> }).resources();
        expect(dependsOn.has(role.policy), "the ARN carries the policy as a dependency").to.be.true;
        expect(dependsOn.has(role.role)).to.be.true;
    });

    it("parents its role and policy to itself and registers the ARN and the role's name as its outputs", async () => {
        const { declared, orphans, outputs } = await componentTree(
            (opts) =>
                new ServiceRole(
                    "r",
                    {
                        roleName: "vision-mlops-staging-r",
                        description: "r",
                        trust: [{ service: "sagemaker.amazonaws.com", sourceAccount: TEST_ACCOUNT }],
                        policy: policyDocument(
                            sagemakerStatement(["DescribeModel"], [`arn:aws:sagemaker:us-east-1:${TEST_ACCOUNT}:model/m`]),
                        ),
                    },
                    opts,
                ),
        );
        expect(declared.map((r) => r.name)).to.deep.equal(["r", "r", "r-policy"]);
        expect(orphans).to.deep.equal([]);
        expect(outputs).to.deep.equal({ arn: "arn:aws:iam::123456789012:role/vision-mlops-staging-r", roleName: "vision-mlops-staging-r" });
    });

    it("aliases its children to the parent it was given, so roles declared before it are adopted, not replaced", () => {
        const parent = { urn: "urn:parent" } as unknown as pulumi.Resource;
        const self = { urn: "urn:self" } as unknown as pulumi.Resource;
        // By URN, not the resource: the engine walks an alias's value for unknowns, and a component's value is its whole tree.
        expect(serviceRoleChildOptions(self, { parent })).to.deep.equal({ parent: self, aliases: [{ parent: "urn:parent" }] });
        expect(serviceRoleChildOptions(self, undefined)).to.deep.equal({ parent: self });
        expect(serviceRoleChildOptions(self, {})).to.deep.equal({ parent: self });
    });

    it("names its role ARN the way IAM does, and refuses names IAM would", () => {
        expect(iamRoleArn("123456789012", "vision-mlops-staging-traffic-signs-training")).to.equal(
            "arn:aws:iam::123456789012:role/vision-mlops-staging-traffic-signs-training",
        );
        expect(iamRoleArn("123456789012", "r", "aws-cn")).to.equal("arn:aws-cn:iam::123456789012:role/r");
        expect(() => iamRoleArn("1234", "r")).to.throw(/12-digit/);
        expect(() => iamRoleArn("123456789012", "a".repeat(65))).to.throw(/1-64/);
        expect(() => iamRoleArn("123456789012", "has space")).to.throw(/1-64 letters/);
    });
});

function unwrap<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply((v) => (resolve(v), v)));
}
