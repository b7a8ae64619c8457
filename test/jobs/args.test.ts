import { expect } from "chai";
import { intFlag, parseFlags, stringFlag } from "../../jobs/lib/args";
import { JobError } from "../../jobs/lib/errors";

describe("jobs/lib/args", () => {
    const spec = { input: { type: "string" }, workers: { type: "string" }, dry: { type: "boolean" } } as const;

    it("parses known flags, refuses unknown ones and stray arguments with the usage", () => {
        expect(parseFlags(["--input", "in", "--dry"], spec, "USAGE", {})).to.deep.equal({ input: "in", dry: true });
        expect(() => parseFlags(["--bogus"], spec, "USAGE", {})).to.throw(JobError, /^Unknown option '--bogus'.*\n\nUSAGE$/s);
        expect(() => parseFlags(["stray"], spec, "USAGE", {})).to.throw(JobError, /\n\nUSAGE$/);
        expect(parseFlags(["a", "--input", "x", "b"], spec, "USAGE", { positionals: true })).to.deep.equal({
            flags: { input: "x" },
            positionals: ["a", "b"],
        });
    });

    it("prints the usage for --help or -h and returns nothing", () => {
        const printed: unknown[] = [];
        const log = console.log;
        console.log = (...args: unknown[]) => printed.push(...args);
        try {
            expect(parseFlags(["--help"], spec, "USAGE", {})).to.equal(undefined);
            expect(parseFlags(["-h"], spec, "USAGE", { positionals: true })).to.equal(undefined);
        } finally {
            console.log = log;
        }
        expect(printed).to.deep.equal(["USAGE", "USAGE"]);
    });

    it("reads string and whole-number flags, naming a bad number", () => {
        expect([stringFlag({ a: "x" }, "a"), stringFlag({ a: true }, "a"), stringFlag({}, "a")]).to.deep.equal(["x", undefined, undefined]);
        expect([intFlag({ workers: "3" }, "workers", 8), intFlag({ workers: "1" }, "workers", 8), intFlag({}, "workers", 8)]).to.deep.equal(
            [3, 1, 8],
        );
        for (const bad of ["0", "-2", "1.5", "many"])
            expect(() => intFlag({ workers: bad }, "workers", 8), bad).to.throw(
                JobError,
                `--workers must be a whole number >= 1, got "${bad}"`,
            );
    });
});
