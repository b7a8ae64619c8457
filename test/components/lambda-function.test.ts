import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { mkdirSync, writeFileSync } from "fs";
import { join } from "path";
import { CODE_SHA256_TAG, LambdaFunction, LambdaFunctionArgs, lambdaFunctionProblems } from "../../components/lambda-function";
import { LogsKey, logsKeyPolicy } from "../../components/logs-key";
import { policyDocument, writeActionsWithWildcardResource } from "../../infra/iam";
import { bundleLambda, lambdaArchive } from "../../infra/lambda-bundle";
import { tempDir } from "../jobs/support/images";
import { DeclaredResource, find, settled, TEST_ACCOUNT, useMocks } from "../support/mocks";
import { accountAdministersKey } from "../support/iam-literals";
import { componentTree } from "./support/component-tree";

const LOGS_KEY = `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/logs`;

function sourceRoot(): string {
    const root = tempDir("lambda-fn");
    mkdirSync(join(root, "jobs"), { recursive: true });
    writeFileSync(join(root, "jobs", "echo.ts"), "export const handler = async (e: unknown) => e;\n");
    return root;
}

function args(over: Partial<LambdaFunctionArgs> = {}): LambdaFunctionArgs {
    return {
        entry: "jobs/echo.ts",
        sourceRoot: sourceRoot(),
        functionName: "vision-mlops-staging-signs-echo",
        policy: policyDocument({ Sid: "ReadImages", Effect: "Allow", Action: ["s3:GetObject"], Resource: ["arn:aws:s3:::raw/signs/*"] }),
        accountId: TEST_ACCOUNT,
        region: "us-east-1",
        logsKmsKeyArn: LOGS_KEY,
        ...over,
    };
}

async function declare(a: LambdaFunctionArgs): Promise<{ declared: DeclaredResource[]; fn: LambdaFunction }> {
    const declared = useMocks("staging");
    const fn = new LambdaFunction("echo", a);
    await settled(declared, fn.arn, fn.roleArn);
    return { declared, fn };
}

