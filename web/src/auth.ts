import type { PageAuth } from "../../infra/prediction-api";

/**
 * Sign-in through the user pool's hosted UI with the authorization code flow and PKCE (RFC 7636): the page is a
 * public client, so it holds no secret; the code is only worth something with the verifier this tab made.
 * Tokens live in sessionStorage: gone when the tab closes, never sent anywhere but the page's own API.
 */

const PENDING = "vision-mlops.sign-in";
const TOKEN = "vision-mlops.token";

interface PendingSignIn {
    readonly verifier: string;
    readonly state: string;
}

export interface SignedIn {
    readonly accessToken: string;
    /** Epoch milliseconds. */
    readonly expiresAt: number;
    /** Who signed in, from the ID token, for the header. */
    readonly name?: string;
}

function base64url(bytes: Uint8Array): string {
    let s = "";
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(bytes = 32): string {
    return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** The S256 code challenge of a verifier. */
export async function codeChallenge(verifier: string): Promise<string> {
    return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
}

/** Where the hosted UI sends the browser back: the page itself. */
export function redirectUri(): string {
    return `${location.origin}/`;
}

/** Sends the browser to the hosted UI. */
export async function beginSignIn(auth: PageAuth): Promise<void> {
    const pending: PendingSignIn = { verifier: randomString(48), state: randomString(16) };
    sessionStorage.setItem(PENDING, JSON.stringify(pending));
    const url = new URL(auth.authorizeUrl);
    url.search = new URLSearchParams({
        response_type: "code",
        client_id: auth.clientId,
        redirect_uri: redirectUri(),
        scope: auth.scopes.join(" "),
        state: pending.state,
        code_challenge: await codeChallenge(pending.verifier),
        code_challenge_method: "S256",
    }).toString();
    location.assign(url.toString());
}

/**
 * Finishes a sign-in when the hosted UI has just sent the browser back with a code: checks the state, trades the
 * code and this tab's verifier for tokens, and takes the code out of the address bar. Returns false when the
 * address holds no code; throws with a message for a person when the exchange fails.
 */
export async function completeSignIn(auth: PageAuth): Promise<boolean> {
    const params = new URLSearchParams(location.search);
    const error = params.get("error");
    const code = params.get("code");
    if (!code && !error) return false;
    history.replaceState(null, "", location.pathname);
    const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? "null") as PendingSignIn | null;
    sessionStorage.removeItem(PENDING);
    if (error) throw new Error(`sign-in did not complete: ${params.get("error_description") ?? error}`);
    if (!pending || params.get("state") !== pending.state)
        throw new Error("sign-in did not complete: this tab did not start it (or started another since); sign in again");
    const response = await fetch(auth.tokenUrl, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
            grant_type: "authorization_code",
            client_id: auth.clientId,
            code: code!,
            redirect_uri: redirectUri(),
            code_verifier: pending.verifier,
        }),
    });
    if (!response.ok) throw new Error(`sign-in did not complete: the user pool refused the code (${response.status}); sign in again`);
    const tokens = (await response.json()) as { access_token?: string; id_token?: string; expires_in?: number };
    if (!tokens.access_token) throw new Error("sign-in did not complete: the user pool sent no access token");
    const signedIn: SignedIn = {
        accessToken: tokens.access_token,
        expiresAt: Date.now() + (tokens.expires_in ?? 3600) * 1000,
        name: tokens.id_token ? nameOf(tokens.id_token) : undefined,
    };
    sessionStorage.setItem(TOKEN, JSON.stringify(signedIn));
    return true;
}

/** The signed-in person's token while it is valid for at least another minute. */
export function currentSignIn(): SignedIn | undefined {
    const signedIn = JSON.parse(sessionStorage.getItem(TOKEN) ?? "null") as SignedIn | null;
    if (!signedIn || signedIn.expiresAt - 60_000 < Date.now()) return undefined;
    return signedIn;
}

export function forgetSignIn(): void {
    sessionStorage.removeItem(TOKEN);
}

/** Forgets the tokens and ends the hosted UI's session too. */
export function signOut(auth: PageAuth): void {
    forgetSignIn();
    const url = new URL(auth.logoutUrl);
    url.search = new URLSearchParams({ client_id: auth.clientId, logout_uri: redirectUri() }).toString();
    location.assign(url.toString());
}

/** The readable name in an ID token (display only: the API checks the access token itself). */
function nameOf(idToken: string): string | undefined {
    try {
        const payload = idToken.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
        const claims = JSON.parse(atob(payload)) as Record<string, unknown>;
        const name = claims.email ?? claims["cognito:username"] ?? claims.sub;
        return typeof name === "string" ? name : undefined;
    } catch {
        return undefined;
    }
}
