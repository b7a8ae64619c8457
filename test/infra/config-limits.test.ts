import { expect } from "chai";
import { defaultCapturePercent, parsePlatformConfig } from "../../infra/config";
import { problemsOf } from "../support/config-problems";

/**
 * Every bound of the stack config, pinned from both sides: the last value AWS (or the platform) takes is
 * accepted, the first one past it is refused with exactly the message the person deploying reads. The limits
 * are written out here from the services' documented quotas, not read from the schema.
 */

const MODEL = "traffic-signs";

function base(): any {
    return {
        environment: "staging",
        region: "us-east-1",
        models: { [MODEL]: { classes: ["stop", "yield"], imageShape: [3, 224, 224], quality: { minAccuracy: 0.9 } } },
    };
}

/** Sets `value` at a dotted key path (numeric parts index arrays), creating the objects on the way. */
function withValue(path: string, value: unknown, c: any = base()): any {
    const keys = path.split(".");
    let cur = c;
    keys.slice(0, -1).forEach((key, i) => (cur = cur[key] ??= /^\d+$/.test(keys[i + 1]) ? [] : {}));
    cur[keys[keys.length - 1]] = value;
    return c;
}

/** [key path, a value that is accepted, a value that is refused, the message after `<path>: <value> `]. */
type Limit = readonly [path: string, accepted: unknown, refused: unknown, message: string];

const m = (key: string) => `models.${MODEL}.${key}`;
const YEAR_SECONDS = 365 * 24 * 3600;

