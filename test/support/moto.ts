import { ChildProcess, spawn } from "child_process";
import { createServer } from "net";

/** A moto server (AWS API emulator) on 127.0.0.1 and a free port, for integration tests. */
export interface MotoServer {
    readonly endpoint: string;
    /** Client settings that point any AWS SDK v3 client at the emulator. */
    readonly clientConfig: {
        endpoint: string;
        region: string;
        credentials: { accessKeyId: string; secretAccessKey: string };
        forcePathStyle: boolean;
    };
    /** Environment variables for a child process (a CLI) that should talk to the emulator. */
    readonly env: Record<string, string>;
    /** Done with the emulator (the run shares one; see startMoto). */
    stop(): Promise<void>;
}

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = createServer();
        srv.unref();
        srv.on("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const port = (srv.address() as { port: number }).port;
            srv.close(() => resolve(port));
        });
    });
}

interface RunningMoto {
    readonly endpoint: string;
    readonly proc: ChildProcess;
}

/**
 * moto's server, ending when its stdin closes: the test process that started it holds the other end, so the
 * server goes with that process however it ends (a mocha run, a parallel worker, a killed run), and never holds
 * the process open on its own.
 */
const MOTO_UNTIL_STDIN_CLOSES = [
    "import os, sys, threading",
    "threading.Thread(target=lambda: (sys.stdin.buffer.read(), os._exit(0)), daemon=True).start()",
    "from moto.server import main",
    "main(sys.argv[1:])",
].join("\n");

/** Starts moto's server for this process and waits until it answers. */
async function launchMoto(): Promise<RunningMoto> {
    const port = await freePort();
    const proc: ChildProcess = spawn("python3", ["-c", MOTO_UNTIL_STDIN_CLOSES, "-H", "127.0.0.1", "-p", String(port)], {
        stdio: ["pipe", "ignore", "pipe"],
    });
    proc.unref();
    (proc.stdin as unknown as { unref(): void }).unref();
    (proc.stderr as unknown as { unref(): void }).unref();
    let stderr = "";
    proc.stderr?.on("data", (d) => {
        stderr += String(d);
    });
    const endpoint = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 20_000;
    for (;;) {
        if (proc.exitCode !== null) throw new Error(`moto server exited (${proc.exitCode}): ${stderr}`);
        try {
            const res = await fetch(`${endpoint}/moto-api/`);
            if (res.ok || res.status < 500) break;
        } catch {
            /* not listening yet */
        }
        if (Date.now() > deadline) {
            proc.kill();
            throw new Error(`moto server did not start on ${endpoint}: ${stderr}`);
        }
        await new Promise((r) => setTimeout(r, 100));
    }
    return { endpoint, proc };
}

/** One emulator per test process (the mocha run, or each parallel worker): starting moto costs more CPU than most test files. */
let shared: Promise<RunningMoto> | undefined;

/**
 * This process's moto server (started on first use), with its state wiped, as a freshly started server would have it.
 * `stop()` only lets go of it; the server ends with the process (see launchMoto).
 */
export async function startMoto(region = "us-east-1"): Promise<MotoServer> {
    if (shared && (await shared).proc.exitCode !== null) shared = undefined;
    shared ??= launchMoto();
    let running: RunningMoto;
    try {
        running = await shared;
    } catch (e) {
        shared = undefined;
        throw e;
    }
    const { endpoint } = running;
    const credentials = { accessKeyId: "testing", secretAccessKey: "testing" };
    const server: MotoServer = {
        endpoint,
        clientConfig: { endpoint, region, credentials, forcePathStyle: true },
        env: {
            AWS_ENDPOINT_URL: endpoint,
            AWS_ACCESS_KEY_ID: credentials.accessKeyId,
            AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
            AWS_REGION: region,
            AWS_DEFAULT_REGION: region,
        },
        async stop() {
            /* the server outlives the file and ends with the process */
        },
    };
    await resetMoto(server);
    return server;
}

/** Wipes the emulator's state between tests. */
export async function resetMoto(server: MotoServer): Promise<void> {
    await fetch(`${server.endpoint}/moto-api/reset`, { method: "POST" });
}

/** One answer SageMaker Runtime's InvokeEndpoint gives, queued in the emulator. */
export interface QueuedEndpointResult {
    readonly Body: string;
    readonly ContentType?: string;
    readonly InvokedProductionVariant?: string;
    /** moto answers with a server error when a queued result has none. */
    readonly CustomAttributes?: string;
}

/**
 * Queues InvokeEndpoint answers: each new request body takes the next one (moto answers a repeated body with the
 * answer it gave it before), whatever the endpoint.
 */
export async function queueEndpointResults(server: MotoServer, results: readonly QueuedEndpointResult[]): Promise<void> {
    const res = await fetch(`${server.endpoint}/moto-api/static/sagemaker/endpoint-results`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
            region: server.clientConfig.region,
            results: results.map((r) => ({
                ContentType: "application/json",
                InvokedProductionVariant: "AllTraffic",
                CustomAttributes: "",
                ...r,
            })),
        }),
    });
    if (!res.ok) throw new Error(`moto refused the queued endpoint results: ${res.status} ${await res.text()}`);
}

/** One InvokeEndpoint request as it left the client, before the shim re-encoded its body for moto. */
export interface SeenInvocation {
    readonly endpointName: string;
    readonly contentType?: string;
    readonly inferenceId?: string;
    readonly body: Buffer;
}

/**
 * An endpoint for SageMaker Runtime clients in front of moto. moto's server decodes every request body as
 * UTF-8 and answers InvokeEndpoint with a 500 for binary ones (moto 5.2.1, core/responses.py), so image bodies
 * cannot reach it as they are. The shim records each invocation exactly as the client sent it, forwards it with
 * the body base64-encoded (moto only keys its queued answers on the body), and passes moto's answer back.
 */
export async function startRuntimeShim(server: MotoServer): Promise<{ endpoint: string; seen: SeenInvocation[]; stop(): Promise<void> }> {
    const { createServer: createHttpServer } = await import("http");
    const seen: SeenInvocation[] = [];
    const shim = createHttpServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", async () => {
            const body = Buffer.concat(chunks);
            const match = /^\/endpoints\/([^/]+)\/invocations/.exec(req.url ?? "");
            if (match)
                seen.push({
                    endpointName: decodeURIComponent(match[1]),
                    contentType: req.headers["content-type"],
                    inferenceId: req.headers["x-amzn-sagemaker-inference-id"] as string | undefined,
                    body,
                });
            const headers = Object.fromEntries(
                Object.entries(req.headers).filter(([k]) => !["host", "content-length", "connection"].includes(k)),
            ) as Record<string, string>;
            try {
                const answer = await fetch(`${server.endpoint}${req.url}`, {
                    method: req.method,
                    headers,
                    body: req.method === "GET" || req.method === "HEAD" ? undefined : match ? body.toString("base64") : body,
                });
                const bytes = Buffer.from(await answer.arrayBuffer());
                const out: Record<string, string> = {};
                answer.headers.forEach((v, k) => {
                    if (!["content-length", "transfer-encoding", "connection", "content-encoding"].includes(k)) out[k] = v;
                });
                res.writeHead(answer.status, out).end(bytes);
            } catch (e) {
                res.writeHead(502).end(String(e));
            }
        });
    });
    await new Promise<void>((resolve) => shim.listen(0, "127.0.0.1", resolve));
    const port = (shim.address() as { port: number }).port;
    return {
        endpoint: `http://127.0.0.1:${port}`,
        seen,
        stop: () => new Promise<void>((resolve) => shim.close(() => resolve())),
    };
}
