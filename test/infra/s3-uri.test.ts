import { expect } from "chai";
import { dataProtection } from "../../infra/resource-options";
import { parseS3Uri, s3Uri } from "../../infra/s3-uri";

describe("infra/s3-uri: S3 URIs", () => {
    it("splits a URI into bucket and key, the key empty or a prefix when there is none", () => {
        expect(parseS3Uri("s3://vision-mlops-staging-data/m1/batches/b.manifest")).to.deep.equal({
            bucket: "vision-mlops-staging-data",
            key: "m1/batches/b.manifest",
        });
        expect(parseS3Uri("s3://abc")).to.deep.equal({ bucket: "abc", key: "" });
        expect(parseS3Uri("s3://abc/")).to.deep.equal({ bucket: "abc", key: "" });
        expect(parseS3Uri("s3://a.b-c/m1/")).to.deep.equal({ bucket: "a.b-c", key: "m1/" });
        expect(parseS3Uri(`s3://${"b".repeat(63)}/k`).bucket).to.have.length(63);
        expect(s3Uri("abc", "m1/x.json")).to.equal("s3://abc/m1/x.json");
        expect(s3Uri("abc")).to.equal("s3://abc/");
    });

    it("refuses anything that is not s3://<bucket name of 3-63 lowercase characters>, quoting it", () => {
        for (const bad of [
            "https://abc/k",
            "xs3://abc/k",
            "s3://ab/k",
            `s3://${"b".repeat(64)}/k`,
            "s3://Abc/k",
            "s3://-abc/k",
            "s3://abc-/k",
            "s3://abc_d/k",
            " s3://abc/k",
        ])
            expect(() => parseS3Uri(bad), bad).to.throw(`${JSON.stringify(bad)} is not an S3 URI (s3://<bucket>/<key>)`);
    });
});

describe("infra/resource-options: data protection", () => {
    it("protects and retains data resources in prod only", () => {
        expect(dataProtection("prod")).to.deep.equal({ protect: true, retainOnDelete: true });
        expect(dataProtection("staging")).to.deep.equal({ protect: false, retainOnDelete: false });
    });
});
