import { expect } from "chai";
import { spawnSync } from "child_process";
import { SAGEMAKER_REGIONS, SAGEMAKER_REGIONS_SOURCE } from "../../infra/regions";

describe("infra/regions", () => {
    it("is a sorted list of region names without repeats or FIPS endpoints, and says where it came from", () => {
        expect([...SAGEMAKER_REGIONS]).to.deep.equal([...new Set(SAGEMAKER_REGIONS)].sort());
        for (const r of SAGEMAKER_REGIONS) expect(r).to.match(/^[a-z]{2}(-gov)?-[a-z]+-\d$/);
        expect(SAGEMAKER_REGIONS).to.include.members(["us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1"]);
        expect(SAGEMAKER_REGIONS_SOURCE).to.match(/botocore .*endpoints\.json/);
    });

    it("names only regions where botocore's endpoint data lists the SageMaker API (where botocore is installed)", function () {
        // botocore comes with moto, which the integration tests need anyway; its endpoints.json is the
        // endpoint metadata AWS publishes for its SDKs.
        const script = [
            "import botocore, json, os",
            "d = json.load(open(os.path.join(os.path.dirname(botocore.__file__), 'data', 'endpoints.json')))",
            "print(json.dumps(sorted({r for p in d['partitions'] for r in p['services'].get('api.sagemaker', {}).get('endpoints', {})})))",
        ].join("\n");
        const r = spawnSync("python3", ["-c", script], { encoding: "utf8" });
        if (r.status !== 0) this.skip();
        const known = new Set<string>(JSON.parse(r.stdout));
        for (const region of SAGEMAKER_REGIONS)
            expect(known.has(region), `${region} is not in botocore's api.sagemaker endpoints`).to.equal(true);
    });
});
