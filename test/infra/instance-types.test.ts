import {
    ProcessingInstanceType,
    ProductionVariantInstanceType,
    TrainingInstanceType,
    TransformInstanceType,
} from "@aws-sdk/client-sagemaker";
import { expect } from "chai";
import {
    closestMatches,
    INSTANCE_TYPES,
    instanceTypeProblem,
    isAcceleratedTrainingInstance,
    isGpuInstance,
    suggestion,
} from "../../infra/instance-types";
import { SERVING_INSTANCE_TYPES } from "../../infra/pipeline/image-classification";
import { readStackFile } from "../../infra/stack-file";

describe("infra/instance-types", () => {
    it("takes every list from the SageMaker API model's enums, sorted and without repeats", () => {
        const enums = {
            training: TrainingInstanceType,
            processing: ProcessingInstanceType,
            transform: TransformInstanceType,
            endpoint: ProductionVariantInstanceType,
        };
        for (const [use, values] of Object.entries(enums)) {
            const list = INSTANCE_TYPES[use as keyof typeof INSTANCE_TYPES];
            expect([...list], use).to.deep.equal([...new Set(Object.values(values))].sort());
            expect(list.length, use).to.be.greaterThan(50);
        }
        expect(INSTANCE_TYPES.training).to.include("ml.g4dn.xlarge");
        expect(INSTANCE_TYPES.endpoint).to.include("ml.t2.medium");
        expect(INSTANCE_TYPES.processing).to.not.include("ml.t2.medium");
    });

    it("suggests the nearest names for a misspelling, and none for something unrelated", () => {
        expect(closestMatches("ml.g4dn.xlarg", INSTANCE_TYPES.training)).to.deep.equal(["ml.g4dn.xlarge"]);
        expect(closestMatches("ml.g4dn.xlrage", INSTANCE_TYPES.training)).to.deep.equal(["ml.g4dn.xlarge"]);
        expect(closestMatches("ml.p3.2xlarg", INSTANCE_TYPES.training)).to.deep.equal(["ml.p3.2xlarge"]);
        expect(closestMatches("g4dn.xlarge", INSTANCE_TYPES.training)).to.deep.equal(["ml.g4dn.xlarge"]);
        expect(closestMatches("banana", INSTANCE_TYPES.training)).to.deep.equal([]);
    });

    it("explains a type that is not in the list, and accepts one that is", () => {
        expect(instanceTypeProblem("endpoint", "ml.m5.large")).to.equal(undefined);
        expect(instanceTypeProblem("training", "ml.g4dn.xlarg")).to.equal(
            "is not a SageMaker training instance type; did you mean ml.g4dn.xlarge?",
        );
        expect(instanceTypeProblem("endpoint", "banana")).to.match(
            /^is not a SageMaker real-time endpoint instance type \(the API accepts \d+, e\.g\. ml\.c5\.large, ml\.m5\.large, ml\.g4dn\.xlarge\)$/,
        );
    });

    it("declares only serving instance types the API accepts, and ships stack files that use real types", () => {
        for (const t of SERVING_INSTANCE_TYPES) expect(INSTANCE_TYPES.endpoint, t).to.include(t);
        for (const stack of ["staging", "prod"])
            for (const [name, m] of Object.entries(readStackFile(".", stack).models)) {
                expect(INSTANCE_TYPES.training, `${stack} ${name}`).to.include(m.training.instanceType);
                expect(INSTANCE_TYPES.processing, `${stack} ${name}`).to.include(m.training.processingInstanceType);
                expect(INSTANCE_TYPES.transform, `${stack} ${name}`).to.include(m.training.processingInstanceType);
                expect(INSTANCE_TYPES.endpoint, `${stack} ${name}`).to.include(m.endpoint.instanceType);
            }
    });

    describe("near misses (optimal string alignment distance, on hand-counted edits)", () => {
        it("counts two neighbours swapped as one edit, not two substitutions", () => {
            // Six characters allow one edit: "abdcef" is one swap from "abcdef" and two substitutions from it.
            expect(closestMatches("abdcef", ["abcdef"])).to.deep.equal(["abcdef"]);
            expect(closestMatches("badcef", ["abcdef"]), "two swaps").to.deep.equal([]);
            expect(closestMatches("abcdfe", ["abcdef"]), "the last two swapped").to.deep.equal(["abcdef"]);
            expect(closestMatches("bacdef", ["abcdef"]), "the first two swapped").to.deep.equal(["abcdef"]);
            expect(closestMatches("abdcef", ["abxcef", "abcdef"]), "a swap beats nothing nearer").to.deep.equal(["abxcef", "abcdef"]);
            // Only a swap of both neighbours counts as one: one side of a swap matching is two edits.
            expect(closestMatches("abcdef", ["abcdxe"]), "e moved, f not").to.deep.equal([]);
            expect(closestMatches("abcdef", ["abcdfx"]), "f moved, e not").to.deep.equal([]);
        });

        it("allows fewer edits than a third of the value's length, and never more than three", () => {
            expect(closestMatches("abc", ["abd"]), "three characters: no edit").to.deep.equal([]);
            expect(closestMatches("abcd", ["abce"]), "four: one edit").to.deep.equal(["abce"]);
            expect(closestMatches("abcdef", ["abcdxy"]), "six: one edit, not two").to.deep.equal([]);
            expect(closestMatches("abcdefg", ["abcdexy"]), "seven: two edits").to.deep.equal(["abcdexy"]);
            expect(closestMatches("abcdefghijklmnop", ["abcdefghijklmxyz"]), "sixteen: three").to.deep.equal(["abcdefghijklmxyz"]);
            expect(closestMatches("abcdefghijklmnop", ["abcdefghijklwxyz"]), "never four").to.deep.equal([]);
            expect(closestMatches("abcdefg", ["abcdefghij"]), "three more characters than two edits allow").to.deep.equal([]);
        });

        it("gives the nearest only, at most three of them, in the candidates' order", () => {
            const near = ["abcdex", "abcdey", "abcdez", "abcdew"];
            expect(closestMatches("abcdef", near)).to.deep.equal(["abcdex", "abcdey", "abcdez"]);
            expect(closestMatches("abcdef", near, 2)).to.deep.equal(["abcdex", "abcdey"]);
            expect(closestMatches("abcdefgh", ["abcdefxy", "abcdefgx"]), "one edit beats two").to.deep.equal(["abcdefgx"]);
            expect(closestMatches("ABCDEX", ["abcdex"]), "ignoring case").to.deep.equal(["abcdex"]);
            expect(suggestion("abcdef", near.slice(0, 2), "!")).to.equal("; did you mean abcdex or abcdey?");
            expect(suggestion("abcdef", ["zzzzzz"], " (otherwise)")).to.equal(" (otherwise)");
        });
    });

    it("explains a type refused for one of several uses, from the types every one of them accepts", () => {
        // g7e runs Processing jobs but not Batch Transform (the API model's enums); its nearest for both is g6e.
        expect(INSTANCE_TYPES.processing).to.include("ml.g7e.48xlarge");
        expect(INSTANCE_TYPES.transform).to.not.include("ml.g7e.48xlarge");
        expect(instanceTypeProblem(["processing", "transform"], "ml.g7e.48xlarge")).to.equal(
            "is not an instance type of both SageMaker Processing and Batch Transform; did you mean ml.g6e.48xlarge?",
        );
        const transform = new Set<string>(Object.values(TransformInstanceType));
        const accepted = new Set([...Object.values(ProcessingInstanceType)].filter((t) => transform.has(t))).size;
        expect(instanceTypeProblem(["processing", "transform"], "banana")).to.equal(
            `is not an instance type of both SageMaker Processing and Batch Transform (the API accepts ${accepted}, e.g. ml.m5.xlarge, ml.c5.xlarge, ml.m5.4xlarge)`,
        );
        expect(instanceTypeProblem(["processing", "transform"], "ml.m5.xlarge")).to.equal(undefined);
        const count = (values: object) => new Set(Object.values(values)).size;
        expect(instanceTypeProblem("processing", "banana")).to.equal(
            `is not a SageMaker processing instance type (the API accepts ${count(ProcessingInstanceType)}, e.g. ml.m5.xlarge, ml.c5.xlarge, ml.m5.4xlarge)`,
        );
        expect(instanceTypeProblem("transform", "banana")).to.equal(
            `is not a SageMaker batch transform instance type (the API accepts ${count(TransformInstanceType)}, e.g. ml.m5.xlarge, ml.c5.xlarge, ml.g4dn.xlarge)`,
        );
        expect(instanceTypeProblem("training", "banana")).to.equal(
            `is not a SageMaker training instance type (the API accepts ${count(TrainingInstanceType)}, e.g. ml.g4dn.xlarge, ml.g5.xlarge, ml.p3.2xlarge)`,
        );
        expect(instanceTypeProblem(["training", "endpoint"], "banana")).to.match(
            /^is not an instance type of SageMaker Training and real-time endpoints \(the API accepts \d+, e\.g\. ml\.g4dn\.xlarge, ml\.g5\.xlarge, ml\.p3\.2xlarge\)$/,
        );
    });

    it("tells GPU types (ml.p*, ml.g*) and Trainium (ml.trn*) from the rest by their family's leading letters", () => {
        for (const t of ["ml.p3.2xlarge", "ml.p4d.24xlarge", "ml.g4dn.xlarge", "ml.g5.12xlarge"]) {
            expect(isGpuInstance(t), t).to.equal(true);
            expect(isAcceleratedTrainingInstance(t), t).to.equal(true);
        }
        expect(isGpuInstance("ml.trn1.2xlarge")).to.equal(false);
        expect(isAcceleratedTrainingInstance("ml.trn1.2xlarge")).to.equal(true);
        for (const t of [
            "ml.m5.xlarge",
            "ml.c5.xlarge",
            "ml.inf2.xlarge",
            "ml.geospatial.interactive",
            "xml.p3.2xlarge",
            "aml.trn1.2xlarge",
            "ml.trnx.large",
        ]) {
            expect(isGpuInstance(t), t).to.equal(false);
            expect(isAcceleratedTrainingInstance(t), t).to.equal(false);
        }
    });
});
