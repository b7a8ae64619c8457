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

/** Starts `python3 -m moto.server` and waits until it answers. */
export async function startMoto(region = "us-east-1"): Promise<MotoServer> {
    const port = await freePort();
    const proc: ChildProcess = spawn("python3", ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)], {
        stdio: ["ignore", "ignore", "pipe"],
    });
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
    const credentials = { accessKeyId: "testing", secretAccessKey: "testing" };
    return {
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
            if (proc.exitCode !== null) return;
            await new Promise<void>((resolve) => {
                proc.once("exit", () => resolve());
                proc.kill("SIGTERM");
            });
        },
    };
}

/** Wipes the emulator's state between tests. */
export async function resetMoto(server: MotoServer): Promise<void> {
    await fetch(`${server.endpoint}/moto-api/reset`, { method: "POST" });
}
