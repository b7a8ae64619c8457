import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { createHash } from "crypto";
import {
    catalogKey,
    CLOUDFRONT_MANAGED,
    PredictionApp,
    PredictionAppArgs,
    predictionAppProblems,
    siteKeyPolicy,
    siteReadStatement,
} from "../../components/prediction-app";
import { allowedBy, parsePolicy } from "../../infra/policy-evaluation";
import { PageConfig } from "../../infra/prediction-api";
import { DeclaredResource, find, ofType, settled, TEST_ACCOUNT, useMocks } from "../support/mocks";
import { TEST_MODELS } from "../support/prediction";
import { accountAdministersKey, KMS_USE_ACTIONS } from "../support/iam-literals";
import { componentTree, registeredOutputs } from "./support/component-tree";

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
            // By hand: SHA-256 of the site version, then of config.json's text.
            const origin = `https://vision-mlops-staging-${TEST_ACCOUNT}.auth.us-east-1.amazoncognito.com`;
            const configText =
                '{"environment":"staging","banner":"Staging: candidates","auth":{' +
                `"authorizeUrl":"${origin}/oauth2/authorize","tokenUrl":"${origin}/oauth2/token","logoutUrl":"${origin}/logout",` +
                '"clientId":"app-page-client-id","scopes":["openid","email"]}}';
            expect(input.version).to.equal(createHash("sha256").update("0123456789abcdef").update(configText).digest("hex").slice(0, 16));
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

        it("serves the page over HTTP/2 and 3 and IPv6 from CloudFront's cheapest price class, index.html at the root", () => {
            const d = find(declared, "aws:cloudfront/distribution:Distribution", "app-cdn").inputs;
            expect(d).to.deep.include({
                comment: "vision-mlops-staging prediction page",
                enabled: true,
                isIpv6Enabled: true,
                httpVersion: "http2and3",
                priceClass: "PriceClass_100",
                defaultRootObject: "index.html",
                restrictions: { geoRestriction: { restrictionType: "none" } },
                viewerCertificate: { cloudfrontDefaultCertificate: true },
            });
            // API Gateway's HTTPS endpoint, which gives up on an integration after 30 s.
            expect(d.origins[1].customOriginConfig).to.deep.equal({
                httpPort: 80,
                httpsPort: 443,
                originProtocolPolicy: "https-only",
                originSslProtocols: ["TLSv1.2"],
                originReadTimeout: 30,
            });
            expect(d.defaultCacheBehavior).to.deep.equal({
                targetOriginId: "site",
                viewerProtocolPolicy: "redirect-to-https",
                allowedMethods: ["GET", "HEAD"],
                cachedMethods: ["GET", "HEAD"],
                cachePolicyId: "658327ea-f89d-4fab-a63d-7e88639e58f6",
                responseHeadersPolicyId: "app-headers-id",
                compress: true,
            });
            expect(d.orderedCacheBehaviors[0]).to.deep.include({
                allowedMethods: ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
                cachedMethods: ["GET", "HEAD"],
                responseHeadersPolicyId: "app-headers-id",
                compress: true,
            });
            // CloudFront's managed policy ids, the same in every account (CloudFront developer guide).
            expect(CLOUDFRONT_MANAGED).to.deep.equal({
                cachingOptimized: "658327ea-f89d-4fab-a63d-7e88639e58f6",
                cachingDisabled: "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
                allViewerExceptHostHeader: "b689b0a8-53d0-40ab-baf2-68738e2966ac",
            });
            expect(find(declared, "aws:cloudfront/originAccessControl:OriginAccessControl", "app-oac").inputs).to.deep.include({
                name: "vision-mlops-staging-page",
                description: "CloudFront reads vision-mlops-staging's prediction page",
            });
        });

        it("sends the page's security headers on every answer, overriding the origin's: CSP, two years of HSTS, no framing or referrer", () => {
            const policy = find(declared, "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy", "app-headers").inputs;
            const origin = `https://vision-mlops-staging-${TEST_ACCOUNT}.auth.us-east-1.amazoncognito.com`;
            expect(policy).to.deep.equal({
                name: "vision-mlops-staging-page",
                comment: "Security headers of the prediction page and its API",
                securityHeadersConfig: {
                    contentSecurityPolicy: {
                        contentSecurityPolicy:
                            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; " +
                            `connect-src 'self' ${origin}; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`,
                        override: true,
                    },
                    strictTransportSecurity: { accessControlMaxAgeSec: 63_072_000, includeSubdomains: true, override: true },
                    frameOptions: { frameOption: "DENY", override: true },
                    referrerPolicy: { referrerPolicy: "no-referrer", override: true },
                    contentTypeOptions: { override: true },
                },
                customHeadersConfig: {
                    items: [
                        { header: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=(), payment=()", override: true },
                    ],
                },
            });
        });

        it("encrypts the site with its own rotated key, kept 30 days after deletion, and keeps no site bucket past the stack", () => {
            expect(find(declared, "aws:kms/key:Key", "app-key").inputs).to.deep.include({
                description: "vision-mlops-staging prediction page: the site's files and the model catalog",
                enableKeyRotation: true,
                deletionWindowInDays: 30,
            });
            const catalog = find(declared, "aws:s3/bucketObjectv2:BucketObjectv2", "app-catalog").inputs;
            expect(catalog).to.deep.include({ bucket: "app-site-id", contentType: "application/json" });
            expect(catalog.key).to.match(/^catalog\/models-[0-9a-f]{16}\.json$/);
            expect(find(declared, "aws:s3/bucketObjectv2:BucketObjectv2", "app-config.json").inputs).to.deep.include({
                bucket: "app-site-id",
                contentType: "application/json",
                cacheControl: "no-cache",
            });
        });

        it("runs the API function in 512 MB within API Gateway's 30 s, the invalidator in 128 MB and 60 s, each on its own code", () => {
            const fn = (name: string) => find(declared, "aws:lambda/function:Function", name).inputs;
            expect(fn("app-handler-function")).to.deep.include({
                name: "vision-mlops-staging-prediction-api",
                description: "Prediction API of vision-mlops-staging",
                memorySize: 512,
                timeout: 29,
            });
            expect(fn("app-invalidator-function")).to.deep.include({
                name: "vision-mlops-staging-page-invalidator",
                description: "Invalidates vision-mlops-staging's prediction page at CloudFront after a deploy",
                memorySize: 128,
                timeout: 60,
            });
            expect(fn("app-handler-function").tags["vision-mlops:code-sha256"]).to.not.equal(
                fn("app-invalidator-function").tags["vision-mlops:code-sha256"],
            );
            // The function decrypts the catalog with the page key.
            const doc = parsePolicy(find(declared, "aws:iam/rolePolicy:RolePolicy", "app-handler-role-policy").inputs.policy);
            const pageKey = `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/app-key-key-id`;
            expect(allowedBy(doc, { action: "kms:Decrypt", resource: pageKey })).to.equal(true);
            expect(allowedBy(doc, { action: "kms:Decrypt", resource: `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/lake` })).to.equal(true);
            expect(allowedBy(doc, { action: "kms:Decrypt", resource: `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/other` })).to.equal(false);
        });

        it("sends every route to the function's proxy integration, invoked by this API only", () => {
            const api = find(declared, "aws:apigatewayv2/api:Api", "app-api").inputs;
            expect(api).to.deep.equal({
                name: "vision-mlops-staging-predictions",
                protocolType: "HTTP",
                description: "Prediction API of vision-mlops-staging: classify an image, list the served models, send a correction",
            });
            expect(find(declared, "aws:apigatewayv2/integration:Integration", "app-integration").inputs).to.deep.equal({
                apiId: "app-api-id",
                integrationType: "AWS_PROXY",
                integrationUri: `arn:aws:lambda:us-east-1:${TEST_ACCOUNT}:function/vision-mlops-staging-prediction-api`,
                payloadFormatVersion: "2.0",
                timeoutMilliseconds: 30_000,
            });
            for (const r of typed(declared, "aws:apigatewayv2/route:Route"))
                expect(r.inputs, r.name).to.deep.include({ apiId: "app-api-id", target: "integrations/app-integration-id" });
            expect(find(declared, "aws:lambda/permission:Permission", "app-invoke").inputs).to.deep.include({
                action: "lambda:InvokeFunction",
                function: "vision-mlops-staging-prediction-api",
            });
        });

        it("logs each request, with its caller, route, status, latency and errors, to an encrypted group kept a year", () => {
            expect(find(declared, "aws:cloudwatch/logGroup:LogGroup", "app-access-logs").inputs).to.deep.equal({
                name: "/aws/apigateway/vision-mlops-staging-predictions",
                retentionInDays: 365,
                kmsKeyId: `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/logs`,
            });
            const stage = find(declared, "aws:apigatewayv2/stage:Stage", "app-stage").inputs;
            expect(stage.defaultRouteSettings.detailedMetricsEnabled).to.equal(true);
            expect(stage.accessLogSettings.destinationArn).to.contain("/aws/apigateway/vision-mlops-staging-predictions");
            expect(JSON.parse(stage.accessLogSettings.format)).to.deep.equal({
                requestId: "$context.requestId",
                ip: "$context.identity.sourceIp",
                route: "$context.routeKey",
                status: "$context.status",
                latencyMs: "$context.responseLatency",
                user: "$context.authorizer.claims.sub",
                error: "$context.error.message",
                authorizerError: "$context.authorizer.error",
            });
        });

        it("keeps the user pool invite-only, with 12-character mixed-case passwords, optional TOTP and recovery by verified email", () => {
            const pool = find(declared, "aws:cognito/userPool:UserPool", "app-users").inputs;
            expect(pool).to.deep.equal({
                name: "vision-mlops-staging-page",
                adminCreateUserConfig: { allowAdminCreateUserOnly: true },
                usernameAttributes: ["email"],
                autoVerifiedAttributes: ["email"],
                passwordPolicy: {
                    minimumLength: 12,
                    requireLowercase: true,
                    requireUppercase: true,
                    requireNumbers: true,
                    requireSymbols: false,
                    temporaryPasswordValidityDays: 3,
                },
                mfaConfiguration: "OPTIONAL",
                softwareTokenMfaConfiguration: { enabled: true },
                accountRecoverySetting: { recoveryMechanisms: [{ name: "verified_email", priority: 1 }] },
                deletionProtection: "INACTIVE",
            });
            // Hosted UI prefixes are global across AWS: the account id keeps this stack's own.
            expect(find(declared, "aws:cognito/userPoolDomain:UserPoolDomain", "app-sign-in").inputs).to.deep.equal({
                userPoolId: "app-users-id",
                domain: `vision-mlops-staging-${TEST_ACCOUNT}`,
            });
        });

        it("signs the page in as a public code-flow client: Cognito users only, hour-long revocable tokens, no hint whether a user exists", () => {
            const client = find(declared, "aws:cognito/userPoolClient:UserPoolClient", "app-page-client").inputs;
            expect(client).to.deep.equal({
                name: "vision-mlops-staging-page",
                userPoolId: "app-users-id",
                generateSecret: false,
                allowedOauthFlowsUserPoolClient: true,
                allowedOauthFlows: ["code"],
                allowedOauthScopes: ["openid", "email"],
                supportedIdentityProviders: ["COGNITO"],
                callbackUrls: ["https://app-cdn.cloudfront.net/"],
                logoutUrls: ["https://app-cdn.cloudfront.net/"],
                explicitAuthFlows: ["ALLOW_REFRESH_TOKEN_AUTH"],
                preventUserExistenceErrors: "ENABLED",
                enableTokenRevocation: true,
                accessTokenValidity: 1,
                idTokenValidity: 1,
                refreshTokenValidity: 1,
                tokenValidityUnits: { accessToken: "hours", idToken: "hours", refreshToken: "days" },
            });
            expect(find(declared, "aws:apigatewayv2/authorizer:Authorizer", "app-jwt").inputs.name).to.equal(
                "vision-mlops-staging-page-users",
            );
        });

        it("gives the API function its statements in full: invoke the two endpoints, write and read their corrections, read the catalog", () => {
            const doc = JSON.parse(find(declared, "aws:iam/rolePolicy:RolePolicy", "app-handler-role-policy").inputs.policy);
            const corrections = ["street-signs/review/corrections/", "bikes/review/corrections/"];
            const site = `arn:aws:s3:::${SITE_BUCKET}`;
            // Every function's own logs and traces are LambdaFunction's (its own tests); these are the page's.
            expect(doc.Statement.filter((st: { Sid: string }) => !["OwnLogs", "XRayTraces"].includes(st.Sid))).to.deep.equal([
                {
                    Sid: "InvokeServedEndpoints",
                    Effect: "Allow",
                    Action: ["sagemaker:InvokeEndpoint"],
                    Resource: [
                        `arn:aws:sagemaker:us-east-1:${TEST_ACCOUNT}:endpoint/vision-mlops-staging-street-signs`,
                        `arn:aws:sagemaker:us-east-1:${TEST_ACCOUNT}:endpoint/vision-mlops-staging-bikes`,
                    ],
                },
                {
                    Sid: "FileCorrections",
                    Effect: "Allow",
                    Action: ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                    Resource: corrections.map((p) => `arn:aws:s3:::raw-bucket/${p}*`),
                },
                {
                    Sid: "ReadCorrectionsObjects",
                    Effect: "Allow",
                    Action: ["s3:GetObject", "s3:GetObjectVersion"],
                    Resource: corrections.map((p) => `arn:aws:s3:::raw-bucket/${p}*`),
                },
                {
                    Sid: "ReadCorrectionsList0",
                    Effect: "Allow",
                    Action: ["s3:ListBucket"],
                    Resource: ["arn:aws:s3:::raw-bucket"],
                    Condition: { StringLike: { "s3:prefix": corrections.map((p) => `${p}*`) } },
                },
                {
                    Sid: "ReadCorrectionsLocation",
                    Effect: "Allow",
                    Action: ["s3:GetBucketLocation"],
                    Resource: ["arn:aws:s3:::raw-bucket"],
                },
                {
                    Sid: "ReviewBucketKey",
                    Effect: "Allow",
                    Action: KMS_USE_ACTIONS,
                    Resource: [`arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/lake`],
                },
                {
                    Sid: "ReadCatalogObjects",
                    Effect: "Allow",
                    Action: ["s3:GetObject", "s3:GetObjectVersion"],
                    Resource: [`${site}/catalog/*`],
                },
                {
                    Sid: "ReadCatalogList0",
                    Effect: "Allow",
                    Action: ["s3:ListBucket"],
                    Resource: [site],
                    Condition: { StringLike: { "s3:prefix": ["catalog/*"] } },
                },
                { Sid: "ReadCatalogLocation", Effect: "Allow", Action: ["s3:GetBucketLocation"], Resource: [site] },
                {
                    Sid: "SiteKey",
                    Effect: "Allow",
                    Action: KMS_USE_ACTIONS,
                    Resource: [`arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/app-key-key-id`],
                },
            ]);
            const invalidator = JSON.parse(find(declared, "aws:iam/rolePolicy:RolePolicy", "app-invalidator-role-policy").inputs.policy);
            expect(invalidator.Statement.filter((st: { Sid: string }) => !["OwnLogs", "XRayTraces"].includes(st.Sid))).to.deep.equal([
                { Sid: "InvalidatePage", Effect: "Allow", Action: ["cloudfront:CreateInvalidation"], Resource: [DISTRIBUTION_ARN] },
            ]);
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
            expect(acl.inputs).to.deep.include({
                name: "vision-mlops-staging-page",
                description: "Per-address rate limit in front of vision-mlops-staging's public prediction page and API",
                defaultAction: { allow: {} },
                visibilityConfig: { cloudwatchMetricsEnabled: true, metricName: "vision-mlops-staging-page", sampledRequestsEnabled: true },
            });
            expect(acl.inputs.rules).to.deep.equal([
                {
                    name: "requests-per-address",
                    priority: 0,
                    action: { block: {} },
                    // 120 requests from one address in WAF's 5-minute window.
                    statement: { rateBasedStatement: { limit: 120, aggregateKeyType: "IP", evaluationWindowSec: 300 } },
                    visibilityConfig: {
                        cloudwatchMetricsEnabled: true,
                        metricName: "vision-mlops-staging-requests-per-address",
                        sampledRequestsEnabled: true,
                    },
                },
            ]);
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

describe("PredictionApp's rules and policies", () => {
    it("names every problem with the throttle, the WAF limit and the global provider, and accepts AWS's bounds", () => {
        expect(predictionAppProblems({})).to.deep.equal([]);
        expect(
            predictionAppProblems({ throttle: { rateLimit: 0.5, burstLimit: 1 }, wafRequestsPer5Minutes: 10, public: false }),
        ).to.deep.equal([]);
        expect(predictionAppProblems({ wafRequestsPer5Minutes: 2_000_000_000 })).to.deep.equal([]);
        const waf = (n: number) => `wafRequestsPer5Minutes ${n} must be a whole number from 10 to 2000000000 (WAF's rate-based limit)`;
        expect(predictionAppProblems({ throttle: { rateLimit: 0 } })).to.deep.equal([
            "throttle.rateLimit 0 must be a positive number of requests per second",
        ]);
        expect(predictionAppProblems({ throttle: { rateLimit: -1, burstLimit: 0 } })).to.deep.equal([
            "throttle.rateLimit -1 must be a positive number of requests per second",
            "throttle.burstLimit 0 must be a whole number >= 1",
        ]);
        expect(predictionAppProblems({ throttle: { burstLimit: 2.5 } })).to.deep.equal([
            "throttle.burstLimit 2.5 must be a whole number >= 1",
        ]);
        expect(predictionAppProblems({ wafRequestsPer5Minutes: 9 })).to.deep.equal([waf(9)]);
        expect(predictionAppProblems({ wafRequestsPer5Minutes: 2_000_000_001 })).to.deep.equal([waf(2000000001)]);
        expect(predictionAppProblems({ wafRequestsPer5Minutes: 100.5 })).to.deep.equal([waf(100.5)]);
        expect(predictionAppProblems({ public: true })).to.deep.equal([
            "a public app needs globalProvider (us-east-1), where CloudFront's web ACLs are created",
        ]);
        useMocks("staging");
        expect(() => new PredictionApp("bad", args({ throttle: { rateLimit: 0, burstLimit: 0 } }))).to.throw(
            "bad: throttle.rateLimit 0 must be a positive number of requests per second; throttle.burstLimit 0 must be a whole number >= 1",
        );
    });

    it("with deletion protection, no models, banner or throttle: a protected pool, the default throttle, a catalog-only policy", async () => {
        // Mocks do not see resource options; a transformation sees what each child was given.
        const options = new Map<string, pulumi.CustomResourceOptions>();
        const record: pulumi.ResourceTransformation = ({ type, name, opts }) => void options.set(`${type}::${name}`, opts);
        const { declared, dependsOn, orphans, component } = await componentTree(
            (opts) =>
                new PredictionApp("app", args({ deletionProtection: true, models: [], banner: undefined, throttle: undefined }), {
                    ...opts,
                    transformations: [...(opts.transformations ?? []), record],
                }),
        );
        expect(find(declared, "vision-mlops:web:PredictionApp", "app").inputs).to.deep.equal({});
        // Every resource is under the app but the stand-in for the log bucket's readiness, which args() declares.
        expect(orphans).to.deep.equal(["test:index:Dep::logs-ready"]);
        // The page is rebuilt from the repository on every deploy: its bucket goes with the stack, protected by nothing.
        expect(options.get("aws:s3/bucket:Bucket::app-site")).to.deep.include({ retainOnDelete: false });
        expect((component.siteBucket.bucket as unknown as { __protect: boolean }).__protect).to.equal(false);
        expect(find(declared, "aws:cognito/userPool:UserPool", "app-users").inputs.deletionProtection).to.equal("ACTIVE");
        // API Gateway's stage throttle: 10 requests per second, bursts of 20, for all callers together.
        expect(find(declared, "aws:apigatewayv2/stage:Stage", "app-stage").inputs.defaultRouteSettings).to.deep.equal({
            throttlingRateLimit: 10,
            throttlingBurstLimit: 20,
            detailedMetricsEnabled: true,
        });
        const config = JSON.parse(find(declared, "aws:s3/bucketObjectv2:BucketObjectv2", "app-config.json").inputs.content);
        expect(Object.keys(config).sort()).to.deep.equal(["auth", "environment"]);
        const policy = JSON.parse(find(declared, "aws:iam/rolePolicy:RolePolicy", "app-handler-role-policy").inputs.policy);
        expect(policy.Statement.map((st: { Sid: string }) => st.Sid)).to.not.include.oneOf([
            "InvokeServedEndpoints",
            "FileCorrections",
            "ReviewBucketKey",
        ]);
        expect(
            allowedBy(parsePolicy(policy), { action: "s3:GetObject", resource: `arn:aws:s3:::${SITE_BUCKET}/catalog/models-1.json` }),
        ).to.equal(true);
        // Each file is written once the bucket's policy (TLS only, this distribution) stands; the stage after its routes;
        // the invalidation after the entry files it invalidates.
        const policyUrn = "aws:s3/bucketPolicy:BucketPolicy::app-site-policy";
        for (const object of ["app-catalog", "app-config.json", "app-assets-main-ABC123.js"])
            expect(dependsOn("aws:s3/bucketObjectv2:BucketObjectv2", object), object).to.deep.equal([policyUrn]);
        expect(dependsOn("aws:s3/bucketObjectv2:BucketObjectv2", "app-index.html")).to.deep.equal([
            "aws:s3/bucketObjectv2:BucketObjectv2::app-assets-main-ABC123.js",
            "aws:s3/bucketObjectv2:BucketObjectv2::app-config.json",
        ]);
        expect(dependsOn("aws:apigatewayv2/stage:Stage", "app-stage").sort()).to.deep.equal([
            "aws:apigatewayv2/route:Route::app-correct",
            "aws:apigatewayv2/route:Route::app-models",
            "aws:apigatewayv2/route:Route::app-predict",
        ]);
        expect(dependsOn("aws:lambda/invocation:Invocation", "app-invalidation")).to.deep.equal([
            "aws:s3/bucketObjectv2:BucketObjectv2::app-index.html",
            "aws:s3/bucketObjectv2:BucketObjectv2::app-config.json",
        ]);
    });

    it("refuses a site without index.html", () => {
        useMocks("staging");
        const site = { version: "1", files: [args().site.files[0]] };
        expect(() => new PredictionApp("app", args({ site }))).to.throw("app: the site has no index.html");
    });

    it("names the catalog object by the SHA-256 of its JSON, so a changed catalog is a new key", () => {
        const catalog = { environment: "staging", models: [] };
        const hash = createHash("sha256").update('{"environment":"staging","models":[]}').digest("hex").slice(0, 16);
        expect(catalogKey(catalog)).to.equal(`catalog/models-${hash}.json`);
    });

    it("lets one distribution read the site's files through origin access control, and decrypt them with the page key", () => {
        const distribution = "arn:aws-cn:cloudfront::123456789012:distribution/E1";
        expect(siteReadStatement("arn:aws-cn:s3:::page", distribution)).to.deep.equal({
            Sid: "PageDistributionReadsSite",
            Effect: "Allow",
            Principal: { Service: "cloudfront.amazonaws.com" },
            Action: "s3:GetObject",
            Resource: "arn:aws-cn:s3:::page/site/*",
            Condition: { StringEquals: { "AWS:SourceArn": distribution } },
        });
        expect(siteKeyPolicy("123456789012", distribution, "aws-cn")).to.deep.equal({
            Version: "2012-10-17",
            Statement: [
                accountAdministersKey("123456789012", "aws-cn"),
                {
                    Sid: "PageDistributionDecrypts",
                    Effect: "Allow",
                    Principal: { Service: "cloudfront.amazonaws.com" },
                    Action: ["kms:Decrypt"],
                    Resource: "*",
                    Condition: { StringEquals: { "AWS:SourceArn": distribution } },
                },
            ],
        });
        expect(siteKeyPolicy("123456789012", distribution).Statement[0].Principal).to.deep.equal({ AWS: "arn:aws:iam::123456789012:root" });
    });
});
