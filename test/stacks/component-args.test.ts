import { expect } from "chai";
import { readStackFile } from "../../infra/stack-file";
import { endpointFleet, trainingModelSettings } from "../../stacks/component-args";

describe("stack config onto components' own args", () => {
    it("maps a model's endpoint config onto the fleet, defaults filled in, nothing else carried", () => {
        expect(endpointFleet(readStackFile(".", "prod").models["traffic-signs"].endpoint)).to.deep.equal({
            instanceType: "ml.m5.xlarge",
            instanceCount: 2,
            autoscaling: {
                minCapacity: 2,
                maxCapacity: 6,
                targetInvocationsPerInstance: 200,
                scaleInCooldownSeconds: 300,
                scaleOutCooldownSeconds: 60,
            },
            latencyP99Ms: 300,
        });
        expect(endpointFleet(readStackFile(".", "staging").models["bikes-vs-motorcycles"].endpoint)).to.not.have.property("autoscaling");
    });

    it("maps a model's config onto what its training pipeline trains, without the endpoint's or monitor's other settings", () => {
        const settings = trainingModelSettings(readStackFile(".", "staging").models["bikes-vs-motorcycles"]);
        expect(Object.keys(settings).sort()).to.deep.equal([
            "classes",
            "description",
            "endpoint",
            "imageShape",
            "inference",
            "monitoring",
            "quality",
            "training",
        ]);
        expect(settings.endpoint).to.deep.equal({ instanceType: "ml.t2.medium" });
        expect(settings.imageShape).to.deep.equal([3, 32, 32]);
        expect(Object.keys(settings.monitoring)).to.deep.equal(["drift"]);
    });
});
