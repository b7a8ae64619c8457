import { expect } from "chai";
import { readFileSync } from "fs";
import { join } from "path";
import { parse } from "yaml";

/** The GitHub Actions workflows: they parse, and their job graph keeps the promotion rules. */

interface Step {
    uses?: string;
    run?: string;
    with?: Record<string, unknown>;
    if?: string;
}
interface Job {
    needs?: string | string[];
    environment?: string | { name: string };
    permissions?: Record<string, string>;
    if?: string;
    steps: Step[];
}
interface Workflow {
    on: Record<string, unknown>;
    permissions?: Record<string, string>;
    concurrency?: { group: string; "cancel-in-progress"?: boolean };
    jobs: Record<string, Job>;
}

const WORKFLOWS = join(__dirname, "..", "..", ".github", "workflows");
const load = (name: string): Workflow => parse(readFileSync(join(WORKFLOWS, name), "utf8")) as Workflow;

const needsOf = (job: Job) => (job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs]);
const environmentOf = (job: Job) => (typeof job.environment === "object" ? job.environment.name : job.environment);
const pulumiSteps = (job: Job) => job.steps.filter((s) => s.uses?.startsWith("pulumi/actions@"));

describe("GitHub Actions workflows", () => {
    const ci = load("ci.yml");
    const deploy = load("deploy.yml");
    const all = { ci, deploy };

    it("ci runs on pull requests and pushes: npm ci, npm test and the plan of both stacks, uploading .plan/", () => {
        expect(ci.on).to.have.all.keys("pull_request", "push");
        const runs = ci.jobs.test.steps.map((s) => s.run).filter(Boolean);
        expect(runs).to.include.members(["npm ci", "npm test", "npm run plan -- staging", "npm run plan -- prod"]);
        expect(runs.indexOf("npm ci")).to.be.lessThan(runs.indexOf("npm test"));
        const node = ci.jobs.test.steps.find((s) => s.uses?.startsWith("actions/setup-node@"))!;
        expect(node.with).to.deep.include({ "node-version": "${{ matrix.node }}", cache: "npm" });
        const upload = ci.jobs.test.steps.find((s) => s.uses?.startsWith("actions/upload-artifact@"))!;
        expect(upload.with?.path).to.equal(".plan/");
        expect(
            runs.some((r) => /pip install "moto\[server\]/.test(r!)),
            "the moto integration tests need moto server",
        ).to.equal(true);
    });

    it("runs on the Node versions package.json's engines names: the tests on 22 and 24, previews and deploys on 22", () => {
        const engines: string = JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8")).engines.node;
        expect(engines.split("||").map((r) => r.trim())).to.deep.equal(["^20.19.0", "^22.12.0", "^24.0.0"]);
        expect((ci.jobs.test as Job & { strategy?: { matrix: { node: number[] } } }).strategy?.matrix.node).to.deep.equal([22, 24]);
        for (const [file, workflow] of Object.entries(all))
            for (const [name, job] of Object.entries(workflow.jobs)) {
                if (file === "ci" && name === "test") continue;
                for (const s of job.steps.filter((x) => x.uses?.startsWith("actions/setup-node@")))
                    expect(s.with?.["node-version"], `${file} job ${name}`).to.equal(22);
            }
    });

    it("ci previews staging on pull requests only, under a preview role, with the policy pack, and never runs up", () => {
        const preview = ci.jobs.preview;
        expect(preview.if).to.contain("github.event_name == 'pull_request'");
        expect(preview.if).to.contain("github.event.pull_request.head.repo.full_name == github.repository");
        expect(preview.if).to.contain("vars.AWS_PREVIEW_ROLE_ARN != ''");
        expect(environmentOf(preview), "a preview runs a branch's code: no deploy environment").to.equal(undefined);
        expect(pulumiSteps(preview).map((s) => [s.with?.command, s.with?.["stack-name"], s.with?.policyPacks])).to.deep.equal([
            ["preview", "staging", "policy"],
        ]);
        for (const [name, job] of Object.entries(ci.jobs)) {
            for (const s of pulumiSteps(job)) expect(s.with?.command, `ci job ${name}`).to.equal("preview");
            for (const s of job.steps) expect(s.run ?? "", `ci job ${name}`).not.to.match(/pulumi\s+(up|update|destroy)/);
        }
    });

    it("deploy runs only on pushes to main, never on pull requests", () => {
        expect(deploy.on).to.deep.equal({ push: { branches: ["main"] } });
    });

    it("deploy brings up staging, then prod behind the production environment", () => {
        const { staging, prod } = deploy.jobs;
        expect(pulumiSteps(staging).map((s) => [s.with?.command, s.with?.["stack-name"]])).to.deep.equal([["up", "staging"]]);
        expect(environmentOf(staging)).to.equal("staging");
        expect(needsOf(prod)).to.deep.equal(["staging"]);
        expect(environmentOf(prod)).to.equal("production");
        expect(pulumiSteps(prod).map((s) => [s.with?.command, s.with?.["stack-name"]])).to.deep.equal([["up", "prod"]]);
    });

    it("two deploys never overlap and a running deploy is not cancelled", () => {
        expect(deploy.concurrency?.group).to.be.a("string").and.not.contain("github.ref");
        expect(deploy.concurrency?.["cancel-in-progress"]).to.equal(false);
    });

    it("AWS access is through OIDC: previews with the preview role and token, deploys with their environment's", () => {
        for (const [file, wf] of Object.entries(all)) {
            expect(wf.permissions, file).to.deep.equal({ contents: "read" });
            for (const [name, job] of Object.entries(wf.jobs)) {
                const aws = job.steps.find((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
                if (!aws) {
                    expect(job.permissions, `${file} ${name}`).to.equal(undefined);
                    continue;
                }
                // A deploy role is read from the job's environment, where its trust policy's subject binds it.
                const deploys = pulumiSteps(job).some((s) => s.with?.command === "up");
                expect(Boolean(environmentOf(job)), `${file} ${name}: environment`).to.equal(deploys);
                expect(aws.with?.["role-to-assume"], `${file} ${name}`).to.equal(
                    deploys ? "${{ vars.AWS_DEPLOY_ROLE_ARN }}" : "${{ vars.AWS_PREVIEW_ROLE_ARN }}",
                );
                const token = (pulumiSteps(job)[0] as Step & { env?: Record<string, string> }).env?.PULUMI_ACCESS_TOKEN;
                expect(token, `${file} ${name}`).to.equal(
                    deploys ? "${{ secrets.PULUMI_ACCESS_TOKEN }}" : "${{ secrets.PULUMI_PREVIEW_ACCESS_TOKEN }}",
                );
                expect(aws.with, `${file} ${name}`).not.to.have.any.keys("aws-access-key-id", "aws-secret-access-key");
                expect(job.permissions?.["id-token"], `${file} ${name}`).to.equal("write");
                expect(job.permissions?.contents, `${file} ${name}`).to.equal("read");
                const steps = job.steps.map((s) => s.uses ?? s.run);
                expect(steps.indexOf(aws.uses), `${file} ${name}: credentials before pulumi`).to.be.lessThan(
                    steps.findIndex((s) => s?.startsWith("pulumi/actions@")),
                );
            }
        }
    });

    it("every deploy and preview runs the policy pack, and checkouts leave no token behind", () => {
        for (const [file, wf] of Object.entries(all))
            for (const [name, job] of Object.entries(wf.jobs)) {
                for (const s of pulumiSteps(job)) expect(s.with?.policyPacks, `${file} ${name}`).to.equal("policy");
                for (const s of job.steps.filter((x) => x.uses?.startsWith("actions/checkout@")))
                    expect(s.with?.["persist-credentials"], `${file} ${name}`).to.equal(false);
            }
    });

    it("documents each role's variable and trust subject in the README", () => {
        const readme = readFileSync(join(__dirname, "..", "..", "README.md"), "utf8");
        for (const name of [
            "AWS_PREVIEW_ROLE_ARN",
            "AWS_DEPLOY_ROLE_ARN",
            "PULUMI_PREVIEW_ACCESS_TOKEN",
            "PULUMI_ACCESS_TOKEN",
            "AWS_REGION",
        ])
            expect(readme, name).to.contain(name);
        for (const subject of [
            "repo:<owner>/<repo>:pull_request",
            "repo:<owner>/<repo>:environment:staging",
            "repo:<owner>/<repo>:environment:production",
        ])
            expect(readme, subject).to.contain(subject);
    });

    it("pins every action to a commit, with its release beside it", () => {
        for (const file of ["ci.yml", "deploy.yml"]) {
            const uses = readFileSync(join(WORKFLOWS, file), "utf8")
                .split("\n")
                .filter((l) => /^\s*(- )?uses:/.test(l));
            expect(uses.length, file).to.be.greaterThan(0);
            for (const line of uses) expect(line.trim(), file).to.match(/^(- )?uses: [\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
        }
    });
});
