import { expect } from "chai";
import { createHash } from "crypto";
import {
    alertTopicName,
    bucketName,
    endpointName,
    fitName,
    iamName,
    modelPackageGroupName,
    monitoringScheduleName,
    pipelineName,
    sagemakerName,
    stackNamePrefix,
    versionedFamily,
    versionedName,
} from "../../infra/naming";
import { modelTags, PIPELINE_TAG_KEY, pipelineTag, platformTags } from "../../infra/tags";
import { parsePlatformConfig } from "../../infra/config";

const SAGEMAKER = /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/;
const S3 = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
/** The longest model name the config accepts (48 characters). */
const LONGEST_MODEL = "a-very-long-model-name-for-road-sign-recognition";

describe("naming", () => {
    it("keeps readable names as they are", () => {
        expect(endpointName("staging", "traffic-signs")).to.equal("vision-mlops-staging-traffic-signs");
        expect(modelPackageGroupName("prod", "bikes-vs-motorcycles")).to.equal("vision-mlops-prod-bikes-vs-motorcycles");
        expect(pipelineName("staging", "traffic-signs", "training")).to.equal("vision-mlops-staging-traffic-signs-training");
        expect(bucketName("staging", "raw", "123456789012", "us-east-1")).to.equal("vision-mlops-staging-raw-123456789012-us-east-1");
    });

    it("fits the longest model name into SageMaker's 63 characters and pattern, distinctly and stably", () => {
        // The config takes this name and refuses one character more, so nothing longer reaches the names below.
        const withModel = (name: string) =>
            parsePlatformConfig({
                environment: "staging",
                region: "us-east-1",
                models: { [name]: { classes: ["a", "b"], imageShape: [3, 32, 32], quality: { minAccuracy: 0.5 } } },
            });
        expect(Object.keys(withModel(LONGEST_MODEL).models)).to.deep.equal([LONGEST_MODEL]);
        expect(() => withModel(`${LONGEST_MODEL}s`)).to.throw("model names must be 2-48 characters");
        const names = [
            endpointName("staging", LONGEST_MODEL),
            monitoringScheduleName("staging", LONGEST_MODEL),
            pipelineName("staging", LONGEST_MODEL, "training"),
            pipelineName("staging", LONGEST_MODEL, "monitoring"),
            sagemakerName("prod", LONGEST_MODEL, "monitor"),
        ];
        for (const n of names) {
            expect(n.length, n).to.be.at.most(63);
            expect(n, n).to.match(SAGEMAKER);
        }
        expect(new Set(names).size).to.equal(names.length);
        expect(pipelineName("staging", LONGEST_MODEL, "training")).to.equal(pipelineName("staging", LONGEST_MODEL, "training"));
        expect(pipelineName("staging", LONGEST_MODEL, "training")).to.equal(
            "vision-mlops-staging-a-very-long-model-name-for-road-sig-f1d513",
        );
    });

    it("fits bucket names into S3's 3-63 lowercase characters in the longest regions", () => {
        for (const region of ["us-east-1", "ap-southeast-2", "us-gov-west-1", "ap-northeast-3"]) {
            for (const purpose of ["raw", "curated", "artifacts", "capture", "logs"]) {
                const n = bucketName("staging", purpose, "123456789012", region);
                expect(n, n).to.match(S3);
                expect(n).to.not.include("--");
            }
        }
        expect(bucketName("staging", "raw", "111111111111", "us-east-1")).to.not.equal(
            bucketName("staging", "raw", "222222222222", "us-east-1"),
        );
    });

    it("keeps IAM names within 64 characters", () => {
        const n = iamName("staging", LONGEST_MODEL, "training-execution");
        expect(n.length).to.be.at.most(64);
    });

    it("hashes only when needed and never ends on a hyphen", () => {
        expect(fitName(["a", "b"], 63)).to.equal("a-b");
        const long = fitName(["x".repeat(40), "y".repeat(40)], 63);
        expect(long).to.have.length.at.most(63);
        expect(long).to.match(/^x+-y+-[0-9a-f]{6}$/);
        expect(fitName(["Upper Case", "under_score"], 63)).to.equal("upper-case-under-score");
    });

    it("cleans every part into one lowercase name with single hyphens, and keeps a name of exactly the limit whole", () => {
        expect(fitName(["--Vision  MLOps--", "a__b", "-c-"], 63)).to.equal("vision-mlops-a-b-c");
        expect(fitName(["a".repeat(63)], 63)).to.equal("a".repeat(63));
        // Cut at 20 - 7 characters, the head would end on the hyphen: it is dropped before the hash is added.
        const sha = (s: string) => createHash("sha256").update(s).digest("hex");
        expect(fitName(["abcdefghijkl", "mnopqrstuvwxyz"], 20)).to.equal(`abcdefghijkl-${sha("abcdefghijkl-mnopqrstuvwxyz").slice(0, 6)}`);
    });

    it("names the stack's IAM roles, alert topic and name prefix from project and environment", () => {
        expect(iamName("staging", "traffic-signs", "training-execution")).to.equal("vision-mlops-staging-traffic-signs-training-execution");
        expect(alertTopicName("prod")).to.equal("vision-mlops-prod-alerts");
        expect(stackNamePrefix("staging")).to.equal("vision-mlops-staging-");
    });

    it("versions a name by 8 hex digits of its content's hash, within 63 characters, and finds its family again", () => {
        const hash = createHash("sha256")
            .update(JSON.stringify({ x: 1 }))
            .digest("hex")
            .slice(0, 8);
        expect(versionedName("staging", ["m"], { x: 1 })).to.equal(`vision-mlops-staging-m-${hash}`);
        expect(versionedFamily(`vision-mlops-staging-m-${hash}`)).to.equal("vision-mlops-staging-m");
        expect(versionedFamily("vision-mlops-staging-m")).to.equal(undefined);
        const long = versionedName("staging", [LONGEST_MODEL, "endpoint-config"], { x: 1 });
        expect(long).to.have.length(63);
        expect(long).to.match(SAGEMAKER);
        expect(long.endsWith(`-${hash}`)).to.equal(true);
    });
});

describe("tags", () => {
    it("adds project, environment and managed-by, which user tags cannot override", () => {
        expect(platformTags("prod", { team: "vision", project: "other" })).to.deep.equal({
            team: "vision",
            project: "vision-mlops",
            environment: "prod",
            "managed-by": "pulumi",
        });
        expect(modelTags("traffic-signs")).to.deep.equal({ model: "traffic-signs" });
    });
});

describe("pipelineTag: the tag that scopes a pipeline role to its own jobs", () => {
    it("is vision-mlops:pipeline valued with a name SageMaker accepts as a pipeline name ([a-zA-Z0-9](-*[a-zA-Z0-9]){0,255})", () => {
        expect(PIPELINE_TAG_KEY).to.equal("vision-mlops:pipeline");
        expect(pipelineTag("vision-mlops-staging-m1-training")).to.deep.equal({
            Key: "vision-mlops:pipeline",
            Value: "vision-mlops-staging-m1-training",
        });
        for (const ok of ["a", "A--9", "x".repeat(256), `a${"-b".repeat(255)}`]) expect(pipelineTag(ok).Value, ok).to.equal(ok);
        for (const bad of ["", "-a", "a-", "a_b", "a b", "x".repeat(257), `a${"-b".repeat(256)}`, "Ä"])
            expect(() => pipelineTag(bad), bad.slice(0, 20)).to.throw(
                `${JSON.stringify(bad)} is not a SageMaker pipeline name (letters, digits and hyphens, at most 256)`,
            );
    });
});