describe("LambdaFunction", () => {
    it("runs the bundled handler on Node 22 with JSON logs in its own encrypted log group and active tracing", async () => {
        const a = args({ timeoutSeconds: 60, memoryMb: 512, reservedConcurrency: 2, environment: { MODEL: "signs" } });
        const { declared, fn } = await declare(a);
        const f = find(declared, "aws:lambda/function:Function", "echo-function").inputs;
        expect(f).to.deep.include({
            name: "vision-mlops-staging-signs-echo",
            runtime: "nodejs22.x",
            handler: "index.handler",
            architectures: ["arm64"],
            timeout: 60,
            memorySize: 512,
            reservedConcurrentExecutions: 2,
            tracingConfig: { mode: "Active" },
            environment: { variables: { MODEL: "signs" } },
        });
        expect(f.loggingConfig).to.deep.equal({
            logFormat: "JSON",
            logGroup: "/aws/lambda/vision-mlops-staging-signs-echo",
            applicationLogLevel: "INFO",
            systemLogLevel: "WARN",
        });
        expect(f.tags[CODE_SHA256_TAG]).to.equal(bundleLambda("jobs/echo.ts", a.sourceRoot).sha256).and.to.equal(fn.codeSha256);
        expect(Object.keys(f.tags), "the tag an operator looks for").to.deep.equal(["vision-mlops:code-sha256"]);
        expect(find(declared, "aws:cloudwatch/logGroup:LogGroup", "echo-logs").inputs).to.deep.equal({
            name: "/aws/lambda/vision-mlops-staging-signs-echo",
            retentionInDays: 365,
            kmsKeyId: LOGS_KEY,
        });
        expect(declared.filter((r) => r.type === "aws:sqs/queue:Queue")).to.deep.equal([]);
        expect(f.deadLetterConfig).to.equal(undefined);
    });

    it("ships data files beside the bundle, and tags the function with the digest of both", async () => {
        const a = args({ dataFiles: { "classes.json": '["bicycle","motorcycle"]' } });
        const { declared, fn } = await declare(a);
        const bundle = bundleLambda("jobs/echo.ts", a.sourceRoot);
        expect(fn.archiveFiles).to.deep.equal({ "index.js": bundle.code, "classes.json": '["bicycle","motorcycle"]' });
        const tag = find(declared, "aws:lambda/function:Function", "echo-function").inputs.tags[CODE_SHA256_TAG];
        expect(tag)
            .to.equal(lambdaArchive(bundle, { "classes.json": '["bicycle","motorcycle"]' }).sha256)
            .and.to.equal(fn.codeSha256);
        expect(tag).to.not.equal(bundle.sha256);
        useMocks("staging");
        expect(() => new LambdaFunction("bad-file", args({ dataFiles: { "../x.json": "{}" } }))).to.throw(
            /bad-file: data file name "..\/x.json"/,
        );
    });

    it("trusts Lambda for its own account only, and grants the handler's statements plus its own logs and traces", async () => {
        const { declared } = await declare(args());
        const trust = JSON.parse(find(declared, "aws:iam/role:Role", "echo-role").inputs.assumeRolePolicy);
        expect(trust.Statement).to.deep.equal([
            {
                Effect: "Allow",
                Principal: { Service: ["lambda.amazonaws.com"] },
                Action: ["sts:AssumeRole"],
                Condition: { StringEquals: { "aws:SourceAccount": TEST_ACCOUNT } },
            },
        ]);
        const policy = JSON.parse(find(declared, "aws:iam/rolePolicy:RolePolicy", "echo-role-policy").inputs.policy);
        const bySid = Object.fromEntries(policy.Statement.map((s: { Sid: string }) => [s.Sid, s]));
        expect(Object.keys(bySid)).to.deep.equal(["ReadImages", "OwnLogs", "XRayTraces"]);
        expect(bySid.OwnLogs.Action).to.deep.equal(["logs:CreateLogStream", "logs:PutLogEvents"]);
        expect(bySid.OwnLogs.Resource).to.deep.equal([
            `arn:aws:logs:us-east-1:${TEST_ACCOUNT}:log-group:/aws/lambda/vision-mlops-staging-signs-echo:log-stream:*`,
        ]);
        // X-Ray takes only `*`: the one wildcard, and the checker knows it writes nothing else.
        expect(bySid.XRayTraces.Resource).to.deep.equal(["*"]);
        expect(writeActionsWithWildcardResource(policy)).to.deep.equal([]);
        expect(
            writeActionsWithWildcardResource(
                policyDocument({ Effect: "Allow", Action: ["xray:PutTraceSegments", "s3:PutObject"], Resource: ["*"] }),
            ),
        ).to.have.length(1);
    });

    it("keeps failed asynchronous events in an encrypted dead-letter queue only its own role may send to", async () => {
        const { declared, fn } = await declare(args({ deadLetterQueue: true }));
        const queue = find(declared, "aws:sqs/queue:Queue", "echo-dlq").inputs;
        expect(queue).to.deep.include({
            name: "vision-mlops-staging-signs-echo-dlq",
            sqsManagedSseEnabled: true,
            messageRetentionSeconds: 1209600,
        });
        const queueArn = `arn:aws:sqs:us-east-1:${TEST_ACCOUNT}:queue/vision-mlops-staging-signs-echo-dlq`;
        expect(find(declared, "aws:lambda/function:Function", "echo-function").inputs.deadLetterConfig).to.deep.equal({
            targetArn: queueArn,
        });
        const policy = JSON.parse(find(declared, "aws:iam/rolePolicy:RolePolicy", "echo-role-policy").inputs.policy);
        expect(policy.Statement.find((s: { Sid: string }) => s.Sid === "DeadLetters")).to.deep.equal({
            Sid: "DeadLetters",
            Effect: "Allow",
            Action: ["sqs:SendMessage"],
            Resource: [queueArn],
        });
        expect(fn.deadLetterQueue).to.not.equal(undefined);
    });

    it("defaults to 30 s, 256 MB, 512 MB of /tmp and the account's shared concurrency, and describes its role", async () => {
        const { declared } = await declare(args({ description: "echoes", logRetentionDays: 14, ephemeralStorageMb: 1024 }));
        const f = find(declared, "aws:lambda/function:Function", "echo-function").inputs;
        expect(f).to.deep.include({
            description: "echoes",
            timeout: 30,
            memorySize: 256,
            ephemeralStorage: { size: 1024 },
            reservedConcurrentExecutions: -1,
        });
        expect(f).to.not.have.property("environment");
        expect(find(declared, "aws:cloudwatch/logGroup:LogGroup", "echo-logs").inputs.retentionInDays).to.equal(14);
        expect(find(declared, "aws:iam/role:Role", "echo-role").inputs).to.deep.include({
            name: "vision-mlops-staging-signs-echo",
            description: "Lambda function vision-mlops-staging-signs-echo",
        });
        const { declared: plain } = await declare(args());
        expect(find(plain, "aws:lambda/function:Function", "echo-function").inputs.ephemeralStorage).to.deep.equal({ size: 512 });
    });

    it("parents its log group, queue, role and function to itself, creates the log group first, and registers its ARNs and name", async () => {
        const dependsOn = new Map<string, unknown>();
        const recordDependsOn: pulumi.ResourceTransformation = ({ type, name, opts }) =>
            void dependsOn.set(`${type}::${name}`, opts.dependsOn);
        const {
            component: fn,
            declared,
            orphans,
            outputs,
        } = await componentTree(
            (opts) =>
                new LambdaFunction("echo", args({ deadLetterQueue: true }), {
                    transformations: [...opts.transformations!, recordDependsOn],
                }),
        );
        expect(declared.map((r) => r.name).sort()).to.deep.equal([
            "echo",
            "echo-dlq",
            "echo-function",
            "echo-logs",
            "echo-role",
            "echo-role",
            "echo-role-policy",
        ]);
        expect(orphans).to.deep.equal([]);
        expect(dependsOn.get("aws:lambda/function:Function::echo-function")).to.deep.equal([fn.logGroup]);
        expect(outputs).to.deep.equal({
            arn: `arn:aws:lambda:us-east-1:${TEST_ACCOUNT}:function/vision-mlops-staging-signs-echo`,
            functionName: "vision-mlops-staging-signs-echo",
            roleArn: `arn:aws:iam::${TEST_ACCOUNT}:role/vision-mlops-staging-signs-echo`,
        });
    });

    it("accepts each limit Lambda documents and refuses the first value past it, naming both bounds", () => {
        useMocks("staging");
        const problems = (over: Partial<LambdaFunctionArgs>) => lambdaFunctionProblems(args(over));
        const cases: Array<[keyof LambdaFunctionArgs, number, number, number]> = [
            ["timeoutSeconds", 1, 900, 0],
            ["memoryMb", 128, 10240, 0],
            ["ephemeralStorageMb", 512, 10240, 0],
            ["reservedConcurrency", 1, 1000, 0],
        ];
        for (const [field, min, max] of cases) {
            expect(problems({ [field]: min }), `${field} ${min}`).to.deep.equal([]);
            expect(problems({ [field]: max }), `${field} ${max}`).to.deep.equal([]);
            for (const bad of [min - 1, max + 1, min + 0.5])
                expect(problems({ [field]: bad }), `${field} ${bad}`).to.deep.equal([
                    `${field} ${bad} must be a whole number from ${min} to ${max}`,
                ]);
        }
        expect(problems({ functionName: "a" })).to.deep.equal([]);
        expect(problems({ functionName: "A_b-9".padEnd(64, "x") })).to.deep.equal([]);
        for (const name of ["", "a.b", " a", "a ", "x".repeat(65)])
            expect(problems({ functionName: name }), JSON.stringify(name)).to.deep.equal([
                `function name ${JSON.stringify(name)} must be 1-64 letters, digits, "-" or "_"`,
            ]);
        expect(problems({ logRetentionDays: 3653 })).to.deep.equal([]);
        expect(problems({ logRetentionDays: 2 })).to.deep.equal([
            "logRetentionDays 2 is not a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)",
        ]);
    });

    it("names the function in a bundling error", () => {
        useMocks("staging");
        let thrown: Error | undefined;
        try {
            new LambdaFunction("missing", args({ entry: "jobs/absent.ts" }));
        } catch (e) {
            thrown = e as Error;
        }
        expect(thrown?.message).to.match(/^missing: Lambda entry jobs\/absent.ts does not exist/);
        expect((thrown?.cause as Error | undefined)?.message, "the bundler's own error is kept as the cause").to.match(
            /^Lambda entry jobs\/absent.ts/,
        );
    });

    it("refuses names, sizes and retention periods Lambda or CloudWatch would reject, all at once", () => {
        useMocks("staging");
        expect(
            () =>
                new LambdaFunction(
                    "bad",
                    args({ functionName: "has space", timeoutSeconds: 901, memoryMb: 64, ephemeralStorageMb: 20000, logRetentionDays: 10 }),
                ),
        ).to.throw(
            /function name "has space" must be 1-64 .*; timeoutSeconds 901 must be a whole number from 1 to 900; memoryMb 64 .*; ephemeralStorageMb 20000 .*; logRetentionDays 10 is not a retention/,
        );
        expect(() => new LambdaFunction("long", args({ functionName: "x".repeat(65) }))).to.throw(/must be 1-64/);
    });
});

