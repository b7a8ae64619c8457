import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { CLOUDFRONT_MANAGED, PredictionApp, PredictionAppArgs } from "../../components/prediction-app";
import { allowedBy, parsePolicy } from "../../infra/policy-evaluation";
import { PageConfig } from "../../infra/prediction-api";
import { DeclaredResource, find, ofType, settled, TEST_ACCOUNT, useMocks } from "../support/mocks";
import { TEST_MODELS } from "../support/prediction";
import { registeredOutputs } from "./support/component-tree";

const SITE_BUCKET = `vision-mlops-staging-site-${TEST_ACCOUNT}-us-east-1`;
const DISTRIBUTION_ARN = `arn:aws:cloudfront::${TEST_ACCOUNT}:distribution/app-cdn`;

function args(over: Partial<PredictionAppArgs> = {}): PredictionAppArgs {
    return {
        environment: "staging",
        accountId: TEST_ACCOUNT,
        region: "us-east-1",
        models: [...TEST_MODELS],
        site: {
            version: "0123456789abcdef",
            files: [
                {
                    key: "assets/main-ABC123.js",
                    content: "console.log(1)",
                    contentType: "text/javascript; charset=utf-8",
                    cacheControl: "public, max-age=31536000, immutable",
                },
                { key: "index.html", content: "<!doctype html>", contentType: "text/html; charset=utf-8", cacheControl: "no-cache" },
            ],
        },
        banner: "Staging: candidates",
        siteBucketName: SITE_BUCKET,
        accessLogs: { bucket: "logs-bucket", prefix: "site/", dependsOn: new pulumi.ComponentResource("test:index:Dep", "logs-ready") },
        reviewBucket: { bucketName: "raw-bucket", kmsKeyArn: `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/lake` },
        logsKmsKeyArn: `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/logs`,
        throttle: { rateLimit: 5, burstLimit: 7 },
        ...over,
    };
}

async function declare(over: Partial<PredictionAppArgs> = {}, extra?: () => Partial<PredictionAppArgs>) {
    const declared = useMocks("staging");
    const app = new PredictionApp("app", args({ ...over, ...extra?.() }));
    await settled(declared, app.url);
    return { declared, app };
}

const typed = (declared: DeclaredResource[], type: string) => declared.filter(ofType(type));

