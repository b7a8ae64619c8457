import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { Platform, PlatformArgs } from "../../components/platform";
import { readStackFile } from "../../infra/stack-file";
import { platformArgs } from "../../stacks/platform";
import { DeclaredResource, find, ofType, settled, TEST_ACCOUNT, unwrapOutput, useMocks } from "../support/mocks";
import { parentage, registeredOutputs } from "./support/component-tree";

/** The platform's dashboard body, parsed. */
function dashboardWidgets(declared: readonly DeclaredResource[], name: string): Array<{ type: string; properties: any }> {
    return JSON.parse(find(declared, "aws:cloudwatch/dashboard:Dashboard", `${name}-dashboard-dashboard`).inputs.dashboardBody).widgets;
}

/** Every value of `key` anywhere in a JSON document. */
function valuesOf(doc: unknown, key: string): unknown[] {
    if (Array.isArray(doc)) return doc.flatMap((d) => valuesOf(d, key));
    if (doc === null || typeof doc !== "object") return [];
    return Object.entries(doc).flatMap(([k, v]) => (k === key ? [v] : valuesOf(v, key)));
}

/** `protect` and `retainOnDelete` as each resource was declared with them, read with an SDK-side transformation. */
function declaredOptions(): {
    transformation: pulumi.ResourceTransformation;
    of(type: string, name: string): { protect?: boolean; retainOnDelete?: boolean };
    declared(type: string, name: string): boolean;
} {
    const seen = new Map<string, { protect?: boolean; retainOnDelete?: boolean }>();
    return {
        transformation: ({ type, name, opts }) => {
            seen.set(`${type}::${name}`, { protect: opts.protect, retainOnDelete: opts.retainOnDelete });
            return undefined;
        },
        of: (type, name) => seen.get(`${type}::${name}`) ?? {},
        declared: (type, name) => seen.has(`${type}::${name}`),
    };
}

