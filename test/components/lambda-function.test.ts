import { expect } from "chai";
import { mkdirSync, writeFileSync } from "fs";
import { join } from "path";
import { CODE_SHA256_TAG, LambdaFunction, LambdaFunctionArgs } from "../../components/lambda-function";
import { LogsKey, logsKeyPolicy } from "../../components/logs-key";
import { policyDocument, writeActionsWithWildcardResource } from "../../infra/iam";
import { bundleLambda, lambdaArchive } from "../../infra/lambda-bundle";
import { tempDir } from "../jobs/support/images";
import { DeclaredResource, find, settled, TEST_ACCOUNT, useMocks } from "../support/mocks";

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
});
