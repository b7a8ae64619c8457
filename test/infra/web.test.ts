import { expect } from "chai";
import { objectCreatedEventPattern } from "../../infra/event-patterns";
import { asHttpHeaders, pageSecurityHeaders } from "../../infra/web";

describe("infra/web: the prediction page's security headers", () => {
    const csp = (connect: string) =>
        `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src ${connect}; ` +
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

    it("loads only its own scripts, styles and API (and the user pool's token endpoint when it signs in); no frames", () => {
        const headers = pageSecurityHeaders();
        expect(headers).to.deep.equal({
            contentSecurityPolicy: csp("'self'"),
            // Two years, the HSTS preload list's minimum.
            strictTransportSecurity: { maxAgeSeconds: 63072000, includeSubdomains: true },
            frameOptions: "DENY",
            referrerPolicy: "no-referrer",
            contentTypeOptions: "nosniff",
            custom: { "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()" },
        });
        const auth = "https://vision-mlops-prod.auth.us-east-1.amazoncognito.com";
        expect(pageSecurityHeaders(auth).contentSecurityPolicy).to.equal(csp(`'self' ${auth}`));
        expect(pageSecurityHeaders("http://localhost:9229").contentSecurityPolicy).to.equal(csp("'self' http://localhost:9229"));
        expect(asHttpHeaders(headers)).to.deep.equal({
            "content-security-policy": csp("'self'"),
            "strict-transport-security": "max-age=63072000; includeSubDomains",
            "x-frame-options": "DENY",
            "referrer-policy": "no-referrer",
            "x-content-type-options": "nosniff",
            "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
        });
        const own = asHttpHeaders({ ...headers, strictTransportSecurity: { maxAgeSeconds: 300, includeSubdomains: false } });
        expect(own["strict-transport-security"]).to.equal("max-age=300");
    });

    it("refuses an auth origin that is not scheme://host[:port]", () => {
        for (const bad of [
            "",
            "vision.auth.us-east-1.amazoncognito.com",
            "https://pool.example.com/",
            "https://pool.example.com/oauth2/token",
            "ftp://pool.example.com",
            "https://Pool.example.com",
            "https://pool.example.com:",
            "xhttps://pool.example.com",
            "https://pool.example.com:443x",
        ])
            expect(() => pageSecurityHeaders(bad), bad).to.throw(`${JSON.stringify(bad)} is not an origin (scheme://host[:port], no path)`);
    });
});

describe("infra/event-patterns: S3's Object Created event", () => {
    it("matches the bucket by name and the key by any of the matchers", () => {
        expect(objectCreatedEventPattern("vision-mlops-staging-data", [{ prefix: "m1/batches/" }, "m1/latest.json"])).to.deep.equal({
            source: ["aws.s3"],
            "detail-type": ["Object Created"],
            detail: { bucket: { name: ["vision-mlops-staging-data"] }, object: { key: [{ prefix: "m1/batches/" }, "m1/latest.json"] } },
        });
    });
});
