import { expect } from "chai";
import { mkdirSync, mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { buildInputsHash, JobsImage } from "../../components/jobs-image";
import { DeclaredResource, find, settled, TEST_ACCOUNT, unwrapOutput, useMocks } from "../support/mocks";

const KEY = `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/lake-key`;

describe("JobsImage", () => {
    let declared: DeclaredResource[];
    let image: JobsImage;
    before(async () => {
        declared = useMocks("staging");
        image = new JobsImage("jobs", { environment: "staging", kmsKeyArn: KEY, keepImages: 15 });
        await settled(declared, image.imageUri);
    });

    it("creates a scanned, immutable, KMS-encrypted repository", () => {
        const repo = find(declared, "aws:ecr/repository:Repository", "jobs-repository").inputs;
        expect(repo.name).to.equal("vision-mlops-staging-jobs");
        expect(repo.imageTagMutability).to.equal("IMMUTABLE");
        expect(repo.imageScanningConfiguration).to.deep.equal({ scanOnPush: true });
        expect(repo.encryptionConfigurations).to.deep.equal([{ encryptionType: "KMS", kmsKey: KEY }]);
    });

    it("keeps the newest images and expires the rest", () => {
        const policy = JSON.parse(find(declared, "aws:ecr/lifecyclePolicy:LifecyclePolicy", "jobs-lifecycle").inputs.policy);
        expect(policy.rules).to.deep.equal([
            {
                rulePriority: 1,
                description: "Keep the newest 15 images",
                selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 15 },
                action: { type: "expire" },
            },
        ]);
    });

    it("builds jobs/Dockerfile from the project root for linux/amd64 into the repository", async () => {
        const built = find(declared, "awsx:ecr:Image", "jobs-image").inputs;
        expect(built.context).to.equal(".");
        expect(built.dockerfile).to.equal("jobs/Dockerfile");
        expect(built.platform).to.equal("linux/amd64");
        expect(built.repositoryUrl).to.equal(`${TEST_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/vision-mlops-staging-jobs`);
        expect(built.imageTag).to.match(/^src-[0-9a-f]{16}$/);
        expect(await unwrapOutput(image.imageUri)).to.match(/@sha256:[0-9a-f]{64}$/);
        expect(await unwrapOutput(image.repositoryArn)).to.equal(
            `arn:aws:ecr:us-east-1:${TEST_ACCOUNT}:repository/vision-mlops-staging-jobs`,
        );
    });

    it("tags by content: the same inputs give the same tag, any change a new one", () => {
        const root = mkdtempSync(join(tmpdir(), "jobs-image-"));
        mkdirSync(join(root, "jobs"));
        writeFileSync(join(root, "jobs", "main.ts"), "console.log(1)");
        writeFileSync(join(root, "package-lock.json"), "{}");
        const first = buildInputsHash(root);
        expect(buildInputsHash(root)).to.equal(first);
        writeFileSync(join(root, "jobs", "main.ts"), "console.log(2)");
        expect(buildInputsHash(root)).to.not.equal(first);
    });

    it("refuses a lifecycle that would keep nothing", () => {
        useMocks("staging");
        expect(() => new JobsImage("bad", { environment: "staging", keepImages: 0 })).to.throw(
            /keepImages must be a whole number >= 1, got 0/,
        );
    });
});
