import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { DescribeEndpointCommand, DescribeModelPackageCommand, SageMakerClient } from "@aws-sdk/client-sagemaker";
import { STSClient } from "@aws-sdk/client-sts";
import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join, relative } from "path";
import { approve, ApproveOptions } from "../../jobs/cli/approve";
import { monitoringEvidence } from "../../jobs/lib/monitoring-reports";
import { runMonitor, uploadPrefix } from "../../jobs/monitor/run";
import { buildBaseline, defaultThresholds, writeCapture } from "../jobs/monitor/corpus";
import { CliClients } from "../../jobs/cli/lib/clients";
import { bucketName, endpointName } from "../../infra/naming";
import { MotoServer, resetMoto, startMoto } from "../support/moto";
import { ensureBucket, servePendingPackage } from "./fixtures";
import { RunSpec, uploadRun } from "./monitoring-fixtures";

/**
 * The gate's evidence: `approve` lets a package through only on a monitoring run that is complete (its
 * completion record exists, parses and matches every file), judged (enough records) and about the package
 * the endpoint serves now (its window starts after the endpoint last changed). Anything else is refused,
 * naming the run and why, unless forced with a reason.
 */
describe("approve: what counts as monitoring evidence (moto)", function () {
    this.timeout(60_000);
    const MODEL = "traffic-signs";
    const ENDPOINT = endpointName("staging", MODEL);
    const CAPTURE = bucketName("staging", "capture", "123456789012", "us-east-1");
    const HOUR = 3_600_000;
    const DRIFT = {
        feature_name: "brightness",
        constraint_check_type: "baseline_drift_check",
        description: "PSI 0.41 is above the threshold 0.2",
    };

    let moto: MotoServer;
    let sm: SageMakerClient;
    let s3: S3Client;
    let arn: string;
    /** When the endpoint last changed: windows from here on are about the package it serves. */
    let since: Date;

    before(async () => {
        moto = await startMoto();
        sm = new SageMakerClient(moto.clientConfig);
        s3 = new S3Client(moto.clientConfig);
    });
    after(async () => {
        await moto?.stop();
    });
    beforeEach(async () => {
        await resetMoto(moto);
        arn = await servePendingPackage(sm, s3, MODEL);
        since = (await sm.send(new DescribeEndpointCommand({ EndpointName: ENDPOINT }))).LastModifiedTime!;
        await ensureBucket(s3, CAPTURE);
    });

    const clients = (): CliClients => ({ sagemaker: sm, s3, sts: new STSClient(moto.clientConfig) });

    /** The window of `hours` hours starting `offset` hours after the endpoint's last change. */
    const windowAt = (offset: number, hours = 1) => ({
        start: new Date(since.getTime() + offset * HOUR),
        end: new Date(since.getTime() + (offset + hours) * HOUR),
    });

    const run = (spec: Partial<RunSpec>) => uploadRun(s3, CAPTURE, { model: MODEL, endpoint: ENDPOINT, window: windowAt(0), ...spec });

    async function tryApprove(extra: Partial<ApproveOptions> = {}) {
        const printed: string[] = [];
        const warned: string[] = [];
        let error: Error | undefined;
        try {
            await approve(
                { stack: "staging", model: MODEL, ...extra },
                { makeClients: clients, print: (l) => printed.push(l), warn: (l) => warned.push(l) },
            );
        } catch (e) {
            error = e as Error;
        }
        const status = (await sm.send(new DescribeModelPackageCommand({ ModelPackageName: arn }))).ModelApprovalStatus;
        return { error, printed, warned, status };
    }

    async function expectRefused(why: RegExp, runPrefix?: string) {
        const r = await tryApprove();
        expect(r.error?.message, "approve went through").to.match(why);
        if (runPrefix) expect(r.error!.message).to.contain(`s3://${CAPTURE}/${runPrefix}`);
        expect(r.error!.message).to.contain(`npm run approve -- --stack staging --model ${MODEL} --force --reason`);
        expect(r.status).to.equal("PendingManualApproval");
        return r.error!.message;
    }

    it("a complete, judged, clean run of traffic since the endpoint last changed lets the package through", async () => {
        const prefix = await run({ records: 240 });
        const r = await tryApprove();
        expect(r.error).to.equal(undefined);
        expect(r.status).to.equal("Approved");
        expect(r.printed[0]).to.equal(
            `monitoring: s3://${CAPTURE}/${prefix} is clean (240 records, 30 needed, window ${windowAt(0).start.toISOString()} to ${windowAt(0).end.toISOString()})`,
        );
    });

    it("a run that stopped after its first file is refused as incomplete, not taken as clean", async () => {
        const prefix = await run({ damage: "stopped-after-first-file" });
        await expectRefused(/has no completion record \(_complete\.json\)/, prefix);
    });

    it("a run with every file but no completion record is refused as incomplete", async () => {
        const prefix = await run({ damage: "no-record", violations: [] });
        await expectRefused(/has no completion record/, prefix);
    });

    it("a run whose violations were emptied after its record is refused: the checksum does not match", async () => {
        const prefix = await run({ violations: [DRIFT], damage: "violations-emptied" });
        await expectRefused(
            /constraint_violations\.json does not match its completion record \(\d+ bytes, sha256 [0-9a-f]{12}.* listed; \d+ bytes, sha256 [0-9a-f]{12}.* found\)/,
            prefix,
        );
    });

    it("a run whose record names a missing file, or is cut off, or misses a file in its folder is refused", async () => {
        const missing = await run({ damage: "file-missing", window: windowAt(0) });
        await expectRefused(/report\.html, named by its completion record, is missing/, missing);
        const truncated = await run({ damage: "record-truncated", window: windowAt(1) });
        await expectRefused(/has a completion record that is not valid JSON/, truncated);
        const unnamed = await run({ damage: "unnamed-file", window: windowAt(2) });
        await expectRefused(/constraint_violations\.json is in the run's folder but not named by its completion record/, unnamed);
    });

    it("an empty run (no records: a wrong capture prefix, an idle endpoint) is no evidence", async () => {
        const prefix = await run({ verdict: "not-judged", records: 0, notJudgedReason: "0 records under s3://capture/x/" });
        await expectRefused(/was not judged: 0 records under s3:\/\/capture\/x\//, prefix);
    });

    it("a run that calls itself clean on fewer records than the stack requires is no evidence", async () => {
        const prefix = await run({ verdict: "clean", records: 12, minRecords: 5 });
        await expectRefused(/was not judged: 12 records, fewer than the 30 the stack requires \(monitoring\.drift\.minRecords\)/, prefix);
    });

    it("a clean run of traffic from before the endpoint last changed is no evidence for the package it serves now", async () => {
        const stale = { start: new Date(since.getTime() - 30 * 60_000), end: new Date(since.getTime() + 30 * 60_000) };
        const prefix = await run({ window: stale });
        const message = await expectRefused(/starts before .* last changed/, prefix);
        expect(message).to.contain(since.toISOString());
    });

    it("no run at all is no evidence", async () => {
        await expectRefused(new RegExp(`no monitoring run of ${ENDPOINT} under s3://${CAPTURE}/${MODEL}/monitoring/${ENDPOINT}/ yet`));
    });

    it("the newest run decides: an incomplete one is not skipped for an older clean one", async () => {
        await run({ window: windowAt(0) });
        const newest = await run({ window: windowAt(1), damage: "stopped-after-first-file" });
        await expectRefused(/has no completion record/, newest);
    });

    it("a newer run that was not judged is passed over for the newest judged one, and said so", async () => {
        const judged = await run({ window: windowAt(0), records: 90 });
        const quiet = await run({ window: windowAt(1), verdict: "not-judged", records: 4, notJudgedReason: "4 records, fewer than 30" });
        const r = await tryApprove();
        expect(r.error).to.equal(undefined);
        expect(r.status).to.equal("Approved");
        expect(r.printed).to.include(
            `monitoring: s3://${CAPTURE}/${quiet} was not judged: 4 records, fewer than 30; going by the run before it`,
        );
        expect(r.printed).to.include(
            `monitoring: s3://${CAPTURE}/${judged} is clean (90 records, 30 needed, window ${windowAt(0).start.toISOString()} to ${windowAt(0).end.toISOString()})`,
        );
    });

    it("a complete run with violations is refused with the list; --force --reason approves and records what it overrode", async () => {
        const prefix = await run({ violations: [DRIFT] });
        const message = await expectRefused(
            /has 1 violation:\n {2}- brightness \[baseline_drift_check\]: PSI 0\.41 is above the threshold 0\.2/,
            prefix,
        );
        expect(message).to.contain(`npm run report -- --stack staging --model ${MODEL}`);
        const forced = await tryApprove({ forceReason: "new camera; retraining is queued" });
        expect(forced.error).to.equal(undefined);
        expect(forced.status).to.equal("Approved");
        const md = (await sm.send(new DescribeModelPackageCommand({ ModelPackageName: arn }))).CustomerMetadataProperties!;
        expect(md).to.deep.include({ "approval-forced-reason": "new camera retraining is queued", "approval-forced-violations": "1" });
    });

    it("--force --reason approves past missing evidence and records which evidence was missing", async () => {
        const prefix = await run({ damage: "stopped-after-first-file" });
        const r = await tryApprove({ forceReason: "monitoring pipeline is being repaired; checked 50 images by hand" });
        expect(r.error).to.equal(undefined);
        expect(r.status).to.equal("Approved");
        expect(r.warned.join("\n")).to.contain(`s3://${CAPTURE}/${prefix} has no completion record`);
        const md = (await sm.send(new DescribeModelPackageCommand({ ModelPackageName: arn }))).CustomerMetadataProperties!;
        expect(md["approval-forced-evidence"]).to.match(/^incomplete: s3:\/\//);
    });

    it("a run the monitor job itself wrote (files, then its completion record) is the evidence approve goes by; altered afterwards, it is not", async () => {
        const work = mkdtempSync(join(tmpdir(), "vision-mlops-gate-monitor-"));
        try {
            const local = join(work, "capture");
            await writeCapture(local, 40, {}, { endpoint: ENDPOINT, start: new Date(since.getTime() + 60_000), spreadMs: 30 * 60_000 }, 7);
            for (const file of walk(local))
                await s3.send(
                    new PutObjectCommand({ Bucket: CAPTURE, Key: `${MODEL}/capture/${relative(local, file)}`, Body: readFileSync(file) }),
                );
            writeFileSync(join(work, "monitoring_baseline.json"), JSON.stringify(await buildBaseline(120)));
            const upload = `s3://${CAPTURE}/${MODEL}/monitoring/${ENDPOINT}/${ENDPOINT}-monitoring/`;
            const window = windowAt(0);
            await runMonitor(
                {
                    capture: `s3://${CAPTURE}/${MODEL}/capture/`,
                    baseline: join(work, "monitoring_baseline.json"),
                    output: join(work, "out"),
                    upload,
                    window,
                    endpoint: ENDPOINT,
                    schedule: `${ENDPOINT}-monitoring`,
                    thresholds: defaultThresholds(),
                },
                { s3 },
            );
            const r = await tryApprove();
            expect(r.error, r.error?.message).to.equal(undefined);
            expect(r.status).to.equal("Approved");
            expect(r.printed[0]).to.match(/^monitoring: s3:\/\/.* is clean \(40 records, 30 needed, window /);

            const folder = uploadPrefix(upload, window);
            await s3.send(
                new PutObjectCommand({
                    Bucket: folder.bucket,
                    Key: `${folder.prefix}constraint_violations.json`,
                    Body: '{"violations": []} ',
                }),
            );
            const judged = await monitoringEvidence(s3, CAPTURE, MODEL, { endpoint: ENDPOINT, endpointUpdatedAt: since, minRecords: 30 });
            expect(judged).to.include({ kind: "none", problem: "tampered" });
        } finally {
            rmSync(work, { recursive: true, force: true });
        }
    });
});

function walk(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}