describe("Platform", () => {
    it("decides nothing by its environment's name: a prod-named platform given staging's args trains, serves in place, protects nothing", async () => {
        const declared = useMocks("prod");
        const staging = platformArgs(readStackFile(".", "staging"), {}, {});
        const args = {
            ...staging,
            environment: "prod" as const,
            models: { "traffic-signs": staging.models["traffic-signs"] },
            // Not given: the user pool is not protected by default either.
            web: { ...staging.web, deletionProtection: undefined },
        };
        const tree = parentage();
        const platform = new Platform("vision-mlops-prod", args, { transformations: tree.transformations });
        await settled(declared, pulumi.output(platform.outputs));
        // Every resource of every component sits under the platform (a child without { parent: this } would be at the stack's root).
        expect(tree.orphans(declared, platform)).to.deep.equal([]);
        expect(Object.keys(platform.trainingPipelines)).to.deep.equal(["traffic-signs"]);
        expect(declared.filter(ofType("aws:sagemaker/pipeline:Pipeline")).map((p) => p.inputs.pipelineName)).to.deep.equal([
            "vision-mlops-prod-traffic-signs-training",
        ]);
        expect((platform.lake.key as any).__protect).to.equal(false);
        for (const b of [platform.lake.raw, platform.lake.curated, platform.lake.artifacts, platform.lake.capture, platform.lake.logs])
            expect((b.bucket as any).__protect).to.equal(false);
        const pool = find(declared, "aws:cognito/userPool:UserPool", "vision-mlops-prod-web-users");
        expect(pool.inputs.deletionProtection).to.equal("INACTIVE");
        const outputs = platform.outputs.models["traffic-signs"];
        expect(outputs.serving).to.equal(args.models["traffic-signs"].servingNote);
        expect(outputs.endpointName).to.equal(null);
        // Nothing served: no endpoint, monitor, workflow or dashboard row, and the outputs say so.
        expect([platform.endpoints, platform.monitors, platform.inferenceWorkflows]).to.deep.equal([{}, {}, {}]);
        expect(dashboardWidgets(declared, "vision-mlops-prod")).to.deep.equal([]);
        const out = (await unwrapOutput(pulumi.output(platform.outputs))) as any;
        expect(out.models).to.deep.equal({
            "traffic-signs": {
                modelPackageGroup: "vision-mlops-staging-traffic-signs",
                servedPackage: null,
                serving: "no endpoint yet: no model package registered; ingest a batch to start the training pipeline",
                awaitingApproval: null,
                endpointName: null,
                captureS3Uri: null,
                trainingPipelineName: "vision-mlops-prod-traffic-signs-training",
                monitoringSchedule: null,
            },
        });
        expect(out.servedPackages).to.deep.equal({ "traffic-signs": null });
        expect(out.predictionUserPoolId).to.equal(pool.id);
        // Given a budget: a monthly budget that alerts to the stack's topic.
        const budget = find(declared, "aws:budgets/budget:Budget", "vision-mlops-prod-budget-monthly").inputs;
        expect(budget).to.include({ limitAmount: "1500.00", limitUnit: "USD" });
        expect(budget.notifications.map((n: any) => n.subscriberSnsTopicArns)).to.deep.equal(
            Array(3).fill([`arn:aws:sns:us-east-1:${TEST_ACCOUNT}:vision-mlops-prod-alerts`]),
        );
        expect(find(declared, "aws:kms/alias:Alias", "vision-mlops-prod-logs-alias").inputs.name).to.equal("alias/vision-mlops-prod-logs");
        const registered = await registeredOutputs(platform);
        expect(registered).to.deep.include({ environment: "prod", region: "us-east-1", dashboardName: "vision-mlops-prod" });
        expect(registered.models).to.deep.equal(out.models);
    });

    describe("serving its models", () => {
        const ARTIFACTS = `vision-mlops-staging-artifacts-${TEST_ACCOUNT}-eu-west-1`;
        const IMAGE = "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1";
        const SOURCE_KEY = "arn:aws:kms:us-east-1:111111111111:key/source";
        const SIGNS_PKG = `arn:aws:sagemaker:eu-west-1:${TEST_ACCOUNT}:model-package/vision-mlops-staging-traffic-signs/12`;
        // A package of another account's registry, under an ARN with no group and version the platform can read.
        const BIKES_PKG = `arn:aws:sagemaker:eu-west-1:${TEST_ACCOUNT}:model-package/imported-bikes`;
        const served = (packageArn: string, model: string) => ({
            packageArn,
            source: "pinned" as const,
            info: {
                arn: packageArn,
                group: "ignored",
                approvalStatus: "Approved",
                customerMetadata: {},
                image: IMAGE,
                modelDataUrl: `s3://${ARTIFACTS}/${model}/model.tar.gz`,
                monitoringBaselineUri: `s3://${ARTIFACTS}/${model}/monitoring_baseline.json`,
            },
        });

        /** Staging's traffic-signs (trains here) and bikes-vs-motorcycles as "bikes" (trained elsewhere), both served. */
        function servingArgs(): PlatformArgs {
            const staging = platformArgs(readStackFile(".", "staging"), {}, {});
            const signs = staging.models["traffic-signs"];
            const bikes = staging.models["bikes-vs-motorcycles"];
            return {
                ...staging,
                region: "eu-west-1",
                budget: undefined,
                alertEmails: ["ops@example.com"],
                protect: true,
                retainOnDelete: true,
                deployFrom: undefined,
                blueGreen: undefined,
                sourceDataKeyArn: SOURCE_KEY,
                gitCommit: "abc123",
                models: {
                    "traffic-signs": {
                        ...signs,
                        served: served(SIGNS_PKG, "traffic-signs"),
                        servingNote: "pinned package 12",
                        monitoring: { ...signs.monitoring, retrainAfterPeriods: 6 },
                    },
                    bikes: {
                        ...bikes,
                        settings: { ...bikes.settings, description: undefined },
                        training: undefined,
                        served: served(BIKES_PKG, "bikes"),
                        servingNote: "pinned imported package",
                        awaitingApproval: "arn:aws:sagemaker:eu-west-1:123456789012:model-package/vision-mlops-staging-bikes/13",
                        // Given, but the model does not train here: drift raises alarms, never a retraining.
                        monitoring: { ...bikes.monitoring, retrainAfterPeriods: 4 },
                    },
                },
                web: { ...staging.web, public: true, rateLimit: 5, burstLimit: 8 },
            };
        }

        it("refuses a served package without the image, model data or drift baseline it needs, naming the model and package", () => {
            const missing = (field: "image" | "modelDataUrl" | "monitoringBaselineUri") => {
                useMocks("staging");
                const args = servingArgs();
                const bikes = args.models.bikes;
                const options = declaredOptions();
                try {
                    new Platform(
                        "p",
                        {
                            ...args,
                            protect: undefined,
                            models: {
                                // Served and trained here, with no retraining asked for: its monitor is declared before the refusal.
                                "traffic-signs": {
                                    ...args.models["traffic-signs"],
                                    monitoring: { ...args.models["traffic-signs"].monitoring, retrainAfterPeriods: undefined },
                                },
                                bikes: { ...bikes, served: { ...bikes.served!, info: { ...bikes.served!.info, [field]: "" } } },
                            },
                        },
                        { transformations: [options.transformation] },
                    );
                } catch (e) {
                    // Declared before the refusal: the registry of a platform not asked to protect it is not protected.
                    const group = options.of("aws:sagemaker/modelPackageGroup:ModelPackageGroup", "p-traffic-signs-training-group");
                    expect(group).to.deep.equal({ protect: false, retainOnDelete: false });
                    // A model that trains here but is not asked to retrain on drift gets no retraining rule.
                    expect(options.declared("vision-mlops:monitoring:ModelMonitor", "p-traffic-signs-monitor")).to.equal(true);
                    expect(options.declared("aws:cloudwatch/eventRule:EventRule", "p-traffic-signs-monitor-retrain")).to.equal(false);
                    return (e as Error).message;
                }
                throw new Error(`a package without ${field} was served`);
            };
            expect(missing("modelDataUrl")).to.equal(
                `bikes: model package ${BIKES_PKG} lacks a model data URL in its inference specification, so it cannot be served`,
            );
            expect(missing("image")).to.equal(
                `bikes: model package ${BIKES_PKG} lacks a container image in its inference specification, so it cannot be served`,
            );
            expect(missing("monitoringBaselineUri")).to.equal(
                `bikes: model package ${BIKES_PKG} lacks a drift-check baseline (DriftCheckBaselines.ModelDataQuality.Statistics), ` +
                    "so it cannot be monitored; register it with the training pipeline",
            );
        });

        it("wires each served model's endpoint, monitor, workflow, dashboard row, catalog entry and outputs, and retrains only where it trains", async () => {
            const declared = useMocks("staging");
            const tree = parentage();
            const options = declaredOptions();
            const platform = new Platform("p", servingArgs(), { transformations: [...tree.transformations, options.transformation] });
            await settled(declared, pulumi.output(platform.outputs));
            expect(tree.orphans(declared, platform)).to.deep.equal([]);
            expect(Object.keys(platform.trainingPipelines)).to.deep.equal(["traffic-signs"]);
            for (const components of [platform.endpoints, platform.monitors, platform.inferenceWorkflows])
                expect(Object.keys(components)).to.deep.equal(["traffic-signs", "bikes"]);

            // Providers: the stack's region and tags; each model's also tags its model; the page's WAF in us-east-1.
            const tags = {
                team: "vision",
                "cost-center": "ml-platform",
                project: "vision-mlops",
                environment: "staging",
                "managed-by": "pulumi",
            };
            const provider = (n: string) => find(declared, "pulumi:providers:aws", n).inputs;
            expect(provider("p-aws")).to.deep.include({ region: "eu-west-1", defaultTags: JSON.stringify({ tags }) });
            expect(provider("p-bikes-aws")).to.deep.include({
                region: "eu-west-1",
                defaultTags: JSON.stringify({ tags: { ...tags, model: "bikes" } }),
            });
            expect(provider("p-aws-global")).to.deep.include({ region: "us-east-1", defaultTags: JSON.stringify({ tags }) });
            // A provider's reference: its parent's type, its own type and its name (`<parent>$pulumi:providers:aws::<name>`).
            const providerOf = (type: string, n: string) => find(declared, type, n).provider?.split("::").slice(2, 4).join("::");
            expect(find(declared, "aws:s3/bucket:Bucket", "p-lake-raw").provider).to.match(
                /vision-mlops:stack:Platform\$pulumi:providers:aws::p-aws::/,
            );
            expect(providerOf("aws:kms/key:Key", "p-logs-key")).to.equal("vision-mlops:stack:Platform$pulumi:providers:aws::p-aws");
            expect(providerOf("aws:cloudwatch/metricAlarm:MetricAlarm", "p-bikes-5xx")).to.equal(
                "vision-mlops:stack:Platform$pulumi:providers:aws::p-bikes-aws",
            );
            expect(providerOf("aws:cloudwatch/eventRule:EventRule", "p-traffic-signs-training-trigger")).to.equal(
                "vision-mlops:stack:Platform$pulumi:providers:aws::p-traffic-signs-aws",
            );
            expect(find(declared, "aws:wafv2/webAcl:WebAcl", "p-web-waf").provider).to.match(
                /vision-mlops:stack:Platform\$pulumi:providers:aws::p-aws-global::/,
            );

            // Protected and kept: the lake's key and buckets and the model registry.
            expect(options.of("aws:kms/key:Key", "p-lake-key")).to.deep.equal({ protect: true, retainOnDelete: true });
            expect(options.of("aws:sagemaker/modelPackageGroup:ModelPackageGroup", "p-traffic-signs-training-group").protect).to.equal(
                true,
            );
            expect(declared.filter(ofType("aws:budgets/budget:Budget")), "no budget given").to.deep.equal([]);
            expect(find(declared, "aws:sns/topicSubscription:TopicSubscription", "p-alerts-email-0").inputs).to.deep.include({
                endpoint: "ops@example.com",
                protocol: "email",
            });
            // The commit is recorded with every package the pipeline registers.
            const definition = JSON.parse(
                find(declared, "aws:sagemaker/pipeline:Pipeline", "p-traffic-signs-training-pipeline").inputs.pipelineDefinition,
            );
            expect(valuesOf(definition, "git-commit")).to.deep.equal(["abc123"]);

            // Endpoints: from the package's image and model data (the default), all at once (no blue/green),
            // decrypting the model data with the key of the stack that trained it.
            for (const model of ["traffic-signs", "bikes"]) {
                const e = find(declared, "pulumi-nodejs:dynamic:Resource", `p-${model}-endpoint`).inputs;
                expect(e.model.PrimaryContainer, model).to.deep.include({
                    Image: IMAGE,
                    ModelDataUrl: `s3://${ARTIFACTS}/${model}/model.tar.gz`,
                });
                expect(e.deploymentConfig, model).to.equal(undefined);
                expect(e.endpointName, model).to.equal(`vision-mlops-staging-${model}`);
                expect(e.tags, model).to.deep.equal({ ...tags, model });
                const role = JSON.parse(find(declared, "aws:iam/rolePolicy:RolePolicy", `p-${model}-role-policy`).inputs.policy);
                expect(role.Statement.find((s: any) => s.Sid === "ModelArtifactKey").Resource, model).to.deep.equal([SOURCE_KEY]);
                const monitor = JSON.parse(find(declared, "aws:iam/rolePolicy:RolePolicy", `p-${model}-monitor-role-policy`).inputs.policy);
                expect(monitor.Statement.find((s: any) => s.Sid === "BaselineKey").Resource, model).to.deep.equal([SOURCE_KEY]);
                // The monitor and the workflow wait for their endpoint.
                expect(tree.dependsOn("vision-mlops:monitoring:ModelMonitor", `p-${model}-monitor`)).to.deep.equal([
                    `pulumi-nodejs:dynamic:Resource::p-${model}-endpoint`,
                ]);
                expect(tree.dependsOn("vision-mlops:inference:InferenceWorkflow", `p-${model}-inference`)).to.deep.equal([
                    `pulumi-nodejs:dynamic:Resource::p-${model}-endpoint`,
                ]);
                const baseline = find(declared, "aws:sagemaker/pipeline:Pipeline", `p-${model}-monitor-pipeline`).inputs.pipelineDefinition;
                expect(baseline, model).to.include(`s3://${ARTIFACTS}/${model}/monitoring_baseline.json`);
            }

            // Retraining on persistent drift only where the model trains: traffic-signs after 6 runs, bikes never.
            const retrain = declared.filter((r) => r.type === "aws:cloudwatch/eventRule:EventRule" && r.name.endsWith("-retrain"));
            expect(retrain.map((r) => r.name)).to.deep.equal(["p-traffic-signs-monitor-retrain"]);
            expect(find(declared, "aws:cloudwatch/eventTarget:EventTarget", "p-traffic-signs-monitor-retrain-target").inputs.arn).to.equal(
                `arn:aws:sagemaker:us-east-1:${TEST_ACCOUNT}:pipeline/vision-mlops-staging-traffic-signs-training`,
            );
            expect(
                find(declared, "aws:cloudwatch/metricAlarm:MetricAlarm", "p-traffic-signs-monitor-drift-persistent").inputs
                    .evaluationPeriods,
            ).to.equal(6);
            expect(declared.filter((r) => r.name === "p-bikes-monitor-drift-persistent")).to.deep.equal([]);

            // The workflow classifies with its model's endpoint and reports the package it serves.
            const classify = find(declared, "aws:lambda/function:Function", "p-bikes-inference-classify-function").inputs.environment
                .variables;
            expect(classify).to.deep.include({
                VISION_ENDPOINT_NAME: "vision-mlops-staging-bikes",
                VISION_MODEL: "bikes",
                VISION_MODEL_PACKAGE_ARN: BIKES_PKG,
                VISION_RAW_BUCKET: `vision-mlops-staging-raw-${TEST_ACCOUNT}-eu-west-1`,
            });

            // The dashboard: per model its header, endpoint and monitor charts, the pipelines it runs, its workflow's charts.
            const widgets = dashboardWidgets(declared, "p");
            const rows = widgets.filter((w) => w.type === "text").map((w) => w.properties.markdown);
            expect(rows).to.deep.equal([
                "## traffic-signs · endpoint `vision-mlops-staging-traffic-signs` · monitoring `vision-mlops-staging-traffic-signs-monitor`",
                "## bikes · endpoint `vision-mlops-staging-bikes` · monitoring `vision-mlops-staging-bikes-monitor`",
            ]);
            const charts = (title: string) => widgets.filter((w) => w.properties.title === title).map((w) => w.properties.metrics);
            expect(charts("Pipeline executions").map((lines) => [...new Set(lines.map((l: unknown[]) => l[3]))])).to.deep.equal([
                ["vision-mlops-staging-traffic-signs-training", "vision-mlops-staging-traffic-signs-monitoring"],
                ["vision-mlops-staging-bikes-monitoring"],
            ]);
            expect(charts("Inference workflow: executions").map((lines) => lines[0][3])).to.deep.equal([
                `arn:aws:sfn:us-east-1:${TEST_ACCOUNT}:statemachine/vision-mlops-staging-traffic-signs-inference`,
                `arn:aws:sfn:us-east-1:${TEST_ACCOUNT}:statemachine/vision-mlops-staging-bikes-inference`,
            ]);
            expect(charts("Inference workflow: top-1 confidence").map((lines) => lines[0].slice(0, 6))).to.deep.equal([
                ["VisionMLOps/Inference/traffic-signs", "Confidence", "Environment", "staging", "Model", "traffic-signs"],
                ["VisionMLOps/Inference/bikes", "Confidence", "Environment", "staging", "Model", "bikes"],
            ]);

            // The page: its bucket, access logs under site/, corrections into the raw bucket, the stage's throttle, no user pool.
            expect(find(declared, "aws:s3/bucket:Bucket", "p-web-site").inputs.bucket).to.equal(
                `vision-mlops-staging-site-${TEST_ACCOUNT}-eu-west-1`,
            );
            expect(find(declared, "aws:s3/bucketLogging:BucketLogging", "p-web-site-logging").inputs).to.deep.include({
                targetBucket: "p-lake-logs-id",
                targetPrefix: "site/",
            });
            expect(
                find(declared, "aws:lambda/function:Function", "p-web-handler-function").inputs.environment.variables.REVIEW_BUCKET,
            ).to.equal(`vision-mlops-staging-raw-${TEST_ACCOUNT}-eu-west-1`);
            expect(find(declared, "aws:apigatewayv2/stage:Stage", "p-web-stage").inputs.defaultRouteSettings).to.deep.include({
                throttlingRateLimit: 5,
                throttlingBurstLimit: 8,
            });
            expect(declared.filter(ofType("aws:cognito/userPool:UserPool"))).to.deep.equal([]);
            // The catalog the API lists: the group and version read from the package ARN, else the staging group and 0.
            const catalog = JSON.parse(find(declared, "aws:s3/bucketObjectv2:BucketObjectv2", "p-web-catalog").inputs.content);
            expect(catalog.models.map(({ classes, ...m }: any) => ({ ...m, classes: classes.length }))).to.deep.equal([
                {
                    name: "traffic-signs",
                    description: "GTSRB traffic signs, 43 classes",
                    task: "image-classification",
                    classes: 43,
                    imageShape: [3, 224, 224],
                    confidenceThreshold: 0.8,
                    endpointName: "vision-mlops-staging-traffic-signs",
                    package: { arn: SIGNS_PKG, group: "vision-mlops-staging-traffic-signs", version: 12 },
                },
                {
                    name: "bikes",
                    task: "image-classification",
                    classes: 2,
                    imageShape: [3, 32, 32],
                    confidenceThreshold: 0.93,
                    endpointName: "vision-mlops-staging-bikes",
                    package: { arn: BIKES_PKG, group: "vision-mlops-staging-bikes", version: 0 },
                },
            ]);

            const out = (await unwrapOutput(pulumi.output(platform.outputs))) as any;
            const capture = `s3://vision-mlops-staging-capture-${TEST_ACCOUNT}-eu-west-1`;
            expect(out.models).to.deep.equal({
                "traffic-signs": {
                    modelPackageGroup: "vision-mlops-staging-traffic-signs",
                    servedPackage: SIGNS_PKG,
                    serving: "pinned package 12",
                    awaitingApproval: null,
                    endpointName: "vision-mlops-staging-traffic-signs",
                    captureS3Uri: `${capture}/traffic-signs/capture/`,
                    trainingPipelineName: "vision-mlops-staging-traffic-signs-training",
                    monitoringSchedule: "vision-mlops-staging-traffic-signs-monitor",
                },
                bikes: {
                    modelPackageGroup: "vision-mlops-staging-bikes",
                    servedPackage: BIKES_PKG,
                    serving: "pinned imported package",
                    awaitingApproval: "arn:aws:sagemaker:eu-west-1:123456789012:model-package/vision-mlops-staging-bikes/13",
                    endpointName: "vision-mlops-staging-bikes",
                    captureS3Uri: `${capture}/bikes/capture/`,
                    trainingPipelineName: null,
                    monitoringSchedule: "vision-mlops-staging-bikes-monitor",
                },
            });
            expect(out.servedPackages).to.deep.equal({ "traffic-signs": SIGNS_PKG, bikes: BIKES_PKG });
            expect(out.predictionUserPoolId).to.equal(null);
        });
    });
});
