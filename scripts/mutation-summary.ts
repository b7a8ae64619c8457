/**
 * `npm run mutation:summary [report.json ...]`: the score table of one or more Stryker JSON reports
 * (default: every reports/mutation/*.json), per file and per folder (a folder's row includes its subfolders), in Markdown.
 *
 * A folder's row is the total over its files in the reports given; a file measured in two reports (say, once
 * with a narrow spec and once with the whole suite) counts from the last report named. Score as Stryker
 * reports it: (killed + timeout) / (killed + timeout + survived + no coverage); ignored and compile errors
 * are left out.
 */
import { readdirSync, readFileSync } from "fs";
import { dirname, join } from "path";

interface MutantResult {
    readonly status: string;
}

interface MutationReport {
    readonly files: Record<string, { readonly mutants: readonly MutantResult[] }>;
}

export interface Tally {
    mutants: number;
    killed: number;
    survived: number;
    noCoverage: number;
    timeout: number;
}

const emptyTally = (): Tally => ({ mutants: 0, killed: 0, survived: 0, noCoverage: 0, timeout: 0 });

/** Counts one file's mutants by status; ignored mutants and compile errors are not counted at all. */
export function tallyMutants(mutants: readonly MutantResult[]): Tally {
    const tally = emptyTally();
    for (const { status } of mutants) {
        if (status === "Killed") tally.killed++;
        else if (status === "Survived") tally.survived++;
        else if (status === "NoCoverage") tally.noCoverage++;
        else if (status === "Timeout") tally.timeout++;
        else continue;
        tally.mutants++;
    }
    return tally;
}

/** Stryker's mutation score over covered and uncovered mutants, in percent; undefined when there are none. */
export function mutationScore(t: Tally): number | undefined {
    return t.mutants === 0 ? undefined : (100 * (t.killed + t.timeout)) / t.mutants;
}

/** Per-file tallies of the reports (a later report's file replaces an earlier one's), then per-folder totals. */
export function summarise(reports: readonly MutationReport[]): { files: Map<string, Tally>; folders: Map<string, Tally> } {
    const files = new Map<string, Tally>();
    for (const report of reports) {
        for (const [file, { mutants }] of Object.entries(report.files)) files.set(file, tallyMutants(mutants));
    }
    const folders = new Map<string, Tally>();
    for (const [file, t] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
        // Every folder above the file counts it: infra/** includes infra/pipeline/**.
        for (let folder = dirname(file); folder !== "." && folder !== "/"; folder = dirname(folder)) {
            const total = folders.get(folder) ?? emptyTally();
            for (const key of Object.keys(t) as (keyof Tally)[]) total[key] += t[key];
            folders.set(folder, total);
        }
    }
    return { files, folders };
}

function row(name: string, t: Tally): string {
    const score = mutationScore(t);
    const cells = [t.mutants, t.killed, t.survived, t.noCoverage, t.timeout, score === undefined ? "n/a" : `${score.toFixed(1)}%`];
    return `| ${name} | ${cells.join(" | ")} |`;
}

function main(argv: readonly string[]): void {
    const dir = "reports/mutation";
    const paths =
        argv.length > 0
            ? argv
            : readdirSync(dir)
                  .filter((f) => f.endsWith(".json"))
                  .map((f) => join(dir, f));
    const reports = paths.map((p) => JSON.parse(readFileSync(p, "utf8")) as MutationReport);
    const { files, folders } = summarise(reports);
    const head = ["| file | mutants | killed | survived | no coverage | timeout | score |", "|---|---|---|---|---|---|---|"];
    console.log([...head, ...[...files].sort(([a], [b]) => a.localeCompare(b)).map(([f, t]) => row(f, t))].join("\n"));
    console.log();
    const folderRows = [...folders].sort(([a], [b]) => a.localeCompare(b)).map(([f, t]) => row(`${f}/**`, t));
    console.log([...head, ...folderRows].join("\n").replace("| file |", "| folder |"));
}

if (require.main === module) main(process.argv.slice(2));