describe("LogsKey", () => {
    it("rotates, and lets CloudWatch Logs use it only for log groups of its own account and region", async () => {
        const declared = useMocks("staging");
        const key = new LogsKey("logs", { aliasName: "vision-mlops-staging-logs", accountId: TEST_ACCOUNT, region: "eu-west-1" });
        await settled(declared, key.arn);
        const k = find(declared, "aws:kms/key:Key", "logs-key").inputs;
        expect(k.enableKeyRotation).to.equal(true);
        expect(k.deletionWindowInDays).to.equal(30);
        const logs = JSON.parse(k.policy).Statement.find((s: { Sid: string }) => s.Sid === "CloudWatchLogsEncryptsThisAccountsLogGroups");
        expect(logs.Principal).to.deep.equal({ Service: "logs.eu-west-1.amazonaws.com" });
        expect(logs.Condition).to.deep.equal({
            ArnLike: { "kms:EncryptionContext:aws:logs:arn": `arn:aws:logs:eu-west-1:${TEST_ACCOUNT}:log-group:*` },
        });
        expect(find(declared, "aws:kms/alias:Alias", "logs-alias").inputs.name).to.equal("alias/vision-mlops-staging-logs");
        expect(logsKeyPolicy("210987654321", "us-east-1", "aws-cn").Statement[0]).to.deep.include({
            Principal: { AWS: "arn:aws-cn:iam::210987654321:root" },
        });
    });

    it("grants CloudWatch Logs exactly the actions AWS documents for encrypted log groups, in any partition", () => {
        // AWS's "Encrypt log data in CloudWatch Logs using AWS KMS" key policy, written out.
        expect(logsKeyPolicy("210987654321", "cn-north-1", "aws-cn")).to.deep.equal({
            Version: "2012-10-17",
            Statement: [
                accountAdministersKey("210987654321", "aws-cn"),
                {
                    Sid: "CloudWatchLogsEncryptsThisAccountsLogGroups",
                    Effect: "Allow",
                    Principal: { Service: "logs.cn-north-1.amazonaws.com" },
                    Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                    Resource: "*",
                    Condition: { ArnLike: { "kms:EncryptionContext:aws:logs:arn": "arn:aws-cn:logs:cn-north-1:210987654321:log-group:*" } },
                },
            ],
        });
    });

    it("describes itself, keeps a deleted key for the days given, and parents its key and alias to itself", async () => {
        const { declared, orphans, outputs } = await componentTree(
            (opts) =>
                new LogsKey(
                    "logs",
                    { aliasName: "vision-mlops-prod-logs", accountId: TEST_ACCOUNT, region: "us-east-1", deletionWindowDays: 7 },
                    opts,
                ),
        );
        const key = find(declared, "aws:kms/key:Key", "logs-key").inputs;
        expect(key).to.deep.include({
            description: "vision-mlops-prod-logs: CloudWatch log groups of Lambda functions and state machines",
            deletionWindowInDays: 7,
        });
        expect(JSON.parse(key.policy).Statement[1].Condition).to.deep.equal({
            ArnLike: { "kms:EncryptionContext:aws:logs:arn": `arn:aws:logs:us-east-1:${TEST_ACCOUNT}:log-group:*` },
        });
        expect(find(declared, "aws:kms/alias:Alias", "logs-alias").inputs.targetKeyId).to.equal("logs-key-key-id");
        expect(declared.map((r) => r.name).sort()).to.deep.equal(["logs", "logs-alias", "logs-key"]);
        expect(orphans).to.deep.equal([]);
        expect(outputs).to.deep.equal({ arn: `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/logs-key-key-id` });
    });
});
