/**
 * A problem with a job's input or flags that the person running it can fix (a missing folder, an unknown
 * label, a class too small to split). The entry point prints it without a stack trace and exits 1.
 */
export class JobError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "JobError";
    }
}

/** At most `max` items of a list for an error message, with how many were left out. */
export function listSome(items: readonly string[], max = 10): string {
    const shown = items.slice(0, max).join("; ");
    return items.length > max ? `${shown}; and ${items.length - max} more` : shown;
}
