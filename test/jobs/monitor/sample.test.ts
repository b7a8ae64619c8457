import { expect } from "chai";
import { byPriority, insertBounded, mergeBounded, Ranked, samplePriority } from "../../../jobs/monitor/sample";

describe("monitor image sample (bottom-k of a hash)", () => {
    it("ranks a record by the first 53 bits of SHA-1 of its event id", () => {
        // Python: int.from_bytes(sha1(id)[:8], "big") >> 11, over 2^53.
        expect(samplePriority("event-1")).to.equal(0.6013786234605679);
        expect(samplePriority("a")).to.equal(0.5272200237910938);
        expect(samplePriority("")).to.equal(0.8524420220332277);
    });

    const r = (priority: number, where: string): Ranked => ({ priority, where });

    it("orders by priority, then by place, so a repeated event id still has one fixed order", () => {
        const items = [r(0.5, "b:2"), r(0.2, "z:1"), r(0.5, "a:9"), r(0.5, "b:2"), r(0.1, "c:1")];
        expect([...items].sort(byPriority)).to.deep.equal([r(0.1, "c:1"), r(0.2, "z:1"), r(0.5, "a:9"), r(0.5, "b:2"), r(0.5, "b:2")]);
        expect(byPriority(r(0.5, "b:2"), r(0.5, "b:2"))).to.equal(0);
        expect(byPriority(r(0.5, "b:2"), r(0.5, "a:9"))).to.equal(1);
        expect(byPriority(r(0.5, "a:9"), r(0.5, "b:2"))).to.equal(-1);
    });

    it("keeps the k smallest in order as items arrive, saying whether each was kept", () => {
        const kept: Ranked[] = [];
        const arrivals = [0.7, 0.3, 0.9, 0.1, 0.5, 0.3, 0.95, 0.2];
        const answers = arrivals.map((p, i) => insertBounded(kept, r(p, `f:${i}`), 3, byPriority));
        // 0.7 0.3 0.9 fill it; 0.1 evicts 0.9; 0.5 evicts 0.7; the second 0.3 (later place) evicts 0.5; 0.95 is not kept; 0.2 evicts 0.3 (f:5).
        expect(answers).to.deep.equal([true, true, true, true, true, true, false, true]);
        expect(kept).to.deep.equal([r(0.1, "f:3"), r(0.2, "f:7"), r(0.3, "f:1")]);
        // An item equal to the largest kept one, in a full sample, goes after it and is not kept.
        expect(insertBounded(kept, r(0.3, "f:1"), 3, byPriority)).to.equal(false);
        expect(kept).to.have.length(3);
    });

    it("merges shards' samples into the sample of the union", () => {
        const a = [r(0.1, "a:1"), r(0.4, "a:2"), r(0.8, "a:3")];
        const b = [r(0.2, "b:1"), r(0.3, "b:2")];
        expect(mergeBounded([a, b], 3, byPriority)).to.deep.equal([r(0.1, "a:1"), r(0.2, "b:1"), r(0.3, "b:2")]);
        expect(mergeBounded([a, b], 10, byPriority)).to.have.length(5);
        expect(a).to.have.length(3);
    });
});
