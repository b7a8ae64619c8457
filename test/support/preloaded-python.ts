import { ChildProcess, spawn } from "child_process";
import { join } from "path";
import { createInterface } from "readline";

/** How a program run by a preloaded interpreter ended, as spawnSync reports a process. */
export interface PythonRun {
    readonly status: number | null;
    readonly signal: string | null;
    readonly stdout: string;
    readonly stderr: string;
}

/**
 * A Python interpreter that has imported `modules` once and runs each program in a process forked from it (see
 * preloaded_python.py): for test files that run several programs importing the same costly modules (torch). Each
 * run is a process of its own with its own arguments, environment and output, started from the state just after
 * the imports; list only modules the programs import themselves, so a program that forgot one still fails.
 */
export class PreloadedPython {
    private readonly answers: Array<(line: string) => void> = [];
    private stderr = "";
    private exited: string | undefined;

    private constructor(private readonly proc: ChildProcess) {
        proc.stderr!.on("data", (d) => {
            this.stderr += String(d);
        });
        createInterface({ input: proc.stdout! }).on("line", (line) => this.answers.shift()?.(line));
        proc.on("exit", (code, signal) => {
            this.exited = `${code ?? signal}`;
            for (const answer of this.answers.splice(0)) answer("");
        });
        // The interpreter ends when its stdin closes, so it goes with this process and never holds it open.
        proc.unref();
        for (const s of [proc.stdin, proc.stdout, proc.stderr]) (s as unknown as { unref(): void }).unref();
    }

    /** Starts `python` with `env`, imports `modules`, and resolves once they are imported (rejects with Python's error). */
    static async start(python: string, modules: readonly string[], env: NodeJS.ProcessEnv): Promise<PreloadedPython> {
        const proc = spawn(python, [join(__dirname, "preloaded_python.py"), ...modules], { env, stdio: ["pipe", "pipe", "pipe"] });
        const interpreter = new PreloadedPython(proc);
        const ready = await interpreter.next();
        if (!ready)
            throw new Error(`${python} could not import ${modules.join(", ")} (exited ${interpreter.exited}):\n${interpreter.stderr}`);
        return interpreter;
    }

    /** Runs `python <args>` in a fresh fork with exactly `env`; ended by SIGALRM after `timeoutSeconds`. */
    async run(args: readonly string[], env: NodeJS.ProcessEnv, timeoutSeconds = 120): Promise<PythonRun> {
        const answer = this.next();
        this.proc.stdin!.write(`${JSON.stringify({ args, env, timeout: timeoutSeconds })}\n`);
        const line = await answer;
        if (!line) throw new Error(`the preloaded interpreter exited (${this.exited}):\n${this.stderr}`);
        return JSON.parse(line) as PythonRun;
    }

    /** Ends the interpreter (it exits when its stdin closes). */
    close(): void {
        this.proc.stdin!.end();
    }

    private next(): Promise<string> {
        if (this.exited !== undefined) return Promise.resolve("");
        return new Promise((resolve) => this.answers.push(resolve));
    }
}
