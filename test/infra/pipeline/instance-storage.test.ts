import { expect } from "chai";
import { hasInstanceStorage, volumeKmsKey } from "../../../infra/pipeline/instance-storage";

describe("infra/pipeline/instance-storage", () => {
    it("knows which instance types SageMaker refuses a volume key for", () => {
        const local = ["ml.g4dn.xlarge", "ml.g5.2xlarge", "ml.p3dn.24xlarge", "ml.m5d.large", "ml.p4d.24xlarge"];
        const ebs = ["ml.p2.xlarge", "ml.p3.2xlarge", "ml.m5.xlarge", "ml.t2.medium", "ml.c5.xlarge"];
        expect(local.filter(hasInstanceStorage)).to.deep.equal(local);
        expect(ebs.filter(hasInstanceStorage)).to.deep.equal([]);
        expect(volumeKmsKey("ml.m5.xlarge", "k")).to.deep.equal({ VolumeKmsKeyId: "k" });
        expect(volumeKmsKey("ml.g4dn.xlarge", "k")).to.deep.equal({});
        expect(() => hasInstanceStorage("g4dn")).to.throw(/"g4dn" is not a SageMaker instance type/);
    });
});
