import { expect } from "chai";
import { mutationScore, summarise, tallyMutants } from "../../scripts/mutation-summary";

const mutants = (...statuses: string[]) => ({ mutants: statuses.map((status) => ({ status })) });

describe("mutation summary", () => {
    it("counts killed, survived, no-coverage and timed-out mutants and leaves ignored and compile errors out", () => {
        const t = tallyMutants(mutants("Killed", "Killed", "Survived", "NoCoverage", "Timeout", "Ignored", "CompileError").mutants);
        expect(t).to.deep.equal({ mutants: 5, killed: 2, survived: 1, noCoverage: 1, timeout: 1 });
        // (2 killed + 1 timeout) of 5.
        expect(mutationScore(t)).to.equal(60);
        expect(mutationScore(tallyMutants([]))).to.equal(undefined);
    });

    it("totals each folder over its files and its subfolders', a later report's file replacing an earlier one's", () => {
        const { files, folders } = summarise([
            { files: { "infra/naming.ts": mutants("Survived", "Survived"), "infra/pipeline/trigger.ts": mutants("Killed") } },
            { files: { "infra/naming.ts": mutants("Killed", "Survived", "Killed"), "components/alerts.ts": mutants("NoCoverage") } },
        ]);
        expect(files.get("infra/naming.ts")).to.deep.equal({ mutants: 3, killed: 2, survived: 1, noCoverage: 0, timeout: 0 });
        expect(folders.get("infra/pipeline")).to.deep.equal({ mutants: 1, killed: 1, survived: 0, noCoverage: 0, timeout: 0 });
        expect(folders.get("infra")).to.deep.equal({ mutants: 4, killed: 3, survived: 1, noCoverage: 0, timeout: 0 });
        expect(mutationScore(folders.get("components")!)).to.equal(0);
        expect([...folders.keys()].sort()).to.deep.equal(["components", "infra", "infra/pipeline"]);
    });
});
