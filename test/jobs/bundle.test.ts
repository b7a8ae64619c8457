import { expect } from "chai";
import { spawnSync } from "child_process";
import { existsSync, readFileSync, writeFileSync } from "fs";
import { join, resolve } from "path";
import { noiseImage, tempDir, writeAt } from "./support/images";

const root = resolve(__dirname, "../..");

/** The esbuild command line of jobs/Dockerfile, so the test builds exactly what the image builds. */
function dockerfileEsbuildArgs(): string[] {
    const line = readFileSync(join(root, "jobs", "Dockerfile"), "utf8")
        .split("\n")
        .find((l) => /^RUN npx esbuild /.test(l));
    if (!line) throw new Error("jobs/Dockerfile has no `RUN npx esbuild ...` line");
    return line
        .replace(/^RUN npx esbuild /, "")
        .trim()
        .split(/\s+/);
}

describe("jobs bundle (the image's entry point)", function () {
    this.timeout(60_000);
    let bundle: string;
    const run = (...args: string[]) =>
        spawnSync(process.execPath, [bundle, ...args], {
            encoding: "utf8",
            // sharp is external to the bundle, as in the image, where it sits in /app/node_modules
            env: { ...process.env, NODE_PATH: join(root, "node_modules") },
        });

    before(() => {
        const out = tempDir("bundle");
        bundle = join(out, "main.js");
        const args = dockerfileEsbuildArgs().map((a) => (a.startsWith("--outfile=") ? `--outfile=${bundle}` : a));
        expect(args).to.include("--external:sharp");
        const built = spawnSync(join(root, "node_modules", ".bin", "esbuild"), [...args, "--log-level=error"], {
            cwd: root,
            encoding: "utf8",
        });
        expect(built.status, built.stderr).to.equal(0);
        expect(existsSync(bundle)).to.equal(true);
    });

    it("prints each job's flags with --help", () => {
        for (const job of ["preprocess", "evaluate", "dataset"]) {
            const r = run(job, "--help");
            expect(r.status, r.stderr).to.equal(0);
            expect(r.stdout).to.match(new RegExp(`^usage: ${job} \\[flags\\]`));
        }
    });

    it("exits 2 with the usage for a missing or unknown job", () => {
        const none = run();
        expect(none.status).to.equal(2);
        expect(none.stderr).to.match(/^usage: main\.js <preprocess\|evaluate\|monitor\|dataset>/);
        const unknown = run("train");
        expect(unknown.status).to.equal(2);
        expect(unknown.stderr).to.match(/^unknown job "train"/);
    });

    it("exits 1 with a plain message, no stack trace, on an error the user can fix", () => {
        const r = run("preprocess", "--config", "/nonexistent/model.json", "--input", "/nonexistent", "--output", tempDir("bundle-out"));
        expect(r.status).to.equal(1);
        expect(r.stderr).to.match(/^preprocess: error: model config \/nonexistent\/model\.json does not exist/);
        expect(r.stderr).to.not.match(/\n\s+at /);
        const flag = run("evaluate", "--no-such-flag");
        expect(flag.status).to.equal(1);
        expect(flag.stderr).to.match(/Unknown option '--no-such-flag'[\s\S]*usage: evaluate/);
    });

    it("runs preprocess end to end, loading sharp from outside the bundle", async () => {
        const input = tempDir("bundle-in");
        for (const cls of ["a", "b"]) for (let i = 0; i < 3; i++) writeAt(input, `${cls}/${i}.jpg`, await noiseImage(20, 20, "jpeg"));
        const config = join(tempDir("bundle-config"), "model.json");
        writeFileSync(
            config,
            JSON.stringify({
                model: "ab",
                classes: ["a", "b"],
                imageShape: [3, 32, 32],
                split: { validation: 0.1, test: 0.1 },
                seed: 3,
                minAccuracy: 0.5,
                maxRegression: 0.01,
                confidenceThreshold: 0.8,
                drift: {},
            }),
        );
        const out = tempDir("bundle-run");
        // Two worker threads whatever the CPU count: the image runs the bundle in worker threads too.
        const r = run("preprocess", "--input", input, "--output", out, "--config", config, "--workers", "2");
        expect(r.status, r.stderr).to.equal(0);
        expect(r.stdout).to.match(/preprocess ab: 6 images kept \(train 2, validation 2, test 2\)/);
        expect(JSON.parse(readFileSync(join(out, "metadata", "dataset.json"), "utf8")).num_training_samples).to.equal(2);
    });
});

describe("jobs image wiring", () => {
    const dockerfile = readFileSync(join(root, "jobs", "Dockerfile"), "utf8");
    const script = readFileSync(join(root, "jobs", "entrypoint.sh"), "utf8");

    it("starts every job through the entry point the pipelines name", () => {
        const { JOBS_ENTRYPOINT } = require("../../infra/job-contract") as typeof import("../../infra/job-contract");
        const entrypoint = /^ENTRYPOINT (.+)$/m.exec(dockerfile)?.[1];
        expect(JSON.parse(entrypoint!)).to.deep.equal([...JOBS_ENTRYPOINT]);
        expect(dockerfile).to.match(new RegExp(`^COPY jobs/entrypoint.sh \\./entrypoint.sh$`, "m"));
        expect(dockerfile).to.match(/^WORKDIR \/app$/m);
    });

    it("runs the bundle the image builds, as the unprivileged node user", () => {
        expect(spawnSync("sh", ["-n", join(root, "jobs", "entrypoint.sh")]).status).to.equal(0);
        expect(dockerfileEsbuildArgs()).to.include("--outfile=dist/jobs/main.js");
        expect(script).to.include('JOB="/app/dist/jobs/main.js"');
        expect(script).to.match(/exec setpriv --reuid=node --regid=node --init-groups -- node "\$JOB" "\$@"/);
        expect(dockerfile).to.not.match(/^USER root$/m);
    });

    it("runs the jobs with jemalloc preloaded in the runtime stage, from the path it links", () => {
        const dockerfile = readFileSync(join(root, "jobs", "Dockerfile"), "utf8");
        const runtime = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
        expect(runtime).to.match(/apt-get install -y --no-install-recommends libjemalloc2/);
        const linked = /ln -s "\$\(find \/usr\/lib -name libjemalloc\.so\.2 \| head -n 1\)" (\S+)/.exec(runtime)?.[1];
        expect(linked).to.equal("/usr/local/lib/libjemalloc.so.2");
        expect(runtime).to.contain(`ENV LD_PRELOAD=${linked}`);
        // Preloaded before the jobs start: no RUN after it may need another allocator, and the entry point inherits it.
        expect(runtime.indexOf("ENV LD_PRELOAD")).to.be.below(runtime.indexOf("ENTRYPOINT"));
    });
});
