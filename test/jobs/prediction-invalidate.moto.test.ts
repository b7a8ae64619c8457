import { CloudFrontClient, CreateDistributionCommand, GetInvalidationCommand, ListInvalidationsCommand } from "@aws-sdk/client-cloudfront";
import { expect } from "chai";
import { invalidate, invalidationProblems } from "../../jobs/prediction/invalidate";
import { MotoServer, startMoto } from "../support/moto";

describe("prediction page invalidation against CloudFront (moto)", function () {
    this.timeout(60_000);
    let moto: MotoServer;
    let cloudfront: CloudFrontClient;
    let distributionId: string;

    before(async () => {
        moto = await startMoto();
        cloudfront = new CloudFrontClient({ ...moto.clientConfig, region: "us-east-1" });
        const created = await cloudfront.send(
            new CreateDistributionCommand({
                DistributionConfig: {
                    CallerReference: "page",
                    Comment: "page",
                    Enabled: true,
                    Origins: {
                        Quantity: 1,
                        Items: [
                            { Id: "site", DomainName: "site.s3.us-east-1.amazonaws.com", S3OriginConfig: { OriginAccessIdentity: "" } },
                        ],
                    },
                    DefaultCacheBehavior: {
                        TargetOriginId: "site",
                        ViewerProtocolPolicy: "redirect-to-https",
                        CachePolicyId: "658327ea-f89d-4fab-a63d-7e88639e58f6",
                    },
                },
            }),
        );
        distributionId = created.Distribution!.Id!;
    });
    after(async () => moto?.stop());

    it("invalidates the entry files of one site version at the page's distribution", async () => {
        const result = await invalidate(cloudfront, {
            distributionId,
            paths: ["/", "/index.html", "/config.json"],
            version: "0123456789abcdef",
        });
        expect(result.invalidationId).to.be.a("string").and.not.equal("");
        const listed = await cloudfront.send(new ListInvalidationsCommand({ DistributionId: distributionId }));
        expect(listed.InvalidationList?.Items?.map((i) => i.Id)).to.include(result.invalidationId);
        const got = await cloudfront.send(new GetInvalidationCommand({ DistributionId: distributionId, Id: result.invalidationId }));
        expect(got.Invalidation?.InvalidationBatch?.Paths?.Items).to.deep.equal(["/", "/index.html", "/config.json"]);
        expect(got.Invalidation?.InvalidationBatch?.CallerReference).to.equal("site-0123456789abcdef");
    });

    it("refuses a request that is not one, before calling CloudFront", async () => {
        expect(invalidationProblems({ distributionId: "e2x", paths: ["index.html"], version: "v 1" })).to.deep.equal([
            'distributionId "e2x" is not a CloudFront distribution id',
            'paths ["index.html"] must be a non-empty list of paths starting with "/"',
            'version "v 1" must be 1-128 letters, digits, ".", "_" or "-"',
        ]);
        let calls = 0;
        const counting = { send: async () => void calls++ } as unknown as CloudFrontClient;
        let error: Error | undefined;
        await invalidate(counting, { distributionId: "E2X", paths: [], version: "v1" }).catch((e: Error) => (error = e));
        expect(error?.message).to.match(/^invalid invalidation request: paths \[\] must be/);
        expect(calls).to.equal(0);
    });
});
