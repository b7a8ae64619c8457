import { expect } from "chai";
import { apiModelInstanceTypes, hasInstanceStorage, volumeKmsKey } from "../../infra/instance-storage";

describe("infra/instance-storage", () => {
    it("knows which instance types SageMaker refuses a volume key for", () => {
        const local = ["ml.g4dn.xlarge", "ml.g5.2xlarge", "ml.p3dn.24xlarge", "ml.m5d.large", "ml.p4d.24xlarge"];
        const ebs = ["ml.p2.xlarge", "ml.p3.2xlarge", "ml.m5.xlarge", "ml.t2.medium", "ml.c5.xlarge"];
        expect(local.filter(hasInstanceStorage)).to.deep.equal(local);
        expect(ebs.filter(hasInstanceStorage)).to.deep.equal([]);
        expect(volumeKmsKey("ml.m5.xlarge", "k")).to.deep.equal({ VolumeKmsKeyId: "k" });
        expect(volumeKmsKey("ml.g4dn.xlarge", "k")).to.deep.equal({});
        expect(() => hasInstanceStorage("g4dn")).to.throw(/"g4dn" is not a SageMaker instance type/);
    });

    it("classifies the local-NVMe families the hand-kept list missed (c6gd, m6gd, r6gd, r7gd, dl1, trn2, p6)", () => {
        const missed = ["ml.c6gd.xlarge", "ml.m6gd.large", "ml.r6gd.2xlarge", "ml.r7gd.xlarge", "ml.dl1.24xlarge", "ml.trn2.48xlarge"];
        const p6 = ["ml.p6-b200.48xlarge", "ml.p6-b300.48xlarge", "ml.p6e-gb200.36xlarge"];
        expect([...missed, ...p6].filter((t) => !hasInstanceStorage(t))).to.deep.equal([]);
    });

    it("walks every instance type of the SageMaker API model: every `d` family is local NVMe, none is unclassified", () => {
        const types = apiModelInstanceTypes();
        expect(types.length).to.be.greaterThan(300);
        // EC2's naming: a `d` among the attribute letters after the generation means instance-store volumes.
        const withD = types.filter((t) => /^ml\.[a-z]+\d+[a-z]*d[a-z]*(-[a-z0-9]+)?\./.test(t));
        expect(withD).to.include.members(["ml.c6gd.xlarge", "ml.m5d.large", "ml.g4dn.xlarge", "ml.p4de.24xlarge"]);
        expect(withD.filter((t) => !hasInstanceStorage(t))).to.deep.equal([]);
        // Every type the API model knows gets an answer (a new accelerated family must be classified by hand).
        const unclassified = types.filter((t) => {
            try {
                hasInstanceStorage(t);
                return false;
            } catch {
                return true;
            }
        });
        expect(unclassified).to.deep.equal([]);
        // The EBS-only accelerated families stay EBS: a key is required there (CKV_AWS_98).
        for (const t of ["ml.p2.xlarge", "ml.p3.16xlarge", "ml.inf1.xlarge", "ml.inf2.xlarge", "ml.c7i.large", "ml.m7i.large"])
            expect(hasInstanceStorage(t), t).to.equal(false);
    });

    it("refuses to guess for an accelerated family it has not classified, and names where to classify it", () => {
        expect(() => hasInstanceStorage("ml.p7.48xlarge")).to.throw(
            "ml.p7.48xlarge: the storage of the p7 family (local NVMe or EBS) is not known; classify it in infra/instance-storage.ts",
        );
        // CPU families follow the naming even when the API model does not list them yet.
        expect(hasInstanceStorage("ml.m9gd.large")).to.equal(true);
        expect(hasInstanceStorage("ml.c9i.large")).to.equal(false);
        expect(hasInstanceStorage("ml.m10.large"), "a two-digit generation").to.equal(false);
        expect(hasInstanceStorage("ml.c10gd.large")).to.equal(true);
        // Every accelerated class waits for a hand classification, whatever its generation.
        for (const family of ["g9", "gr9", "p9", "trn9", "inf9", "dl9", "f9", "vt9"])
            expect(() => hasInstanceStorage(`ml.${family}.xlarge`), family).to.throw(
                `ml.${family}.xlarge: the storage of the ${family} family (local NVMe or EBS) is not known`,
            );
    });

    it("follows EC2's naming for the storage-optimised class i, which carries no d (i4i, i3en, i7ie)", () => {
        for (const t of ["ml.i4i.xlarge", "ml.i3en.large", "ml.i7ie.2xlarge"]) expect(hasInstanceStorage(t), t).to.equal(true);
    });

    it("gives the Studio geospatial app size, which is no EC2 family, no instance storage", () => {
        expect(apiModelInstanceTypes()).to.include("ml.geospatial.interactive");
        expect(hasInstanceStorage("ml.geospatial.interactive")).to.equal(false);
    });

    it("refuses what is not ml.<family>.<size>, and a family EC2's naming does not parse, each by name", () => {
        for (const bad of ["ml.m5", "ml..xlarge", "xx.m5.large", "m5.large", ""])
            expect(() => hasInstanceStorage(bad), bad).to.throw(
                `${JSON.stringify(bad)} is not a SageMaker instance type such as ml.m5.xlarge`,
            );
        for (const family of ["banana", "1m5", "m5_x"])
            expect(() => hasInstanceStorage(`ml.${family}.xlarge`), family).to.throw(
                `ml.${family}.xlarge: the storage of the ${family} family (local NVMe or EBS) is not known; classify it in infra/instance-storage.ts`,
            );
    });

    it("lists the API model's types once each, in order", () => {
        const types = apiModelInstanceTypes();
        expect(new Set(types).size).to.equal(types.length);
        expect(types).to.deep.equal([...types].sort());
        expect(types.every((t) => t.startsWith("ml."))).to.equal(true);
    });
});
