import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { expect } from "chai";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "fs";
import { hostname } from "os";
import { join } from "path";
import { JobError } from "../../../jobs/lib/errors";
import { CLAIM_FILE, claimLocal, ClaimRecord, claimS3, objectExists, S3Like } from "../../../jobs/monitor/claim";
import { FakeS3 } from "./fake-s3";
import { tempDir } from "../support/images";
import { failureOf } from "../support/failure";

/** The claim and lease functions without a whole monitoring run: a fixed clock, a temp folder, an S3 of a few objects. */

const NOW = new Date("2026-01-10T13:00:00.000Z");
const now = () => NOW;
/** A process id that is not running here (the largest pid Linux hands out is below 2^22). */
const GONE_PID = 4_194_304 + 17;

function held(runId: string, over: Partial<ClaimRecord> = {}): ClaimRecord {
    return {
        runId,
        host: hostname(),
        pid: process.pid,
        claimedAt: "2026-01-10T12:30:00.000Z",
        leaseUntil: "2026-01-10T14:30:00.000Z",
        ...over,
    };
}

const refusalText = (where: string, runId: string, claimedAt: string, leaseUntil: string) =>
    `${where} is claimed by run ${runId} since ${claimedAt} (lease until ${leaseUntil}); ` +
    "two runs of one window never both write it: wait for that run, or re-run after its lease";
const completedText = (where: string) =>
    `${where} was monitored before and is complete (_complete.json); its evidence is kept as it is ` +
    "(monitor another window, or another output folder)";

describe("monitor claim: local run folder", () => {
    const folderWith = (claim?: unknown): string => {
        const folder = tempDir("claim");
        if (claim !== undefined) writeFileSync(join(folder, CLAIM_FILE), typeof claim === "string" ? claim : JSON.stringify(claim));
        return folder;
    };
    const claimIn = (folder: string) => JSON.parse(readFileSync(join(folder, CLAIM_FILE), "utf8"));

    it("writes a claim naming the run, this process and a lease of the given length", () => {
        const folder = folderWith();
        const c = claimLocal(folder, { runId: "run-1", leaseSeconds: 5400, now });
        expect(c.tookOver).to.equal(undefined);
        expect(claimIn(folder)).to.deep.equal({
            runId: "run-1",
            host: hostname(),
            pid: process.pid,
            claimedAt: "2026-01-10T13:00:00.000Z",
            leaseUntil: "2026-01-10T14:30:00.000Z",
        });
        expect(readFileSync(join(folder, CLAIM_FILE), "utf8").endsWith("}\n")).to.equal(true);
    });

    it("refuses a completed window, and a live claim of another run, naming it", async () => {
        const done = folderWith();
        writeFileSync(join(done, "_complete.json"), "{}");
        expect((await failureOf(() => claimLocal(done, { runId: "run-1", leaseSeconds: 60, now }))).message).to.equal(completedText(done));
        expect(existsSync(join(done, CLAIM_FILE))).to.equal(false);

        const busy = folderWith(held("other"));
        const e = await failureOf(() => claimLocal(busy, { runId: "run-1", leaseSeconds: 60, now }));
        expect(e).to.be.instanceOf(JobError);
        expect(e.message).to.equal(refusalText(busy, "other", "2026-01-10T12:30:00.000Z", "2026-01-10T14:30:00.000Z"));
        expect(claimIn(busy).runId).to.equal("other");
    });

    it("refuses a claim it cannot read rather than taking it over", async () => {
        for (const unreadable of [
            "{half",
            JSON.stringify({ runId: 7, leaseUntil: "2026-01-01T00:00:00Z" }),
            JSON.stringify({ runId: "x" }),
        ]) {
            const folder = folderWith(unreadable);
            const e = await failureOf(() => claimLocal(folder, { runId: "run-1", leaseSeconds: 60, now }));
            expect(e.message, unreadable).to.equal(refusalText(folder, "(unknown)", "?", "?"));
        }
    });

    it("takes over the same run's claim, a released one, one whose lease ended (at now exactly) and one whose process is gone", () => {
        const cases: [string, ClaimRecord][] = [
            ["run-1", held("run-1")],
            ["released", held("failed-run", { released: "failed: S3 said 503" })],
            ["expired", held("slow/run", { leaseUntil: "2026-01-10T13:00:00.000Z" })],
            ["gone", held("killed-run", { pid: GONE_PID })],
        ];
        for (const [what, record] of cases) {
            const folder = folderWith(record);
            const c = claimLocal(folder, { runId: "run-1", leaseSeconds: 60, now });
            expect(c.tookOver, what).to.deep.equal(record);
            expect(claimIn(folder).runId, what).to.equal("run-1");
            // The stale claim is kept beside the new one, named after its run (made safe for a file name) and this process.
            const kept = `.${CLAIM_FILE}.replaced-${record.runId.replace("/", "_")}-${process.pid}`;
            expect(readdirSync(folder).sort(), what).to.deep.equal([kept, CLAIM_FILE].sort());
            expect(JSON.parse(readFileSync(join(folder, kept), "utf8")), what).to.deep.equal(record);
        }
    });

    it("keeps a claim whose lease runs a millisecond past now, or whose gone process was on another host", async () => {
        for (const record of [
            held("other", { leaseUntil: "2026-01-10T13:00:00.001Z" }),
            held("other", { pid: GONE_PID, host: `not-${hostname()}` }),
        ]) {
            const folder = folderWith(record);
            const e = await failureOf(() => claimLocal(folder, { runId: "run-1", leaseSeconds: 60, now }));
            expect(e.message).to.contain("is claimed by run other");
        }
    });

    it("releases its own claim with the reason, and leaves a claim another run has since taken", async () => {
        const folder = folderWith();
        const c = claimLocal(folder, { runId: "run-1", leaseSeconds: 60, now });
        await c.release("failed: disk full");
        expect(claimIn(folder)).to.deep.include({ runId: "run-1", released: "failed: disk full", leaseUntil: "2026-01-10T13:01:00.000Z" });

        const taken = folderWith();
        const mine = claimLocal(taken, { runId: "run-1", leaseSeconds: 60, now });
        writeFileSync(join(taken, CLAIM_FILE), JSON.stringify(held("run-2")));
        await mine.release("failed");
        expect(claimIn(taken)).to.deep.equal(held("run-2"));
    });
});

