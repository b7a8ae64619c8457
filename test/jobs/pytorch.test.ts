import { expect } from "chai";
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import { existsSync, readFileSync } from "fs";
import { join } from "path";
import sharp from "sharp";
import { PYTORCH_CHECKPOINT_DIR, PYTORCH_METRIC_DEFINITIONS, PYTORCH_SOURCE_DIR } from "../../infra/pipeline/pytorch";
import { classProbabilities } from "../../jobs/lib/class-probabilities";
import { imageFoldersPath, openImageFolders } from "../../jobs/preprocess/image-folders";
import { PreloadedPython, PythonRun } from "../support/preloaded-python";
import { tempDir, writeAt } from "./support/images";

/** Debian's CPU PyTorch is installed for the system interpreter, not for a pyenv one on PATH. */
const PYTHON = "/usr/bin/python3";
const root = join(__dirname, "..", "..");
const source = join(root, PYTORCH_SOURCE_DIR);

/** Class order differs from alphabetical order: the index is the class's position in the model's class list. */
const CLASSES = ["red", "green", "blue"];
const COLOURS: Record<string, { r: number; g: number; b: number }> = {
    red: { r: 200, g: 30, b: 30 },
    green: { r: 30, g: 200, b: 30 },
    blue: { r: 30, g: 30, b: 200 },
};

/**
 * Which of torch, torchvision and PIL the interpreter cannot find, without importing them: importing torch costs
 * seconds of CPU, and every run below imports it anyway (an installed but broken torch fails there, loudly).
 */
function torchProblem(): string | undefined {
    const find = "import importlib.util as u; print(' '.join(m for m in ['torch', 'torchvision', 'PIL'] if u.find_spec(m) is None))";
    const r = spawnSync(PYTHON, ["-c", find], { encoding: "utf8" });
    if (r.error) return `${PYTHON}: ${r.error.message}`;
    if (r.status !== 0) return r.stderr.trim().split("\n").pop();
    const missing = r.stdout.trim();
    return missing ? `no module named ${missing.split(" ").join(", ")}` : undefined;
}

/** A colour with per-image noise: different bytes every time, one obvious class. */
async function colourImage(colour: string, format: "jpeg" | "png" | "webp", seed: number): Promise<Buffer> {
    const noise = sharp({
        create: { width: 40, height: 36, channels: 3, background: "#000", noise: { type: "gaussian", mean: 0, sigma: 20 } },
    });
    const image = sharp({ create: { width: 40, height: 36, channels: 3, background: COLOURS[colour] } }).composite([
        { input: await noise.png().toBuffer(), blend: seed % 2 ? "add" : "difference" },
    ]);
    return format === "jpeg" ? image.jpeg({ quality: 90 }).toBuffer() : format === "png" ? image.png().toBuffer() : image.webp().toBuffer();
}

/**
 * Every program below imports torch (seconds of CPU each time), so one interpreter imports torch and torchvision,
 * which train.py and inference.py import themselves, and runs each program in a process forked from it. One thread:
 * the suite's other tests share the machine (torch reads OMP_NUM_THREADS when it is imported).
 */
const PRELOAD = ["torch", "torchvision"];
let python: PreloadedPython | undefined;

/** `python3 <args>` with this process's environment; throws unless it exits 0. */
async function run(args: string[], env: Record<string, string> = {}): Promise<PythonRun> {
    const r = await python!.run(args, { ...process.env, OMP_NUM_THREADS: "1", PYTHONDONTWRITEBYTECODE: "1", ...env });
    if (r.status !== 0) throw new Error(`${PYTHON} ${args.join(" ")} exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`);
    return r;
}

/** Values SageMaker would parse from a log with the step's MetricDefinitions, per metric name. */
function parsedMetrics(log: string): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const line of log.split("\n"))
        for (const d of PYTORCH_METRIC_DEFINITIONS) {
            const m = new RegExp(d.Regex!).exec(line);
            if (m) (out[d.Name!] ??= []).push(Number(m[1]));
        }
    return out;
}

const epochsOf = (log: string) => [...log.matchAll(/^epoch=(\d+) /gm)].map((m) => Number(m[1]));

// The handler as the inference container calls it: model_fn once, then input_fn -> predict_fn -> output_fn per request.
const HARNESS = `
import importlib.util, json, sys
model_dir, requests = sys.argv[1], json.load(open(sys.argv[2]))
spec = importlib.util.spec_from_file_location("inference", model_dir + "/code/inference.py")
handler = importlib.util.module_from_spec(spec); spec.loader.exec_module(handler)
model = handler.model_fn(model_dir)
answers = []
for r in requests:
    try:
        body, accept = handler.output_fn(handler.predict_fn(handler.input_fn(open(r["file"], "rb").read(), r["contentType"]), model), r["accept"])
        answers.append({"body": body, "contentType": accept})
    except Exception as e:
        answers.append({"error": type(e).__name__, "message": str(e)})
print(json.dumps(answers))
`;

