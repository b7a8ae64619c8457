import { ProcessingInstanceType, ProductionVariantInstanceType, TrainingInstanceType } from "@aws-sdk/client-sagemaker";
import { expect } from "chai";
import { DEFAULT_MONITOR_INSTANCE } from "../../infra/monitoring/schedule";
import { ConfigError, formatProblem, parsePlatformConfig } from "../../infra/config";
import { SERVING_INSTANCE_TYPES } from "../../infra/pipeline/image-classification";
import {
    basisOf,
    BASE_PRICE_REGION,
    describeInstanceTypes,
    INSTANCE_PRICES,
    instancePrice,
    PRICE_SOURCES,
    PriceFigure,
    pricedInstanceTypes,
    SERVICE_PRICES,
    servicePrice,
    SPOT_SAVINGS,
} from "../../infra/prices";

/** A valid staging config with one instance type replaced. */
function configWith(use: "endpoint" | "training" | "processing", instanceType: string): unknown {
    const model: Record<string, unknown> = { classes: ["stop", "yield"], imageShape: [3, 224, 224], quality: { minAccuracy: 0.9 } };
    if (use === "endpoint") model.endpoint = { instanceType };
    if (use === "training") model.training = { instanceType };
    if (use === "processing") model.training = { processingInstanceType: instanceType };
    return { environment: "staging", region: "us-east-1", models: { m1: model } };
}

function accepts(config: unknown): boolean {
    try {
        parsePlatformConfig(config);
        return true;
    } catch (e) {
        if (e instanceof ConfigError) return false;
        throw e;
    }
}

const CANDIDATES = {
    endpoint: Object.values(ProductionVariantInstanceType) as string[],
    training: Object.values(TrainingInstanceType) as string[],
    processing: Object.values(ProcessingInstanceType) as string[],
};

describe("price table", () => {
    for (const use of ["endpoint", "training", "processing"] as const) {
        it(`has a price for every ${use} instance type the config accepts (all of SageMaker's ${use} types tried)`, () => {
            const accepted = CANDIDATES[use].filter((t) => accepts(configWith(use, t)));
            expect(accepted, "the config accepts no instance type at all").to.not.be.empty;
            const unpriced = accepted.filter((t) => instancePrice(BASE_PRICE_REGION, t) === undefined);
            expect(unpriced, `accepted without a price for ${use}`).to.deep.equal([]);
            // And nothing SageMaker lacks for the use slips through: a made-up size is refused.
            expect(accepts(configWith(use, "ml.m5.huge"))).to.equal(false);
        });
    }

    it("prices the config's defaults, the monitor's instance and every type a registered package declares it serves on", () => {
        const defaults = parsePlatformConfig(configWith("endpoint", "ml.m5.large")) as any;
        const m = defaults.models.m1;
        for (const t of [m.endpoint.instanceType, m.training.instanceType, m.training.processingInstanceType, DEFAULT_MONITOR_INSTANCE])
            expect(instancePrice(BASE_PRICE_REGION, t), t).to.not.equal(undefined);
        expect(SERVING_INSTANCE_TYPES.filter((t) => !pricedInstanceTypes("endpoint").includes(t))).to.deep.equal([]);
    });

    it("refuses an unpriced instance type with a message that names the table and the priced choices", () => {
        let message = "";
        try {
            parsePlatformConfig(configWith("training", "ml.p2.xlarge"));
        } catch (e) {
            message = (e as ConfigError).problems.map(formatProblem).join("\n");
        }
        expect(message).to.include('models.m1.training.instanceType: "ml.p2.xlarge" has no price in infra/prices.ts');
        expect(message).to.include("ml.g4dn.{xlarge,2xlarge,4xlarge,8xlarge,12xlarge,16xlarge}");
        // A CPU type is still refused for training for the reason that matters, once.
        const cpu = (() => {
            try {
                parsePlatformConfig(configWith("training", "ml.m5.xlarge"));
            } catch (e) {
                return (e as ConfigError).problems.map(formatProblem);
            }
            return [];
        })();
        expect(cpu).to.have.length(1);
        expect(cpu[0]).to.include("is not a GPU instance");
    });

    it("gives every figure a source with a date, and a reason wherever it is an estimate", () => {
        const figures: Array<[string, PriceFigure]> = [
            ...Object.values(INSTANCE_PRICES).flatMap((t) => Object.entries(t)),
            ...Object.values(SERVICE_PRICES).flatMap((s) => Object.entries(s)),
            ["spot savings", SPOT_SAVINGS],
        ];
        for (const [what, f] of figures) {
            expect(f.usd, what).to.be.a("number").and.at.least(0);
            const source = PRICE_SOURCES[f.source];
            expect(source, `${what}: unknown source ${f.source}`).to.not.equal(undefined);
            if (basisOf(f) === "estimate") expect(f.estimate, `${what} is an estimate without a reason`).to.be.a("string").and.not.empty;
            else {
                expect(source.url, what).to.match(/^https:\/\//);
                expect(source.asOf, what).to.match(/^\d{4}-\d{2}/);
            }
        }
    });

    it("stands the base region's figure in for a region the table lacks, marked as an estimate", () => {
        const own = instancePrice("us-east-1", "ml.m5.large")!;
        expect(own.region).to.equal("us-east-1");
        expect(basisOf(own.figure)).to.equal("price-list");
        const other = instancePrice("eu-west-1", "ml.m5.large")!;
        expect(other.region).to.equal("us-east-1");
        expect(other.figure.usd).to.equal(0.115);
        expect(basisOf(other.figure)).to.equal("estimate");
        expect(other.figure.estimate).to.equal("the us-east-1 figure; the table has none for eu-west-1");
        expect(basisOf(servicePrice("eu-west-1", "kmsKeyMonth").figure)).to.equal("estimate");
        expect(instancePrice("us-east-1", "ml.m5.huge")).to.equal(undefined);
    });

    it("writes instance lists by family", () => {
        expect(describeInstanceTypes(["ml.m5.large", "ml.m5.xlarge", "ml.c5.xlarge"])).to.equal("ml.m5.{large,xlarge}, ml.c5.xlarge");
    });
});
