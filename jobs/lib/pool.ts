/**
 * Applies `fn` to each item with at most `concurrency` calls in flight and yields the results in input
 * order. Results are handed on as soon as they are next in line, so memory holds at most `concurrency`
 * results whatever the number of items.
 */
export async function* mapOrdered<T, R>(
    items: Iterable<T>,
    concurrency: number,
    fn: (item: T, index: number) => Promise<R>,
): AsyncGenerator<R> {
    const inFlight: Promise<R>[] = [];
    let index = 0;
    for (const item of items) {
        const pending = fn(item, index++);
        // Marked handled here; the rejection is still raised when this result's turn comes.
        pending.catch(() => undefined);
        inFlight.push(pending);
        if (inFlight.length >= concurrency) yield await inFlight.shift()!;
    }
    while (inFlight.length > 0) yield await inFlight.shift()!;
}
