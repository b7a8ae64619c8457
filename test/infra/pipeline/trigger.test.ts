import { expect } from "chai";
import { prefixes } from "../../../infra/naming";
import { latestDatasetKey } from "../../../infra/pipeline/image-classification";
import {
    batchManifestEventPattern,
    batchManifestPipelineParameters,
    checkedParameters,
    failedExecutionEventPattern,
} from "../../../infra/pipeline/trigger";
import { judgedCases } from "../../support/event-patterns";

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

const ARN = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/vision-mlops-staging-traffic-signs-training";
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

describe("infra/pipeline/trigger", () => {
    const pattern = batchManifestEventPattern("raw-bucket", "traffic-signs");
    const batch = "traffic-signs/batches/20261122T173500Z-1a2b3c";
    /** Not a batch manifest of the model: the batch's images, its batch.json, a temp name, the latest pointer, a merged dataset. */
    const notManifests = [
        `${batch}/stop/3f2a9c1e.jpg`,
        `${batch}/batch.json`,
        `${batch}/_manifest.json.tmp`,
        latestDatasetKey("traffic-signs"),
        prefixes.mergedManifest("traffic-signs", "ab".repeat(32)),
    ];
    // EventBridge's verdicts (moto's matcher standing in for TestEventPattern) on every event below, asked once.
    let verdict: Record<string, boolean>;
    before(() => {
        verdict = judgedCases({
            manifest: [pattern, objectCreated("raw-bucket", prefixes.batchManifest("traffic-signs", "20261122T173500Z-1a2b3c"))],
            ...Object.fromEntries(notManifests.map((key) => [key, [pattern, objectCreated("raw-bucket", key)] as const])),
            "bikes-vs-motorcycles": [pattern, objectCreated("raw-bucket", prefixes.batchManifest("bikes-vs-motorcycles", "b1"))],
            "traffic-signs-v2": [pattern, objectCreated("raw-bucket", prefixes.batchManifest("traffic-signs-v2", "b1"))],
            "traffic -> traffic-signs": [
                batchManifestEventPattern("raw-bucket", "traffic"),
                objectCreated("raw-bucket", prefixes.batchManifest("traffic-signs", "b1")),
            ],
            "curated bucket": [pattern, objectCreated("curated-bucket", prefixes.batchManifest("traffic-signs", "b1"))],
            "deleted manifest": [pattern, objectCreated("raw-bucket", prefixes.batchManifest("traffic-signs", "b1"), "Object Deleted")],
            "failed execution": [failedExecutionEventPattern(ARN), statusChange(ARN, "Failed")],
            "succeeded execution": [failedExecutionEventPattern(ARN), statusChange(ARN, "Succeeded")],
            "another pipeline failed": [failedExecutionEventPattern(ARN), statusChange(ARN.replace("traffic-signs", "bikes"), "Failed")],
        });
    });

    it("matches a batch manifest of the model in the raw bucket", () => {
        expect(verdict.manifest).to.equal(true);
    });

    it("does not match the batch's images, its batch.json, the latest pointer or a merged dataset manifest", () => {
        for (const key of notManifests) expect(verdict[key], key).to.equal(false);
    });

    it("does not match another model's manifest, even one whose name extends this one's", () => {
        expect(verdict["bikes-vs-motorcycles"]).to.equal(false);
        expect(verdict["traffic-signs-v2"]).to.equal(false);
        expect(verdict["traffic -> traffic-signs"]).to.equal(false);
    });

    it("does not match other buckets or other event types", () => {
        expect(verdict["curated bucket"]).to.equal(false);
        expect(verdict["deleted manifest"]).to.equal(false);
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

    it("keeps parameters within EventBridge's rules: names of 1-256 letters, digits, _ or -, whole dot paths, values up to 1024", () => {
        const ok = [
            { name: "A".repeat(256), value: "literal" },
            { name: "Batch_Key-2", value: "$.detail.object.key" },
            { name: "Single", value: "$.a" },
            { name: "Long", value: "x".repeat(1024) },
            { name: "Dollar", value: "x$" },
        ];
        const checked = checkedParameters(ok);
        expect(checked).to.deep.equal(ok);
        expect(checked, "a copy").to.not.equal(ok);
        expect(() => checkedParameters([{ name: "A".repeat(257), value: "x" }])).to.throw(
            `EventBridge pipeline parameter name "${"A".repeat(257)}" must be 1-256 letters, digits, "_" or "-"`,
        );
        expect(() => checkedParameters([{ name: "", value: "x" }])).to.throw('parameter name "" must be 1-256');
        expect(() => checkedParameters([{ name: "Key ", value: "x" }])).to.throw('parameter name "Key " must be 1-256');
        for (const value of [
            "$",
            "$.",
            "$.detail..key",
            "$.detail[0]",
            "$.detail.object key",
            "$detail",
            "$.detail.key.",
            "$x$.detail.key",
        ])
            expect(() => checkedParameters([{ name: "Key", value }]), value).to.throw(
                `EventBridge pipeline parameter Key: ${JSON.stringify(value)} must be a whole JSON path in dot notation such as $.detail.object.key`,
            );
        expect(() => checkedParameters([{ name: "Key", value: "x".repeat(1025) }])).to.throw(
            "EventBridge pipeline parameter Key: value longer than 1024 characters",
        );
    });

    it("matches failed executions of the one pipeline only", () => {
        expect(failedExecutionEventPattern(ARN)).to.deep.equal({
            source: ["aws.sagemaker"],
            "detail-type": ["SageMaker Model Building Pipeline Execution Status Change"],
            detail: { pipelineArn: [ARN], currentPipelineExecutionStatus: ["Failed"] },
        });
        expect(verdict["failed execution"]).to.equal(true);
        expect(verdict["succeeded execution"]).to.equal(false);
        expect(verdict["another pipeline failed"]).to.equal(false);
    });
});
