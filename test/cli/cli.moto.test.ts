import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import {
    CreateEndpointCommand,
    CreateEndpointConfigCommand,
    CreateModelCommand,
    DescribeEndpointCommand,
    CreatePipelineCommand,
    DescribeModelPackageCommand,
    DescribeModelPackageOutput,
    ModelApprovalStatus,
    SageMakerClient,
    StartPipelineExecutionCommand,
} from "@aws-sdk/client-sagemaker";
import { STSClient } from "@aws-sdk/client-sts";
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { approve } from "../../jobs/cli/approve";
import { report } from "../../jobs/cli/report";
import { status } from "../../jobs/cli/status";
import { CliError } from "../../jobs/cli/common";
import { CliClients } from "../../jobs/cli/lib/clients";
import { bucketName, endpointName, modelPackageGroupName, pipelineName } from "../../infra/naming";
import { resetMoto, startMoto, MotoServer } from "../support/moto";
import { CLI_DEADLINE_MS, registerPackage, ROLE_ARN, runCliInProcess, runCliProcess, servePendingPackage } from "./fixtures";
import { RunSpec, uploadRun } from "./monitoring-fixtures";

/**
 * The operator CLIs run as a person runs them (the command line, the project's real stack files) against moto,
 * with the results read back through the SDK. Each CLI runs as a child process at least once (reject, report,
 * and approve and status in "clear errors from the command line"); the other runs go through the same command
 * line in this process (runCliInProcess).
 */
