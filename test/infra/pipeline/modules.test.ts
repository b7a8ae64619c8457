import { expect } from "chai";
import { readFileSync } from "fs";
import { resolve } from "path";

const PIPELINE = resolve(__dirname, "../../../infra/pipeline");

/** The project modules a file imports (relative specifiers), static imports and re-exports alike. */
function localImports(file: string): string[] {
    const text = readFileSync(resolve(PIPELINE, file), "utf8");
    const specifiers = [...text.matchAll(/\b(?:import|export)\b[^;"']*?\bfrom\s*["']([^"']+)["']/g)].map((m) => m[1]);
    return [...new Set(specifiers.filter((s) => s.startsWith(".")))].sort();
}

describe("the pipeline builder's modules", () => {
    it("import each other in one direction only: expressions, then the definition's types, then its readers, then the builder", () => {
        expect(localImports("expressions.ts"), "expressions").to.deep.equal([]);
        expect(localImports("definition.ts"), "definition").to.deep.equal(["./expressions"]);
        expect(localImports("inspect.ts"), "inspect").to.deep.equal(["./definition", "./expressions"]);
        expect(localImports("builder.ts"), "builder").to.deep.equal(["../tags", "./definition", "./expressions", "./inspect"]);
    });

    it("the builder still offers everything its parts export, for the modules and tests that import it alone", async () => {
        const builder = await import("../../../infra/pipeline/builder");
        for (const part of ["expressions", "inspect"]) {
            const module = await import(`../../../infra/pipeline/${part}`);
            for (const name of Object.keys(module)) expect(builder, `${part}.${name}`).to.have.property(name, module[name]);
        }
        expect(Object.keys(builder)).to.include.members([
            "PipelineBuilder",
            "join",
            "jsonGet",
            "compare",
            "execution",
            "stepGraph",
            "allSteps",
        ]);
    });
});