describe("monitor claim: local run folder, more", () => {
    it("stamps the claim with the clock when none is given, and judges leases by it", () => {
        const folder = tempDir("claim-clock");
        writeFileSync(join(folder, CLAIM_FILE), JSON.stringify(held("old-run", { leaseUntil: "2020-01-01T00:00:00.000Z" })));
        const before = Date.now();
        const c = claimLocal(folder, { runId: "run-1", leaseSeconds: 60 });
        const after = Date.now();
        expect(c.tookOver?.runId).to.equal("old-run");
        const claimed = JSON.parse(readFileSync(join(folder, CLAIM_FILE), "utf8")) as ClaimRecord;
        const at = Date.parse(claimed.claimedAt);
        expect(at >= before && at <= after, claimed.claimedAt).to.equal(true);
        expect(Date.parse(claimed.leaseUntil) - at).to.equal(60_000);
    });

    it("reports a folder it cannot write as that, not as another run's claim", async () => {
        const missing = join(tempDir("claim-missing"), "not-made");
        const e = await failureOf(() => claimLocal(missing, { runId: "run-1", leaseSeconds: 60, now }));
        expect(e).to.not.be.instanceOf(JobError);
        expect((e as NodeJS.ErrnoException).code).to.equal("ENOENT");
    });

    it("leaves the claim of the same run in another process (a retry that took over) when releasing", async () => {
        const folder = tempDir("claim-retry");
        const c = claimLocal(folder, { runId: "run-1", leaseSeconds: 60, now });
        const retry = held("run-1", { pid: GONE_PID });
        writeFileSync(join(folder, CLAIM_FILE), JSON.stringify(retry));
        await c.release("failed");
        expect(JSON.parse(readFileSync(join(folder, CLAIM_FILE), "utf8"))).to.deep.equal(retry);
    });
});