describe("PyTorch script mode: train.py and inference.py on CPU", function () {
    this.timeout(180_000);
    let data: string;
    let modelDir: string;
    let checkpoints: string;
    let first: string;

    const train = async (epochs: number, extra: string[] = []) =>
        (
            await run([
                join(source, "train.py"),
                ...["--architecture", "squeezenet1_1", "--image_shape", "3,32,32", "--epochs", String(epochs), "--batch_size", "8"],
                ...["--weights", "none", "--num_workers", "0", "--seed", "7", "--checkpoint_dir", checkpoints, ...extra],
            ])
        ).stdout;

    before(async function () {
        const problem = torchProblem();
        if (problem) {
            if (process.env.CI)
                throw new Error(`${PYTHON} cannot import torch (${problem}): .ci/run installs python3-torch and python3-torchvision`);
            console.log(
                `      skipped: ${PYTHON} cannot import torch and torchvision (${problem}); apt-get install python3-torch python3-torchvision`,
            );
            this.skip();
        }
        python = await PreloadedPython.start(PYTHON, PRELOAD, { ...process.env, OMP_NUM_THREADS: "1", PYTHONDONTWRITEBYTECODE: "1" });
        data = tempDir("pytorch");
        modelDir = join(data, "model");
        checkpoints = join(data, "checkpoints");
        // The channels as preprocess writes them for PyTorch models (its image-folder layout).
        for (const [channel, perClass] of [
            ["train", 10],
            ["validation", 4],
        ] as const) {
            const writer = await openImageFolders(join(data, channel), CLASSES);
            for (const [classIndex, c] of CLASSES.entries())
                for (let i = 0; i < perClass; i++) {
                    const jpeg = await colourImage(c, "jpeg", i);
                    await writer.write({ classIndex, sha256: createHash("sha256").update(jpeg).digest("hex") }, jpeg);
                }
            await writer.commit();
        }
        // SageMaker's environment, as script mode sets it for the step's channels.
        process.env.SM_CHANNEL_TRAIN = imageFoldersPath(join(data, "train"));
        process.env.SM_CHANNEL_VALIDATION = imageFoldersPath(join(data, "validation"));
        process.env.SM_MODEL_DIR = modelDir;
        first = await train(1);
    });

    after(() => {
        python?.close();
        python = undefined;
        for (const k of ["SM_CHANNEL_TRAIN", "SM_CHANNEL_VALIDATION", "SM_MODEL_DIR"]) delete process.env[k];
    });

    it("checkpoints under /opt/ml/checkpoints unless told otherwise", () => {
        expect(readFileSync(join(source, "train.py"), "utf8")).to.include(`default="${PYTORCH_CHECKPOINT_DIR}"`);
    });

    it("prints one metric line per epoch that the step's MetricDefinitions parse", () => {
        expect(epochsOf(first)).to.deep.equal([1]);
        const metrics = parsedMetrics(first);
        expect(Object.keys(metrics).sort()).to.deep.equal(["train:accuracy", "train:loss", "validation:accuracy", "validation:loss"]);
        for (const values of Object.values(metrics)) expect(values).to.have.length(1);
        expect(metrics["validation:accuracy"][0]).to.be.within(0, 1);
        // validation:accuracy is the epoch's, not the best so far (best_validation_accuracy is on the same line).
        const line = first.split("\n").find((l) => l.startsWith("epoch=1 "))!;
        expect(metrics["validation:accuracy"][0]).to.equal(Number(/ validation_accuracy=([0-9.]+)/.exec(line)![1]));
        expect(first).to.match(/weights: random initialisation/);
    });

    it("writes model.pth, class_map.json in the model's class order and code/inference.py into the model directory", () => {
        expect(existsSync(join(modelDir, "model.pth"))).to.equal(true);
        expect(JSON.parse(readFileSync(join(modelDir, "class_map.json"), "utf8"))).to.deep.equal({
            architecture: "squeezenet1_1",
            classes: CLASSES,
            image_shape: [3, 32, 32],
        });
        expect(readFileSync(join(modelDir, "code", "inference.py"), "utf8")).to.equal(readFileSync(join(source, "inference.py"), "utf8"));
        expect(existsSync(join(checkpoints, "checkpoint.pth"))).to.equal(true);
    });

    it("a second run resumes from the checkpoint, continues the epoch count and stops early on validation accuracy", async () => {
        const second = await train(5, ["--patience", "1", "--min_epochs", "2"]);
        expect(second).to.match(/resuming from .*checkpoint\.pth: epoch 1 done/);
        expect(second).not.to.match(/weights: /);
        const epochs = epochsOf(second);
        expect(epochs).to.deep.equal(epochs.map((_, i) => i + 2));
        // Where early stopping should have stopped, worked out from the accuracies the two runs printed.
        const accuracies = [...parsedMetrics(first)["validation:accuracy"], ...parsedMetrics(second)["validation:accuracy"]];
        let best = -1;
        let stale = 0;
        let expectedStop: number | undefined;
        for (const [i, a] of accuracies.entries()) {
            [best, stale] = a > best ? [a, 0] : [best, stale + 1];
            if (i + 1 >= 2 && stale >= 1) {
                expectedStop = i + 1;
                break;
            }
        }
        expect(epochs[epochs.length - 1]).to.equal(expectedStop ?? 5);
        if (expectedStop) expect(second).to.include(`early stopping after epoch ${expectedStop}:`);
        // The model directory holds the best epoch's weights, which the log names.
        const bestEpoch = accuracies.indexOf(Math.max(...accuracies)) + 1;
        expect(second).to.match(new RegExp(`model: epoch ${bestEpoch} \\(validation accuracy`));
    });

    it("refuses a checkpoint written for other classes instead of training on top of it", async () => {
        const other = join(data, "other");
        const reordered = ["blue", "red", "green"];
        for (const channel of ["train", "validation"]) {
            writeAt(other, `${channel}/class_map.json`, JSON.stringify({ classes: reordered }));
            for (const c of reordered) writeAt(other, `${channel}/${c}/${c}.jpg`, await colourImage(c, "jpeg", 1));
        }
        const args = [join(source, "train.py"), "--architecture", "squeezenet1_1", "--image_shape", "3,32,32", "--num_workers", "0"];
        const r = await python!.run([...args, "--checkpoint_dir", checkpoints], {
            ...process.env,
            SM_CHANNEL_TRAIN: join(other, "train"),
            SM_CHANNEL_VALIDATION: join(other, "validation"),
        });
        expect(r.status).to.not.equal(0);
        expect(r.stderr).to.match(/checkpoint\.pth was written for .*'blue', 'red', 'green'.*clear the checkpoint location/s);
    });

    it("serves the model directory through inference.py with the built-in algorithm's JSON", async () => {
        const requests: Array<{ file: string; contentType: string; accept: string; colour?: string }> = [];
        const cases = [
            ["red", "jpeg", "image/jpeg"],
            ["green", "png", "image/png"],
            ["blue", "webp", "image/webp"],
            ["green", "jpeg", "application/x-image"],
            ["red", "png", "image/png; charset=binary"],
        ] as const;
        for (const [i, [colour, format, contentType]] of cases.entries()) {
            const file = writeAt(data, `requests/${i}.${format}`, await colourImage(colour, format, 100 + i));
            requests.push({ file, contentType, accept: "application/json", colour });
        }
        const jpeg = requests[0].file;
        requests.push({ file: jpeg, contentType: "image/jpeg", accept: "application/jsonlines" });
        requests.push({ file: jpeg, contentType: "text/csv", accept: "application/json" });
        requests.push({
            file: writeAt(data, "requests/broken.jpg", "not an image"),
            contentType: "image/jpeg",
            accept: "application/json",
        });
        requests.push({ file: jpeg, contentType: "image/jpeg", accept: "text/csv" });
        const requestsFile = writeAt(data, "requests.json", JSON.stringify(requests));
        const answers = JSON.parse((await run(["-c", HARNESS, modelDir, requestsFile])).stdout) as Array<{
            body?: string;
            contentType?: string;
            error?: string;
            message?: string;
        }>;

        const images = requests.filter((r) => r.colour);
        images.forEach((r, i) => {
            const a = answers[i];
            expect(a.contentType, r.file).to.equal("application/json");
            // The built-in algorithm's application/json answer: a bare list of class probabilities, nothing else.
            const parsed = JSON.parse(a.body!);
            expect(parsed).to.be.an("array").with.length(CLASSES.length);
            const p = classProbabilities(parsed, CLASSES.length);
            expect(p.reduce((s, x) => s + x, 0)).to.be.closeTo(1, 1e-5);
            for (const x of p) expect(x).to.be.within(0, 1);
        });
        const [lines, csv, broken, csvAccept] = answers.slice(images.length);
        expect(lines.contentType).to.equal("application/jsonlines");
        expect(lines.body!.endsWith("\n")).to.equal(true);
        expect(classProbabilities(JSON.parse(lines.body!), CLASSES.length)).to.deep.equal(JSON.parse(answers[0].body!));
        expect(Object.keys(JSON.parse(lines.body!))).to.deep.equal(["prediction"]);
        expect(csv).to.include({ error: "UnsupportedFormatError" });
        expect(csv.message).to.include("text/csv");
        expect(broken.error).to.equal("ValueError");
        expect(broken.message).to.match(/not a decodable image/);
        expect(csvAccept).to.include({ error: "UnsupportedFormatError" });
    });
});

describe("PyTorch source folder", () => {
    it("holds the entry point and the handler train.py copies", () => {
        for (const f of ["train.py", "inference.py"]) expect(existsSync(join(source, f)), f).to.equal(true);
        // Nothing else that train.py would need but the container lacks: only the standard library, torch, torchvision, PIL.
        const imports = new Set<string>();
        for (const f of ["train.py", "inference.py"])
            for (const m of readFileSync(join(source, f), "utf8").matchAll(/^\s*(?:from|import) ([A-Za-z_][\w]*)/gm)) imports.add(m[1]);
        const allowed = ["argparse", "json", "os", "random", "shutil", "socket", "sys", "time", "io", "importlib"];
        expect([...imports].filter((m) => !allowed.includes(m)).sort()).to.deep.equal([
            "PIL",
            "sagemaker_inference",
            "torch",
            "torchvision",
        ]);
    });
});
