import { expect } from "chai";
import { ConfigError, formatProblem, parsePlatformConfig } from "../../infra/config";

/** The promotion settings of a prod stack file: where prod reads staging from, and which endpoints it takes down. */
describe("stack config: promotion", () => {
    function prod(promotion?: unknown): Record<string, unknown> {
        const model = {
            classes: ["stop", "yield"],
            imageShape: [3, 224, 224],
            quality: { minAccuracy: 0.9 },
            endpoint: { instanceCount: 2 },
        };
        return {
            environment: "prod",
            region: "us-east-1",
            models: { "traffic-signs": model, birds: model },
            ...(promotion ? { promotion } : {}),
        };
    }
    function problems(input: unknown): string[] {
        try {
            parsePlatformConfig(input);
        } catch (e) {
            expect(e).to.be.instanceOf(ConfigError);
            return (e as ConfigError).problems.map(formatProblem);
        }
        return [];
    }

    it("needs nothing: the source stack defaults (in the program) and no endpoint is removed", () => {
        expect(problems(prod())).to.deep.equal([]);
        expect(parsePlatformConfig(prod({ sourceStack: "acme-ml/vision-mlops/staging" })).promotion).to.deep.equal({
            sourceStack: "acme-ml/vision-mlops/staging",
            removeEndpoints: [],
        });
    });

    it("removeEndpoints names models of this stack; anything else is an error listing them", () => {
        expect(parsePlatformConfig(prod({ removeEndpoints: ["birds"] })).promotion?.removeEndpoints).to.deep.equal(["birds"]);
        expect(problems(prod({ removeEndpoints: ["birds", "signs"] }))).to.deep.equal([
            'promotion.removeEndpoints.1: "signs" is not a model of this stack; it has: traffic-signs, birds (a model taken out of models loses its endpoint anyway)',
        ]);
        expect(problems(prod({ removeEndpoints: "birds" }))).to.deep.equal([
            'promotion.removeEndpoints: "birds" must be a list of model names',
        ]);
    });

    it("a source stack must look like a stack name, and promotion is for prod only", () => {
        expect(problems(prod({ sourceStack: "acme ml/staging" }))).to.deep.equal([
            'promotion.sourceStack: "acme ml/staging" must be a stack name such as my-org/vision-mlops/staging',
        ]);
        expect(problems({ ...prod({ removeEndpoints: [] }), environment: "staging" })).to.include(
            'promotion: {"removeEndpoints":[]} applies to prod only; staging serves the newest registered package',
        );
    });
});
