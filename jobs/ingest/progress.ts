/** Where progress goes: a terminal gets one line redrawn in place, a log gets a line every `every` items. */
export interface ProgressStream {
    write(text: string): unknown;
    readonly isTTY?: boolean;
}

export class Progress {
    private lastPhase = "";

    constructor(
        private readonly stream: ProgressStream,
        private readonly every = 100,
    ) {}

    update(phase: string, done: number, total: number): void {
        const line = `${phase} ${done}/${total}${total ? ` (${Math.floor((100 * done) / total)}%)` : ""}`;
        if (this.stream.isTTY) {
            if (this.lastPhase && this.lastPhase !== phase) this.stream.write("\n");
            this.stream.write(`\r${line}\x1b[K`);
            if (done === total) this.stream.write("\n");
        } else if (done === total || done % this.every === 0) {
            this.stream.write(`${line}\n`);
        }
        this.lastPhase = done === total ? "" : phase;
    }
}
