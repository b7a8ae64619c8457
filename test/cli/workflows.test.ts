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

    it("ci previews staging through pulumi/actions only where an AWS role is configured, and never runs up", () => {
        const preview = ci.jobs.preview;
        expect(preview.if).to.contain("vars.AWS_ROLE_ARN != ''");
        expect(pulumiSteps(preview).map((s) => [s.with?.command, s.with?.["stack-name"]])).to.deep.equal([["preview", "staging"]]);
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

    it("AWS access is through OIDC with a role from a variable, and permissions are least privilege", () => {
        for (const [file, wf] of Object.entries(all)) {
            expect(wf.permissions, file).to.deep.equal({ contents: "read" });
            for (const [name, job] of Object.entries(wf.jobs)) {
                const aws = job.steps.find((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
                if (!aws) {
                    expect(job.permissions, `${file} ${name}`).to.equal(undefined);
                    continue;
                }
                expect(aws.with?.["role-to-assume"], `${file} ${name}`).to.equal("${{ vars.AWS_ROLE_ARN }}");
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

    it("every action names a major release tag, never a branch", () => {
        for (const [file, wf] of Object.entries(all))
            for (const job of Object.values(wf.jobs))
                for (const s of job.steps) if (s.uses) expect(s.uses, file).to.match(/^[\w.-]+\/[\w.-]+@v\d+(\.\d+)*$/);
    });
});
