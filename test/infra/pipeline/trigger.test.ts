import { expect } from "chai";
import { prefixes } from "../../../infra/naming";
import { latestDatasetKey } from "../../../infra/pipeline/image-classification";
import {
    batchManifestEventPattern,
    batchManifestPipelineParameters,
    checkedParameters,
    failedExecutionEventPattern,
    matchesEventPattern,
} from "../../../infra/pipeline/trigger";

/** An S3 "Object Created" event as EventBridge delivers it. */
function objectCreated(bucket: string, key: string, detailType = "Object Created") {
    return {
        version: "0",
        id: "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": detailType,
        source: "aws.s3",
        account: "123456789012",
        time: "2026-11-22T17:35:00Z",
        region: "us-east-1",
        resources: [`arn:aws:s3:::${bucket}`],
        detail: {
            version: "0",
            bucket: { name: bucket },
            object: { key, size: 5, etag: "b1946ac92492d2347c6235b4d2611184", sequencer: "00617F08299329D189" },
            "request-id": "N4N7GDK58NMKJ12R",
            requester: "123456789012",
            reason: "PutObject",
        },
    };
}

describe("infra/pipeline/trigger", () => {
    const pattern = batchManifestEventPattern("raw-bucket", "traffic-signs");

    it("matches a batch manifest of the model in the raw bucket", () => {
        expect(
            matchesEventPattern(pattern, objectCreated("raw-bucket", prefixes.batchManifest("traffic-signs", "20261122T173500Z-1a2b3c"))),
        ).to.equal(true);
    });

    it("does not match the batch's images, its batch.json, the latest pointer or a merged dataset manifest", () => {
        for (const key of [
            "traffic-signs/batches/20261122T173500Z-1a2b3c/stop/3f2a9c1e.jpg",
            "traffic-signs/batches/20261122T173500Z-1a2b3c/batch.json",
            "traffic-signs/batches/20261122T173500Z-1a2b3c/_manifest.json.tmp",
            latestDatasetKey("traffic-signs"),
            prefixes.mergedManifest("traffic-signs", "ab".repeat(32)),
        ])
            expect(matchesEventPattern(pattern, objectCreated("raw-bucket", key)), key).to.equal(false);
    });

    it("does not match another model's manifest, even one whose name extends this one's", () => {
        expect(matchesEventPattern(pattern, objectCreated("raw-bucket", prefixes.batchManifest("bikes-vs-motorcycles", "b1")))).to.equal(
            false,
        );
        expect(matchesEventPattern(pattern, objectCreated("raw-bucket", prefixes.batchManifest("traffic-signs-v2", "b1")))).to.equal(false);
        const short = batchManifestEventPattern("raw-bucket", "traffic");
        expect(matchesEventPattern(short, objectCreated("raw-bucket", prefixes.batchManifest("traffic-signs", "b1")))).to.equal(false);
    });

    it("does not match other buckets or other event types", () => {
        expect(matchesEventPattern(pattern, objectCreated("curated-bucket", prefixes.batchManifest("traffic-signs", "b1")))).to.equal(
            false,
        );
        expect(
            matchesEventPattern(pattern, objectCreated("raw-bucket", prefixes.batchManifest("traffic-signs", "b1"), "Object Deleted")),
        ).to.equal(false);
    });

    it("uses the EventBridge pattern syntax: one wildcard on the key", () => {
        expect(pattern).to.deep.equal({
            source: ["aws.s3"],
            "detail-type": ["Object Created"],
            detail: { bucket: { name: ["raw-bucket"] }, object: { key: [{ wildcard: "traffic-signs/batches/*/_manifest.json" }] } },
        });
    });

    it("passes the object key as the BatchManifestKey parameter, as a whole JSON path", () => {
        expect(batchManifestPipelineParameters()).to.deep.equal([{ name: "BatchManifestKey", value: "$.detail.object.key" }]);
        expect(() => checkedParameters([{ name: "Batch.Key", value: "x" }])).to.throw(/name "Batch.Key" must be 1-256 letters, digits/);
        expect(() => checkedParameters([{ name: "Key", value: "$.detail.object.key/x" }])).to.throw(
            /must be a whole JSON path in dot notation/,
        );
    });

    it("matches failed executions of the one pipeline only", () => {
        const arn = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/vision-mlops-staging-traffic-signs-training";
        const statusChange = (pipelineArn: string, status: string) => ({
            source: "aws.sagemaker",
            "detail-type": "SageMaker Model Building Pipeline Execution Status Change",
            detail: {
                pipelineArn,
                pipelineExecutionArn: `${pipelineArn}/execution/abc123`,
                currentPipelineExecutionStatus: status,
                previousPipelineExecutionStatus: "Executing",
            },
        });
        const failed = failedExecutionEventPattern(arn);
        expect(matchesEventPattern(failed, statusChange(arn, "Failed"))).to.equal(true);
        expect(matchesEventPattern(failed, statusChange(arn, "Succeeded"))).to.equal(false);
        expect(matchesEventPattern(failed, statusChange(arn.replace("traffic-signs", "bikes"), "Failed"))).to.equal(false);
    });
});
