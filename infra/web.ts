/**
 * Pure building blocks of the prediction page's hosting: the headers every page response carries, the bucket and
 * key statements that let exactly one CloudFront distribution read the page, the API's throttling and the WAF
 * rule of a public stack. Components lift their outputs once and pass resolved strings here.
 */

/** The security headers of every page response (CloudFront's response headers policy sets them). */
export interface PageSecurityHeaders {
    readonly contentSecurityPolicy: string;
    readonly strictTransportSecurity: { readonly maxAgeSeconds: number; readonly includeSubdomains: boolean };
    readonly frameOptions: "DENY";
    readonly referrerPolicy: "no-referrer";
    readonly contentTypeOptions: "nosniff";
    /** Headers CloudFront sets through its custom-headers list. */
    readonly custom: Readonly<Record<string, string>>;
}

/**
 * What the page may load: its own scripts, styles and API, images it made itself (blob:), and the user pool's
 * token endpoint (`authOrigin`, e.g. `https://my-pool.auth.us-east-1.amazoncognito.com`) when it signs in.
 * No inline script or style, no frames, no other origin.
 */
export function pageSecurityHeaders(authOrigin?: string): PageSecurityHeaders {
    if (authOrigin !== undefined && !/^https?:\/\/[a-z0-9.-]+(:\d+)?$/.test(authOrigin))
        throw new Error(`${JSON.stringify(authOrigin)} is not an origin (scheme://host[:port], no path)`);
    const connect = ["'self'", ...(authOrigin ? [authOrigin] : [])].join(" ");
    return {
        contentSecurityPolicy: [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' blob: data:",
            `connect-src ${connect}`,
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ].join("; "),
        strictTransportSecurity: { maxAgeSeconds: 63072000, includeSubdomains: true },
        frameOptions: "DENY",
        referrerPolicy: "no-referrer",
        contentTypeOptions: "nosniff",
        custom: { "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()" },
    };
}

/** The same headers as plain HTTP headers (what a browser receives). */
export function asHttpHeaders(h: PageSecurityHeaders): Record<string, string> {
    return {
        "content-security-policy": h.contentSecurityPolicy,
        "strict-transport-security": `max-age=${h.strictTransportSecurity.maxAgeSeconds}${h.strictTransportSecurity.includeSubdomains ? "; includeSubDomains" : ""}`,
        "x-frame-options": h.frameOptions,
        "referrer-policy": h.referrerPolicy,
        "x-content-type-options": h.contentTypeOptions,
        ...Object.fromEntries(Object.entries(h.custom).map(([k, v]) => [k.toLowerCase(), v])),
    };
}
