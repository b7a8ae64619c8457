import { expect } from "chai";
import { JobError } from "../../jobs/lib/errors";
import { minimumPerClass, seededRandom, shuffle, splitCounts, stratifiedSplit } from "../../jobs/lib/split";
import { listSome } from "../../jobs/lib/errors";

const items = (cls: string, n: number) => Array.from({ length: n }, (_, i) => `${cls}/${i}`);

describe("jobs/lib/split", () => {
    it("gives the same sequence for the same seed and a different one for another seed", () => {
        const a = seededRandom(42),
            b = seededRandom(42),
            c = seededRandom(43);
        const seqA = [a(), a(), a()],
            seqB = [b(), b(), b()],
            seqC = [c(), c(), c()];
        expect(seqA).to.deep.equal(seqB);
        expect(seqA).to.not.deep.equal(seqC);
        expect(seqA.every((x) => x >= 0 && x < 1)).to.equal(true);
    });

    it("holds out each class in proportion, at least one image per requested split, and never leaves train empty", () => {
        expect(splitCounts(100, { validation: 0.1, test: 0.15 })).to.deep.equal({ train: 75, validation: 10, test: 15 });
        expect(splitCounts(3, { validation: 0.1, test: 0.1 })).to.deep.equal({ train: 1, validation: 1, test: 1 });
        // 4 x 0.44 rounds to 2 and 2, leaving no training image; one goes back from validation.
        expect(splitCounts(4, { validation: 0.44, test: 0.44 })).to.deep.equal({ train: 1, validation: 1, test: 2 });
        expect(splitCounts(5, { validation: 0.2, test: 0 })).to.deep.equal({ train: 4, validation: 1, test: 0 });
    });

    it("splits every class by the fractions, deterministically, without losing or repeating an item", () => {
        const byClass = new Map([
            ["a", items("a", 50)],
            ["b", items("b", 20)],
            ["c", items("c", 7)],
        ]);
        const split = stratifiedSplit(byClass, { validation: 0.2, test: 0.1 }, 7);
        const count = (list: string[], cls: string) => list.filter((x) => x.startsWith(`${cls}/`)).length;
        expect(["a", "b", "c"].map((c) => [count(split.train, c), count(split.validation, c), count(split.test, c)])).to.deep.equal([
            [35, 10, 5],
            [14, 4, 2],
            [5, 1, 1],
        ]);
        const all = [...split.train, ...split.validation, ...split.test].sort();
        expect(all).to.deep.equal([...byClass.values()].flat().sort());
        expect(stratifiedSplit(byClass, { validation: 0.2, test: 0.1 }, 7)).to.deep.equal(split);
        expect(stratifiedSplit(byClass, { validation: 0.2, test: 0.1 }, 8).validation).to.not.deep.equal(split.validation);
    });

    it("keeps a class's split when another class is added", () => {
        const before = stratifiedSplit(new Map([["a", items("a", 30)]]), { validation: 0.2, test: 0.2 }, 1);
        const after = stratifiedSplit(
            new Map([
                ["a", items("a", 30)],
                ["b", items("b", 30)],
            ]),
            { validation: 0.2, test: 0.2 },
            1,
        );
        expect(after.test.filter((x) => x.startsWith("a/"))).to.deep.equal(before.test);
    });

    it("names every class too small to split and what it needs", () => {
        const byClass = new Map([
            ["a", items("a", 10)],
            ["b", items("b", 2)],
            ["empty", []],
        ]);
        expect(() => stratifiedSplit(byClass, { validation: 0.1, test: 0.1 }, 1)).to.throw(
            JobError,
            /classes too small to split \(each needs at least 3 usable images.*\): b has 2; empty has 0; add images/,
        );
    });

    it("refuses a split that would leave a class without validation or test images", () => {
        const byClass = new Map([
            ["a", items("a", 10)],
            ["b", items("b", 10)],
        ]);
        expect(() => stratifiedSplit(byClass, { validation: 0.2, test: 0 }, 1)).to.throw(
            JobError,
            /split\.test is 0: every class needs at least one test image \(and one validation image\); set training\.split\.test above 0/,
        );
        expect(() => stratifiedSplit(byClass, { validation: 0, test: 0 }, 1)).to.throw(JobError, /split\.validation is 0/);
    });

    // Expected sequences from an independent Python implementation of mulberry32, FNV-1a and Fisher-Yates; mulberry32(42)'s
    // first value and FNV-1a("a") = 0xe40c292c are the published reference values.
    it("is mulberry32: the same numbers on every machine, so a split is reproducible anywhere", () => {
        const r = seededRandom(42);
        expect([r(), r(), r()]).to.deep.equal([0.6011037519201636, 0.44829055899754167, 0.8524657934904099]);
        expect(shuffle([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], seededRandom(1))).to.deep.equal([7, 8, 3, 2, 1, 5, 9, 4, 0, 6]);
    });

    it("shuffles each class with the seed mixed with the class name (FNV-1a), then mixes the training images", () => {
        const byClass = new Map([
            ["cat", items("cat", 6)],
            ["dog", items("dog", 4)],
        ]);
        expect(stratifiedSplit(byClass, { validation: 0.2, test: 0.2 }, 7)).to.deep.equal({
            train: ["dog/1", "cat/2", "cat/5", "cat/3", "dog/3", "cat/4"],
            validation: ["cat/1", "dog/2"],
            test: ["cat/0", "dog/0"],
        });
    });

    it("gives back held-out images from the larger split first, never below one each", () => {
        // 5 images at 40/60: 2 + 3 leave none to train on; test is the larger and gives one back.
        expect(splitCounts(5, { validation: 0.4, test: 0.6 })).to.deep.equal({ train: 1, validation: 2, test: 2 });
        // 2 images with both splits asked for: one each, nothing left to give back (stratifiedSplit refuses such a class).
        expect(splitCounts(2, { validation: 0.1, test: 0.1 })).to.deep.equal({ train: 0, validation: 1, test: 1 });
        expect(splitCounts(5, { validation: 0, test: 0.2 })).to.deep.equal({ train: 4, validation: 0, test: 1 });
        expect([minimumPerClass({ validation: 0.1, test: 0.1 }), minimumPerClass({ validation: 0, test: 0.1 })]).to.deep.equal([3, 2]);
        expect(minimumPerClass({ validation: 0.1, test: 0 })).to.equal(2);
        // A class of exactly the minimum splits one image each way.
        const three = stratifiedSplit(new Map([["a", items("a", 3)]]), { validation: 0.1, test: 0.1 }, 1);
        expect([three.train.length, three.validation.length, three.test.length]).to.deep.equal([1, 1, 1]);
    });

    it("lists at most the first few problems in a message, saying how many more there are", () => {
        expect(listSome(["a", "b", "c"], 2)).to.equal("a; b; and 1 more");
        expect(listSome(["a", "b"], 2)).to.equal("a; b");
        expect(listSome(Array.from({ length: 12 }, (_, i) => `c${i}`))).to.equal("c0; c1; c2; c3; c4; c5; c6; c7; c8; c9; and 2 more");
    });
});
