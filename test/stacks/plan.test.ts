import { expect } from "chai";
import { spawnSync } from "child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { planCommand } from "../../scripts/plan";
import { projectPlan } from "../support/plans";

const ROOT = resolve(__dirname, "../..");

/**
 * `npm run plan -- ...args` as a child process: what a newcomer runs first, through the same transpiler (ts-node's
 * TypeScript, transpile-only). Pulumi's own stack captures go unmapped, as in the test process (pulumi-stacks.ts):
 * they are never printed, and mapping them costs a third of the plan's CPU.
 */
function planProcess(args: string[], env: Record<string, string> = {}) {
    const transpiler = ["-r", "ts-node/register/transpile-only", "-r", join(ROOT, "test/support/pulumi-stacks.ts")];
    const r = spawnSync(process.execPath, [...transpiler, join(ROOT, "scripts/plan.ts"), ...args], {
        cwd: ROOT,
        encoding: "utf8",
        env: { ...process.env, ...env },
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same command line in this process: its printed lines and exit code. */
async function plan(args: string[], env: Record<string, string> = {}) {
    let stdout = "";
    let stderr = "";
    const code = await planCommand(args, {
        log: (line) => {
            stdout += `${line}\n`;
        },
        error: (line) => {
            stderr += `${line}\n`;
        },
        env: { ...process.env, ...env },
    });
    return { code, stdout, stderr };
}

describe("npm run plan (end to end)", function () {
    // A guard against a hung plan, not a speed limit: a whole plan takes minutes on a loaded machine.
    this.timeout(600_000);

    it("plans staging: prints the tree and writes every resource's inputs where status reads them, .plan/staging/", () => {
        // A project folder of its own (the stack files only), so the default output folder is this test's.
        const project = mkdtempSync(join(tmpdir(), "plan-staging-"));
        for (const file of ["Pulumi.yaml", "Pulumi.staging.yaml"]) writeFileSync(join(project, file), readFileSync(join(ROOT, file)));
        const r = planProcess(["staging"], { VISION_MLOPS_PROJECT_DIR: project });
        const out = join(project, ".plan", "staging");
        expect(r.code, r.stderr).to.equal(0);
        expect(r.stdout).to.include('Offline plan for stack "staging" (staging, us-east-1)');
        expect(r.stdout).to.match(/└─ vision-mlops:stack:Platform {2}vision-mlops-staging/);
        expect(r.stdout).to.match(
            /│ {2}│ {2}├─ aws:s3\/bucket:Bucket {2}vision-mlops-staging-lake-raw {2}\(bucket=vision-mlops-staging-raw-123456789012-us-east-1\)/,
        );
        const doc = JSON.parse(readFileSync(join(out, "plan.json"), "utf8"));
        expect(doc).to.include({ stack: "staging", environment: "staging", region: "us-east-1" });
        const raw = doc.resources.find((x: any) => x.type === "aws:s3/bucket:Bucket" && x.name === "vision-mlops-staging-lake-raw");
        expect(raw.parent).to.equal("vision-mlops:data:SecureBucket::vision-mlops-staging-lake-raw");
        expect(doc.outputs.buckets.raw).to.equal("vision-mlops-staging-raw-123456789012-us-east-1");
    });

    it("plans prod through the gate with an Approved package, and keeps prod's package while staging's newer one is pending", async () => {
        // With the sample registry it is the run's shared prod plan (the same runPlan call planCommand makes); the
        // command's own exit code for prod is the pending plan's below, and policy/stacks checks this one refuses nothing.
        const ok = await projectPlan("prod");
        expect(ok.log.join("\n")).to.include("pulumi:pulumi:StackReference  promotion-source  (name=organization/vision-mlops/staging)");
        const out = mkdtempSync(join(tmpdir(), "plan-prod-"));
        const pending = await plan(["prod", "--out", join(out, "pending"), "--registry", "pending"]);
        expect(pending.code, pending.stderr).to.equal(0);
        const v = (model: string, n: number) => `arn:aws:sagemaker:us-east-1:123456789012:model-package/vision-mlops-staging-${model}/${n}`;
        expect(pending.stderr).to.include(
            `traffic-signs: staging serves ${v("traffic-signs", 2)}, which is PendingManualApproval; prod keeps serving ${v("traffic-signs", 1)} (Approved). ` +
                'Approve the new one with: npm run approve -- --stack staging --model traffic-signs --note "<why it is good>"',
        );
        const doc = JSON.parse(readFileSync(join(out, "pending", "plan.json"), "utf8"));
        expect(doc.outputs.models["traffic-signs"]).to.deep.include({
            servedPackage: v("traffic-signs", 1),
            awaitingApproval: v("traffic-signs", 2),
        });
        const model = doc.resources.find(
            (r: any) => r.type === "pulumi-nodejs:dynamic:Resource" && r.name === "vision-mlops-prod-traffic-signs-endpoint",
        );
        expect(model.inputs.model.PrimaryContainer).to.deep.equal({ ModelPackageName: v("traffic-signs", 1) });
    });

    it("answers an unknown flag with one line and exit code 2, not a stack trace", async () => {
        const r = await plan(["staging", "--regsitry", "empty"]);
        expect(r.code).to.equal(2);
        expect(r.stderr.trim().split("\n")).to.deep.equal([
            "error: unknown option --regsitry (did you mean --registry?); usage: npm run plan -- <stack> [--out DIR] [--registry sample|pending|empty]",
        ]);
        expect(r.stdout).to.equal("");
    });

    it("reports a stack file's three mistakes together, exits 1 and writes nothing", async () => {
        const project = mkdtempSync(join(tmpdir(), "plan-bad-"));
        const good = readFileSync(join(ROOT, "Pulumi.staging.yaml"), "utf8");
        const bad = good
            .replace("instanceType: ml.g4dn.xlarge", "instanceType: ml.m5.xlarge")
            .replace("minAccuracy: 0.9", "minAccuracy: 9")
            .replace("aws:region: us-east-1", "aws:region: moon-1");
        writeFileSync(join(project, "Pulumi.staging.yaml"), bad);
        const r = await plan(["staging", "--out", join(project, "out")], { VISION_MLOPS_PROJECT_DIR: project });
        expect(r.code).to.equal(1);
        expect(r.stderr).to.include("error: Pulumi.staging.yaml has 3 problems; nothing was deployed:");
        expect(r.stderr).to.include('models.traffic-signs.training.instanceType: "ml.m5.xlarge" is not a GPU instance');
        expect(r.stderr).to.include("models.traffic-signs.quality.minAccuracy: 9 must be from 0 to 1 (accuracy)");
        expect(r.stderr).to.include('region: "moon-1" must be an AWS region such as us-east-1');
        expect(existsSync(join(project, "out"))).to.equal(false);
    });
});
