import { expect } from "chai";
import { mkdirSync, mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { CpuProfile, formatThread, shortLocation, summariseProfile, summariseProfiles } from "../../scripts/cpu-profile";

const ROOT = "/repo";
const frame = (functionName: string, url = "", lineNumber = -1) => ({ functionName, url, lineNumber });

/**
 * Ten samples: sharp's pipeline() 4 (called from two places, so two nodes), measureImage 2, (idle) 3,
 * (garbage collector) 1; the root and a caller with no samples of their own.
 */
const PROFILE: CpuProfile = {
    nodes: [
        { id: 1, callFrame: frame("(root)") },
        { id: 2, callFrame: frame("measureImage", "file:///repo/jobs/lib/image-properties.ts", 79) },
        { id: 3, callFrame: frame("pipeline", "file:///repo/node_modules/sharp/lib/output.js", 1610) },
        { id: 4, callFrame: frame("(idle)") },
        { id: 5, callFrame: frame("(garbage collector)") },
        { id: 6, callFrame: frame("pipeline", "file:///repo/node_modules/sharp/lib/output.js", 1610) },
        { id: 7, callFrame: frame("", "node:internal/main/run_main_module", 0) },
    ],
    samples: [3, 3, 2, 4, 6, 4, 5, 2, 4, 6],
    startTime: 1_000_000,
    endTime: 3_500_000,
};

describe("CPU profile summary", () => {
    it("counts each function's own samples over every node it appears as, and the thread's busy share", () => {
        const s = summariseProfile("main thread", PROFILE, ROOT, 3);
        expect(s.seconds).to.equal(2.5);
        expect(s.samples).to.equal(10);
        // 3 of 10 samples idle.
        expect(s.busyShare).to.be.closeTo(0.7, 1e-12);
        expect(s.top).to.deep.equal([
            { name: "pipeline", where: "sharp/lib/output.js:1611", share: 0.4 },
            { name: "(idle)", share: 0.3 },
            { name: "measureImage", where: "jobs/lib/image-properties.ts:80", share: 0.2 },
        ]);
        expect(formatThread(s)).to.equal(
            "main thread, 2.5 s, 70% busy: pipeline (sharp/lib/output.js:1611) 40.0%, (idle) 30.0%, " +
                "measureImage (jobs/lib/image-properties.ts:80) 20.0%",
        );
    });

    it("refuses a sample naming a node the profile does not have", () => {
        expect(() => summariseProfile("t", { ...PROFILE, samples: [3, 99] }, ROOT)).to.throw(/node 99/);
    });

    it("names files inside node_modules by package path, the project's relative to its root, node's as they are", () => {
        expect(shortLocation("file:///repo/node_modules/a/node_modules/sharp/lib/output.js", ROOT)).to.equal("sharp/lib/output.js");
        expect(shortLocation("file:///repo/.bench/dist/main.js", ROOT)).to.equal(".bench/dist/main.js");
        expect(shortLocation("file:///repo/jobs/my%20file.ts", ROOT)).to.equal("jobs/my file.ts");
        expect(shortLocation("node:internal/worker", ROOT)).to.equal("node:internal/worker");
    });

    it("reads a process's profiles main thread first, then its workers by thread id, and says when there are none", () => {
        const dir = mkdtempSync(join(tmpdir(), "cpu-profile-"));
        const one = (samples: number[]) => JSON.stringify({ ...PROFILE, samples });
        writeFileSync(join(dir, "CPU.20261201.192149.12835.12.001.cpuprofile"), one([4]));
        writeFileSync(join(dir, "CPU.20261201.192149.12835.0.003.cpuprofile"), one([2, 2]));
        writeFileSync(join(dir, "CPU.20261201.192149.12835.3.002.cpuprofile"), one([3]));
        writeFileSync(join(dir, "notes.txt"), "not a profile");
        const threads = summariseProfiles(dir, ROOT);
        expect(threads.map((t) => [t.thread, t.samples, t.top[0].name])).to.deep.equal([
            ["main thread", 2, "measureImage"],
            ["worker thread 3", 1, "pipeline"],
            ["worker thread 12", 1, "(idle)"],
        ]);
        const empty = join(dir, "empty");
        mkdirSync(empty);
        expect(() => summariseProfiles(empty, ROOT)).to.throw(/no CPU profile was written/);
    });
});
