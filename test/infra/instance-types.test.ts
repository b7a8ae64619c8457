import {
    ProcessingInstanceType,
    ProductionVariantInstanceType,
    TrainingInstanceType,
    TransformInstanceType,
} from "@aws-sdk/client-sagemaker";
import { expect } from "chai";
import { closestMatches, INSTANCE_TYPES, instanceTypeProblem } from "../../infra/instance-types";
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
});
