import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { DescribeEndpointCommand, DescribeModelPackageCommand, SageMakerClient } from "@aws-sdk/client-sagemaker";
import { expect } from "chai";
import { approve } from "../../jobs/cli/approve";
import { cliFailure } from "../../jobs/cli/common";
import { reject } from "../../jobs/cli/reject";
import { status } from "../../jobs/cli/status";
import { awsClients, ClientFactory } from "../../jobs/cli/lib/clients";
import { bucketName, endpointName } from "../../infra/naming";
import { FaultProxy, startFaultProxy } from "../support/fault-proxy";
import { MotoServer, resetMoto, startMoto } from "../support/moto";
import { servePendingPackage } from "./fixtures";
import { uploadRun } from "./monitoring-fixtures";

/**
 * Decisions on a package go through a ledger with a conditional write (one S3 object per decision, created
 * only if absent), then the registry. Two commands that decide at the same time both read an undecided
 * package; exactly one decision is recorded and the other command fails saying whose decision came first.
 *
 * moto checks If-None-Match and then writes, without a lock, so two requests it handles at the same instant
 * can both pass. S3 orders competing conditional writes; the proxy does the same here, holding both commands'
 * ledger writes until each has arrived (so both read the same undecided state) and passing them on one at a
 * time.
 */
