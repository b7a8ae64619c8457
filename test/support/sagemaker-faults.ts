import { createServer } from "http";

/** An error SageMaker Runtime answers InvokeEndpoint with, as it puts it on the wire (restJson1). */
export interface RuntimeFault {
    readonly status: number;
    /** The error's shape name, e.g. ValidationError, ModelNotReadyException, ServiceUnavailable. */
    readonly type: string;
    readonly message: string;
}

/** What SageMaker answers for a deleted endpoint, one still starting, and an overloaded service. */
export const FAULTS = {
    endpointMissing: (endpoint: string): RuntimeFault => ({
        status: 400,
        type: "ValidationError",
        message: `Endpoint ${endpoint} of account 123456789012 not found.`,
    }),
    notReady: { status: 429, type: "ModelNotReadyException", message: "Model is not ready to serve requests." },
    unavailable: { status: 503, type: "ServiceUnavailable", message: "Service is unavailable." },
} as const;

/**
 * moto's SageMaker Runtime only answers with queued successes, so the failures come from this server: it answers
 * every request with one SageMaker error in SageMaker's own wire form, which a real SageMakerRuntime client pointed
 * at it deserialises into the SDK's error classes. `calls` counts requests (the SDK's retries included).
 */
export async function startFaultServer(fault: RuntimeFault): Promise<{ endpoint: string; calls: () => number; stop(): Promise<void> }> {
    let calls = 0;
    const server = createServer((req, res) => {
        req.resume();
        req.on("end", () => {
            calls++;
            res.writeHead(fault.status, { "content-type": "application/json", "x-amzn-errortype": fault.type }).end(
                JSON.stringify({ message: fault.message }),
            );
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    return {
        endpoint: `http://127.0.0.1:${port}`,
        calls: () => calls,
        stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
}