const limits: readonly Limit[] = [
    // CreateTrainingJob's quotas and the platform's training settings.
    [m("training.instanceCount"), 8, 9, "must be at most 8"],
    [m("training.instanceCount"), 1, 0, "must be >= 1 (training instances)"],
    [m("training.instanceCount"), 2, 1.5, "must be a whole number (training instances)"],
    [m("training.instanceCount"), 2, "2", "must be a whole number >= 1 (training instances)"],
    [m("training.maxRuntimeSeconds"), 28 * 24 * 3600, 28 * 24 * 3600 + 1, "must be at most 28 days (2419200)"],
    [m("training.volumeSizeGb"), 16384, 16385, "must be at most 16384"],
    [m("training.epochs"), 1000, 1001, "must be at most 1000"],
    [m("training.numLayers"), 200, 19, "must be one of 18, 34, 50, 101, 152, 200 (pretrained ResNet depths)"],
    [m("training.learningRate"), 1, 1.01, "must be <= 1"],
    [m("training.learningRate"), 1e-6, 0, "must be > 0"],
    [m("training.learningRate"), 0.1, "0.1", "must be a number"],
    [m("training.miniBatchSize"), 4096, 4097, "must be at most 4096"],
    [m("training.augmentationType"), "crop", "flip", "must be one of none, crop, crop_color, crop_color_transform"],
    [m("training.minImageSide"), 4096, 4097, "must be at most 4096 (pixels)"],
    [m("training.retrainSchedule"), "rate(7 days)", "rate(1 week)", "must be rate(N minutes|hours|days) or cron(...)"],
    [m("training.retrainSchedule"), "cron(0 6 ? * MON *)", "weekly", "must be rate(N minutes|hours|days) or cron(...)"],
    [m("training.seed"), -3, 0.5, "must be a whole number"],
    [m("training.earlyStopping.patience"), 1, 0, "must be >= 1 (epochs)"],
    [m("training.algorithm"), "builtin", "keras", "must be one of builtin, pytorch"],
    // Endpoints.
    [m("endpoint.dataCapturePercent"), 1, 0, "must be from 1 to 100"],
    [m("endpoint.dataCapturePercent"), 100, 100.5, "must be a whole number from 1 to 100"],
    [m("endpoint.latencyP99Ms"), 1, 0, "must be >= 1 (milliseconds)"],
    // Monitoring: CloudWatch alarms evaluate at most a day of hourly periods; the sample and fleet caps.
    [m("monitoring.retrainAfterPeriods"), 24, 25, "must be at most 24"],
    [m("monitoring.unjudgedPeriods"), 24, 25, "must be at most 24"],
    [m("monitoring.imageSampleSize"), 100_000, 100_001, "must be at most 100000"],
    [m("monitoring.instanceCount"), 20, 21, "must be at most 20"],
    [m("monitoring.schedule"), "daily", "weekly", "must be hourly or daily"],
    [m("monitoring.alertEmails"), ["ml@example.com"], "ml@example.com", "must be a list of e-mail addresses"],
    [m("monitoring.alertEmails.0"), "ml@example.com", "ml@example", "must be an e-mail address such as ml-oncall@example.com"],
    [m("monitoring.drift.chiSquarePValue"), 1, 1.5, "must be from 0 to 1 (p-value)"],
    [m("monitoring.drift.chiSquarePValue"), 0, "0.01", "must be a number from 0 to 1 (p-value)"],
    [m("monitoring.drift.lowConfidenceRate"), 0, -0.1, "must be from 0 to 1 (share of requests)"],
    [m("monitoring.drift.accuracyDrop"), 1, 1.01, "must be from 0 to 1 (accuracy points)"],
    [m("monitoring.drift.minRecords"), 1, 0, "must be >= 1 (records)"],
    // The inference workflow: a Standard execution (and its task token) lives at most a year.
    [m("inference.topK"), 20, 21, "must be <= 20 (classes)"],
    [m("inference.reviewTimeoutSeconds"), YEAR_SECONDS, YEAR_SECONDS + 1, "must be <= 31536000 (a Standard execution's year)"],
    [m("inference.reviewHeartbeatSeconds"), 300, 299, "must be >= 300 (seconds)"],
    [m("inference.reviewBatchSize"), 1000, 1001, "must be <= 1000 (images)"],
    [
        m("inference.reviewBatchSchedule"),
        "rate(1 day)",
        "daily",
        "must be an EventBridge schedule such as rate(1 day) or cron(0 6 * * ? *)",
    ],
    [m("inference.confidenceThreshold"), 1, 1.2, "must be from 0 to 1 (confidence)"],
    [m("inference.confidenceMargin"), 0, -0.2, "must be from 0 to 1 (confidence points)"],
    [
        m("inference.triggerPrefix"),
        "incoming/traffic-signs/",
        "/incoming/",
        'must be a key prefix ending in "/" without a leading "/", e.g. incoming/traffic-signs/',
    ],
    [
        m("inference.triggerPrefix"),
        "incoming/",
        "incoming",
        'must be a key prefix ending in "/" without a leading "/", e.g. incoming/traffic-signs/',
    ],
    // The model itself.
    [m("classes"), ["a", "b"], "a,b", "must be a list of class names"],
    [m("classes.1"), "b", 2, "class names must be strings"],
    [
        m("classes.1"),
        "b".repeat(64),
        "b".repeat(65),
        'must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit (class names become folder names and S3 key segments)',
    ],
    [m("imageShape"), [1, 8, 8], "224x224", "must be [channels, height, width], for example [3, 224, 224]"],
    [m("imageShape.0"), 1, 2, "channels must be 1 or 3"],
    [m("imageShape.1"), 8, 7, "height must be >= 8"],
    [m("imageShape.1"), 1024, 1025, "height must be <= 1024"],
    [m("imageShape.2"), 8, 7, "width must be >= 8"],
    [m("imageShape.2"), 1024, 1025, "width must be <= 1024"],
    [m("quality.maxRegression"), 0, 1.5, "must be from 0 to 1 (accuracy points)"],
    // The prediction page: API Gateway's default account throttle and WAF's smallest rate limit.
    [`web.rateLimit`, 10_000, 10_001, "must be <= 10000 (API Gateway's default account limit)"],
    [`web.rateLimit`, 1, "1", "must be a number"],
    [`web.burstLimit`, 5_000, 5_001, "must be <= 5000 (API Gateway's default account burst)"],
    [`web.wafRequestsPer5Minutes`, 10, 10.5, "must be a whole number"],
    [`web.wafRequestsPer5Minutes`, 2_000_000_000, "300", "must be a number"],
    // The stack.
    ["tags.team", "vision", 7, "tag values must be strings"],
    ["alerts.emails.0", "oncall@example.com", "oncall", "must be an e-mail address such as ml-oncall@example.com"],
    ["budget.monthlyUsd", 0.01, 0, "must be a positive amount in USD"],
    ["monitoring.engine", "model-monitor", "clarify", "must be pipeline or model-monitor"],
    ["models", base().models, [], "must be a map of model name to model settings"],
];

