import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from "crypto";
import { createServer, IncomingMessage } from "http";

/**
 * A stand-in for a Cognito user pool's hosted UI on 127.0.0.1, for browser tests (no AWS here): the same endpoints
 * (`/oauth2/authorize`, `/oauth2/token`, `/logout`), a sign-in form, the authorization code flow with PKCE S256
 * checked as RFC 7636 says, codes used once, and RS256 access tokens shaped like Cognito's (`token_use: access`,
 * `client_id`, no `aud`). `verifyAccessToken` checks a token the way API Gateway's JWT authorizer does.
 */
export interface HostedUi {
    readonly origin: string;
    readonly issuer: string;
    readonly clientId: string;
    /** Token exchanges refused, with the reason (a test asserts there were none, or the expected one). */
    readonly refused: string[];
    verifyAccessToken(authorization: string | undefined): Record<string, unknown> | undefined;
    stop(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString("utf8");
}

export async function startHostedUi(options: {
    clientId: string;
    users: Record<string, string>;
    redirectUris: string[];
}): Promise<HostedUi> {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const codes = new Map<string, { challenge: string; redirectUri: string; username: string }>();
    const refused: string[] = [];
    let origin = "";
    const issuer = () => `${origin}/pool-1`;

    const jwt = (claims: Record<string, unknown>) => {
        const header = b64url(JSON.stringify({ alg: "RS256", kid: "k1", typ: "JWT" }));
        const payload = b64url(JSON.stringify(claims));
        return `${header}.${payload}.${b64url(sign("sha256", Buffer.from(`${header}.${payload}`), privateKey))}`;
    };

    const server = createServer(async (req, res) => {
        const url = new URL(req.url ?? "/", origin);
        if (url.pathname === "/oauth2/authorize" && req.method === "GET") {
            const p = url.searchParams;
            if (p.get("client_id") !== options.clientId || !options.redirectUris.includes(p.get("redirect_uri") ?? ""))
                return res.writeHead(400).end("invalid client or redirect_uri");
            if (p.get("response_type") !== "code" || p.get("code_challenge_method") !== "S256" || !p.get("code_challenge"))
                return res.writeHead(400).end("authorization code with PKCE S256 required");
            const hidden = ["redirect_uri", "state", "code_challenge"]
                .map((k) => `<input type="hidden" name="${k}" value="${encodeURIComponent(p.get(k) ?? "")}">`)
                .join("");
            return res
                .writeHead(200, { "content-type": "text/html" })
                .end(
                    `<!doctype html><title>Sign in</title><link rel="icon" href="data:,"><h1>Sign in</h1><form method="post" action="/login">${hidden}` +
                        `<label>Username <input name="username" id="username"></label><label>Password <input name="password" id="password" type="password"></label>` +
                        `<button type="submit">Sign in</button></form>`,
                );
        }
        if (url.pathname === "/login" && req.method === "POST") {
            const form = new URLSearchParams(await readBody(req));
            const username = form.get("username") ?? "";
            if (options.users[username] === undefined || options.users[username] !== form.get("password"))
                return res.writeHead(401, { "content-type": "text/html" }).end("Incorrect username or password.");
            const code = randomBytes(16).toString("hex");
            const redirectUri = decodeURIComponent(form.get("redirect_uri") ?? "");
            codes.set(code, { challenge: decodeURIComponent(form.get("code_challenge") ?? ""), redirectUri, username });
            const back = new URL(redirectUri);
            back.searchParams.set("code", code);
            back.searchParams.set("state", decodeURIComponent(form.get("state") ?? ""));
            return res.writeHead(302, { location: back.toString() }).end();
        }
        if (url.pathname === "/oauth2/token") {
            const cors = { "access-control-allow-origin": req.headers.origin ?? "*", "access-control-allow-headers": "content-type" };
            if (req.method === "OPTIONS") return res.writeHead(204, cors).end();
            const form = new URLSearchParams(await readBody(req));
            const grant = codes.get(form.get("code") ?? "");
            codes.delete(form.get("code") ?? "");
            const verifier = form.get("code_verifier") ?? "";
            const why = !grant
                ? "unknown or used code"
                : form.get("client_id") !== options.clientId
                  ? "wrong client"
                  : form.get("redirect_uri") !== grant.redirectUri
                    ? "redirect_uri differs"
                    : b64url(createHash("sha256").update(verifier).digest()) !== grant.challenge
                      ? "code_verifier does not match the challenge"
                      : undefined;
            if (why) {
                refused.push(why);
                return res.writeHead(400, { ...cors, "content-type": "application/json" }).end(JSON.stringify({ error: "invalid_grant" }));
            }
            const now = Math.floor(Date.now() / 1000);
            const sub = createHash("sha256").update(grant!.username).digest("hex").slice(0, 16);
            const common = { sub, iss: issuer(), iat: now, exp: now + 3600 };
            return res.writeHead(200, { ...cors, "content-type": "application/json" }).end(
                JSON.stringify({
                    access_token: jwt({
                        ...common,
                        token_use: "access",
                        client_id: options.clientId,
                        username: grant!.username,
                        scope: "openid email",
                    }),
                    id_token: jwt({ ...common, token_use: "id", aud: options.clientId, email: `${grant!.username}@example.com` }),
                    token_type: "Bearer",
                    expires_in: 3600,
                }),
            );
        }
        if (url.pathname === "/logout") return res.writeHead(302, { location: url.searchParams.get("logout_uri") ?? "/" }).end();
        return res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const key = createPublicKey(publicKey.export({ type: "spki", format: "pem" }));

    return {
        origin,
        issuer: issuer(),
        clientId: options.clientId,
        refused,
        verifyAccessToken(authorization) {
            // API Gateway: a Bearer JWT, signed by the issuer's key, from this issuer, unexpired, and for an
            // audience the authorizer lists (`aud`, or Cognito access tokens' `client_id`).
            const token = /^Bearer (.+)$/.exec(authorization ?? "")?.[1];
            const [header, payload, signature] = token?.split(".") ?? [];
            if (!header || !payload || !signature) return undefined;
            if (!verify("sha256", Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, "base64url"))) return undefined;
            const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
            const audience = claims.aud ?? claims.client_id;
            if (claims.iss !== issuer() || audience !== options.clientId || (claims.exp as number) * 1000 < Date.now()) return undefined;
            return claims;
        },
        stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
}
