import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import {
    kmsUseStatement,
    policyDocument,
    s3BucketArn,
    s3ReadStatements,
    s3WriteStatements,
    sagemakerStatement,
    sagemakerArn,
} from "../infra/iam";
import { prefixes } from "../infra/naming";
import { CatalogModel, ModelCatalog, PageConfig, PREDICTION_ENV, PREDICTION_ROUTES } from "../infra/prediction-api";
import { pageSecurityHeaders } from "../infra/web";
import { keyPolicy, keyServiceStatement, ResourcePolicy, ResourceStatement } from "../infra/resource-policies";
import type { SiteFile } from "../web/build";
import { SecureBucket } from "./data-lake";
import { LambdaFunction } from "./lambda-function";

/** CloudFront's managed policies (the same ids in every account). */
export const CLOUDFRONT_MANAGED = {
    /** Cache policy CachingOptimized: honours the origin's Cache-Control, compresses. */
    cachingOptimized: "658327ea-f89d-4fab-a63d-7e88639e58f6",
    /** Cache policy CachingDisabled: the API's answers are never cached. */
    cachingDisabled: "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
    /**
     * Origin request policy AllViewerExceptHostHeader: every viewer header (Authorization too, allowed because caching is
     * disabled) but Host, which API Gateway needs to be its own.
     */
    allViewerExceptHostHeader: "b689b0a8-53d0-40ab-baf2-68738e2966ac",
} as const;

/** The site's files live under this prefix of its bucket; CloudFront may read nothing else (the catalog is beside it). */
export const SITE_PREFIX = "site/";
export const CATALOG_PREFIX = "catalog/";
/** What a browser fetches under a fixed name; everything else is hashed and never invalidated. */
export const ENTRY_PATHS = ["/", "/index.html", "/config.json"];

export interface PredictionAppArgs {
    /** Environment name, part of every physical name (`vision-mlops-<environment>-...`). */
    readonly environment: string;
    readonly accountId: pulumi.Input<string>;
    readonly region: string;
    /** The stack's served models, as the API lists and calls them. An empty list serves a page that says so. */
    readonly models: pulumi.Input<CatalogModel[]>;
    /** The page's built files (`buildWebsite()`): hashed assets and index.html. */
    readonly site: { readonly files: readonly SiteFile[]; readonly version: string };
    /** A line across the top of the page (staging says its models are candidates). Defaults to none. */
    readonly banner?: string;
    /** Globally unique name of the page's bucket. */
    readonly siteBucketName: pulumi.Input<string>;
    /** Where the page bucket's server access logs go. */
    readonly accessLogs: { readonly bucket: pulumi.Input<string>; readonly prefix: string; readonly dependsOn: pulumi.Resource };
    /** The raw bucket and its key: corrections go into each model's review queue there. */
    readonly reviewBucket: { readonly bucketName: pulumi.Input<string>; readonly kmsKeyArn: pulumi.Input<string> };
    /** Key of the function's and the API's log groups (`LogsKey`). */
    readonly logsKmsKeyArn: pulumi.Input<string>;
    /**
     * Open the API to anyone (demo stacks): no user pool, no sign-in, and a WAF web ACL with a per-address rate limit in
     * front of the page and the API. Defaults to false: a Cognito user pool, its hosted UI and a JWT authorizer on every route.
     */
    readonly public?: boolean;
    /** Requests per second and burst the API's routes take, all callers together. Defaults to 10 and 20. */
    readonly throttle?: { readonly rateLimit?: number; readonly burstLimit?: number };
    /** Public stacks: requests one address may make in 5 minutes before WAF blocks it. Defaults to 300. */
    readonly wafRequestsPer5Minutes?: number;
    /** Public stacks: an AWS provider in us-east-1, where CloudFront's web ACLs live. Required when `public`. */
    readonly globalProvider?: pulumi.ProviderResource;
    /** Keep the user pool from being deleted (prod). Defaults to false. */
    readonly deletionProtection?: boolean;
    /** Days the API's access logs are kept. Defaults to 365. */
    readonly accessLogRetentionDays?: number;
}