describe("PredictionApp", () => {
    describe("signed in (the default)", () => {
        let declared: DeclaredResource[];
        let app: PredictionApp;
        before(async () => ({ declared, app } = await declare()));

        it("registers the page's address, the site version it serves and the API endpoint as outputs", async () => {
            expect(await registeredOutputs(app)).to.deep.equal({
                url: "https://app-cdn.cloudfront.net/",
                siteVersion: args().site.version,
                apiEndpoint: "https://app-api.execute-api.us-east-1.amazonaws.com",
            });
        });

        it("serves the site from the bucket only through origin access control, the API under /api/ at the same address", () => {
            const oac = find(declared, "aws:cloudfront/originAccessControl:OriginAccessControl", "app-oac").inputs;
            expect(oac).to.deep.include({ originAccessControlOriginType: "s3", signingBehavior: "always", signingProtocol: "sigv4" });
            const d = find(declared, "aws:cloudfront/distribution:Distribution", "app-cdn").inputs;
            const [site, api] = d.origins;
            expect(site).to.deep.include({
                originId: "site",
                domainName: `${SITE_BUCKET}.s3.us-east-1.amazonaws.com`,
                originPath: "/site",
                originAccessControlId: "app-oac-id",
            });
            expect(site.s3OriginConfig, "no legacy origin access identity").to.equal(undefined);
            expect(api).to.deep.include({ originId: "api", domainName: "app-api.execute-api.us-east-1.amazonaws.com" });
            expect(api.customOriginConfig).to.deep.include({ originProtocolPolicy: "https-only", originSslProtocols: ["TLSv1.2"] });
            expect(d.defaultCacheBehavior).to.deep.include({ targetOriginId: "site", viewerProtocolPolicy: "redirect-to-https" });
            expect(d.orderedCacheBehaviors).to.have.length(1);
            expect(d.orderedCacheBehaviors[0]).to.deep.include({
                pathPattern: "/api/*",
                targetOriginId: "api",
                viewerProtocolPolicy: "https-only",
                cachePolicyId: CLOUDFRONT_MANAGED.cachingDisabled,
                originRequestPolicyId: CLOUDFRONT_MANAGED.allViewerExceptHostHeader,
            });
            expect(d.orderedCacheBehaviors[0].allowedMethods).to.include("POST");
            expect(d.webAclId).to.equal(undefined);
        });

        it("lets this distribution read the site's files and nothing else: no other distribution, no catalog, no public access", () => {
            const policy = parsePolicy(find(declared, "aws:s3/bucketPolicy:BucketPolicy", "app-site-policy").inputs.policy);
            const read = (key: string, sourceArn: string) =>
                allowedBy(policy, {
                    action: "s3:GetObject",
                    resource: `arn:aws:s3:::${SITE_BUCKET}/${key}`,
                    principal: { service: "cloudfront.amazonaws.com" },
                    context: { "AWS:SourceArn": sourceArn, "aws:SecureTransport": "true" },
                });
            expect(read("site/index.html", DISTRIBUTION_ARN)).to.equal(true);
            expect(read("site/index.html", `arn:aws:cloudfront::${TEST_ACCOUNT}:distribution/other`)).to.equal(false);
            expect(read("catalog/models-1.json", DISTRIBUTION_ARN), "the catalog names endpoints and ARNs").to.equal(false);
            expect(
                allowedBy(policy, {
                    action: "s3:GetObject",
                    resource: `arn:aws:s3:::${SITE_BUCKET}/site/index.html`,
                    context: { "aws:SecureTransport": "true" },
                }),
            ).to.equal(false);
            const block = find(declared, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "app-site-public-access").inputs;
            expect(block).to.deep.include({
                blockPublicAcls: true,
                blockPublicPolicy: true,
                ignorePublicAcls: true,
                restrictPublicBuckets: true,
            });
            const key = parsePolicy(find(declared, "aws:kms/key:Key", "app-key").inputs.policy);
            const decrypt = (sourceArn: string) =>
                allowedBy(key, {
                    action: "kms:Decrypt",
                    resource: "*",
                    principal: { service: "cloudfront.amazonaws.com" },
                    context: { "AWS:SourceArn": sourceArn },
                });
            expect([decrypt(DISTRIBUTION_ARN), decrypt(`arn:aws:cloudfront::${TEST_ACCOUNT}:distribution/other`)]).to.deep.equal([
                true,
                false,
            ]);
        });

        it("puts a JWT authorizer of the stack's own user pool and page client on every route, so an unauthenticated call is refused", () => {
            const routes = typed(declared, "aws:apigatewayv2/route:Route").map((r) => r.inputs);
            expect(routes.map((r) => r.routeKey).sort()).to.deep.equal([
                "GET /api/models",
                "POST /api/models/{model}/corrections",
                "POST /api/models/{model}/predictions",
            ]);
            for (const r of routes) expect(r, r.routeKey).to.deep.include({ authorizationType: "JWT", authorizerId: "app-jwt-id" });
            const jwt = find(declared, "aws:apigatewayv2/authorizer:Authorizer", "app-jwt").inputs;
            expect(jwt).to.deep.include({ authorizerType: "JWT", identitySources: ["$request.header.Authorization"] });
            expect(jwt.jwtConfiguration).to.deep.equal({
                issuer: "https://cognito-idp.us-east-1.amazonaws.com/app-users-id",
                audiences: ["app-page-client-id"],
            });
            const pool = find(declared, "aws:cognito/userPool:UserPool", "app-users").inputs;
            expect(pool.adminCreateUserConfig).to.deep.equal({ allowAdminCreateUserOnly: true });
            const client = find(declared, "aws:cognito/userPoolClient:UserPoolClient", "app-page-client").inputs;
            expect(client).to.deep.include({ generateSecret: false, allowedOauthFlowsUserPoolClient: true, userPoolId: "app-users-id" });
            expect(client.allowedOauthFlows, "authorization code only, never implicit").to.deep.equal(["code"]);
            expect(client.callbackUrls).to.deep.equal(["https://app-cdn.cloudfront.net/"]);
            expect(typed(declared, "aws:wafv2/webAcl:WebAcl")).to.deep.equal([]);
        });

        it("throttles every route at the stack's rate and burst, and logs each request", () => {
            const stage = find(declared, "aws:apigatewayv2/stage:Stage", "app-stage").inputs;
            expect(stage).to.deep.include({ name: "$default", autoDeploy: true });
            expect(stage.defaultRouteSettings).to.deep.include({ throttlingRateLimit: 5, throttlingBurstLimit: 7 });
            expect(JSON.parse(stage.accessLogSettings.format)).to.include({ status: "$context.status", route: "$context.routeKey" });
            const integration = find(declared, "aws:apigatewayv2/integration:Integration", "app-integration").inputs;
            expect(integration).to.deep.include({ integrationType: "AWS_PROXY", payloadFormatVersion: "2.0" });
            const permission = find(declared, "aws:lambda/permission:Permission", "app-invoke").inputs;
            expect(permission).to.deep.include({
                principal: "apigateway.amazonaws.com",
                sourceArn: `arn:aws:execute-api:us-east-1:${TEST_ACCOUNT}:app-api/*/*`,
            });
        });

        it("lets the function call the served endpoints and write corrections only into their review queues", () => {
            const doc = parsePolicy(find(declared, "aws:iam/rolePolicy:RolePolicy", "app-handler-role-policy").inputs.policy);
            const can = (action: string, resource: string) => allowedBy(doc, { action, resource });
            const endpoint = (n: string) => `arn:aws:sagemaker:us-east-1:${TEST_ACCOUNT}:endpoint/${n}`;
            expect(can("sagemaker:InvokeEndpoint", endpoint("vision-mlops-staging-street-signs"))).to.equal(true);
            expect(can("sagemaker:InvokeEndpoint", endpoint("vision-mlops-prod-street-signs"))).to.equal(false);
            expect(can("s3:PutObject", "arn:aws:s3:::raw-bucket/street-signs/review/corrections/fix-1.json")).to.equal(true);
            expect(can("s3:PutObject", "arn:aws:s3:::raw-bucket/street-signs/incoming/x.jpg")).to.equal(false);
            expect(can("s3:DeleteObject", "arn:aws:s3:::raw-bucket/street-signs/review/corrections/fix-1.json")).to.equal(false);
            expect(can("s3:GetObject", `arn:aws:s3:::${SITE_BUCKET}/catalog/models-1.json`)).to.equal(true);
            expect(can("s3:GetObject", `arn:aws:s3:::${SITE_BUCKET}/site/index.html`)).to.equal(false);
        });

        it("uploads hashed assets as immutable, then config.json and index.html revalidated, with the sign-in settings and the banner", () => {
            const objects = typed(declared, "aws:s3/bucketObjectv2:BucketObjectv2").map((o) => o.inputs);
            const byKey = Object.fromEntries(objects.map((o) => [o.key, o]));
            expect(Object.keys(byKey).sort()).to.have.members([
                "site/assets/main-ABC123.js",
                "site/config.json",
                "site/index.html",
                ...Object.keys(byKey).filter((k) => k.startsWith("catalog/")),
            ]);
            expect(byKey["site/assets/main-ABC123.js"].cacheControl).to.equal("public, max-age=31536000, immutable");
            expect(byKey["site/index.html"].cacheControl).to.equal("no-cache");
            for (const o of objects)
                expect(o, o.key).to.deep.include({
                    serverSideEncryption: "aws:kms",
                    kmsKeyId: `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/app-key-key-id`,
                });
            const config = JSON.parse(byKey["site/config.json"].content) as PageConfig;
            const origin = `https://vision-mlops-staging-${TEST_ACCOUNT}.auth.us-east-1.amazoncognito.com`;
            expect(config).to.deep.equal({
                environment: "staging",
                banner: "Staging: candidates",
                auth: {
                    authorizeUrl: `${origin}/oauth2/authorize`,
                    tokenUrl: `${origin}/oauth2/token`,
                    logoutUrl: `${origin}/logout`,
                    clientId: "app-page-client-id",
                    scopes: ["openid", "email"],
                },
            });
            const headers = find(declared, "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy", "app-headers").inputs;
            expect(headers.securityHeadersConfig.contentSecurityPolicy.contentSecurityPolicy).to.contain(`connect-src 'self' ${origin}`);
            const catalog = objects.find((o) => o.key.startsWith("catalog/"))!;
            expect(JSON.parse(catalog.content).models.map((m: { name: string }) => m.name)).to.deep.equal(["street-signs", "bikes"]);
            const fn = find(declared, "aws:lambda/function:Function", "app-handler-function").inputs;
            expect(fn.environment.variables).to.deep.include({
                MODEL_CATALOG_BUCKET: SITE_BUCKET,
                MODEL_CATALOG_KEY: catalog.key,
                REVIEW_BUCKET: "raw-bucket",
            });
        });

        it("invalidates the entry files at this distribution after a deploy, and may invalidate nothing else", () => {
            const run = find(declared, "aws:lambda/invocation:Invocation", "app-invalidation").inputs;
            const input = JSON.parse(run.input);
            expect(input).to.deep.include({ distributionId: "app-cdn-id", paths: ["/", "/index.html", "/config.json"] });
            expect(input.version).to.match(/^[0-9a-f]{16}$/);
            expect(run.triggers).to.deep.equal({ revision: input.version });
            expect(run.functionName).to.equal("vision-mlops-staging-page-invalidator");
            const doc = parsePolicy(find(declared, "aws:iam/rolePolicy:RolePolicy", "app-invalidator-role-policy").inputs.policy);
            expect(allowedBy(doc, { action: "cloudfront:CreateInvalidation", resource: DISTRIBUTION_ARN })).to.equal(true);
            expect(
                allowedBy(doc, {
                    action: "cloudfront:CreateInvalidation",
                    resource: `arn:aws:cloudfront::${TEST_ACCOUNT}:distribution/other`,
                }),
            ).to.equal(false);
        });

        it("gives the invalidation a new version when only the page's settings change", async () => {
            const version = (d: DeclaredResource[]) =>
                JSON.parse(find(d, "aws:lambda/invocation:Invocation", "app-invalidation").inputs.input).version;
            const before = version(declared);
            const { declared: other } = await declare({ banner: "Staging: other words" });
            expect(version(other)).to.not.equal(before);
        });
    });

    describe("public (web.public: true)", () => {
        let declared: DeclaredResource[];
        before(
            async () =>
                ({ declared } = await declare({ public: true, wafRequestsPer5Minutes: 120 }, () => ({
                    globalProvider: new aws.Provider("global", { region: "us-east-1" }),
                }))),
        );

        it("has no user pool or authorizer, and puts a per-address WAF rate limit in us-east-1 in front of page and API", () => {
            expect(typed(declared, "aws:cognito/userPool:UserPool")).to.deep.equal([]);
            expect(typed(declared, "aws:apigatewayv2/authorizer:Authorizer")).to.deep.equal([]);
            for (const r of typed(declared, "aws:apigatewayv2/route:Route")) expect(r.inputs.authorizationType).to.equal("NONE");
            const acl = find(declared, "aws:wafv2/webAcl:WebAcl", "app-waf");
            expect(acl.inputs.scope).to.equal("CLOUDFRONT");
            expect(acl.provider, "CloudFront's web ACLs live in us-east-1").to.match(/::global::/);
            expect(acl.inputs.rules).to.have.length(1);
            expect(acl.inputs.rules[0].action).to.deep.equal({ block: {} });
            expect(acl.inputs.rules[0].statement.rateBasedStatement).to.deep.equal({
                limit: 120,
                aggregateKeyType: "IP",
                evaluationWindowSec: 300,
            });
            expect(find(declared, "aws:cloudfront/distribution:Distribution", "app-cdn").inputs.webAclId).to.equal(
                `arn:aws:wafv2:us-east-1:${TEST_ACCOUNT}:webacl/vision-mlops-staging-page`,
            );
            const config = JSON.parse(
                typed(declared, "aws:s3/bucketObjectv2:BucketObjectv2").find((o) => o.inputs.key === "site/config.json")!.inputs.content,
            );
            expect(config).to.deep.equal({ environment: "staging", banner: "Staging: candidates" });
        });

        it("refuses to open a stack without the us-east-1 provider its web ACL needs, and a WAF limit WAF would refuse", () => {
            useMocks("staging");
            expect(() => new PredictionApp("bad", args({ public: true }))).to.throw(/globalProvider \(us-east-1\)/);
            expect(() => new PredictionApp("bad2", args({ wafRequestsPer5Minutes: 5 }))).to.throw(
                /wafRequestsPer5Minutes 5 must be a whole number from 10/,
            );
        });
    });
});
