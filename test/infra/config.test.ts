import { expect } from "chai";
import { ConfigError, fromPulumiConfig, parsePlatformConfig, PlatformConfig } from "../../infra/config";
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { readStackFile, StackFileError, stackFilePath } from "../../infra/stack-file";
import { problemsOf } from "../support/config-problems";

/** A minimal valid staging config; each case below breaks one thing. */
function base(): any {
    return {
        environment: "staging",
        region: "us-east-1",
        models: {
            "traffic-signs": { classes: ["stop", "yield"], imageShape: [3, 224, 224], quality: { minAccuracy: 0.9 } },
        },
    };
}

describe("stack config", () => {
    it("reports the monitoring limits components used to refuse one at a time, together, with the key and value", () => {
        const c = base();
        c.monitoring = { engine: "model-monitor" };
        c.models["traffic-signs"].monitoring = { schedule: "daily", retrainAfterPeriods: 8, unjudgedPeriods: 9, instanceCount: 2 };
        expect(problemsOf(c)).to.deep.equal([
            "models.traffic-signs.monitoring.retrainAfterPeriods: 8 daily periods are more than CloudWatch's 7-day alarm range; use at most 7 with a daily schedule",
            "models.traffic-signs.monitoring.unjudgedPeriods: 9 daily periods are more than CloudWatch's 7-day alarm range; use at most 7 with a daily schedule",
            "models.traffic-signs.monitoring.instanceCount: 2 instances need the pipeline engine (monitoring.engine: pipeline); a Model Monitor schedule runs one job with no merge step",
        ]);
        c.monitoring = { engine: "pipeline" };
        c.models["traffic-signs"].monitoring = { schedule: "hourly", retrainAfterPeriods: 24, unjudgedPeriods: 24, instanceCount: 2 };
        expect(() => parsePlatformConfig(c), "a day of hourly runs, sharded by the pipeline engine, is fine").to.not.throw();
    });

    it("refuses retraining on drift in prod, which trains nothing: no alarm promising a retraining that cannot start", () => {
        const c = base();
        c.environment = "prod";
        c.models["traffic-signs"].endpoint = { instanceCount: 2 };
        c.models["traffic-signs"].monitoring = { retrainAfterPeriods: 6 };
        expect(problemsOf(c)).to.deep.equal([
            "models.traffic-signs.monitoring.retrainAfterPeriods: 6 applies to staging only: prod trains nothing, so drift in prod cannot start a retraining; set it in the staging stack file",
        ]);
    });

    it("accepts both shipped stack files and fills defaults", () => {
        const staging = readStackFile(".", "staging");
        const prod = readStackFile(".", "prod");
        expect(Object.keys(staging.models)).to.deep.equal(["traffic-signs", "bikes-vs-motorcycles", "dog-breeds", "birds-200"]);
        expect(staging.models["traffic-signs"].classes).to.have.length(43);
        expect(staging.models["traffic-signs"].quality.minAccuracy).to.equal(0.9);
        expect(staging.models["bikes-vs-motorcycles"].imageShape).to.deep.equal([3, 32, 32]);
        expect(staging.models["bikes-vs-motorcycles"].inference.confidenceThreshold).to.equal(0.93);
        expect(staging.monitoring.engine).to.equal("pipeline");
        expect(prod.promotion?.sourceStack, "prod reads <its organization>/vision-mlops/staging by default").to.equal(undefined);
        for (const m of Object.values(prod.models)) expect(m.endpoint.instanceCount).to.be.at.least(2);
    });

    it("states defaults once: spot GPU training, split, thresholds", () => {
        const c: PlatformConfig = parsePlatformConfig(base());
        const m = c.models["traffic-signs"];
        expect(m.training).to.include({ instanceType: "ml.g4dn.xlarge", spot: true, maxRuntimeSeconds: 14400, epochs: 30, numLayers: 18 });
        expect(m.training.split).to.deep.equal({ validation: 0.1, test: 0.1 });
        expect(m.quality.maxRegression).to.equal(0.01);
        expect(m.monitoring.drift.classPsi).to.equal(0.1);
        expect(m.endpoint.dataCapturePercent).to.equal(undefined, "capture percent defaults per environment, not in the schema");
    });

    const cases: Array<[string, (c: any) => void, string]> = [
        [
            "a CPU training instance",
            (c) => {
                c.models["traffic-signs"].training = { instanceType: "ml.m5.xlarge" };
            },
            'models.traffic-signs.training.instanceType: "ml.m5.xlarge" is not a GPU instance, which policy rule sagemaker-training-gpu requires; the image-classification algorithm trains on ml.p2, ml.p3, ml.p3dn, ml.g4dn, ml.g5 (for example ml.g4dn.xlarge)',
        ],
        [
            "capture percent above 100",
            (c) => {
                c.models["traffic-signs"].endpoint = { dataCapturePercent: 150 };
            },
            "models.traffic-signs.endpoint.dataCapturePercent: 150 must be from 1 to 100",
        ],
        [
            "an accuracy threshold above 1",
            (c) => {
                c.models["traffic-signs"].quality.minAccuracy = 90;
            },
            "models.traffic-signs.quality.minAccuracy: 90 must be from 0 to 1 (accuracy)",
        ],
        [
            "a misspelt key",
            (c) => {
                c.models["traffic-signs"].training = { epoch: 3 };
            },
            "models.traffic-signs.training.epoch: 3 is not a known setting; allowed here: instanceType, instanceCount, spot",
        ],
        [
            "a missing class list",
            (c) => {
                delete c.models["traffic-signs"].classes;
            },
            "models.traffic-signs.classes: missing is required",
        ],
        [
            "one class",
            (c) => {
                c.models["traffic-signs"].classes = ["stop"];
            },
            'models.traffic-signs.classes: ["stop"] needs at least 2 classes',
        ],
        [
            "duplicate classes",
            (c) => {
                c.models["traffic-signs"].classes = ["stop", "stop"];
            },
            'models.traffic-signs.classes: ["stop","stop"] has duplicate class names',
        ],
        [
            "an unknown environment",
            (c) => {
                c.environment = "dev";
            },
            'environment: "dev" must be one of staging, prod',
        ],
        [
            "a bad region",
            (c) => {
                c.region = "mars-1";
            },
            'region: "mars-1" must be an AWS region such as us-east-1',
        ],
        [
            "a spot wait shorter than the runtime",
            (c) => {
                c.models["traffic-signs"].training = { maxRuntimeSeconds: 7200, maxWaitSeconds: 3600 };
            },
            "models.traffic-signs.training.maxWaitSeconds: 3600 must be >= training.maxRuntimeSeconds (7200)",
        ],
        [
            "autoscaling min above max",
            (c) => {
                c.models["traffic-signs"].endpoint = { autoscaling: { minCapacity: 3, maxCapacity: 2 } };
            },
            "models.traffic-signs.endpoint.autoscaling.minCapacity: 3 must be <= maxCapacity (2)",
        ],
        [
            "a model name with capitals",
            (c) => {
                c.models.TrafficSigns = c.models["traffic-signs"];
                delete c.models["traffic-signs"];
            },
            "models.TrafficSigns: {",
        ],
        [
            "a pinned package that is not a version ARN",
            (c) => {
                c.models["traffic-signs"].endpoint = { modelPackageArn: "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/x" };
            },
            "must be a model package version ARN such as arn:aws:sagemaker:us-east-1:123456789012:model-package/my-group/3",
        ],
        [
            "no models",
            (c) => {
                c.models = {};
            },
            "models: {} must declare at least one model",
        ],
        [
            "a promotion source in staging",
            (c) => {
                c.promotion = { sourceStack: "org/vision-mlops/staging" };
            },
            'promotion: {"sourceStack":"org/vision-mlops/staging"} applies to prod only',
        ],
        [
            "an invalid e-mail",
            (c) => {
                c.alerts = { emails: ["oncall"] };
            },
            'alerts.emails.0: "oncall" must be an e-mail address',
        ],
    ];
    // Values that used to pass and silently disabled a safety (a class name that is a path, a split that leaves
    // no test images, an instance type or region AWS does not have).
    const unsafe: Array<[string, (c: any) => void, string]> = [
        [
            "a class name with a slash",
            (c) => {
                c.models["traffic-signs"].classes = ["stop", "speed/limit"];
            },
            'models.traffic-signs.classes.1: "speed/limit" must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit (class names become folder names and S3 key segments)',
        ],
        [
            "a class name that is a parent-folder reference",
            (c) => {
                c.models["traffic-signs"].classes = ["stop", ".."];
            },
            'models.traffic-signs.classes.1: ".." must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit',
        ],
        [
            "a class name with a newline",
            (c) => {
                c.models["traffic-signs"].classes = ["stop\nsign", "yield"];
            },
            'models.traffic-signs.classes.0: "stop\\nsign" must be 1-64 letters, digits, ".", "_" or "-"',
        ],
        [
            "class names that differ only in case",
            (c) => {
                c.models["traffic-signs"].classes = ["Stop", "stop", "yield"];
            },
            'models.traffic-signs.classes: ["Stop","stop","yield"] has class names that differ only in case (Stop, stop)',
        ],
        [
            "a split that holds out no test images",
            (c) => {
                c.models["traffic-signs"].training = { split: { validation: 0.1, test: 0 } };
            },
            "models.traffic-signs.training.split.test: 0 must be > 0: every class needs at least one test image for the quality gate to judge " +
                "(and one validation image), so each class needs at least 3 images",
        ],
        [
            "a split that holds out no validation images",
            (c) => {
                c.models["traffic-signs"].training = { split: { validation: 0, test: 0 } };
            },
            "models.traffic-signs.training.split.validation: 0 must be > 0",
        ],
        [
            "a misspelt training instance type",
            (c) => {
                c.models["traffic-signs"].training = { instanceType: "ml.g4dn.xlarg" };
            },
            'models.traffic-signs.training.instanceType: "ml.g4dn.xlarg" is not a SageMaker training instance type; did you mean ml.g4dn.xlarge?',
        ],
        [
            "a misspelt processing instance type",
            (c) => {
                c.models["traffic-signs"].training = { processingInstanceType: "ml.m5.xlargee" };
            },
            'models.traffic-signs.training.processingInstanceType: "ml.m5.xlargee" is not an instance type of both SageMaker Processing and Batch Transform; did you mean ml.m5.xlarge?',
        ],
        [
            "a misspelt endpoint instance type",
            (c) => {
                c.models["traffic-signs"].endpoint = { instanceType: "ml.m5.lage" };
            },
            'models.traffic-signs.endpoint.instanceType: "ml.m5.lage" is not a SageMaker real-time endpoint instance type; did you mean ml.m5.large?',
        ],
        [
            "a region that does not exist",
            (c) => {
                c.region = "us-east-8";
            },
            'aws:region: "us-east-8" must be an AWS region such as us-east-1, one where SageMaker is available; did you mean us-east-1 or us-east-2?',
        ],
        [
            "a minimum image side of 0",
            (c) => {
                c.models["traffic-signs"].training = { minImageSide: 0 };
            },
            "models.traffic-signs.training.minImageSide: 0 must be >= 1 (pixels)",
        ],
    ];
    it("lists every unsafe value of a stack file in one error", () => {
        const c = base();
        const m = c.models["traffic-signs"];
        m.classes = ["stop", "a/b"];
        m.training = { instanceType: "ml.g4dn.xlarg", split: { validation: 0.1, test: 0 } };
        m.endpoint = { instanceType: "ml.m5.lage" };
        c.region = "eu-wast-1";
        try {
            parsePlatformConfig(c, "Pulumi.staging.yaml");
            expect.fail("accepted");
        } catch (e) {
            expect((e as ConfigError).problems.map((p) => p.path)).to.have.members([
                "models.traffic-signs.classes.1",
                "models.traffic-signs.training.instanceType",
                "models.traffic-signs.training.split.test",
                "models.traffic-signs.endpoint.instanceType",
                "aws:region",
            ]);
        }
    });

    it("accepts a minimum image side and carries it into the model's settings", () => {
        const c = base();
        c.models["traffic-signs"].training = { minImageSide: 24 };
        expect(parsePlatformConfig(c).models["traffic-signs"].training.minImageSide).to.equal(24);
        expect(parsePlatformConfig(base()).models["traffic-signs"].training.minImageSide).to.equal(undefined);
    });

    for (const [what, mutate, expected] of [...cases, ...unsafe]) {
        it(`reports ${what} with key, value and what is allowed`, () => {
            const c = base();
            mutate(c);
            const problems = problemsOf(c);
            expect(
                problems.some((p) => p.includes(expected)),
                `got:\n${problems.join("\n")}`,
            ).to.equal(true);
        });
    }

    it("prod needs two instances per endpoint, reporting defaults as such", () => {
        const c = base();
        c.environment = "prod";
        const problems = problemsOf(c);
        expect(problems).to.deep.equal([
            "models.traffic-signs.endpoint.instanceCount: 1 (the default) must be >= 2 in prod (Security Hub SageMaker.4: prod variants need more than one instance)",
        ]);
    });

    it("web: signed in and throttled by default; public, limits and WAF rate validated with the key and what is allowed", () => {
        expect(parsePlatformConfig(base()).web).to.deep.equal({
            public: false,
            rateLimit: 10,
            burstLimit: 20,
            wafRequestsPer5Minutes: 300,
        });
        const open = parsePlatformConfig({ ...base(), web: { public: true, rateLimit: 2.5, wafRequestsPer5Minutes: 100 } }).web;
        expect(open).to.deep.equal({ public: true, rateLimit: 2.5, burstLimit: 20, wafRequestsPer5Minutes: 100 });
        const problems = problemsOf({
            ...base(),
            web: { public: "yes", rateLimit: 0, burstLimit: 1.5, wafRequestsPer5Minutes: 5, cors: true },
        });
        expect(problems).to.have.members([
            'web.public: "yes" must be true or false',
            "web.rateLimit: 0 must be a positive number of requests per second",
            "web.burstLimit: 1.5 must be a whole number (burst)",
            "web.wafRequestsPer5Minutes: 5 must be >= 10 (WAF's smallest rate-based limit)",
            "web.cors: true is not a known setting; allowed here: public, rateLimit, burstLimit, wafRequestsPer5Minutes",
        ]);
    });

    it("reports three mistakes together in one error", () => {
        const c = base();
        c.models["traffic-signs"].training = { instanceType: "ml.c5.xlarge" };
        c.models["traffic-signs"].endpoint = { dataCapturePercent: 0 };
        c.region = "nowhere";
        try {
            parsePlatformConfig(c, "Pulumi.staging.yaml");
            expect.fail("accepted");
        } catch (e) {
            const err = e as ConfigError;
            expect(err.problems.map((p) => p.path)).to.have.members([
                "models.traffic-signs.training.instanceType",
                "models.traffic-signs.endpoint.dataCapturePercent",
                "aws:region",
            ]);
            expect(err.message).to.match(/^Pulumi\.staging\.yaml has 3 problems; nothing was deployed:\n {2}- /);
        }
    });

    it("reads Pulumi's flattened keys, JSON-encoded objects included, and rejects foreign namespaces", () => {
        const flat = {
            "aws:region": "eu-west-1",
            "vision-mlops:environment": "staging",
            "vision-mlops:models": JSON.stringify(base().models),
        };
        const c = parsePlatformConfig(fromPulumiConfig(flat));
        expect(c.region).to.equal("eu-west-1");
        expect(c.models["traffic-signs"].classes).to.deep.equal(["stop", "yield"]);
        expect(() => fromPulumiConfig({ ...flat, "visionmlops:models": "{}" })).to.throw(
            ConfigError,
            /visionmlops:models: \{\} is not a vision-mlops setting/,
        );
    });
});

