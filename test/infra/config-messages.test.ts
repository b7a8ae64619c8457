import { expect } from "chai";
import { ConfigError, fromPulumiConfig, parsePlatformConfig } from "../../infra/config";
import { problemsOf } from "../support/config-problems";

/*
 * Every message the stack-config schema gives, byte for byte, each with the key and value it is shown with: the
 * texts below were read off the schema before its messages moved to infra/config-messages.ts, so a change to a
 * message is a change to this file. Each case breaks many keys at once, since every problem is reported together.
 */
const model = (settings: Record<string, unknown> = {}) => ({
    classes: ["stop", "yield"],
    imageShape: [3, 224, 224],
    quality: { minAccuracy: 0.9 },
    ...settings,
});
const staging = (models: Record<string, unknown>, settings: Record<string, unknown> = {}) => ({
    environment: "staging",
    region: "us-east-1",
    models,
    ...settings,
});
/** 91 hyperparameters: with the 10 the step sets, one more than a training job takes. */
const manyHyperparameters = Object.fromEntries(Array.from({ length: 91 }, (_, i) => [`h${i}`, i]));
const longValue = "x".repeat(2501);
const classes1001 = Array.from({ length: 1001 }, (_, i) => `c${i}`);

describe("stack config messages, byte for byte", () => {
    it("every training key with a value of the wrong kind or out of range", () => {
        expect(
            problemsOf(
                staging({
                    "m-a": model({
                        training: {
                            instanceType: 5,
                            instanceCount: 9,
                            spot: "yes",
                            maxRuntimeSeconds: 3000000,
                            maxWaitSeconds: 0,
                            volumeSizeGb: 20000,
                            epochs: 1.5,
                            numLayers: 19,
                            learningRate: "fast",
                            miniBatchSize: 5000,
                            earlyStopping: { patience: 0, minEpochs: "x" },
                            augmentationType: "flip",
                            processingInstanceType: 3,
                            minImageSide: 5000,
                            split: { validation: "a", test: 2 },
                            seed: 1.5,
                            retrainSchedule: "weekly",
                            algorithm: "tf",
                            architecture: 5,
                            frameworkVersion: 2.1,
                            weights: 3,
                            hyperparameters: "x",
                            sourceDir: 7,
                        },
                    }),
                    "m-b": model({
                        training: { learningRate: 0, epochs: 2000, processingInstanceType: "ml.m5.24xlarge", instanceType: "ml.m5.xlarge" },
                    }),
                    "m-c": model({ training: { learningRate: 2, epochs: 0, split: { validation: 1.5, test: -1 } } }),
                }),
            ),
        ).to.deep.equal([
            "models.m-a.training.instanceType: 5 must be a SageMaker instance type such as ml.g4dn.xlarge",
            "models.m-a.training.instanceCount: 9 must be at most 8",
            'models.m-a.training.spot: "yes" must be true or false',
            "models.m-a.training.maxRuntimeSeconds: 3000000 must be at most 28 days (2419200)",
            "models.m-a.training.maxWaitSeconds: 0 must be >= 1 (seconds)",
            "models.m-a.training.volumeSizeGb: 20000 must be at most 16384",
            "models.m-a.training.epochs: 1.5 must be a whole number (epochs)",
            "models.m-a.training.numLayers: 19 must be one of 18, 34, 50, 101, 152, 200 (pretrained ResNet depths)",
            'models.m-a.training.learningRate: "fast" must be a number',
            "models.m-a.training.miniBatchSize: 5000 must be at most 4096",
            "models.m-a.training.earlyStopping.patience: 0 must be >= 1 (epochs)",
            'models.m-a.training.earlyStopping.minEpochs: "x" must be a whole number >= 1 (epochs)',
            'models.m-a.training.augmentationType: "flip" must be one of none, crop, crop_color, crop_color_transform',
            "models.m-a.training.processingInstanceType: 3 must be a SageMaker instance type such as ml.m5.xlarge",
            "models.m-a.training.minImageSide: 5000 must be at most 4096 (pixels)",
            'models.m-a.training.split.validation: "a" must be a number from 0 to 1 (share of each class)',
            "models.m-a.training.split.test: 2 must be from 0 to 1 (share of each class)",
            "models.m-a.training.seed: 1.5 must be a whole number",
            'models.m-a.training.retrainSchedule: "weekly" must be rate(N minutes|hours|days) or cron(...)',
            'models.m-a.training.algorithm: "tf" must be one of builtin, pytorch',
            "models.m-a.training.architecture: 5 must be a torchvision model name such as resnet50",
            'models.m-a.training.frameworkVersion: 2.1 must be a quoted version such as "2.6" (YAML reads 2.10 as the number 2.1)',
            "models.m-a.training.weights: 3 must be imagenet, none or an S3 URI of a .pth state dict",
            'models.m-a.training.hyperparameters: "x" must be a map of hyperparameter name to a string, number or true/false',
            "models.m-a.training.sourceDir: 7 must be a folder path relative to the project, such as models/dog-breeds",
            'models.m-b.training.instanceType: "ml.m5.xlarge" is not a GPU instance, which policy rule sagemaker-training-gpu requires; the image-classification algorithm trains on ml.p2, ml.p3, ml.p3dn, ml.g4dn, ml.g5 (for example ml.g4dn.xlarge)',
            "models.m-b.training.epochs: 2000 must be at most 1000",
            "models.m-b.training.learningRate: 0 must be > 0",
            'models.m-b.training.processingInstanceType: "ml.m5.24xlarge" has no price in infra/prices.ts for processing use; priced processing instances: ml.m5.{large,xlarge,2xlarge,4xlarge}, ml.c5.{xlarge,2xlarge,4xlarge}, ml.g4dn.{xlarge,2xlarge,4xlarge,8xlarge,12xlarge,16xlarge}, ml.g5.{xlarge,2xlarge,4xlarge,8xlarge,12xlarge,24xlarge,48xlarge}, ml.p3.{2xlarge,8xlarge,16xlarge} (add a row with its source to use another)',
            "models.m-c.training.epochs: 0 must be >= 1 (epochs)",
            "models.m-c.training.learningRate: 2 must be <= 1",
            "models.m-c.training.split.validation: 1.5 must be from 0 to 1 (share of each class)",
            "models.m-c.training.split.test: -1 must be from 0 to 1 (share of each class)",
            "models.m-c.training.split.test: -1 must be > 0: every class needs at least one test image for the quality gate to judge (and one validation image), so each class needs at least 3 images",
        ]);
    });

    it("training rules across keys, and PyTorch keys on the built-in algorithm", () => {
        expect(
            problemsOf(
                staging({
                    "m-a": model({ training: { spot: false, maxWaitSeconds: 20000, split: { validation: 0.5, test: 0.45 } } }),
                    "m-b": model({
                        training: {
                            architecture: "resnet50",
                            weights: "none",
                            frameworkVersion: "2.5",
                            hyperparameters: {},
                            sourceDir: "x",
                        },
                    }),
                }),
            ),
        ).to.deep.equal([
            "models.m-a.training.maxWaitSeconds: 20000 applies to spot training only; set spot: true or remove it",
            'models.m-a.training.split: {"validation":0.5,"test":0.45} validation + test must leave at least 10% of each class for training',
            'models.m-b.training.architecture: "resnet50" applies to training.algorithm pytorch only; set algorithm: pytorch or remove it',
            'models.m-b.training.frameworkVersion: "2.5" applies to training.algorithm pytorch only; set algorithm: pytorch or remove it',
            'models.m-b.training.weights: "none" applies to training.algorithm pytorch only; set algorithm: pytorch or remove it',
            "models.m-b.training.hyperparameters: {} applies to training.algorithm pytorch only; set algorithm: pytorch or remove it",
            'models.m-b.training.sourceDir: "x" applies to training.algorithm pytorch only; set algorithm: pytorch or remove it',
        ]);
    });

    it("PyTorch training keys", () => {
        expect(
            problemsOf(
                staging({
                    "m-a": model({
                        training: {
                            algorithm: "pytorch",
                            frameworkVersion: "1.0",
                            weights: "foo",
                            hyperparameters: { "1bad": 1, sagemaker_x: 1, epochs: 3, foo: 1, optimizer: longValue },
                            instanceCount: 2,
                            instanceType: "ml.p2.xlarge",
                            numLayers: 50,
                            augmentationType: "crop",
                        },
                    }),
                    "m-b": model({ training: { algorithm: "pytorch", architecture: "resnt50", sourceDir: "/abs" } }),
                    "m-c": model({ training: { algorithm: "pytorch", architecture: "resnet50", sourceDir: "no-such-folder" } }),
                    "m-d": model({ training: { algorithm: "pytorch", architecture: "resnet50", sourceDir: "infra" } }),
                    "m-e": model({
                        training: {
                            algorithm: "pytorch",
                            architecture: "resnet50",
                            sourceDir: "jobs/pytorch",
                            hyperparameters: manyHyperparameters,
                        },
                    }),
                    "m-f": model({ imageShape: [3, 16, 16], training: { algorithm: "pytorch", architecture: "resnet50" } }),
                    "m-h": model({ training: { algorithm: "pytorch", architecture: "resnt50" } }),
                    "m-i": model({ training: { algorithm: "pytorch", architecture: "banana" } }),
                    "m-g": model({ imageShape: [3, 64, 64], training: { algorithm: "pytorch", architecture: "vit_b_16" } }),
                }),
            ),
        ).to.deep.equal([
            'models.m-a.training.instanceType: "ml.p2.xlarge" has no price in infra/prices.ts for training use; priced training instances: ml.m5.{large,xlarge,2xlarge,4xlarge}, ml.c5.{xlarge,2xlarge,4xlarge}, ml.g4dn.{xlarge,2xlarge,4xlarge,8xlarge,12xlarge,16xlarge}, ml.g5.{xlarge,2xlarge,4xlarge,8xlarge,12xlarge,24xlarge,48xlarge}, ml.p3.{2xlarge,8xlarge,16xlarge}, ml.p3dn.24xlarge (add a row with its source to use another)',
            "models.m-a.training.architecture: missing is required when training.algorithm is pytorch: a torchvision model name such as resnet50, efficientnet_b0 or vit_b_16",
            'models.m-a.training.frameworkVersion: "1.0" must be one of 1.13, 2.0, 2.1, 2.2, 2.3, 2.4, 2.5, 2.6: the versions SageMaker publishes both a PyTorch training and an inference image for',
            'models.m-a.training.weights: "foo" must be none, imagenet, a .pth key under the model\'s prefix of the artifacts bucket (pretrained/resnet50.pth), or the S3 URI of a state dict such as s3://my-bucket/weights/resnet50.pth',
            "models.m-a.training.hyperparameters.1bad: 1 names must be letters, digits, _ and -, starting with a letter or _ (they become --name arguments)",
            "models.m-a.training.hyperparameters.sagemaker_x: 1 is a name SageMaker's script mode reserves (sagemaker_*)",
            "models.m-a.training.hyperparameters.epochs: 3 is set from the other training keys (architecture, image_shape, epochs, learning_rate, batch_size, early_stopping, patience, min_epochs, seed, weights come from architecture, imageShape, epochs, learningRate, miniBatchSize, earlyStopping, seed, weights); set it there",
            "models.m-a.training.hyperparameters.foo: 1 is not an option of the platform's train.py, which takes optimizer, momentum, weight_decay, label_smoothing, augmentation, num_workers, download_timeout (or bring your own with training.sourceDir)",
            `models.m-a.training.hyperparameters.optimizer: ${JSON.stringify(longValue)} is 2501 characters; SageMaker takes at most 2500`,
            "models.m-a.training.instanceCount: 2 must be 1 with the platform's train.py, which trains on one instance (bring a distributed script with training.sourceDir)",
            'models.m-a.training.instanceType: "ml.p2.xlarge" has K80 GPUs, which the PyTorch 2 containers do not support; use ml.g4dn, ml.g5 or ml.p3 (for example ml.g4dn.xlarge)',
            'models.m-b.training.sourceDir: "/abs" must be a folder inside the project, as a relative path such as models/dog-breeds',
            `models.m-c.training.sourceDir: "no-such-folder" is not a folder (looked for ${process.cwd()}/no-such-folder)`,
            'models.m-d.training.sourceDir: "infra" has no train.py, the script the training job runs',
            `models.m-e.training.hyperparameters: ${JSON.stringify(manyHyperparameters)} has 91 entries; a training job takes 100 hyperparameters, 10 of them set by the platform`,
            'models.m-h.training.architecture: "resnt50" is not a torchvision classification model; did you mean resnet50?; for example resnet50, efficientnet_b0, vit_b_16 (with training.sourceDir your own train.py may take other names)',
            'models.m-i.training.architecture: "banana" is not a torchvision classification model; for example resnet50, efficientnet_b0, vit_b_16 (with training.sourceDir your own train.py may take other names)',
            "models.m-f.imageShape: [3,16,16] must be at least 32x32 with training.algorithm pytorch: torchvision's networks downsample by 32",
            "models.m-g.imageShape: [3,64,64] must be [3, 224, 224] for vit_b_16, whose position embeddings are built for 224x224 images; or choose another architecture",
            "models.m-a.training.numLayers: 50 applies to the built-in algorithm only; with pytorch the network is training.architecture (e.g. resnet50)",
            'models.m-a.training.augmentationType: "crop" applies to the built-in algorithm only; with pytorch set training.hyperparameters.augmentation (none, crop, crop_flip)',
        ]);
    });

    it("a model's classes, shape, quality, endpoint, monitoring and inference keys", () => {
        expect(
            problemsOf(
                staging({
                    "m-a": model({
                        classes: "x",
                        imageShape: "x",
                        quality: {},
                        endpoint: {
                            instanceType: 4,
                            instanceCount: 0,
                            dataCapturePercent: "x",
                            modelPackageArn: "arn",
                            latencyP99Ms: 0,
                            autoscaling: { minCapacity: "x", maxCapacity: 0, targetInvocationsPerInstance: 1.5 },
                        },
                        monitoring: {
                            schedule: "weekly",
                            retrainAfterPeriods: 25,
                            imageSampleSize: 200000,
                            instanceCount: 21,
                            unjudgedPeriods: 25,
                            alertEmails: "x",
                            drift: { chiSquarePValue: "x", lowConfidenceRate: 2, decodeErrorRate: -0.5, accuracyDrop: 3, minRecords: 0 },
                        },
                        inference: {
                            confidenceThreshold: 2,
                            confidenceMargin: "x",
                            topK: 21,
                            reviewTimeoutSeconds: 400 * 86400,
                            reviewHeartbeatSeconds: 100,
                            reviewBatchSize: 1001,
                            reviewBatchSchedule: "daily",
                            triggerPrefix: "/x",
                        },
                    }),
                    "m-b": model({
                        classes: ["a", 5, "c"],
                        imageShape: [2, 4, 2000],
                        endpoint: { dataCapturePercent: 1.5, instanceType: "ml.g4dn.48xlarge" },
                        quality: { minAccuracy: "x", maxRegression: 2 },
                    }),
                    "m-c": model({ classes: classes1001, imageShape: [3, 2000, 4], endpoint: { instanceType: "ml.m5.24xlarge" } }),
                    "m-d": model({ imageShape: [3, 224] }),
                }),
            ),
        ).to.deep.equal([
            'models.m-a.classes: "x" must be a list of class names',
            'models.m-a.classes: "x" needs at least 2 classes',
            'models.m-a.imageShape: "x" must be [channels, height, width], for example [3, 224, 224]',
            "models.m-a.quality.minAccuracy: missing is required (must be a number from 0 to 1 (accuracy))",
            "models.m-a.endpoint.instanceType: 4 must be a SageMaker instance type such as ml.m5.large",
            "models.m-a.endpoint.instanceCount: 0 must be >= 1 (instances)",
            'models.m-a.endpoint.autoscaling.minCapacity: "x" must be a whole number >= 1 (instances)',
            "models.m-a.endpoint.autoscaling.maxCapacity: 0 must be >= 1 (instances)",
            "models.m-a.endpoint.autoscaling.targetInvocationsPerInstance: 1.5 must be a whole number (invocations per instance per minute)",
            'models.m-a.endpoint.dataCapturePercent: "x" must be a whole number from 1 to 100',
            'models.m-a.endpoint.modelPackageArn: "arn" must be a model package version ARN such as arn:aws:sagemaker:us-east-1:123456789012:model-package/my-group/3',
            "models.m-a.endpoint.latencyP99Ms: 0 must be >= 1 (milliseconds)",
            'models.m-a.monitoring.schedule: "weekly" must be hourly or daily',
            'models.m-a.monitoring.drift.chiSquarePValue: "x" must be a number from 0 to 1 (p-value)',
            "models.m-a.monitoring.drift.lowConfidenceRate: 2 must be from 0 to 1 (share of requests)",
            "models.m-a.monitoring.drift.decodeErrorRate: -0.5 must be from 0 to 1 (share of requests)",
            "models.m-a.monitoring.drift.accuracyDrop: 3 must be from 0 to 1 (accuracy points)",
            "models.m-a.monitoring.drift.minRecords: 0 must be >= 1 (records)",
            "models.m-a.monitoring.retrainAfterPeriods: 25 must be at most 24",
            "models.m-a.monitoring.imageSampleSize: 200000 must be at most 100000",
            "models.m-a.monitoring.instanceCount: 21 must be at most 20",
            "models.m-a.monitoring.unjudgedPeriods: 25 must be at most 24",
            'models.m-a.monitoring.alertEmails: "x" must be a list of e-mail addresses',
            "models.m-a.inference.confidenceThreshold: 2 must be from 0 to 1 (confidence)",
            'models.m-a.inference.confidenceMargin: "x" must be a number from 0 to 1 (confidence points)',
            "models.m-a.inference.topK: 21 must be <= 20 (classes)",
            "models.m-a.inference.reviewTimeoutSeconds: 34560000 must be <= 31536000 (a Standard execution's year)",
            "models.m-a.inference.reviewHeartbeatSeconds: 100 must be >= 300 (seconds)",
            "models.m-a.inference.reviewBatchSize: 1001 must be <= 1000 (images)",
            'models.m-a.inference.reviewBatchSchedule: "daily" must be an EventBridge schedule such as rate(1 day) or cron(0 6 * * ? *)',
            'models.m-a.inference.triggerPrefix: "/x" must be a key prefix ending in "/" without a leading "/", e.g. incoming/traffic-signs/',
            "models.m-b.classes.1: 5 class names must be strings",
            "models.m-b.imageShape.0: 2 channels must be 1 or 3",
            "models.m-b.imageShape.1: 4 height must be >= 8",
            "models.m-b.imageShape.2: 2000 width must be <= 1024",
            'models.m-b.quality.minAccuracy: "x" must be a number from 0 to 1 (accuracy)',
            "models.m-b.quality.maxRegression: 2 must be from 0 to 1 (accuracy points)",
            'models.m-b.endpoint.instanceType: "ml.g4dn.48xlarge" is not a SageMaker real-time endpoint instance type; did you mean ml.g4dn.4xlarge or ml.g4dn.8xlarge?',
            "models.m-b.endpoint.dataCapturePercent: 1.5 must be a whole number from 1 to 100",
            `models.m-c.classes: ${JSON.stringify(classes1001)} allows at most 1000 classes`,
            "models.m-c.imageShape.1: 2000 height must be <= 1024",
            "models.m-c.imageShape.2: 4 width must be >= 8",
            'models.m-c.endpoint.instanceType: "ml.m5.24xlarge" has no price in infra/prices.ts for endpoint use; priced endpoint instances: ml.t2.medium, ml.m5.{large,xlarge,2xlarge,4xlarge}, ml.c5.{large,xlarge,2xlarge,4xlarge}, ml.g4dn.{xlarge,2xlarge,4xlarge,8xlarge,12xlarge,16xlarge}, ml.g5.{xlarge,2xlarge,4xlarge,8xlarge,12xlarge,24xlarge,48xlarge}, ml.p3.{2xlarge,8xlarge,16xlarge} (add a row with its source to use another)',
            "models.m-d.imageShape: [3,224] must be [channels, height, width], for example [3, 224, 224]",
        ]);
    });

    it("rules across a model's keys", () => {
        expect(
            problemsOf(
                staging(
                    {
                        "m-a": model({
                            inference: {
                                reviewTimeoutSeconds: 3600,
                                reviewHeartbeatSeconds: 3600,
                                triggerPrefix: "traffic-signs/batches/",
                            },
                            endpoint: { instanceCount: 5, autoscaling: { minCapacity: 3, maxCapacity: 2 } },
                        }),
                        Bad_Name: model(),
                    },
                    { promotion: { removeEndpoints: [] } },
                ),
            ),
        ).to.deep.equal([
            "models.m-a.inference.reviewHeartbeatSeconds: 3600 must be below reviewTimeoutSeconds (3600); a heartbeat longer than the wait never matters",
            'models.m-a.inference.triggerPrefix: "traffic-signs/batches/" "traffic-signs/batches/" lies in a model\'s training data or review queue; drop images somewhere else, e.g. incoming/<model>/',
            "models.m-a.endpoint.autoscaling.minCapacity: 3 must be <= maxCapacity (2)",
            "models.m-a.endpoint.instanceCount: 5 must be within autoscaling bounds 3..2",
            'models.Bad_Name: {"classes":["stop","yield"],"imageShape":[3,224,224],"quality":{"minAccuracy":0.9}} model names must be 2-48 characters of lowercase letters, digits and hyphens, starting with a letter',
            'promotion: {"removeEndpoints":[]} applies to prod only; staging serves the newest registered package',
        ]);
    });

    it("the web keys", () => {
        expect(
            problemsOf(
                staging({ "m-a": model() }, { web: { public: "yes", rateLimit: "x", burstLimit: 6000, wafRequestsPer5Minutes: "x" } }),
            ),
        ).to.deep.equal([
            'web.public: "yes" must be true or false',
            'web.rateLimit: "x" must be a number',
            "web.burstLimit: 6000 must be <= 5000 (API Gateway's default account burst)",
            'web.wafRequestsPer5Minutes: "x" must be a number',
        ]);
    });

    it("the web limits' lower bounds", () => {
        expect(problemsOf(staging({ "m-a": model() }, { web: { rateLimit: 0, wafRequestsPer5Minutes: 10.5 } }))).to.deep.equal([
            "web.rateLimit: 0 must be a positive number of requests per second",
            "web.wafRequestsPer5Minutes: 10.5 must be a whole number",
        ]);
    });

    it("the web limits' upper bounds", () => {
        expect(problemsOf(staging({ "m-a": model() }, { web: { rateLimit: 20000, wafRequestsPer5Minutes: 5 } }))).to.deep.equal([
            "web.rateLimit: 20000 must be <= 10000 (API Gateway's default account limit)",
            "web.wafRequestsPer5Minutes: 5 must be >= 10 (WAF's smallest rate-based limit)",
        ]);
    });

    it("the stack-wide keys", () => {
        expect(
            problemsOf({
                environment: "dev",
                region: 5,
                tags: { a: 1 },
                alerts: { emails: ["x"] },
                budget: { monthlyUsd: -1, filter: "x" },
                promotion: { sourceStack: "a b", removeEndpoints: "x" },
                monitoring: { engine: "x" },
                models: "x",
                extra: 1,
            }),
        ).to.deep.equal([
            'environment: "dev" must be one of staging, prod',
            "aws:region: 5 is required (set aws:region), for example us-east-1",
            "tags.a: 1 tag values must be strings",
            'alerts.emails.0: "x" must be an e-mail address such as ml-oncall@example.com',
            "budget.monthlyUsd: -1 must be a positive amount in USD",
            'budget.filter: "x" must be one of tag, account',
            'promotion.sourceStack: "a b" must be a stack name such as my-org/vision-mlops/staging',
            'promotion.removeEndpoints: "x" must be a list of model names',
            'monitoring.engine: "x" must be pipeline or model-monitor',
            'models: "x" must be a map of model name to model settings',
            "extra: 1 is not a known setting; allowed here: environment, region, tags, alerts, budget, promotion, monitoring, models, web",
        ]);
    });

    it("prod's rules", () => {
        expect(
            problemsOf({
                environment: "prod",
                region: "us-east-1",
                models: {
                    "m-a": model({
                        monitoring: { retrainAfterPeriods: 3 },
                        endpoint: { autoscaling: { minCapacity: 1, maxCapacity: 3 }, instanceCount: 2 },
                    }),
                    "m-b": model(),
                },
                promotion: { removeEndpoints: ["m-a", "zz"] },
            }),
        ).to.deep.equal([
            "models.m-a.monitoring.retrainAfterPeriods: 3 applies to staging only: prod trains nothing, so drift in prod cannot start a retraining; set it in the staging stack file",
            "models.m-a.endpoint.autoscaling.minCapacity: 1 must be >= 2 in prod (Security Hub SageMaker.4)",
            "models.m-b.endpoint.instanceCount: 1 (the default) must be >= 2 in prod (Security Hub SageMaker.4: prod variants need more than one instance)",
            'promotion.removeEndpoints.1: "zz" is not a model of this stack; it has: m-a, m-b (a model taken out of models loses its endpoint anyway)',
        ]);
    });

    it("a missing budget amount and environment, a misspelt region, unknown keys", () => {
        expect(
            problemsOf({ region: "eu-wast-1", budget: {}, models: { "m-a": model() }, extra: 1, other: 2, web: { x: 1, y: 2 } }),
        ).to.deep.equal([
            "environment: missing must be one of staging, prod",
            'aws:region: "eu-wast-1" must be an AWS region such as us-east-1, one where SageMaker is available; did you mean eu-west-1?',
            "budget.monthlyUsd: missing is required (expected number, received undefined)",
            'web: ["x","y"] are not known settings; allowed here: public, rateLimit, burstLimit, wafRequestsPer5Minutes',
            '(root): ["extra","other"] are not known settings; allowed here: environment, region, tags, alerts, budget, promotion, monitoring, models, web',
        ]);
    });

    it("no models, and promotion in staging", () => {
        expect(problemsOf(staging({}, { promotion: {} }))).to.deep.equal([
            "models: {} must declare at least one model",
            "promotion: {} applies to prod only; staging serves the newest registered package",
        ]);
    });

    it("a stack config that is not an object", () => {
        expect(problemsOf("nope")).to.deep.equal(['(root): "nope" Invalid input: expected object, received string']);
    });

    it("states how many problems there are and that nothing was deployed, with the file they are in", () => {
        expect(errorOf(() => parsePlatformConfig(staging({})))).to.equal(
            "stack config has 1 problem; nothing was deployed:\n  - models: {} must declare at least one model",
        );
        expect(errorOf(() => parsePlatformConfig(staging({}, { promotion: {} }), "Pulumi.staging.yaml"))).to.equal(
            "Pulumi.staging.yaml has 2 problems; nothing was deployed:\n" +
                "  - models: {} must declare at least one model\n" +
                "  - promotion: {} applies to prod only; staging serves the newest registered package",
        );
    });

    it("refuses Pulumi config keys outside the project's namespace", () => {
        expect(
            errorOf(() => fromPulumiConfig({ "aws:region": "us-east-1", "other:key": "x", "vision-mlops:models": "{}", k: "[1" })),
        ).to.equal(
            "stack config has 2 problems; nothing was deployed:\n" +
                '  - other:key: "x" is not a vision-mlops setting; use the vision-mlops: namespace\n' +
                '  - k: "[1" is not a vision-mlops setting; use the vision-mlops: namespace',
        );
    });
});

/** The message of the ConfigError `run` throws. */
function errorOf(run: () => unknown): string {
    try {
        run();
    } catch (e) {
        expect(e).to.be.instanceOf(ConfigError);
        return (e as ConfigError).message;
    }
    throw new Error("config was accepted");
}
