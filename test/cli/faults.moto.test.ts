import { ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { SageMakerClient } from "@aws-sdk/client-sagemaker";
import { expect } from "chai";
import { randomBytes } from "crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { cliFailure } from "../../jobs/cli/common";
import { reject } from "../../jobs/cli/reject";
import { report } from "../../jobs/cli/report";
import { status } from "../../jobs/cli/status";
import { awsClients, CliClients, ClientFactory, ClientSettings, DEFAULT_CLIENT_SETTINGS } from "../../jobs/cli/lib/clients";
import { ingest } from "../../jobs/ingest";
import { bucketName, endpointName } from "../../infra/naming";
import { FaultProxy, startFaultProxy } from "../support/fault-proxy";
import { MotoServer, resetMoto, startMoto } from "../support/moto";
import { CliRun, ensureBucket, runCliInProcess, servePendingPackage } from "./fixtures";

/**
 * The operator CLIs from their command line (in this process; cli.moto.test.ts runs each as a child process),
 * through a proxy that breaks the connection to the AWS emulator the way real networks and AWS do. Every command either succeeds or ends on its own, within its timeouts and
 * retries, with one line that names the operation, the object and the kind of failure, and an exit code per kind.
 */
describe("operator CLIs under injected network and AWS faults", function () {
    this.timeout(60_000);
    const MODEL = "traffic-signs";
    const ENDPOINT = endpointName("staging", MODEL);
    /** Short timeouts and few attempts keep the failing runs quick; the defaults are for real links. */
    const TIGHT = {
        VISION_MLOPS_AWS_CONNECT_TIMEOUT_MS: "1000",
        VISION_MLOPS_AWS_SOCKET_TIMEOUT_MS: "500",
        VISION_MLOPS_AWS_REQUEST_TIMEOUT_MS: "3000",
        VISION_MLOPS_AWS_MAX_ATTEMPTS: "3",
    };

    let moto: MotoServer;
    let proxy: FaultProxy;
    let sm: SageMakerClient;
    let s3: S3Client;
    let env: Record<string, string>;
    let tmp: string;

    before(async () => {
        moto = await startMoto();
        proxy = await startFaultProxy(moto.endpoint);
        sm = new SageMakerClient(moto.clientConfig);
        s3 = new S3Client(moto.clientConfig);
        tmp = mkdtempSync(join(tmpdir(), "vision-mlops-faults-"));
        env = {
            ...moto.env,
            ...TIGHT,
            AWS_ENDPOINT_URL: proxy.endpoint,
            VISION_MLOPS_PROJECT_DIR: join(__dirname, "..", ".."),
            HOME: tmp,
            AWS_EC2_METADATA_DISABLED: "true",
        };
    });
    after(async () => {
        await proxy?.stop();
        await moto?.stop();
        if (tmp) rmSync(tmp, { recursive: true, force: true });
    });
    beforeEach(async () => {
        proxy.clear();
        await resetMoto(moto);
        await servePendingPackage(sm, s3, MODEL);
    });

    /** The command ended by itself (a hung one outlasts the test's timeout), with this exit code and exactly one line on stderr. */
    function expectOneLineFailure(run: CliRun, code: number): string {
        expect(run.code, run.stderr).to.equal(code);
        expect(run.stderr.trimEnd().split("\n"), run.stderr).to.have.length(1);
        expect(run.stderr).to.match(/^error: /);
        return run.stderr.trim();
    }

    it("a stalled connection ends within the timeouts, as a network failure naming the call (exit 5)", async () => {
        proxy.inject({ match: (r) => r.operation === "DescribeEndpoint", fault: { kind: "stall" } });
        const run = await runCliInProcess("status", ["--stack", "staging", "--model", MODEL], env);
        const line = expectOneLineFailure(run, 5);
        expect(line).to.match(
            new RegExp(`^error: SageMaker DescribeEndpoint ${ENDPOINT}: network failure \\(.*timed out.*\\) after 3 attempts; `),
        );
    });

    it("a reset connection is a network failure, not a credentials problem (exit 5)", async () => {
        proxy.inject({ match: (r) => r.service === "sts", fault: { kind: "reset" } });
        const run = await runCliInProcess("approve", ["--stack", "staging", "--model", MODEL], env);
        const line = expectOneLineFailure(run, 5);
        expect(line).to.match(/^error: STS GetCallerIdentity: network failure \(.*ECONNRESET.*\) after 3 attempts; /);
        expect(line).not.to.contain("credentials");
    });

    describe("in-process, through the clients every CLI builds", () => {
        const SETTINGS: ClientSettings = { connectTimeoutMs: 1000, socketTimeoutMs: 500, requestTimeoutMs: 3000, maxAttempts: 3 };
        const proxied: ClientFactory = (region) =>
            awsClients(region, { endpoint: proxy.endpoint, credentials: moto.clientConfig.credentials, settings: SETTINGS });
        const quiet = { makeClients: proxied, print: () => undefined, warn: () => undefined };

        /** The command's failure as the CLI prints it: one line and an exit code. */
        async function failureOf(p: Promise<unknown>): Promise<{ message: string; exitCode: number }> {
            try {
                await p;
            } catch (e) {
                const f = cliFailure(e);
                expect(f.message.split("\n"), f.message).to.have.length(1);
                return f;
            }
            throw new Error("expected the command to fail");
        }

        it("transient resets, 503s and SlowDown are retried: the command succeeds, quietly", async () => {
            proxy.inject({ match: (r) => r.service === "sts", fault: { kind: "reset" }, times: 1 });
            proxy.inject({
                match: (r) => r.operation === "DescribeEndpoint",
                fault: { kind: "error", status: 503, code: "ServiceUnavailable" },
                times: 1,
            });
            proxy.inject({ match: (r) => r.service === "s3", fault: { kind: "error", status: 503, code: "SlowDown" }, times: 1 });
            const printed: string[] = [];
            const warned: string[] = [];
            await status(
                { stack: "staging", model: MODEL, json: false },
                { makeClients: proxied, print: (l) => printed.push(l), warn: (l) => warned.push(l) },
            );
            expect(printed.join("\n")).to.contain(`${ENDPOINT} (InService)`);
            expect(warned).to.deep.equal([]);
            expect(proxy.log.filter((r) => r.fault).map((r) => r.fault)).to.have.members(["reset", "error", "error"]);
        });

        it("a permission error names the call, the object and the IAM action to grant (exit 6)", async () => {
            proxy.inject({
                match: (r) => r.operation === "DescribeEndpoint",
                fault: {
                    kind: "error",
                    status: 400,
                    code: "AccessDeniedException",
                    message: "User is not authorized to perform this action",
                },
            });
            const f = await failureOf(reject({ stack: "staging", model: MODEL, reason: "r" }, quiet));
            expect(f.exitCode).to.equal(6);
            expect(f.message).to.equal(
                `error: SageMaker DescribeEndpoint ${ENDPOINT}: permission denied (AccessDeniedException: User is not authorized to perform this action); ` +
                    `the caller needs sagemaker:DescribeEndpoint on ${ENDPOINT}`,
            );
        });

        it("throttling that outlasts the retries says so (exit 4)", async () => {
            proxy.inject({
                match: (r) => r.operation === "DescribeEndpoint",
                fault: { kind: "error", status: 400, code: "ThrottlingException", message: "Rate exceeded" },
            });
            const f = await failureOf(status({ stack: "staging", model: MODEL, json: false }, quiet));
            expect(f.exitCode).to.equal(4);
            expect(f.message).to.equal(
                `error: SageMaker DescribeEndpoint ${ENDPOINT}: throttled by AWS (ThrottlingException: Rate exceeded) after 3 attempts; ` +
                    "AWS is limiting the request rate; wait a minute and run the command again",
            );
        });

        it("expired credentials are a credentials problem (exit 7), with what to do", async () => {
            proxy.inject({
                match: (r) => r.service === "sts",
                fault: {
                    kind: "error",
                    status: 403,
                    code: "ExpiredToken",
                    message: "The security token included in the request is expired",
                },
            });
            const f = await failureOf(status({ stack: "staging", json: false }, quiet));
            expect(f.exitCode).to.equal(7);
            expect(f.message).to.match(
                /^error: STS GetCallerIdentity: no valid AWS credentials \(ExpiredToken: The security token included in the request is expired\); set or refresh/,
            );
        });

        it("a monitoring report whose body stops half-way fails as a network failure naming the object (exit 5)", async () => {
            const capture = bucketName("staging", "capture", "123456789012", "us-east-1");
            const prefix = `${MODEL}/monitoring/${ENDPOINT}/${ENDPOINT}-monitoring/2026/11/22/10/`;
            await ensureBucket(s3, capture);
            for (const [name, body] of Object.entries({
                "constraint_violations.json": '{"violations": []}',
                "report.html": `<html>${"x".repeat(50_000)}</html>`,
            }))
                await s3.send(new PutObjectCommand({ Bucket: capture, Key: `${prefix}${name}`, Body: body }));
            proxy.inject({ match: (r) => r.method === "GET" && r.key?.endsWith("report.html") === true, fault: { kind: "stall-body" } });
            const f = await failureOf(report({ stack: "staging", model: MODEL, out: join(tmp, "stalled") }, quiet));
            expect(f.exitCode).to.equal(5);
            expect(f.message).to.match(
                new RegExp(`^error: S3 GetObject s3://${capture}/${prefix}report\\.html: network failure \\(TimeoutError: `),
            );
        });

        describe("ingest", () => {
            const BIKES = "bikes-vs-motorcycles";
            const RAW = "vision-mlops-staging-raw-123456789012-us-east-1";
            let images: string;
            before(() => {
                images = join(tmp, "images");
                for (const cls of ["bicycle", "motorcycle"]) {
                    mkdirSync(join(images, cls), { recursive: true });
                    for (let i = 0; i < 12; i++) writeFileSync(join(images, cls, `${i}.jpg`), randomBytes(2048));
                }
            });
            /** Bulk uploads get the default attempts: fewer faults than attempts always end in success. */
            const bulk = () =>
                awsClients("us-east-1", {
                    endpoint: proxy.endpoint,
                    credentials: moto.clientConfig.credentials,
                    settings: { ...SETTINGS, maxAttempts: DEFAULT_CLIENT_SETTINGS.maxAttempts },
                });
            const run = (batchId: string, client: CliClients = bulk()) =>
                ingest({
                    s3: client.s3,
                    bucket: RAW,
                    model: BIKES,
                    classes: ["bicycle", "motorcycle"],
                    dir: images,
                    batchId,
                    concurrency: 4,
                });
            const uploads = (r: { method: string; bucket?: string; key?: string }) =>
                r.method === "PUT" && r.bucket === RAW && /\.jpg$/.test(r.key ?? "");

            it("uploads every image through 503 SlowDown answers and reset connections", async () => {
                await ensureBucket(s3, RAW);
                proxy.inject({
                    match: uploads,
                    fault: { kind: "error", status: 503, code: "SlowDown", message: "Please reduce your request rate." },
                    times: 4,
                });
                proxy.inject({ match: uploads, fault: { kind: "reset" }, times: 3 });
                const result = await run("b1");
                expect(result.status).to.equal("complete");
                expect(result.status === "complete" && result.batch.new_images).to.equal(24);
                const listed = await s3.send(new ListObjectsV2Command({ Bucket: RAW, Prefix: `${BIKES}/batches/b1/` }));
                expect(listed.Contents?.filter((o) => o.Key!.endsWith(".jpg"))).to.have.length(24);
                expect(proxy.log.filter((r) => r.fault === "error")).to.have.length(4);
                expect(proxy.log.filter((r) => r.fault === "reset")).to.have.length(3);
            });

            it("an upload that keeps failing ends the command with one line naming the object and the cause (exit 5)", async () => {
                await ensureBucket(s3, RAW);
                let victim: string | undefined;
                proxy.inject({
                    match: (r) => uploads(r) && (victim ??= r.key) === r.key,
                    fault: { kind: "reset" },
                });
                const f = await failureOf(run("b2", proxied("us-east-1")));
                expect(f.exitCode).to.equal(5);
                expect(f.message).to.match(/^error: batch b2 is incomplete: 23 of 24 images uploaded, 1 failed \(first: /);
                expect(f.message).to.contain(`: S3 PutObject s3://${RAW}/${victim}: network failure (read ECONNRESET) after 3 attempts; `);
            });
        });
    });
});