describe("readStackFile: Pulumi.<stack>.yaml read and checked without the engine", () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "stack-file-"))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));
    const failure = (stack: string): Error => {
        try {
            readStackFile(dir, stack);
        } catch (e) {
            return e as Error;
        }
        throw new Error("expected readStackFile to refuse the file");
    };

    it("a missing file or a file that is not YAML is an operator error naming the file", () => {
        expect(stackFilePath("/p", "prod")).to.equal(join("/p", "Pulumi.prod.yaml"));
        const missing = failure("qa");
        expect(missing).to.be.instanceOf(StackFileError);
        expect(missing.name).to.equal("StackFileError");
        expect(missing.message).to.equal(
            `no stack file ${join(dir, "Pulumi.qa.yaml")}; stacks are named by their Pulumi.<stack>.yaml (for example staging or prod)`,
        );
        writeFileSync(join(dir, "Pulumi.qa.yaml"), "config: [unclosed\n");
        const broken = failure("qa");
        expect(broken).to.be.instanceOf(StackFileError);
        expect(broken.message.startsWith(`${join(dir, "Pulumi.qa.yaml")} is not valid YAML: `), broken.message).to.equal(true);
    });

    it("names the file in every problem: an empty file, and keys outside the project's namespace", () => {
        writeFileSync(join(dir, "Pulumi.qa.yaml"), "");
        const empty = failure("qa");
        expect(empty).to.be.instanceOf(ConfigError);
        expect(empty.message).to.match(/^Pulumi\.qa\.yaml has \d+ problems?; nothing was deployed:/);
        writeFileSync(join(dir, "Pulumi.qa.yaml"), "config:\n  aws:region: us-east-1\n  other:models: x\n");
        const outside = failure("qa");
        expect(outside).to.be.instanceOf(ConfigError);
        expect(outside.message).to.match(/^Pulumi\.qa\.yaml has 1 problem; nothing was deployed:\n {2}- other:models/);
    });
});
