import { expect } from "chai";
import { approveOptions } from "../../jobs/cli/approve";
import { CliError } from "../../jobs/cli/common";
import { rejectOptions } from "../../jobs/cli/reject";
import { reportOptions } from "../../jobs/cli/report";
import { statusOptions } from "../../jobs/cli/status";

describe("CLI arguments", () => {
    it("approve takes stack, model and note", () => {
        expect(approveOptions(["--stack", "staging", "--model", "traffic-signs", "--note", "ok"])).to.deep.equal({
            stack: "staging",
            model: "traffic-signs",
            note: "ok",
            forceReason: undefined,
            overrule: false,
        });
        expect(approveOptions(["--stack", "staging", "--model", "traffic-signs", "--overrule"])?.overrule).to.equal(true);
    });

    it("approve --force needs --reason, and --reason needs --force", () => {
        expect(() => approveOptions(["--stack", "staging", "--model", "m", "--force"])).to.throw(
            CliError,
            '--force needs --reason "..." saying why approving without clean monitoring evidence is acceptable',
        );
        expect(() => approveOptions(["--stack", "staging", "--model", "m", "--reason", "because"])).to.throw(
            CliError,
            "--reason is only used with --force",
        );
        expect(approveOptions(["--stack", "staging", "--model", "m", "--force", "--reason", "new camera"])?.forceReason).to.equal(
            "new camera",
        );
    });

    it("missing, empty and unknown options are errors that show the usage", () => {
        expect(() => approveOptions(["--model", "m"])).to.throw(
            CliError,
            /^--stack is required\nusage: npm run approve -- --stack <stack>/,
        );
        expect(() => approveOptions(["--stack", "staging"])).to.throw(CliError, "--model is required");
        expect(() => approveOptions(["--stack", "staging", "--model", "m", "--note", " "])).to.throw(CliError, "--note is empty");
        expect(() => approveOptions(["--stack", "staging", "--model", "m", "--aprove"])).to.throw(CliError, "Unknown option '--aprove'");
        expect(() => approveOptions(["staging"])).to.throw(CliError, /usage: npm run approve/);
    });

    it("reject requires a reason", () => {
        expect(() => rejectOptions(["--stack", "staging", "--model", "m"])).to.throw(
            CliError,
            "--reason is required; say why the package is rejected",
        );
        expect(rejectOptions(["--stack", "staging", "--model", "m", "--reason", "night errors"])).to.deep.equal({
            stack: "staging",
            model: "m",
            reason: "night errors",
            overrule: false,
        });
        expect(rejectOptions(["--stack", "staging", "--model", "m", "--reason", "r", "--overrule"])?.overrule).to.equal(true);
    });

    it("status takes an optional model and --json; report an optional --out", () => {
        expect(statusOptions(["--stack", "prod"])).to.deep.equal({ stack: "prod", model: undefined, json: false });
        expect(statusOptions(["--stack", "prod", "--model", "m", "--json"])).to.deep.equal({ stack: "prod", model: "m", json: true });
        expect(reportOptions(["--stack", "staging", "--model", "m", "--out", "/tmp/r"])).to.deep.equal({
            stack: "staging",
            model: "m",
            out: "/tmp/r",
        });
        expect(() => reportOptions(["--stack", "staging"])).to.throw(CliError, "--model is required");
    });

    it("--help prints the usage and the options instead of running", () => {
        const printed: string[] = [];
        expect(approveOptions(["--help"], (t) => printed.push(t))).to.equal(undefined);
        expect(printed[0]).to.match(/^usage: npm run approve -- --stack <stack> --model <model>/);
        expect(printed[0]).to.contain("--force");
        expect(statusOptions(["-h"], (t) => printed.push(t))).to.equal(undefined);
        expect(printed[1]).to.contain("--json");
    });
});
