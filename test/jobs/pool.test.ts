import { expect } from "chai";
import { mapOrdered } from "../../jobs/lib/pool";

describe("jobs/lib/pool mapOrdered", () => {
    it("yields results in input order with at most `concurrency` calls in flight", async () => {
        let inFlight = 0;
        let most = 0;
        const ticks = [5, 1, 3, 0, 2];
        const out: string[] = [];
        for await (const r of mapOrdered(ticks, 2, async (t, i) => {
            inFlight++;
            most = Math.max(most, inFlight);
            for (let k = 0; k < t; k++) await new Promise((resolve) => setImmediate(resolve));
            inFlight--;
            return `${i}:${t}`;
        }))
            out.push(r);
        expect(out).to.deep.equal(["0:5", "1:1", "2:3", "3:0", "4:2"]);
        expect(most).to.equal(2);
    });

    it("raises a failure when its turn comes, after the results before it", async () => {
        const out: number[] = [];
        const error = await (async () => {
            for await (const r of mapOrdered([1, 2, 3], 3, async (x) => {
                if (x === 2) throw new Error("item 2 failed");
                return x;
            }))
                out.push(r);
        })().catch((e: Error) => e.message);
        expect([out, error]).to.deep.equal([[1], "item 2 failed"]);
    });
});