describe("stack config limits", () => {
    for (const [path, accepted, refused, message] of limits) {
        it(`${path}: takes ${JSON.stringify(accepted)}, refuses ${JSON.stringify(refused)}`, () => {
            expect(() => parsePlatformConfig(withValue(path, accepted))).to.not.throw();
            expect(problemsOf(withValue(path, refused))).to.deep.equal([`${path}: ${JSON.stringify(refused)} ${message}`]);
        });
    }

    it("budget filter: tag or account, anything else reported at its own key", () => {
        expect(parsePlatformConfig(withValue("budget", { monthlyUsd: 100, filter: "account" })).budget?.filter).to.equal("account");
        expect(problemsOf(withValue("budget", { monthlyUsd: 100, filter: "service" }))).to.deep.equal([
            'budget.filter: "service" must be one of tag, account',
        ]);
    });

    it("split: validation + test may hold out up to 89% of a class, not 90%", () => {
        expect(() => parsePlatformConfig(withValue(m("training.split"), { validation: 0.39, test: 0.5 }))).to.not.throw();
        expect(problemsOf(withValue(m("training.split"), { validation: 0.4, test: 0.5 }))).to.deep.equal([
            `${m("training.split")}: {"validation":0.4,"test":0.5} validation + test must leave at least 10% of each class for training`,
        ]);
    });

    it("spot: a wait cap only with spot training, and no shorter than the runtime", () => {
        const training = (t: object) => withValue(m("training"), t);
        expect(() => parsePlatformConfig(training({ maxRuntimeSeconds: 3600, maxWaitSeconds: 3600 }))).to.not.throw();
        expect(problemsOf(training({ spot: false, maxWaitSeconds: 14400 }))).to.deep.equal([
            `${m("training.maxWaitSeconds")}: 14400 applies to spot training only; set spot: true or remove it`,
        ]);
        expect(problemsOf(training({ maxRuntimeSeconds: 3600, maxWaitSeconds: 3599 }))).to.deep.equal([
            `${m("training.maxWaitSeconds")}: 3599 must be >= training.maxRuntimeSeconds (3600)`,
        ]);
    });

    it("review: the heartbeat must be shorter than the wait", () => {
        const inference = (i: object) => withValue(m("inference"), i);
        expect(() => parsePlatformConfig(inference({ reviewTimeoutSeconds: 600, reviewHeartbeatSeconds: 599 }))).to.not.throw();
        expect(problemsOf(inference({ reviewTimeoutSeconds: 600, reviewHeartbeatSeconds: 600 }))).to.deep.equal([
            `${m("inference.reviewHeartbeatSeconds")}: 600 must be below reviewTimeoutSeconds (600); a heartbeat longer than the wait never matters`,
        ]);
    });

    it("trigger prefix: never inside a model's batches, review queue, latest pointer, datasets or inference results", () => {
        for (const folder of ["batches", "review", "latest", "datasets", "inference"]) {
            const prefix = `${MODEL}/${folder}/`;
            expect(problemsOf(withValue(m("inference.triggerPrefix"), prefix))).to.deep.equal([
                `${m("inference.triggerPrefix")}: "${prefix}" "${prefix}" lies in a model's training data or review queue; drop images somewhere else, e.g. incoming/<model>/`,
            ]);
        }
        for (const prefix of [`${MODEL}/incoming/`, `incoming/${MODEL}/batches/`, "batches/"])
            expect(() => parsePlatformConfig(withValue(m("inference.triggerPrefix"), prefix)), prefix).to.not.throw();
    });

    it("autoscaling: min may equal max, and the instance count lies within them", () => {
        const endpoint = (e: object) => withValue(m("endpoint"), e);
        expect(() => parsePlatformConfig(endpoint({ instanceCount: 2, autoscaling: { minCapacity: 2, maxCapacity: 2 } }))).to.not.throw();
        expect(problemsOf(endpoint({ instanceCount: 1, autoscaling: { minCapacity: 2, maxCapacity: 4 } }))).to.deep.equal([
            `${m("endpoint.instanceCount")}: 1 must be within autoscaling bounds 2..4`,
        ]);
        expect(problemsOf(endpoint({ instanceCount: 5, autoscaling: { minCapacity: 2, maxCapacity: 4 } }))).to.deep.equal([
            `${m("endpoint.instanceCount")}: 5 must be within autoscaling bounds 2..4`,
        ]);
        expect(
            problemsOf(endpoint({ autoscaling: { minCapacity: 1, maxCapacity: 2, scaleInCooldownSeconds: -1 } })).map(
                (p) => p.split(":")[0],
            ),
        ).to.deep.equal([m("endpoint.autoscaling.scaleInCooldownSeconds")]);
        expect(() =>
            parsePlatformConfig(endpoint({ autoscaling: { minCapacity: 1, maxCapacity: 1, scaleOutCooldownSeconds: 0 } })),
        ).to.not.throw();
    });

    it("prod: two instances at the least, autoscaled or not (Security Hub SageMaker.4)", () => {
        const prod = (e: object) => ({ ...withValue(m("endpoint"), e), environment: "prod" });
        expect(() => parsePlatformConfig(prod({ instanceCount: 2, autoscaling: { minCapacity: 2, maxCapacity: 3 } }))).to.not.throw();
        expect(problemsOf(prod({ instanceCount: 2, autoscaling: { minCapacity: 1, maxCapacity: 3 } }))).to.deep.equal([
            `${m("endpoint.autoscaling.minCapacity")}: 1 must be >= 2 in prod (Security Hub SageMaker.4)`,
        ]);
        expect(problemsOf(prod({ instanceCount: 1 }))).to.deep.equal([
            `${m("endpoint.instanceCount")}: 1 must be >= 2 in prod (Security Hub SageMaker.4: prod variants need more than one instance)`,
        ]);
        expect(() =>
            parsePlatformConfig(withValue(m("endpoint"), { instanceCount: 1, autoscaling: { minCapacity: 1, maxCapacity: 1 } })),
        ).to.not.throw();
    });

    it("classes: 2 to 1000", () => {
        const names = (n: number) => Array.from({ length: n }, (_, i) => `c${i}`);
        expect(() => parsePlatformConfig(withValue(m("classes"), names(1000)))).to.not.throw();
        const problems = problemsOf(withValue(m("classes"), names(1001)));
        expect(problems).to.have.length(1);
        expect(problems[0]).to.match(/^models\.traffic-signs\.classes: \["c0",.*"c1000"\] allows at most 1000 classes$/);
    });

    it("model names: 2-48 lowercase letters, digits and hyphens, starting with a letter and not ending in a hyphen", () => {
        const named = (name: string) => ({ ...base(), models: { [name]: base().models[MODEL] } });
        for (const name of ["ab", "a1", "a-b"]) expect(() => parsePlatformConfig(named(name)), name).to.not.throw();
        for (const name of ["a", "1a", "a-", "a_b", "aB"])
            expect(
                problemsOf(named(name)).map((p) => p.split(": ")[0]),
                name,
            ).to.deep.equal([`models.${name}`]);
    });

    it("unknown keys: one is named with what is allowed, several are listed together", () => {
        expect(problemsOf(withValue("web.cors", true))).to.deep.equal([
            "web.cors: true is not a known setting; allowed here: public, rateLimit, burstLimit, wafRequestsPer5Minutes",
        ]);
        const c = withValue("web.cors", true);
        c.web.origins = ["*"];
        expect(problemsOf(c)).to.deep.equal([
            'web: ["cors","origins"] are not known settings; allowed here: public, rateLimit, burstLimit, wafRequestsPer5Minutes',
        ]);
        expect(problemsOf({ ...base(), extra: 1 })[0]).to.match(
            /^extra: 1 is not a known setting; allowed here: environment, region, tags, /,
        );
    });

    it("a missing region names Pulumi's own key", () => {
        const c = base();
        delete c.region;
        expect(problemsOf(c)).to.deep.equal(["aws:region: missing is required (set aws:region), for example us-east-1"]);
    });

    it("captures every request in staging and 80% in prod unless a model sets its own share", () => {
        expect(defaultCapturePercent("staging")).to.equal(100);
        expect(defaultCapturePercent("prod")).to.equal(80);
    });
});