describe("monitor claim: S3 run folder", () => {
    const bucket = "monitoring";
    const prefix = "signs/monitoring/ep/sch/2026/01/10/13/";
    const where = `s3://${bucket}/${prefix}`;
    const key = `${prefix}${CLAIM_FILE}`;
    const options = { runId: "run-1", leaseSeconds: 3600, now };
    const record = {
        runId: "run-1",
        host: hostname(),
        pid: process.pid,
        claimedAt: "2026-01-10T13:00:00.000Z",
        leaseUntil: "2026-01-10T14:00:00.000Z",
    };

    it("creates the claim only if absent, as JSON, encrypted with the upload key when there is one", async () => {
        const s3 = new FakeS3();
        const c = await claimS3(s3, bucket, prefix, options, "arn:aws:kms:eu-west-1:123456789012:key/k");
        expect(c.tookOver).to.equal(undefined);
        expect(s3.puts).to.deep.equal([
            {
                Bucket: bucket,
                Key: key,
                Body: JSON.stringify(record),
                ContentType: "application/json",
                IfNoneMatch: "*",
                ServerSideEncryption: "aws:kms",
                SSEKMSKeyId: "arn:aws:kms:eu-west-1:123456789012:key/k",
            },
        ]);
        const plain = new FakeS3();
        await claimS3(plain, bucket, prefix, options);
        expect(plain.puts[0]).to.not.have.any.keys("ServerSideEncryption", "SSEKMSKeyId");
    });

    it("refuses a completed window before claiming, and a live claim of another run", async () => {
        const done = new FakeS3();
        done.put(`${prefix}_complete.json`, "{}");
        expect((await failureOf(claimS3(done, bucket, prefix, options))).message).to.equal(completedText(where));
        expect(done.puts).to.deep.equal([]);

        const busy = new FakeS3();
        busy.put(key, JSON.stringify(held("other")));
        expect((await failureOf(claimS3(busy, bucket, prefix, options))).message).to.equal(
            refusalText(where, "other", "2026-01-10T12:30:00.000Z", "2026-01-10T14:30:00.000Z"),
        );
        const unreadable = new FakeS3();
        unreadable.put(key, "not json");
        expect((await failureOf(claimS3(unreadable, bucket, prefix, options))).message).to.equal(refusalText(where, "(unknown)", "?", "?"));
    });

    it("takes over an expired claim with If-Match on its ETag, and releases with If-Match on its own", async () => {
        const s3 = new FakeS3();
        const stale = held("slow-run", { leaseUntil: "2026-01-10T12:59:59.999Z", host: "another-host", pid: GONE_PID });
        const staleTag = s3.put(key, JSON.stringify(stale));
        const c = await claimS3(s3, bucket, prefix, options);
        expect(c.tookOver).to.deep.equal(stale);
        expect(s3.puts.map((p) => [p.IfNoneMatch, p.IfMatch])).to.deep.equal([
            ["*", undefined],
            [undefined, staleTag],
        ]);
        const mineTag = s3.objects.get(key)!.etag;
        await c.release("failed: CloudWatch said 400");
        expect(s3.puts[2]).to.deep.include({
            IfMatch: mineTag,
            Body: JSON.stringify({ ...record, released: "failed: CloudWatch said 400" }),
        });
        expect(JSON.parse(s3.objects.get(key)!.body).released).to.equal("failed: CloudWatch said 400");
    });

    it("loses a takeover to the run that changed the claim first, and a window completed meanwhile", async () => {
        const raced = new FakeS3();
        raced.put(key, JSON.stringify(held("failed-run", { released: "failed" })));
        raced.beforePut = (input) => {
            if (input.IfMatch !== undefined) raced.put(key, JSON.stringify(held("run-2")));
        };
        expect((await failureOf(claimS3(raced, bucket, prefix, options))).message).to.contain("is claimed by run failed-run");

        const completed = new FakeS3();
        completed.put(key, JSON.stringify(held("run-1")));
        let heads = 0;
        const send = completed.send.bind(completed);
        completed.send = async (command: unknown) => {
            // The first look finds no completion record; by the takeover the other run has finished.
            if (command instanceof HeadObjectCommand && ++heads === 2) completed.put(`${prefix}_complete.json`, "{}");
            return send(command);
        };
        expect((await failureOf(claimS3(completed, bucket, prefix, options))).message).to.equal(completedText(where));
        expect(completed.puts.map((p) => p.IfNoneMatch)).to.deep.equal(["*"]);
    });

    it("leaves a claim another run has taken since when releasing, and never fails the run doing so", async () => {
        const s3 = new FakeS3();
        const c = await claimS3(s3, bucket, prefix, options);
        s3.put(key, JSON.stringify(held("run-2")));
        await c.release("failed");
        expect(JSON.parse(s3.objects.get(key)!.body).runId).to.equal("run-2");
    });

    it("passes on S3 failures other than a failed precondition or a missing object", async () => {
        const denied = Object.assign(new Error("Access Denied"), { name: "AccessDenied", $metadata: { httpStatusCode: 403 } });
        const failing: S3Like = { send: async () => Promise.reject(denied) };
        expect(await failureOf(objectExists(failing, bucket, "k"))).to.equal(denied);
        // A 404 or a 412 known by its status alone, as S3 sends them to HEAD (no error code in the body).
        const byStatus = (status: number): S3Like => ({
            send: async (command: unknown) => {
                if (command instanceof HeadObjectCommand || (command as PutObjectCommand).input.IfNoneMatch)
                    throw Object.assign(new Error("UnknownError"), { name: "Unknown", $metadata: { httpStatusCode: status } });
                if (command instanceof GetObjectCommand)
                    return { ETag: '"e"', Body: { transformToString: async () => JSON.stringify(held("other")) } } as never;
                return {} as never;
            },
        });
        expect(await objectExists(byStatus(404), bucket, "k")).to.equal(false);
        expect(await failureOf(objectExists(byStatus(500), bucket, "k"))).to.have.property("name", "Unknown");
        const s3 = new FakeS3();
        const putDenied: S3Like = {
            send: async (command: unknown) => {
                if (command instanceof PutObjectCommand) throw denied;
                return s3.send(command);
            },
        };
        expect(await failureOf(claimS3(putDenied, bucket, prefix, options))).to.equal(denied);
    });

    it("knows a failed precondition by its status alone", async () => {
        const conflict: S3Like = {
            send: async (command: unknown) => {
                if (command instanceof HeadObjectCommand)
                    throw Object.assign(new Error("NotFound"), { name: "NotFound", $metadata: { httpStatusCode: 404 } });
                if (command instanceof PutObjectCommand)
                    throw Object.assign(new Error("Unknown"), { name: "Unknown", $metadata: { httpStatusCode: 412 } });
                return { ETag: '"e"', Body: { transformToString: async () => JSON.stringify(held("other")) } } as never;
            },
        };
        expect((await failureOf(claimS3(conflict, bucket, prefix, options))).message).to.contain("is claimed by run other");
    });
});

