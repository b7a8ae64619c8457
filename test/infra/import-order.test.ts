import { expect } from "chai";
import { spawnSync } from "child_process";
import { resolve } from "path";
import { TEST_TRANSPILER } from "../support/processes";

const ROOT = resolve(__dirname, "../..");

describe("infra modules load in any order", () => {
    it("the cost model and the config schema each load first in a fresh process (no import cycle through a half-loaded module)", function () {
        this.timeout(120_000);
        for (const module of ["./infra/cost", "./infra/config", "./components/cost-budget"]) {
            const run = spawnSync(process.execPath, [...TEST_TRANSPILER, "-e", `require(${JSON.stringify(module)})`], {
                cwd: ROOT,
                encoding: "utf8",
            });
            expect(run.stderr.split("\n").find((l) => /Error/.test(l)) ?? "", module).to.equal("");
            expect(run.status, module).to.equal(0);
        }
    });
});