/** Problems with the args, each naming the value and what AWS accepts. */
export function predictionAppProblems(
    args: Pick<PredictionAppArgs, "public" | "throttle" | "wafRequestsPer5Minutes" | "globalProvider">,
): string[] {
    const problems: string[] = [];
    const rate = args.throttle?.rateLimit;
    const burst = args.throttle?.burstLimit;
    if (rate !== undefined && !(rate > 0)) problems.push(`throttle.rateLimit ${rate} must be a positive number of requests per second`);
    if (burst !== undefined && (!Number.isInteger(burst) || burst < 1))
        problems.push(`throttle.burstLimit ${burst} must be a whole number >= 1`);
    const waf = args.wafRequestsPer5Minutes;
    // WAF's rate-based statements take 10 to 2,000,000,000 requests per evaluation window.
    if (waf !== undefined && (!Number.isInteger(waf) || waf < 10 || waf > 2e9))
        problems.push(`wafRequestsPer5Minutes ${waf} must be a whole number from 10 to 2000000000 (WAF's rate-based limit)`);
    if (args.public && !args.globalProvider)
        problems.push("a public app needs globalProvider (us-east-1), where CloudFront's web ACLs are created");
    return problems;
}

/** The catalog object's key: named by its content, so a changed catalog is a new key and a new function configuration. */
export function catalogKey(catalog: ModelCatalog): string {
    return `${CATALOG_PREFIX}models-${createHash("sha256").update(JSON.stringify(catalog)).digest("hex").slice(0, 16)}.json`;
}

/**
 * The prediction page of a stack: a static single-page app in a private S3 bucket behind CloudFront (origin access
 * control, so only this distribution reads it), and under the same address, `/api/*` to an HTTP API whose Lambda
 * classifies with the stack's endpoints and files corrections into the models' review queues. Signed-in by default
 * (Cognito hosted UI, authorization code with PKCE; a JWT authorizer on every route), throttled per stack, and when
 * public, rate-limited per address by WAF.
 */
export class PredictionApp extends pulumi.ComponentResource {
    public readonly api: aws.apigatewayv2.Api;
    public readonly stage: aws.apigatewayv2.Stage;
    public readonly routes: aws.apigatewayv2.Route[];
    public readonly authorizer?: aws.apigatewayv2.Authorizer;
    public readonly handler: LambdaFunction;
    public readonly distribution: aws.cloudfront.Distribution;
    public readonly originAccessControl: aws.cloudfront.OriginAccessControl;
    public readonly siteBucket: SecureBucket;
    public readonly siteKey: aws.kms.Key;
    public readonly userPool?: aws.cognito.UserPool;
    public readonly userPoolClient?: aws.cognito.UserPoolClient;
    public readonly webAcl?: aws.wafv2.WebAcl;
    /** Invalidates the page's entry files whenever the site or its settings change. */
    public readonly invalidator: LambdaFunction;
    public readonly invalidation: aws.lambda.Invocation;
    /** `https://<distribution>.cloudfront.net/`: the page, and its API under `/api/`. */
    public readonly url: pulumi.Output<string>;
    /** Hash of the page's files; changes exactly when a browser would receive something new. */
    public readonly siteVersion: string;