describe("monitor claim: S3 answers without the usual fields", () => {
    const bucket = "monitoring";
    const prefix = "p/";
    const options = { runId: "run-1", leaseSeconds: 3600, now };
    const named = (name: string, status?: number) =>
        Object.assign(new Error(name), { name }, status === undefined ? {} : { $metadata: { httpStatusCode: status } });

    /** An S3 whose HEAD, GET and PUT answer as given (a function throws or returns). */
    function s3With(answers: { head?: () => unknown; get?: () => unknown; put?: (input: Record<string, unknown>) => unknown }) {
        const puts: Record<string, unknown>[] = [];
        const s3: S3Like = {
            send: async (command: unknown) => {
                const input = (command as { input: Record<string, unknown> }).input;
                if (command instanceof HeadObjectCommand)
                    return (answers.head ?? (() => Promise.reject(named("NotFound", 404))))() as never;
                if (command instanceof GetObjectCommand) return answers.get!() as never;
                puts.push({ ...input });
                return answers.put!(input) as never;
            },
        };
        return { s3, puts };
    }
    const body = (record: unknown) => ({ transformToString: async () => JSON.stringify(record) });
    const takeoverable = held("failed-run", { released: "failed" });

    it("knows a missing object by its error name alone, and passes on an error without an HTTP status", async () => {
        for (const e of [named("NotFound"), named("NoSuchKey")])
            expect(await objectExists(s3With({ head: () => Promise.reject(e) }).s3, bucket, "k"), e.name).to.equal(false);
        const hangUp = new Error("socket hang up");
        expect(await failureOf(objectExists(s3With({ head: () => Promise.reject(hangUp) }).s3, bucket, "k"))).to.equal(hangUp);
    });

    it("knows a failed precondition by its error name alone, and passes on a put error without an HTTP status", async () => {
        const conflict = s3With({
            put: () => Promise.reject(named("PreconditionFailed")),
            get: () => ({ ETag: '"e"', Body: body(held("other")) }),
        });
        expect((await failureOf(claimS3(conflict.s3, bucket, prefix, options))).message).to.contain("is claimed by run other");
        const hangUp = new Error("socket hang up");
        expect(await failureOf(claimS3(s3With({ put: () => Promise.reject(hangUp) }).s3, bucket, prefix, options))).to.equal(hangUp);
    });

    it("refuses a claim object with no body or no ETag rather than taking it over blind", async () => {
        const noBody = s3With({ put: () => Promise.reject(named("PreconditionFailed", 412)), get: () => ({ ETag: '"e"' }) });
        expect((await failureOf(claimS3(noBody.s3, bucket, prefix, options))).message).to.contain("is claimed by run (unknown) since ?");
        // A takeover put would succeed: only the missing ETag stops it.
        const noTag = s3With({
            put: (input) => (input.IfNoneMatch ? Promise.reject(named("PreconditionFailed", 412)) : { ETag: '"new"' }),
            get: () => ({ Body: body(takeoverable) }),
        });
        expect((await failureOf(claimS3(noTag.s3, bucket, prefix, options))).message).to.contain("is claimed by run failed-run");
        expect(noTag.puts).to.have.length(1);
    });

    it("passes on a takeover that fails for another reason than a lost race", async () => {
        const slowDown = named("SlowDown", 503);
        const { s3 } = s3With({
            put: (input) => Promise.reject(input.IfMatch ? slowDown : named("PreconditionFailed", 412)),
            get: () => ({ ETag: '"e"', Body: body(takeoverable) }),
        });
        expect(await failureOf(claimS3(s3, bucket, prefix, options))).to.equal(slowDown);
    });

    it("makes no release put when S3 gave the claim no ETag", async () => {
        const { s3, puts } = s3With({ put: () => ({}) });
        const c = await claimS3(s3, bucket, prefix, options);
        await c.release("failed");
        expect(puts).to.have.length(1);
    });
});
