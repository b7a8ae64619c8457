import { createServer, IncomingMessage, request as httpRequest, Server, ServerResponse } from "http";
import { Socket } from "net";

/**
 * An HTTP proxy in front of moto that injects the faults real networks and AWS produce: connection resets,
 * 500/503 (SlowDown, InternalError) and throttling answers in each service's own protocol, stalled requests
 * and responses whose body stops half-way. It can also hold a set of requests until all have arrived and then
 * pass them on one at a time, which is how S3 orders competing conditional writes.
 *
 * Every held or stalled connection ends when the client gives up or when the proxy stops, so no test can
 * hang on it.
 */

export type Service = "s3" | "sagemaker" | "sts" | "other";

/** What the proxy knows about a request when it decides. */
export interface RequestInfo {
    readonly method: string;
    /** The path with its query string, as sent. */
    readonly url: string;
    readonly service: Service;
    /** SageMaker: the X-Amz-Target operation (DescribeEndpoint); STS: the Action; S3: undefined. */
    readonly operation?: string;
    /** S3 path-style requests: the bucket and the key ("" for bucket-level requests). */
    readonly bucket?: string;
    readonly key?: string;
    readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export type Fault =
    /** Close the connection with a TCP reset before answering. */
    | { readonly kind: "reset" }
    /** Answer with an AWS error in the service's protocol (S3 REST-XML, SageMaker JSON, STS query XML). */
    | { readonly kind: "error"; readonly status: number; readonly code: string; readonly message?: string }
    /** Never answer. */
    | { readonly kind: "stall" }
    /** Pass the request on, send the response's headers and half its body, then stop sending. */
    | { readonly kind: "stall-body" }
    /** Hold matching requests until `count` have arrived, then pass them on one after the other in arrival order. */
    | { readonly kind: "serialize"; readonly count: number };

export interface FaultRule {
    readonly match: (r: RequestInfo) => boolean;
    readonly fault: Fault;
    /** How many matching requests get the fault; the rest pass. Defaults to every one. */
    readonly times?: number;
}

export interface FaultProxy {
    readonly endpoint: string;
    /** Every request seen, in arrival order, with what was done to it. */
    readonly log: readonly (RequestInfo & { readonly fault?: Fault["kind"] })[];
    /** Adds a rule; the first rule that matches and has uses left applies. */
    inject(rule: FaultRule): void;
    /** Removes every rule, releases held requests to the emulator and empties the log. */
    clear(): void;
    stop(): Promise<void>;
}

const SERVICE_OF_SCOPE = /Credential=[^/]+\/\d{8}\/[^/]+\/([a-z0-9-]+)\/aws4_request/;

function describe(req: IncomingMessage, body: Buffer): RequestInfo {
    const auth = String(req.headers.authorization ?? "");
    const scope = SERVICE_OF_SCOPE.exec(auth)?.[1];
    const target = req.headers["x-amz-target"];
    const service: Service = scope === "s3" || scope === "sagemaker" || scope === "sts" ? scope : "other";
    const url = req.url ?? "/";
    const info = { method: req.method ?? "GET", url, service, headers: req.headers };
    if (service === "sagemaker") return { ...info, operation: typeof target === "string" ? target.split(".").pop() : undefined };
    if (service === "sts") return { ...info, operation: new URLSearchParams(body.toString("utf8")).get("Action") ?? undefined };
    if (service === "s3") {
        const path = decodeURIComponent(url.split("?")[0]).replace(/^\//, "");
        const slash = path.indexOf("/");
        return { ...info, bucket: slash < 0 ? path : path.slice(0, slash), key: slash < 0 ? "" : path.slice(slash + 1) };
    }
    return info;
}

function errorResponse(res: ServerResponse, info: RequestInfo, fault: Extract<Fault, { kind: "error" }>): void {
    const message = fault.message ?? `injected ${fault.code}`;
    if (info.service === "sagemaker") {
        res.writeHead(fault.status, { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": "fault-proxy" });
        res.end(JSON.stringify({ __type: fault.code, message }));
    } else if (info.service === "sts") {
        res.writeHead(fault.status, { "content-type": "text/xml" });
        res.end(
            `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>${fault.status >= 500 ? "Receiver" : "Sender"}</Type>` +
                `<Code>${fault.code}</Code><Message>${message}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>`,
        );
    } else {
        res.writeHead(fault.status, { "content-type": "application/xml", "x-amz-request-id": "fault-proxy" });
        res.end(
            info.method === "HEAD"
                ? undefined
                : `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${fault.code}</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`,
        );
    }
}

/** Starts a proxy on 127.0.0.1 (a free port) that forwards to `target` (e.g. moto's endpoint). */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
    const upstream = new URL(target);
    const rules: { rule: FaultRule; left: number }[] = [];
    const log: (RequestInfo & { fault?: Fault["kind"] })[] = [];
    const sockets = new Set<Socket>();
    /** Requests held by a `serialize` rule, with the function that passes each on. */
    const held = new Map<FaultRule, { forward: () => Promise<void> }[]>();

    function forward(req: IncomingMessage, body: Buffer, res: ServerResponse, stallBody = false): Promise<void> {
        return new Promise((resolve) => {
            const up = httpRequest(
                { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
                (answer) => {
                    const chunks: Buffer[] = [];
                    answer.on("data", (c: Buffer) => chunks.push(c));
                    answer.on("end", () => {
                        const all = Buffer.concat(chunks);
                        res.writeHead(answer.statusCode ?? 502, answer.headers);
                        if (stallBody && all.length > 1) res.write(all.subarray(0, Math.floor(all.length / 2)));
                        else res.end(all);
                        resolve();
                    });
                },
            );
            up.on("error", () => {
                res.destroy();
                resolve();
            });
            up.end(body);
        });
    }

    const server: Server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            const body = Buffer.concat(chunks);
            const info = describe(req, body);
            const hit = rules.find((r) => r.left > 0 && r.rule.match(info));
            if (!hit) {
                log.push(info);
                void forward(req, body, res);
                return;
            }
            hit.left--;
            const fault = hit.rule.fault;
            log.push({ ...info, fault: fault.kind });
            switch (fault.kind) {
                case "reset":
                    req.socket.resetAndDestroy();
                    return;
                case "error":
                    errorResponse(res, info, fault);
                    return;
                case "stall":
                    return; // the socket stays open until the client or stop() closes it
                case "stall-body":
                    void forward(req, body, res, true);
                    return;
                case "serialize": {
                    const queue = held.get(hit.rule) ?? [];
                    queue.push({ forward: () => forward(req, body, res) });
                    held.set(hit.rule, queue);
                    if (queue.length === fault.count) release(hit.rule);
                    return;
                }
            }
        });
    });

    async function release(rule: FaultRule): Promise<void> {
        const queue = held.get(rule) ?? [];
        held.delete(rule);
        for (const h of queue) await h.forward();
    }

    server.on("connection", (s) => {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    return {
        endpoint: `http://127.0.0.1:${port}`,
        log,
        inject(rule) {
            rules.push({ rule, left: rule.times ?? Infinity });
        },
        clear() {
            rules.length = 0;
            log.length = 0;
            for (const rule of [...held.keys()]) void release(rule);
        },
        async stop() {
            for (const s of sockets) s.destroy();
            await new Promise<void>((resolve) => server.close(() => resolve()));
        },
    };
}