    constructor(name: string, args: PredictionAppArgs, opts?: pulumi.ComponentResourceOptions) {
        super("vision-mlops:web:PredictionApp", name, {}, opts);
        const problems = predictionAppProblems(args);
        if (problems.length) throw new Error(`${name}: ${problems.join("; ")}`);
        const child = { parent: this };
        const prefix = `vision-mlops-${args.environment}`;
        const isPublic = args.public ?? false;
        const account = pulumi.output(args.accountId);
        const siteBucketArn = pulumi.output(args.siteBucketName).apply((b) => s3BucketArn(b));
        const reviewBucketArn = pulumi.output(args.reviewBucket.bucketName).apply((b) => s3BucketArn(b));
        const models = pulumi.output(args.models);
        const catalog = models.apply((m): ModelCatalog => ({ environment: args.environment, models: m }));
        const key = catalog.apply(catalogKey);
        this.siteVersion = args.site.version;

        // The function: classify with the served endpoints, read the catalog, file corrections.
        const policy = pulumi
            .output({
                acct: account,
                served: models,
                siteArn: siteBucketArn,
                reviewArn: reviewBucketArn,
                reviewKey: args.reviewBucket.kmsKeyArn,
            })
            .apply(({ acct, served, siteArn, reviewArn, reviewKey }) =>
                policyDocument(
                    served.length
                        ? [
                              sagemakerStatement(
                                  ["sagemaker:InvokeEndpoint"],
                                  served.map((m) => sagemakerArn(args.region, acct, "endpoint", m.endpointName)),
                                  "InvokeServedEndpoints",
                              ),
                              ...s3WriteStatements(
                                  [{ bucketArn: reviewArn, prefixes: served.map((m) => prefixes.reviewCorrections(m.name)) }],
                                  "FileCorrections",
                              ),
                              // A repeated correction reads the record that stands.
                              ...s3ReadStatements(
                                  [{ bucketArn: reviewArn, prefixes: served.map((m) => prefixes.reviewCorrections(m.name)) }],
                                  "ReadCorrections",
                              ),
                              ...kmsUseStatement(reviewKey, { sid: "ReviewBucketKey" }),
                          ]
                        : [],
                    s3ReadStatements([{ bucketArn: siteArn, prefixes: [CATALOG_PREFIX] }], "ReadCatalog"),
                ),
            );

        this.api = new aws.apigatewayv2.Api(
            `${name}-api`,
            {
                name: `${prefix}-predictions`,
                protocolType: "HTTP",
                description: `Prediction API of ${prefix}: classify an image, list the served models, send a correction`,
            },
            child,
        );

        // CloudFront and the page's key: the key and the bucket admit this one distribution only.
        this.originAccessControl = new aws.cloudfront.OriginAccessControl(
            `${name}-oac`,
            {
                name: `${prefix}-page`,
                description: `CloudFront reads ${prefix}'s prediction page`,
                originAccessControlOriginType: "s3",
                signingBehavior: "always",
                signingProtocol: "sigv4",
            },
            child,
        );

        let authOrigin: pulumi.Output<string | undefined> = pulumi.output(undefined);
        let domain: aws.cognito.UserPoolDomain | undefined;
        if (!isPublic) {
            this.userPool = new aws.cognito.UserPool(
                `${name}-users`,
                {
                    name: `${prefix}-page`,
                    // People are invited (admin-create-user); nobody signs themselves up for a model's predictions.
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
                    deletionProtection: args.deletionProtection ? "ACTIVE" : "INACTIVE",
                },
                child,
            );
            domain = new aws.cognito.UserPoolDomain(
                `${name}-sign-in`,
                // Hosted UI domain prefixes are global; the account makes this one unique.
                { userPoolId: this.userPool.id, domain: account.apply((a) => `${prefix}-${a}`) },
                child,
            );
            authOrigin = domain.domain.apply((d) => `https://${d}.auth.${args.region}.amazoncognito.com`);
        }

        const headers = authOrigin.apply((o) => pageSecurityHeaders(o));
        const responseHeaders = new aws.cloudfront.ResponseHeadersPolicy(
            `${name}-headers`,
            {
                name: `${prefix}-page`,
                comment: "Security headers of the prediction page and its API",
                securityHeadersConfig: {
                    contentSecurityPolicy: { contentSecurityPolicy: headers.contentSecurityPolicy, override: true },
                    strictTransportSecurity: {
                        accessControlMaxAgeSec: headers.strictTransportSecurity.maxAgeSeconds,
                        includeSubdomains: headers.strictTransportSecurity.includeSubdomains,
                        override: true,
                    },
                    frameOptions: { frameOption: headers.frameOptions, override: true },
                    referrerPolicy: { referrerPolicy: headers.referrerPolicy, override: true },
                    contentTypeOptions: { override: true },
                },
                customHeadersConfig: {
                    items: headers.custom.apply((c) => Object.entries(c).map(([header, value]) => ({ header, value, override: true }))),
                },
            },
            child,
        );

        if (isPublic) {
            this.webAcl = new aws.wafv2.WebAcl(
                `${name}-waf`,
                {
                    name: `${prefix}-page`,
                    description: `Per-address rate limit in front of ${prefix}'s public prediction page and API`,
                    scope: "CLOUDFRONT",
                    defaultAction: { allow: {} },
                    rules: [
                        {
                            name: "requests-per-address",
                            priority: 0,
                            action: { block: {} },
                            statement: {
                                rateBasedStatement: {
                                    limit: args.wafRequestsPer5Minutes ?? 300,
                                    aggregateKeyType: "IP",
                                    evaluationWindowSec: 300,
                                },
                            },
                            visibilityConfig: {
                                cloudwatchMetricsEnabled: true,
                                metricName: `${prefix}-requests-per-address`,
                                sampledRequestsEnabled: true,
                            },
                        },
                    ],
                    visibilityConfig: { cloudwatchMetricsEnabled: true, metricName: `${prefix}-page`, sampledRequestsEnabled: true },
                },
                { parent: this, provider: args.globalProvider },
            );
        }

        const siteOrigin = "site";
        const apiOrigin = "api";
        this.distribution = new aws.cloudfront.Distribution(
            `${name}-cdn`,
            {
                comment: `${prefix} prediction page`,
                enabled: true,
                isIpv6Enabled: true,
                httpVersion: "http2and3",
                priceClass: "PriceClass_100",
                defaultRootObject: "index.html",
                origins: [
                    {
                        originId: siteOrigin,
                        domainName: pulumi.interpolate`${args.siteBucketName}.s3.${args.region}.amazonaws.com`,
                        originPath: `/${SITE_PREFIX.replace(/\/$/, "")}`,
                        originAccessControlId: this.originAccessControl.id,
                    },
                    {
                        originId: apiOrigin,
                        domainName: this.api.apiEndpoint.apply((u) => new URL(u).host),
                        customOriginConfig: {
                            httpPort: 80,
                            httpsPort: 443,
                            originProtocolPolicy: "https-only",
                            originSslProtocols: ["TLSv1.2"],
                            // HTTP APIs give up on an integration after 30 s.
                            originReadTimeout: 30,
                        },
                    },
                ],
                defaultCacheBehavior: {
                    targetOriginId: siteOrigin,
                    viewerProtocolPolicy: "redirect-to-https",
                    allowedMethods: ["GET", "HEAD"],
                    cachedMethods: ["GET", "HEAD"],
                    cachePolicyId: CLOUDFRONT_MANAGED.cachingOptimized,
                    responseHeadersPolicyId: responseHeaders.id,
                    compress: true,
                },
                orderedCacheBehaviors: [
                    {
                        pathPattern: "/api/*",
                        targetOriginId: apiOrigin,
                        viewerProtocolPolicy: "https-only",
                        allowedMethods: ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
                        cachedMethods: ["GET", "HEAD"],
                        cachePolicyId: CLOUDFRONT_MANAGED.cachingDisabled,
                        originRequestPolicyId: CLOUDFRONT_MANAGED.allViewerExceptHostHeader,
                        responseHeadersPolicyId: responseHeaders.id,
                        compress: true,
                    },
                ],
                restrictions: { geoRestriction: { restrictionType: "none" } },
                viewerCertificate: { cloudfrontDefaultCertificate: true },
                webAclId: this.webAcl?.arn,
            },
            child,
        );
        this.url = pulumi.interpolate`https://${this.distribution.domainName}/`;

        this.siteKey = new aws.kms.Key(
            `${name}-key`,
            {
                description: `${prefix} prediction page: the site's files and the model catalog`,
                enableKeyRotation: true,
                deletionWindowInDays: 30,
                policy: pulumi
                    .output({ acct: account, distribution: this.distribution.arn })
                    .apply(({ acct, distribution }) => JSON.stringify(siteKeyPolicy(acct, distribution))),
            },
            child,
        );
        this.siteBucket = new SecureBucket(
            `${name}-site`,
            {
                bucketName: args.siteBucketName,
                kmsKeyArn: this.siteKey.arn,
                accessLogs: args.accessLogs,
                protection: { protect: false, retainOnDelete: false },
                extraStatements: (bucketArn) =>
                    pulumi
                        .output({ arn: bucketArn, distribution: this.distribution.arn })
                        .apply(({ arn, distribution }) => [siteReadStatement(arn, distribution)]),
            },
            child,
        );

        // The catalog, then the function that reads it.
        const catalogObject = new aws.s3.BucketObjectv2(
            `${name}-catalog`,
            {
                bucket: this.siteBucket.bucket.id,
                key,
                content: catalog.apply((c) => JSON.stringify(c)),
                contentType: "application/json",
                serverSideEncryption: "aws:kms",
                kmsKeyId: this.siteKey.arn,
            },
            { parent: this, dependsOn: [this.siteBucket.policy] },
        );
        this.handler = new LambdaFunction(
            `${name}-handler`,
            {
                entry: "jobs/prediction/handler.ts",
                functionName: `${prefix}-prediction-api`,
                description: `Prediction API of ${prefix}`,
                policy: pulumi
                    .all([policy, this.siteKey.arn])
                    .apply(([doc, siteKey]) => policyDocument(doc.Statement, kmsUseStatement(siteKey, { sid: "SiteKey" }))),
                accountId: args.accountId,
                region: args.region,
                environment: {
                    [PREDICTION_ENV.catalogBucket]: args.siteBucketName,
                    [PREDICTION_ENV.catalogKey]: catalogObject.key,
                    [PREDICTION_ENV.reviewBucket]: args.reviewBucket.bucketName,
                },
                logsKmsKeyArn: args.logsKmsKeyArn,
                // Room for a 4 MB image, its base64 and the correction's JSON, and for SageMaker's 60 s inside API Gateway's 30 s.
                memoryMb: 512,
                timeoutSeconds: 29,
            },
            child,
        );

        const integration = new aws.apigatewayv2.Integration(
            `${name}-integration`,
            {
                apiId: this.api.id,
                integrationType: "AWS_PROXY",
                integrationUri: this.handler.arn,
                payloadFormatVersion: "2.0",
                timeoutMilliseconds: 30_000,
            },
            child,
        );
        new aws.lambda.Permission(
            `${name}-invoke`,
            {
                action: "lambda:InvokeFunction",
                function: this.handler.functionName,
                principal: "apigateway.amazonaws.com",
                // Any stage and route of this API, and nothing else.
                sourceArn: pulumi.interpolate`${this.api.executionArn}/*/*`,
            },
            child,
        );

        if (this.userPool && domain) {
            this.userPoolClient = new aws.cognito.UserPoolClient(
                `${name}-page-client`,
                {
                    name: `${prefix}-page`,
                    userPoolId: this.userPool.id,
                    // A browser holds no secret: a public client, whose codes only the PKCE verifier redeems.
                    generateSecret: false,
                    allowedOauthFlowsUserPoolClient: true,
                    allowedOauthFlows: ["code"],
                    allowedOauthScopes: ["openid", "email"],
                    supportedIdentityProviders: ["COGNITO"],
                    callbackUrls: [this.url],
                    logoutUrls: [this.url],
                    explicitAuthFlows: ["ALLOW_REFRESH_TOKEN_AUTH"],
                    preventUserExistenceErrors: "ENABLED",
                    enableTokenRevocation: true,
                    accessTokenValidity: 1,
                    idTokenValidity: 1,
                    refreshTokenValidity: 1,
                    tokenValidityUnits: { accessToken: "hours", idToken: "hours", refreshToken: "days" },
                },
                child,
            );
            this.authorizer = new aws.apigatewayv2.Authorizer(
                `${name}-jwt`,
                {
                    apiId: this.api.id,
                    name: `${prefix}-page-users`,
                    authorizerType: "JWT",
                    identitySources: ["$request.header.Authorization"],
                    jwtConfiguration: {
                        issuer: pulumi.interpolate`https://cognito-idp.${args.region}.amazonaws.com/${this.userPool.id}`,
                        // Cognito access tokens carry the app client in client_id, which API Gateway checks against the audience.
                        audiences: [this.userPoolClient.id],
                    },
                },
                child,
            );
        }

        this.routes = Object.entries(PREDICTION_ROUTES).map(
            ([route, routeKey]) =>
                new aws.apigatewayv2.Route(
                    `${name}-${route}`,
                    {
                        apiId: this.api.id,
                        routeKey,
                        target: pulumi.interpolate`integrations/${integration.id}`,
                        authorizationType: this.authorizer ? "JWT" : "NONE",
                        authorizerId: this.authorizer?.id,
                    },
                    child,
                ),
        );

        const accessLog = new aws.cloudwatch.LogGroup(
            `${name}-access-logs`,
            {
                name: `/aws/apigateway/${prefix}-predictions`,
                retentionInDays: args.accessLogRetentionDays ?? 365,
                kmsKeyId: args.logsKmsKeyArn,
            },
            child,
        );
        this.stage = new aws.apigatewayv2.Stage(
            `${name}-stage`,
            {
                apiId: this.api.id,
                name: "$default",
                autoDeploy: true,
                defaultRouteSettings: {
                    throttlingRateLimit: args.throttle?.rateLimit ?? 10,
                    throttlingBurstLimit: args.throttle?.burstLimit ?? 20,
                    detailedMetricsEnabled: true,
                },
                accessLogSettings: {
                    destinationArn: accessLog.arn,
                    format: JSON.stringify({
                        requestId: "$context.requestId",
                        ip: "$context.identity.sourceIp",
                        route: "$context.routeKey",
                        status: "$context.status",
                        latencyMs: "$context.responseLatency",
                        user: "$context.authorizer.claims.sub",
                        error: "$context.error.message",
                        authorizerError: "$context.authorizer.error",
                    }),
                },
            },
            { parent: this, dependsOn: this.routes },
        );

        // The page: hashed assets first, then config.json and index.html, which name them.
        const pageConfig: pulumi.Output<PageConfig> = pulumi
            .output({ origin: authOrigin, clientId: this.userPoolClient?.id, url: this.url })
            .apply(({ origin, clientId }) => ({
                environment: args.environment,
                ...(args.banner ? { banner: args.banner } : {}),
                ...(origin && clientId
                    ? {
                          auth: {
                              authorizeUrl: `${origin}/oauth2/authorize`,
                              tokenUrl: `${origin}/oauth2/token`,
                              logoutUrl: `${origin}/logout`,
                              clientId,
                              scopes: ["openid", "email"],
                          },
                      }
                    : {}),
            }));
        const object = (
            file: { key: string; content: pulumi.Input<string>; contentType: string; cacheControl: string },
            dependsOn: pulumi.Resource[],
        ) =>
            new aws.s3.BucketObjectv2(
                `${name}-${file.key.replace(/[^A-Za-z0-9.-]/g, "-")}`,
                {
                    bucket: this.siteBucket.bucket.id,
                    key: `${SITE_PREFIX}${file.key}`,
                    content: file.content,
                    contentType: file.contentType,
                    cacheControl: file.cacheControl,
                    serverSideEncryption: "aws:kms",
                    kmsKeyId: this.siteKey.arn,
                },
                { parent: this, dependsOn },
            );
        const assets = args.site.files.filter((f) => f.key !== "index.html").map((f) => object({ ...f }, [this.siteBucket.policy]));
        const config = object(
            {
                key: "config.json",
                content: pageConfig.apply((c) => JSON.stringify(c)),
                contentType: "application/json",
                cacheControl: "no-cache",
            },
            [this.siteBucket.policy],
        );
        const index = args.site.files.find((f) => f.key === "index.html");
        if (!index) throw new Error(`${name}: the site has no index.html`);
        const entry = object({ ...index }, [...assets, config]);

        // A deploy that changed what a browser fetches first (index.html, config.json) invalidates those at CloudFront.
        const revision = pageConfig.apply((c) =>
            createHash("sha256").update(args.site.version).update(JSON.stringify(c)).digest("hex").slice(0, 16),
        );
        this.invalidator = new LambdaFunction(
            `${name}-invalidator`,
            {
                entry: "jobs/prediction/invalidate.ts",
                functionName: `${prefix}-page-invalidator`,
                description: `Invalidates ${prefix}'s prediction page at CloudFront after a deploy`,
                policy: this.distribution.arn.apply((arn) =>
                    policyDocument({ Sid: "InvalidatePage", Effect: "Allow", Action: ["cloudfront:CreateInvalidation"], Resource: [arn] }),
                ),
                accountId: args.accountId,
                region: args.region,
                logsKmsKeyArn: args.logsKmsKeyArn,
                memoryMb: 128,
                timeoutSeconds: 60,
            },
            child,
        );
        this.invalidation = new aws.lambda.Invocation(
            `${name}-invalidation`,
            {
                functionName: this.invalidator.functionName,
                input: pulumi
                    .all([this.distribution.id, revision])
                    .apply(([distributionId, version]) => JSON.stringify({ distributionId, paths: ENTRY_PATHS, version })),
                triggers: { revision },
            },
            { parent: this, dependsOn: [entry, config] },
        );

        this.registerOutputs({ url: this.url, siteVersion: this.siteVersion, apiEndpoint: this.api.apiEndpoint });
    }
}

/** The page bucket lets exactly one distribution read the site's files, through origin access control. */
export function siteReadStatement(bucketArn: string, distributionArn: string): ResourceStatement {
    return {
        Sid: "PageDistributionReadsSite",
        Effect: "Allow",
        Principal: { Service: "cloudfront.amazonaws.com" },
        Action: "s3:GetObject",
        Resource: `${bucketArn}/${SITE_PREFIX}*`,
        Condition: { StringEquals: { "AWS:SourceArn": distributionArn } },
    };
}

/** The page key: the account administers it through IAM; the page's distribution decrypts with it, and nothing else. */
export function siteKeyPolicy(account: string, distributionArn: string, partition = "aws"): ResourcePolicy {
    return keyPolicy(
        account,
        [
            keyServiceStatement("PageDistributionDecrypts", "cloudfront.amazonaws.com", ["kms:Decrypt"], {
                StringEquals: { "AWS:SourceArn": distributionArn },
            }),
        ],
        partition,
    );
}
