import { expect } from "chai";
import { createHash } from "crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "fs";
import { createServer } from "net";
import { tmpdir } from "os";
import { join } from "path";
import { buildInputsHash, JobsImage } from "../../components/jobs-image";
import { DeclaredResource, find, settled, TEST_ACCOUNT, unwrapOutput, useMocks } from "../support/mocks";
import { componentTree } from "./support/component-tree";

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

    it("hashes each input file's path and bytes in name order, skipping node_modules, dist and missing inputs", () => {
        const root = mkdtempSync(join(tmpdir(), "jobs-image-"));
        // Written in another order than the hash reads them; files outside the inputs and build output do not count.
        mkdirSync(join(root, "jobs", "lib"), { recursive: true });
        mkdirSync(join(root, "jobs", "node_modules"));
        mkdirSync(join(root, "jobs", "dist"));
        writeFileSync(join(root, "jobs", "lib", "z.ts"), "z");
        writeFileSync(join(root, "jobs", "b.ts"), "b");
        writeFileSync(join(root, "jobs", "a.ts"), "a");
        writeFileSync(join(root, "jobs", "node_modules", "m.js"), "m");
        writeFileSync(join(root, "jobs", "dist", "main.js"), "d");
        writeFileSync(join(root, "package.json"), "{}");
        writeFileSync(join(root, "README.md"), "not an input");
        // By hand: jobs/ (a.ts, b.ts, lib/z.ts), then package.json; infra/, package-lock.json, tsconfig.json are absent.
        const expected = createHash("sha256")
            .update("jobs/a.ts\0a\0jobs/b.ts\0b\0jobs/lib/z.ts\0z\0package.json\0{}\0")
            .digest("hex")
            .slice(0, 16);
        expect(buildInputsHash(root)).to.equal(expected);
        expect(buildInputsHash(root, ["package.json"])).to.equal(
            createHash("sha256").update("package.json\0{}\0").digest("hex").slice(0, 16),
        );
    });

    it("refuses a lifecycle that would keep nothing or part of an image", () => {
        useMocks("staging");
        expect(() => new JobsImage("bad", { environment: "staging", keepImages: 0 })).to.throw(
            "JobsImage bad: keepImages must be a whole number >= 1, got 0",
        );
        expect(() => new JobsImage("bad", { environment: "staging", keepImages: 1.5 })).to.throw(
            "JobsImage bad: keepImages must be a whole number >= 1, got 1.5",
        );
    });

    it("keeps a single image when asked to", async () => {
        const one = useMocks("staging");
        const kept = new JobsImage("one", { environment: "staging", keepImages: 1, imageTag: "v1" });
        await settled(one, kept.imageUri);
        const policy = JSON.parse(find(one, "aws:ecr/lifecyclePolicy:LifecyclePolicy", "one-lifecycle").inputs.policy);
        expect(policy.rules[0]).to.deep.include({ description: "Keep the newest 1 images" });
        expect(policy.rules[0].selection.countNumber).to.equal(1);
    });

    it("skips what is neither a file nor a directory (a socket a dev server left in jobs/)", async () => {
        const root = mkdtempSync(join(tmpdir(), "jobs-image-"));
        mkdirSync(join(root, "jobs"));
        writeFileSync(join(root, "jobs", "a.ts"), "a");
        const server = createServer();
        await new Promise<void>((resolve) => server.listen(join(root, "jobs", "dev.sock"), resolve));
        try {
            expect(buildInputsHash(root)).to.equal(createHash("sha256").update("jobs/a.ts\0a\0").digest("hex").slice(0, 16));
        } finally {
            server.close();
        }
    });
});

describe("JobsImage with its defaults", () => {
    let tree: Awaited<ReturnType<typeof componentTree<JobsImage>>>;
    // Built for each test (a given tag, so nothing is hashed): cheap, and each test checks a build of its own.
    beforeEach(async () => (tree = await componentTree((opts) => new JobsImage("jobs", { environment: "staging", imageTag: "v7" }, opts))));

    it("encrypts with ECR's AES-256, keeps the newest 20 images, and takes the given tag", () => {
        const repo = find(tree.declared, "aws:ecr/repository:Repository", "jobs-repository").inputs;
        expect(repo.encryptionConfigurations).to.deep.equal([{ encryptionType: "AES256" }]);
        const policy = JSON.parse(find(tree.declared, "aws:ecr/lifecyclePolicy:LifecyclePolicy", "jobs-lifecycle").inputs.policy);
        expect(policy.rules[0].selection.countNumber).to.equal(20);
        expect(policy.rules[0].description).to.equal("Keep the newest 20 images");
        expect(find(tree.declared, "awsx:ecr:Image", "jobs-image").inputs.imageTag).to.equal("v7");
    });

    it("parents the repository, its lifecycle and the image to itself and registers the repository and image as outputs", () => {
        expect(tree.declared.map((r) => r.name).sort()).to.deep.equal(["jobs", "jobs-image", "jobs-lifecycle", "jobs-repository"]);
        expect(tree.orphans).to.deep.equal([]);
        expect(Object.keys(tree.outputs).sort()).to.deep.equal(["imageUri", "repositoryArn", "repositoryUrl"]);
        expect(tree.outputs.repositoryUrl).to.equal(`${TEST_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/vision-mlops-staging-jobs`);
    });
});
