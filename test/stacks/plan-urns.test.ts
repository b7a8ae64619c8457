import { expect } from "chai";
import { plannedUrns } from "../../scripts/plan";

const PREFIX = "urn:pulumi:staging::vision-mlops::";
const resource = (type: string, name: string, parent?: string) => ({ type, name, parent, inputs: {} });

describe("the plan's URNs and aliases, as the engine forms them", () => {
    const platform = resource("vision-mlops:platform:Platform", "vision-mlops-staging");
    const lake = resource(
        "vision-mlops:data:DataLake",
        "vision-mlops-staging-lake",
        "vision-mlops:platform:Platform::vision-mlops-staging",
    );
    const key = resource("aws:kms/key:Key", "vision-mlops-staging-lake-key", "vision-mlops:data:DataLake::vision-mlops-staging-lake");

    it("chains every parent type, the root stack's left out", () => {
        const [, , k] = plannedUrns([platform, lake, key], new Map(), new Map(), PREFIX);
        expect(k).to.deep.equal({
            urn: `${PREFIX}vision-mlops:platform:Platform$vision-mlops:data:DataLake$aws:kms/key:Key::vision-mlops-staging-lake-key`,
            aliases: [],
        });
    });

    it("derives a grandchild's aliases from its ancestors' (a renamed root type keeps the whole tree's URNs)", () => {
        const aliases = new Map([["vision-mlops:platform:Platform::vision-mlops-staging", [{ type: "vision-mlops:stack:Platform" }]]]);
        const [p, l, k] = plannedUrns([platform, lake, key], aliases, new Map(), PREFIX);
        expect(p.aliases).to.deep.equal([`${PREFIX}vision-mlops:stack:Platform::vision-mlops-staging`]);
        expect(l.aliases).to.deep.equal([`${PREFIX}vision-mlops:stack:Platform$vision-mlops:data:DataLake::vision-mlops-staging-lake`]);
        expect(k.aliases).to.deep.equal([
            `${PREFIX}vision-mlops:stack:Platform$vision-mlops:data:DataLake$aws:kms/key:Key::vision-mlops-staging-lake-key`,
        ]);
    });

    it("renames a child named after its parent with the parent's alias name, and takes aliases given as URNs", () => {
        const aliases = new Map<string, string[] | { name: string }[]>([
            ["vision-mlops:platform:Platform::vision-mlops-staging", [{ name: "platform-staging" }]],
            ["vision-mlops:data:DataLake::vision-mlops-staging-lake", [`${PREFIX}vision-mlops:data:DataLake::old-lake`]],
        ]);
        const [, l, k] = plannedUrns([platform, lake, key], aliases, new Map(), PREFIX);
        expect(l.aliases).to.deep.equal([
            `${PREFIX}vision-mlops:data:DataLake::old-lake`,
            `${PREFIX}vision-mlops:platform:Platform$vision-mlops:data:DataLake::platform-staging-lake`,
        ]);
        expect(k.aliases).to.deep.equal([
            `${PREFIX}vision-mlops:data:DataLake$aws:kms/key:Key::old-lake-key`,
            `${PREFIX}vision-mlops:platform:Platform$vision-mlops:data:DataLake$aws:kms/key:Key::platform-staging-lake-key`,
        ]);
    });
});
