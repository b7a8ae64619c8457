import { expect } from "chai";
import { readdirSync, readFileSync } from "fs";
import { join, resolve } from "path";

const COMPONENTS = resolve(__dirname, "../../components");
const sources = readdirSync(COMPONENTS)
    .filter((f) => f.endsWith(".ts"))
    .sort()
    .map((file) => ({ file, text: readFileSync(join(COMPONENTS, file), "utf8") }));

/** Module specifiers a file imports from (static imports, re-exports, `import type`, `require` and `import()`). */
function importsOf(text: string): string[] {
    const specifiers = [
        ...text.matchAll(/\b(?:import|export)\b[^;"']*?\bfrom\s*["']([^"']+)["']/g),
        ...text.matchAll(/\bimport\s*["']([^"']+)["']/g),
        ...text.matchAll(/\b(?:require|import)\s*\(\s*["']([^"']+)["']\s*\)/g),
    ];
    return specifiers.map((m) => m[1]);
}

/** `<file>:<line>: <text>` of every component source line the pattern matches. */
const linesMatching = (pattern: RegExp): string[] =>
    sources.flatMap(({ file, text }) =>
        text
            .split("\n")
            .map((line, i) => ({ line, at: `${file}:${i + 1}` }))
            .filter(({ line }) => pattern.test(line))
            .map(({ line, at }) => `${at}: ${line.trim()}`),
    );

/**
 * `pulumi.all([...])` calls with their number of values: the array is read to its closing bracket, counting the
 * commas outside nested brackets, calls and strings, so `pulumi.all([f(a, b), c])` is two values.
 */
function positionalAlls(text: string): { line: number; values: number }[] {
    const found: { line: number; values: number }[] = [];
    for (const m of text.matchAll(/\bpulumi\s*\.\s*all\s*\(\s*\[/g)) {
        let depth = 0;
        let quote: string | undefined;
        let commas = 0;
        let items = 0;
        let sinceComma = "";
        for (let i = m.index + m[0].length; i < text.length; i++) {
            const ch = text[i];
            if (quote) {
                if (ch === "\\") i++;
                else if (ch === quote) quote = undefined;
                sinceComma += "x";
                continue;
            }
            if (ch === '"' || ch === "'" || ch === "`") quote = ch;
            else if ("([{".includes(ch)) depth++;
            else if (")}".includes(ch) || (ch === "]" && depth > 0)) depth--;
            else if (ch === "]") {
                items = commas + (sinceComma.trim() ? 1 : 0);
                break;
            } else if (ch === "," && depth === 0) {
                commas++;
                sinceComma = "";
                continue;
            }
            sinceComma += ch;
        }
        found.push({ line: text.slice(0, m.index).split("\n").length, values: items });
    }
    return found;
}

/** Comparisons of a value with an environment name, the switch a component leaves to the stack. */
const ENVIRONMENT_COMPARISON =
    /(?:[!=]==?\s*["'`](?:staging|prod)["'`])|(?:["'`](?:staging|prod)["'`]\s*[!=]==?)|\bcase\s+["'`](?:staging|prod)["'`]/;

describe("components follow the house rules", () => {
    it("finds the component sources it checks", () => {
        expect(sources.map((s) => s.file)).to.include.members(["data-lake.ts", "alerts.ts", "model-endpoint.ts"]);
    });

    it("never import the stack-config schema (infra/config) or the environment's resource options: they take their own documented args", () => {
        const offenders = sources.flatMap(({ file, text }) =>
            importsOf(text)
                .filter((s) => /(^|\/)infra\/(config|resource-options)(\.ts)?$/.test(s))
                .map((s) => `${file} imports ${s}`),
        );
        expect(offenders).to.deep.equal([]);
    });

    it("never compare an environment name: the stack maps the environment onto explicit args", () => {
        expect(linesMatching(ENVIRONMENT_COMPARISON)).to.deep.equal([]);
    });

    it("build no policy document by hand: IAM documents come from infra/iam.ts, bucket, key and topic policies from infra/resource-policies.ts", () => {
        expect(linesMatching(/\bVersion\s*:\s*["'`]2012-10-17["'`]/)).to.deep.equal([]);
    });

    it("lift more than two values as named outputs (pulumi.output({ ... })), never a positional pulumi.all([...]) whose order must match its apply", () => {
        const offenders = sources.flatMap(({ file, text }) =>
            positionalAlls(text)
                .filter((call) => call.values > 2)
                .map((call) => `${file}:${call.line}: pulumi.all of ${call.values} values`),
        );
        expect(offenders).to.deep.equal([]);
    });

    it("recognises what it refuses (the checks themselves can fail)", () => {
        expect(importsOf(`import { Environment } from "../infra/config";`)).to.deep.equal(["../infra/config"]);
        expect(importsOf(`import type {\n    ModelConfig,\n} from "../infra/config";`)).to.deep.equal(["../infra/config"]);
        expect(importsOf(`const c = require("../infra/config");`)).to.deep.equal(["../infra/config"]);
        for (const line of [
            `const prod = args.environment === "prod";`,
            `if ("staging" !== env) {`,
            "    case 'prod':",
            "deletionProtection: env == `prod`,",
        ])
            expect(ENVIRONMENT_COMPARISON.test(line), line).to.equal(true);
        for (const line of [`name: \`alias/vision-mlops-\${env}-data\`,`, `/** prod protects data */`, `environment: "prod",`])
            expect(ENVIRONMENT_COMPARISON.test(line), line).to.equal(false);
        expect(positionalAlls(`const a = pulumi.all([role.arn, bucket.arn]);`)).to.deep.equal([{ line: 1, values: 2 }]);
        expect(positionalAlls(`x;\nconst a = pulumi\n    .all([f(a, b), [1, 2], "c,d", { e, f },\n    g,\n]);`)).to.deep.equal([
            { line: 2, values: 5 },
        ]);
        expect(positionalAlls(`pulumi.all([a, \`\${b}]\`, c])`)).to.deep.equal([{ line: 1, values: 3 }]);
        expect(positionalAlls(`pulumi.all({ a, b, c }); pulumi.output([a, b, c]);`)).to.deep.equal([]);
    });
});