describe("decisions: one wins, the other says who decided (moto)", function () {
    this.timeout(120_000);
    const MODEL = "traffic-signs";
    const ENDPOINT = endpointName("staging", MODEL);
    const CAPTURE = bucketName("staging", "capture", "123456789012", "us-east-1");
    const ARTIFACTS = bucketName("staging", "artifacts", "123456789012", "us-east-1");
    const CALLER = "arn:aws:sts::123456789012:user/moto";

    let moto: MotoServer;
    let proxy: FaultProxy;
    let sm: SageMakerClient;
    let s3: S3Client;
    let arn: string;

    before(async () => {
        moto = await startMoto();
        proxy = await startFaultProxy(moto.endpoint);
        sm = new SageMakerClient(moto.clientConfig);
        s3 = new S3Client(moto.clientConfig);
    });
    after(async () => {
        await proxy?.stop();
        await moto?.stop();
    });

    /** A fresh pending package served by staging, with a clean monitoring run and the stack's buckets. */
    async function freshPackage(): Promise<void> {
        proxy.clear();
        await resetMoto(moto);
        arn = await servePendingPackage(sm, s3, MODEL);
        const since = (await sm.send(new DescribeEndpointCommand({ EndpointName: ENDPOINT }))).LastModifiedTime!;
        await uploadRun(s3, CAPTURE, {
            model: MODEL,
            endpoint: ENDPOINT,
            window: { start: since, end: new Date(since.getTime() + 3_600_000) },
        });
    }

    const proxied: ClientFactory = (region) =>
        awsClients(region, {
            endpoint: proxy.endpoint,
            credentials: moto.clientConfig.credentials,
            settings: { connectTimeoutMs: 5000, socketTimeoutMs: 20_000, requestTimeoutMs: 30_000, maxAttempts: 3 },
        });
    const quiet = { makeClients: proxied, print: () => undefined, warn: () => undefined };
    const direct: ClientFactory = () => ({
        sagemaker: sm,
        s3,
        sts: awsClients("us-east-1", { endpoint: moto.endpoint, credentials: moto.clientConfig.credentials }).sts,
    });

    /** Hold the next two decision writes until both have arrived, then pass them on one at a time. */
    function orderDecisionWrites(): void {
        proxy.inject({
            match: (r) => r.method === "PUT" && r.bucket === ARTIFACTS && (r.key ?? "").startsWith("_decisions/"),
            fault: { kind: "serialize", count: 2 },
            times: 2,
        });
    }

    async function ledgerEntries(): Promise<Record<string, unknown>[]> {
        const listed = await s3.send(new ListObjectsV2Command({ Bucket: ARTIFACTS, Prefix: "_decisions/" }));
        const out = [];
        for (const o of listed.Contents ?? []) {
            const body = await s3.send(new GetObjectCommand({ Bucket: ARTIFACTS, Key: o.Key! }));
            out.push({ key: o.Key, ...JSON.parse(await body.Body!.transformToString()) });
        }
        return out;
    }

    const packageNow = () => sm.send(new DescribeModelPackageCommand({ ModelPackageName: arn }));

    /** Runs two decisions at once; returns which settled how. */
    async function race(a: () => Promise<void>, b: () => Promise<void>) {
        const [ra, rb] = await Promise.allSettled([a(), b()]);
        const won = [ra, rb].filter((r) => r.status === "fulfilled");
        const lost = [ra, rb].filter((r): r is PromiseRejectedResult => r.status === "rejected");
        return { ra, rb, won, lost };
    }

    for (let round = 1; round <= 3; round++) {
        it(`approve racing reject, round ${round}: one decision is recorded, the loser fails naming it (exit 3)`, async () => {
            await freshPackage();
            orderDecisionWrites();
            const { ra, won, lost } = await race(
                () => approve({ stack: "staging", model: MODEL, note: `approve ${round}` }, quiet),
                () => reject({ stack: "staging", model: MODEL, reason: `reject ${round}` }, quiet),
            );
            expect(won, "exactly one command succeeds").to.have.length(1);
            expect(lost).to.have.length(1);
            const approved = ra.status === "fulfilled";
            const failure = cliFailure(lost[0].reason);
            expect(failure.exitCode, failure.message).to.equal(3);
            const entries = await ledgerEntries();
            expect(entries, "one decision in the ledger").to.have.length(1);
            const entry = entries[0];
            expect(entry).to.include({ action: approved ? "approve" : "reject", by: CALLER, sequence: 1, packageArn: arn });
            expect(failure.message).to.contain(`${arn} was ${approved ? "approved" : "rejected"} by ${CALLER} at ${entry.at}`);
            expect(failure.message).to.contain(approved ? `approve ${round}` : `reject ${round}`);
            expect(failure.message).to.contain(approved ? "this reject was not recorded" : "this approve was not recorded");
            const p = await packageNow();
            expect(p.ModelApprovalStatus).to.equal(approved ? "Approved" : "Rejected");
            expect(p.CustomerMetadataProperties?.["decision-record"]).to.equal(`s3://${ARTIFACTS}/${entry.key}`);
        });

        it(`approve racing approve, round ${round}: one note is kept, the other command says its note was not recorded`, async () => {
            await freshPackage();
            orderDecisionWrites();
            const { ra, won, lost } = await race(
                () => approve({ stack: "staging", model: MODEL, note: `first ${round}` }, quiet),
                () => approve({ stack: "staging", model: MODEL, note: `second ${round}` }, quiet),
            );
            expect(won).to.have.length(1);
            expect(lost).to.have.length(1);
            const winner = ra.status === "fulfilled" ? `first ${round}` : `second ${round}`;
            const failure = cliFailure(lost[0].reason);
            expect(failure.exitCode, failure.message).to.equal(3);
            expect(failure.message).to.contain(`was approved by ${CALLER}`);
            expect(failure.message).to.contain(`(note: ${winner})`);
            expect(failure.message).to.contain("this approve was not recorded");
            const entries = await ledgerEntries();
            expect(entries).to.have.length(1);
            expect(entries[0]).to.include({ action: "approve", note: winner });
            const p = await packageNow();
            expect(p.ModelApprovalStatus).to.equal("Approved");
            expect(p.CustomerMetadataProperties?.["approval-note"]).to.equal(winner);
        });
    }

    describe("one after the other", () => {
        beforeEach(freshPackage);
        const noise = { makeClients: direct, print: () => undefined, warn: () => undefined };

        it("a rejection of an approved package needs --overrule; with it both decisions stay in the ledger", async () => {
            await approve({ stack: "staging", model: MODEL, note: "ok" }, noise);
            const refused = await reject({ stack: "staging", model: MODEL, reason: "misreads stop signs" }, noise).catch((e) => e);
            const f = cliFailure(refused);
            expect(f.exitCode).to.equal(3);
            expect(f.message).to.contain(`${arn} was approved by ${CALLER} at `);
            expect(f.message).to.contain(`npm run reject -- --stack staging --model ${MODEL} --reason "misreads stop signs" --overrule`);
            expect((await packageNow()).ModelApprovalStatus).to.equal("Approved");

            await reject({ stack: "staging", model: MODEL, reason: "misreads stop signs", overrule: true }, noise);
            const entries = await ledgerEntries();
            expect(entries.map((e) => [e.sequence, e.action, e.overrules])).to.deep.equal([
                [1, "approve", undefined],
                [2, "reject", 1],
            ]);
            const p = await packageNow();
            expect(p.ModelApprovalStatus).to.equal("Rejected");
            expect(p.CustomerMetadataProperties).to.include({ "rejection-reason": "misreads stop signs" });
            expect(p.CustomerMetadataProperties).not.to.have.any.keys("approved-by", "approval-note");
        });

        it("approving again changes nothing; approving again with another note says the note was not recorded", async () => {
            await approve({ stack: "staging", model: MODEL, note: "ok" }, noise);
            const printed: string[] = [];
            await approve({ stack: "staging", model: MODEL }, { ...noise, print: (l) => printed.push(l) });
            expect(printed.join("\n")).to.match(
                new RegExp(`${arn} was approved by ${CALLER} at .* \\(note: ok\\) \\(s3://.*000001\\.json\\); nothing changed`),
            );
            const f = cliFailure(await approve({ stack: "staging", model: MODEL, note: "second look" }, noise).catch((e) => e));
            expect(f.exitCode).to.equal(3);
            expect(f.message).to.contain("--note was not recorded");
            expect(await ledgerEntries()).to.have.length(1);
        });

        it("a decision whose registry update failed is completed by the next command, and status shows the ledger", async () => {
            proxy.inject({
                match: (r) => r.operation === "UpdateModelPackage",
                fault: { kind: "error", status: 500, code: "InternalFailure" },
            });
            const warned: string[] = [];
            const failed = await approve({ stack: "staging", model: MODEL, note: "ok" }, { ...quiet, warn: (l) => warned.push(l) }).catch(
                (e) => e,
            );
            expect(cliFailure(failed).exitCode).to.equal(8);
            expect(warned.join("\n")).to.contain(`the decision is recorded in s3://${ARTIFACTS}/_decisions/`);
            expect((await packageNow()).ModelApprovalStatus).to.equal("PendingManualApproval");

            proxy.clear();
            const shown: string[] = [];
            await status({ stack: "staging", model: MODEL, json: false }, { makeClients: direct, print: (l) => shown.push(l) });
            const text = shown.join("\n");
            expect(text).to.match(
                new RegExp(`decisions \\(s3://${ARTIFACTS}/_decisions/[^)]+\\):\\n {4}1\\. approved by ${CALLER} at \\S+ \\(note: ok\\)`),
            );
            expect(text).to.contain("the registry shows PendingManualApproval, but the last decision in the ledger is approve");

            const printed: string[] = [];
            await approve(
                { stack: "staging", model: MODEL, note: "ok" },
                { ...noise, print: (l) => printed.push(l), warn: (l) => printed.push(l) },
            );
            expect(printed.join("\n")).to.contain("completed in the registry");
            const p = await packageNow();
            expect(p.ModelApprovalStatus).to.equal("Approved");
            expect(p.CustomerMetadataProperties).to.include({ "approval-note": "ok", "approved-by": CALLER });
            expect(await ledgerEntries()).to.have.length(1);
        });
    });
});
