/** The error a call or a promise fails with; the test fails if it succeeds instead. */
export async function failureOf(run: Promise<unknown> | (() => unknown)): Promise<Error> {
    try {
        await (typeof run === "function" ? run() : run);
    } catch (e) {
        return e as Error;
    }
    throw new Error("expected a failure");
}