describe("operator CLIs against moto", function () {
    // Guards against a hung command (runCliProcess kills one at CLI_DEADLINE_MS), not speed limits.
    this.timeout(CLI_DEADLINE_MS + 60_000);
    const MODEL = "traffic-signs";
    const ACCOUNT = "123456789012"; // the account moto's STS answers with
    const CALLER = `arn:aws:sts::${ACCOUNT}:user/moto`;
    const group = modelPackageGroupName("staging", MODEL);
    const endpoint = endpointName("staging", MODEL);
    const capture = bucketName("staging", "capture", ACCOUNT, "us-east-1");

    let moto: MotoServer;
    let sm: SageMakerClient;
    let s3: S3Client;
    let env: Record<string, string>;
    let tmp: string;

    before(async () => {
        moto = await startMoto();
        sm = new SageMakerClient(moto.clientConfig);
        s3 = new S3Client(moto.clientConfig);
        tmp = mkdtempSync(join(tmpdir(), "vision-mlops-cli-"));
        env = { ...moto.env, VISION_MLOPS_PROJECT_DIR: join(__dirname, "..", ".."), HOME: tmp, AWS_EC2_METADATA_DISABLED: "true" };
    });
    after(async () => {
        await moto?.stop();
        if (tmp) rmSync(tmp, { recursive: true, force: true });
    });
    beforeEach(async () => {
        await resetMoto(moto);
    });

    /** A pending package of the model, served by the staging endpoint, with training metadata and metrics. */
    const servedPending = () => servePendingPackage(sm, s3, MODEL);

    /**
     * A complete monitoring run of the staging endpoint whose window starts `offset` hours after the endpoint last
     * changed (so it is evidence about what the endpoint serves now); returns its prefix.
     */
    async function monitoringRun(offset: number, violations: object[], spec: Partial<RunSpec> = {}): Promise<string> {
        const since = (await sm.send(new DescribeEndpointCommand({ EndpointName: endpoint }))).LastModifiedTime!;
        const start = new Date(since.getTime() + offset * 3_600_000);
        return uploadRun(s3, capture, {
            model: MODEL,
            endpoint,
            window: { start, end: new Date(start.getTime() + 3_600_000) },
            violations: violations as RunSpec["violations"],
            ...spec,
        });
    }

    const DRIFT = {
        feature_name: "brightness",
        constraint_check_type: "baseline_drift_check",
        description: "PSI 0.41 is above the threshold 0.2",
    };

    function describe_(arn: string): Promise<DescribeModelPackageOutput> {
        return sm.send(new DescribeModelPackageCommand({ ModelPackageName: arn }));
    }

    function motoClients(): CliClients {
        return { sagemaker: sm, s3: new S3Client(moto.clientConfig), sts: new STSClient(moto.clientConfig) };
    }

    it("approve records who, when and the note, keeps the training metadata, and says what evidence it went by", async () => {
        const arn = await servedPending();
        const evidence = await monitoringRun(0, []);
        const run = await runCliInProcess(
            "approve",
            ["--stack", "staging", "--model", MODEL, "--note", "F1 up 2 points, checked 20 night images!"],
            env,
            () => new Date("2026-11-22T10:15:30.250Z"),
        );
        expect(run.code, run.stderr).to.equal(0);
        expect(run.stderr).to.equal("");
        expect(run.stdout).to.contain(`monitoring: s3://${capture}/${evidence} is clean (240 records, 30 needed, window `);
        expect(run.stdout).to.contain(`approved ${arn}`);

        const p = await describe_(arn);
        expect(p.ModelApprovalStatus).to.equal("Approved");
        const md = p.CustomerMetadataProperties!;
        expect(md).to.deep.include({
            "git-commit": "4f2a9c1",
            "dataset-batch": "2026-11-20",
            "approved-by": CALLER,
            "approval-note": "F1 up 2 points checked 20 night images",
        });
        // The command's clock, to the second.
        expect(md["approved-at"]).to.equal("2026-11-22T10:15:30Z");
        expect(p.ApprovalDescription).to.equal(`Approved by ${CALLER} at ${md["approved-at"]}: F1 up 2 points, checked 20 night images!`);
    });

    it("approve refuses when the newest monitoring run has violations, lists them and the override, and changes nothing", async () => {
        const arn = await servedPending();
        await monitoringRun(0, []);
        const newest = await monitoringRun(1, [DRIFT]);
        const run = await runCliInProcess("approve", ["--stack", "staging", "--model", MODEL], env);
        expect(run.code).to.equal(1);
        expect(run.stderr).to.contain(
            `error: the newest judged monitoring run of ${MODEL} (s3://${capture}/${newest}) has 1 violation:\n` +
                "  - brightness [baseline_drift_check]: PSI 0.41 is above the threshold 0.2\n",
        );
        expect(run.stderr).to.contain(
            `npm run approve -- --stack staging --model ${MODEL} --force --reason "<why these violations are acceptable>"`,
        );
        expect(run.stderr).not.to.match(/\n\s+at /); // an operator error, not a stack trace
        const p = await describe_(arn);
        expect(p.ModelApprovalStatus).to.equal("PendingManualApproval");
        expect(p.CustomerMetadataProperties).not.to.have.property("approved-by");
    });

    it("approve goes by the newest run: a clean run after one with violations passes", async () => {
        const arn = await servedPending();
        await monitoringRun(0, [DRIFT]);
        const newest = await monitoringRun(1, []);
        const printed: string[] = [];
        await approve(
            { stack: "staging", model: MODEL },
            { makeClients: motoClients, print: (l) => printed.push(l), warn: (l) => printed.push(l) },
        );
        expect(printed[0]).to.match(new RegExp(`^monitoring: s3://${capture}/${newest} is clean \\(240 records`));
        expect((await describe_(arn)).ModelApprovalStatus).to.equal("Approved");
    });

    it("approve --force --reason approves despite violations and records the reason and the count", async () => {
        const arn = await servedPending();
        await monitoringRun(0, [DRIFT, { ...DRIFT, feature_name: "contrast" }]);
        const run = await runCliInProcess(
            "approve",
            ["--stack", "staging", "--model", MODEL, "--force", "--reason", "new camera; retraining is queued"],
            env,
        );
        expect(run.code, run.stderr).to.equal(0);
        expect(run.stderr).to.contain("has 2 violations");
        expect(run.stderr).to.contain("approving anyway (--force): new camera; retraining is queued");
        const p = await describe_(arn);
        expect(p.ModelApprovalStatus).to.equal("Approved");
        expect(p.CustomerMetadataProperties).to.deep.include({
            "approval-forced-reason": "new camera retraining is queued",
            "approval-forced-violations": "2",
            "approved-by": CALLER,
        });
        expect(p.ApprovalDescription).to.match(/\(forced past 2 monitoring violations: new camera; retraining is queued\)$/);
    });

    it("approve of an already Approved package says so and changes nothing", async () => {
        const arn = await servedPending();
        await monitoringRun(0, []);
        await approve(
            { stack: "staging", model: MODEL, note: "first" },
            { makeClients: motoClients, print: () => undefined, warn: () => undefined },
        );
        const first = await describe_(arn);
        const printed: string[] = [];
        await approve(
            { stack: "staging", model: MODEL },
            { makeClients: motoClients, print: (l) => printed.push(l), warn: (l) => printed.push(l) },
        );
        expect(printed).to.deep.equal([
            `${arn} was approved by ${CALLER} at ${first.CustomerMetadataProperties!["approved-at"]} (note: first) ` +
                `(${first.CustomerMetadataProperties!["decision-record"]}); nothing changed`,
        ]);
        const second = await describe_(arn);
        expect(second.CustomerMetadataProperties).to.deep.equal(first.CustomerMetadataProperties);
        expect(second.ApprovalDescription).to.equal(first.ApprovalDescription);
    });

    it("reject --overrule sets Rejected with the reason and who, and drops the earlier approval's metadata", async () => {
        const arn = await servedPending();
        await monitoringRun(0, []);
        await approve(
            { stack: "staging", model: MODEL, note: "ok" },
            { makeClients: motoClients, print: () => undefined, warn: () => undefined },
        );
        const run = await runCliProcess(
            "reject",
            ["--stack", "staging", "--model", MODEL, "--reason", "misreads stop signs at night", "--overrule"],
            env,
        );
        expect(run.code, run.stderr).to.equal(0);
        expect(run.stdout).to.contain(`rejected ${arn}`);
        expect(run.stderr).to.contain(`warning: overruling: ${arn} was approved by ${CALLER}`);
        const p = await describe_(arn);
        expect(p.ModelApprovalStatus).to.equal("Rejected");
        const md = p.CustomerMetadataProperties!;
        expect(md).to.deep.include({ "git-commit": "4f2a9c1", "rejected-by": CALLER, "rejection-reason": "misreads stop signs at night" });
        expect(md).to.not.have.any.keys("approved-by", "approved-at", "approval-note");
        expect(md["decision-record"]).to.match(/\/_decisions\/vision-mlops-staging-traffic-signs\/1\/000002\.json$/);
        expect(p.ApprovalDescription).to.equal(`Rejected by ${CALLER} at ${md["rejected-at"]}: misreads stop signs at night`);
    });

    it("status shows the served package, its status and approver, the accuracy, the last training run and undeployed models", async () => {
        const arn = await servedPending();
        await monitoringRun(0, []);
        await approve(
            { stack: "staging", model: MODEL, note: "ok" },
            { makeClients: motoClients, print: () => undefined, warn: () => undefined },
        );
        const newer = await registerPackage(sm, group, { status: ModelApprovalStatus.PENDING_MANUAL_APPROVAL });
        const pipeline = pipelineName("staging", MODEL, "training");
        await sm.send(
            new CreatePipelineCommand({
                PipelineName: pipeline,
                RoleArn: ROLE_ARN,
                PipelineDefinition: JSON.stringify({ Version: "2020-12-01", Steps: [] }),
            }),
        );
        await sm.send(new StartPipelineExecutionCommand({ PipelineName: pipeline }));
        await new Promise((r) => setTimeout(r, 20)); // distinct start times
        const last = await sm.send(new StartPipelineExecutionCommand({ PipelineName: pipeline }));

        const table = await runCliInProcess("status", ["--stack", "staging"], env);
        expect(table.code, table.stderr).to.equal(0);
        const rows = table.stdout.split("\n");
        const signs = rows.find((l) => l.startsWith(MODEL))!.split(/\s{2,}/);
        expect(signs.slice(0, 4)).to.deep.equal([MODEL, `${endpoint} (InService)`, `${group}/1`, "Approved"]);
        expect(signs[4]).to.match(new RegExp(`^${CALLER} at \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$`));
        expect(signs[5]).to.equal("0.9412");
        expect(signs[6]).to.match(/^Succeeded \d{4}-/); // moto finishes executions at once
        expect(rows.find((l) => l.startsWith("bikes-vs-motorcycles"))!.split(/\s{2,}/)[1]).to.equal("not deployed yet");
        expect(table.stdout).to.contain(`package: ${arn}`);
        expect(table.stdout).to.match(
            new RegExp(`monitoring: s3://${capture}/${MODEL}/monitoring/${endpoint}/.* is clean \\(240 records, 30 needed, window `),
        );
        expect(table.stdout).to.contain(`newer package registered: ${newer}`);

        const printed: string[] = [];
        await status({ stack: "staging", json: true }, { makeClients: motoClients, print: (l) => printed.push(l) });
        const doc = JSON.parse(printed.join("\n"));
        const m = doc.models.find((x: { model: string }) => x.model === MODEL);
        expect(m.served).to.deep.include({
            arn,
            version: 1,
            approvalStatus: "Approved",
            approvedBy: CALLER,
            approvalNote: "ok",
            accuracy: 0.9412,
        });
        expect(m.training.lastExecution.arn).to.equal(last.PipelineExecutionArn);
        expect(m.monitoring).to.include({ evidence: true, verdict: "clean" });
        expect(m.newestRegistered).to.equal(newer);
        expect(doc.models.find((x: { model: string }) => x.model === "bikes-vs-motorcycles").endpoint).to.deep.equal({
            name: endpointName("staging", "bikes-vs-motorcycles"),
            deployed: false,
        });
    });

    it("report downloads the newest run's files, says whether it is evidence, and prints its violations and the report's path", async () => {
        const hour = (h: number) => ({ start: new Date(Date.UTC(2026, 10, 22, h - 1)), end: new Date(Date.UTC(2026, 10, 22, h)) });
        await uploadRun(s3, capture, { model: MODEL, endpoint, window: hour(9) });
        const html = "<html><body><h1>traffic-signs drift</h1></body></html>";
        const stats = JSON.stringify({ version: 0, dataset: { item_count: 1200 } });
        await uploadRun(s3, capture, {
            model: MODEL,
            endpoint,
            window: hour(10),
            violations: [DRIFT],
            bodies: { "report.html": html, "statistics.json": stats },
        });
        const out = join(tmp, "reports");
        const run = await runCliProcess("report", ["--stack", "staging", "--model", MODEL, "--out", out], env);
        expect(run.code, run.stderr).to.equal(0);
        const dir = join(out, endpoint, `${endpoint}-monitoring`, "2026", "11", "22", "10");
        expect(readFileSync(join(dir, "report.html"), "utf8")).to.equal(html);
        expect(readFileSync(join(dir, "statistics.json"), "utf8")).to.equal(stats);
        expect(JSON.parse(readFileSync(join(dir, "constraint_violations.json"), "utf8"))).to.deep.equal({ violations: [DRIFT] });
        expect(JSON.parse(readFileSync(join(dir, "_complete.json"), "utf8")).verdict).to.equal("violations");
        expect(run.stdout).to.contain(
            "evidence: has 1 violation (240 records, 30 needed, window 2026-11-22T09:00:00.000Z to 2026-11-22T10:00:00.000Z)",
        );
        expect(run.stdout).to.contain("violations: 1\n  - brightness [baseline_drift_check]: PSI 0.41 is above the threshold 0.2");
        expect(run.stdout).to.contain(`report: ${join(dir, "report.html")}`);

        await uploadRun(s3, capture, { model: MODEL, endpoint, window: hour(11), damage: "stopped-after-first-file" });
        const printed: string[] = [];
        await report({ stack: "staging", model: MODEL, out }, { makeClients: motoClients, print: (l) => printed.push(l) });
        expect(printed[1]).to.match(
            /^not evidence \(incomplete\): has no completion record \(_complete\.json\); it holds statistics\.json\. /,
        );
        expect(printed).to.include("violations: the run has no constraint_violations.json");
        expect(printed).to.include("report: the run has no report.html");
    });

    it("clear errors from the command line: unknown stack, no credentials", async () => {
        const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...noCredentials } = env;
        const [stack, credentials] = await Promise.all([
            runCliProcess("approve", ["--stack", "qa", "--model", MODEL], env),
            runCliProcess("status", ["--stack", "staging"], noCredentials),
        ]);
        expect(stack.code).to.equal(1);
        expect(credentials.code).to.equal(7);
        for (const r of [stack, credentials]) {
            expect(r.stderr).to.match(/^error: /);
            expect(r.stderr).not.to.match(/\n\s+at /); // an operator error, not a stack trace
            expect(r.stderr).not.to.contain("NodeVersionSupportWarning");
        }
        expect(stack.stderr).to.match(/unknown stack "qa": there is no .*Pulumi\.qa\.yaml; this project has: prod, staging/);
        expect(credentials.stderr.trim()).to.match(
            /^error: STS GetCallerIdentity: no valid AWS credentials \(CredentialsProviderError: .*\); /,
        );
        expect(credentials.stderr).to.contain(
            "set or refresh AWS credentials (AWS_PROFILE, aws sso login, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)",
        );
    });

    async function cliError(p: Promise<void>): Promise<string> {
        try {
            await p;
        } catch (e) {
            expect(e).to.be.instanceOf(CliError);
            return (e as Error).message;
        }
        throw new Error("expected a CliError");
    }

    it("clear errors: unknown model, missing endpoint, report without runs", async () => {
        await servedPending();
        const quiet = { makeClients: motoClients, print: () => undefined, warn: () => undefined };
        expect(await cliError(status({ stack: "staging", model: "birds", json: false }, quiet))).to.equal(
            'stack staging has no model "birds"; it has: traffic-signs, bikes-vs-motorcycles, dog-breeds, birds-200',
        );
        expect(await cliError(approve({ stack: "staging", model: "bikes-vs-motorcycles" }, quiet))).to.equal(
            `endpoint ${endpointName("staging", "bikes-vs-motorcycles")} of model bikes-vs-motorcycles was not found in us-east-1 (account ${ACCOUNT}); ` +
                "deploy it first with `pulumi up --stack staging` (the stack creates it once a package is registered for the model)",
        );
        expect(await cliError(report({ stack: "staging", model: MODEL }, quiet))).to.match(
            new RegExp(`^the capture bucket ${capture} does not exist; `),
        );
        await s3.send(new CreateBucketCommand({ Bucket: capture }));
        expect(await cliError(report({ stack: "staging", model: MODEL }, quiet))).to.match(
            new RegExp(`^no monitoring run of ${endpoint} under s3://${capture}/${MODEL}/monitoring/${endpoint}/ yet; `),
        );
    });

    it("approve stops, approving nothing, when the newest run's violations file is not in Model Monitor's format", async () => {
        const arn = await servedPending();
        const prefix = await monitoringRun(0, [], { bodies: { "constraint_violations.json": '{"checks": []}' } });
        const message = await cliError(
            approve({ stack: "staging", model: MODEL }, { makeClients: motoClients, print: () => undefined, warn: () => undefined }),
        );
        expect(message).to.contain(
            `s3://${capture}/${prefix} cannot be read: s3://${capture}/${prefix}constraint_violations.json has no "violations" list; ` +
                "expected Model Monitor's format",
        );
        expect(message).to.contain(`${arn} was not approved.`);
        expect((await describe_(arn)).ModelApprovalStatus).to.equal("PendingManualApproval");
    });

    it("an endpoint whose model is not from the registry has nothing to approve", async () => {
        const name = endpointName("staging", MODEL);
        await sm.send(
            new CreateModelCommand({
                ModelName: "hand-made",
                ExecutionRoleArn: ROLE_ARN,
                PrimaryContainer: { Image: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/x:1`, ModelDataUrl: "s3://b/model.tar.gz" },
            }),
        );
        await sm.send(
            new CreateEndpointConfigCommand({
                EndpointConfigName: "hand-made",
                ProductionVariants: [
                    { VariantName: "AllTraffic", ModelName: "hand-made", InitialInstanceCount: 1, InstanceType: "ml.m5.large" },
                ],
            }),
        );
        await sm.send(new CreateEndpointCommand({ EndpointName: name, EndpointConfigName: "hand-made" }));
        expect(
            await cliError(
                approve({ stack: "staging", model: MODEL }, { makeClients: motoClients, print: () => undefined, warn: () => undefined }),
            ),
        ).to.equal(
            `cannot follow endpoint ${name} to the package it serves: model hand-made behind endpoint ${name} was not created from a model package, so it has no approval status`,
        );
    });
});
