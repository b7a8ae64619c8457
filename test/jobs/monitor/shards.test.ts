import { ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { expect } from "chai";
import { readFileSync } from "fs";
import { join } from "path";
import { JobError } from "../../../jobs/lib/errors";
import { MonitorSettings } from "../../../jobs/monitor/settings";
import { commonFolder, writeShardManifest } from "../../../jobs/monitor/shards";
import { tempDir } from "../support/images";
import { defaultThresholds } from "./corpus";

/** A bucket listing the keys it holds (by prefix, or as folders with a delimiter) and recording what is put. */
function fakeS3(keys: string[]) {
    const puts: Record<string, unknown>[] = [];
    return {
        puts,
        send: async (command: unknown): Promise<never> => {
            const input = (command as { input: Record<string, string> }).input;
            if (command instanceof PutObjectCommand) {
                puts.push({ ...input });
                return {} as never;
            }
            if (!(command instanceof ListObjectsV2Command)) throw new Error("unexpected command");
            const under = keys.filter((k) => k.startsWith(input.Prefix));
            if (!input.Delimiter) return { Contents: under.map((Key) => ({ Key })) } as never;
            const folders = [...new Set(under.map((k) => k.slice(0, k.indexOf("/", input.Prefix.length) + 1)))];
            return { CommonPrefixes: folders.map((Prefix) => ({ Prefix })) } as never;
        },
    };
}

describe("monitor shards: the sharded run's manifest", () => {
    const capture = [
        "signs/capture/ep/AllTraffic/2026/01/10/12/b.jsonl",
        "signs/capture/ep/AllTraffic/2026/01/10/12/a.jsonl",
        "signs/capture/ep/AllTraffic/2026/01/10/12/notes.txt",
        "signs/capture/ep/AllTraffic/2026/01/10/13/late.jsonl",
        "signs/capture/ep/Canary/2026/01/10/12/c.jsonl",
        "signs/capture/other-ep/AllTraffic/2026/01/10/12/x.jsonl",
    ];
    const settings = (over: Partial<MonitorSettings> = {}) => ({
        capture: "s3://lake/signs/capture",
        baseline: "unused",
        output: "unused",
        upload: "s3://lake/signs/monitoring/ep/sch/",
        window: { start: new Date("2026-01-10T12:00:00Z"), end: new Date("2026-01-10T13:00:00Z") },
        endpoint: "ep",
        schedule: "sch",
        thresholds: defaultThresholds(),
        runId: "execution/42",
        listManifest: tempDir("shards"),
        shards: 3,
        ...over,
    });

    it("lists the window's capture files and one empty placeholder per instance under one shared prefix", async () => {
        const s3 = fakeS3(capture);
        const s = settings();
        const plan = await writeShardManifest(s, s3);
        // The run folder is the hour of the window's end; the prefix shared with the capture folder is signs/.
        const placeholder = (i: number) => `monitoring/ep/sch/2026/01/10/13/_shards/execution_42/empty/shard-${i}.jsonl`;
        const expected = [
            { prefix: "s3://lake/signs/" },
            "capture/ep/AllTraffic/2026/01/10/12/a.jsonl",
            "capture/ep/AllTraffic/2026/01/10/12/b.jsonl",
            "capture/ep/Canary/2026/01/10/12/c.jsonl",
            placeholder(1),
            placeholder(2),
            placeholder(3),
        ];
        expect(plan).to.deep.equal({ manifest: expected, captureFiles: 3, placeholders: 3 });
        expect(readFileSync(join(s.listManifest, "manifest.json"), "utf8")).to.equal(JSON.stringify(expected));
        expect(s3.puts).to.deep.equal([1, 2, 3].map((i) => ({ Bucket: "lake", Key: `signs/${placeholder(i)}`, Body: "" })));
    });

    it("encrypts the placeholders with the upload key, and names them after 'run' without a run id", async () => {
        const s3 = fakeS3([]);
        const plan = await writeShardManifest(settings({ runId: undefined, uploadKmsKeyId: "alias/monitoring" }), s3);
        expect(plan.captureFiles).to.equal(0);
        expect(plan.manifest.slice(1)).to.deep.equal([
            "monitoring/ep/sch/2026/01/10/13/_shards/run/empty/shard-1.jsonl",
            "monitoring/ep/sch/2026/01/10/13/_shards/run/empty/shard-2.jsonl",
            "monitoring/ep/sch/2026/01/10/13/_shards/run/empty/shard-3.jsonl",
        ]);
        expect(s3.puts[0]).to.deep.include({ ServerSideEncryption: "aws:kms", SSEKMSKeyId: "alias/monitoring" });
    });

    it("needs S3 capture and upload locations in one bucket", async () => {
        const refusal = async (over: Partial<MonitorSettings>) => {
            try {
                await writeShardManifest(settings(over), fakeS3(capture));
            } catch (e) {
                expect(e).to.be.instanceOf(JobError);
                return (e as Error).message;
            }
            throw new Error("expected a refusal");
        };
        const both = "--list-manifest needs --capture s3://... and --upload s3://... (the sharded pipeline passes both)";
        expect(await refusal({ capture: "/opt/ml/processing/input/capture" })).to.equal(both);
        expect(await refusal({ upload: undefined })).to.equal(both);
        expect(await refusal({ upload: "s3://reports/signs/monitoring/" })).to.equal(
            "--capture and --upload must be in one bucket for a sharded run's manifest",
        );
    });

    it("takes the longest shared prefix that ends at a folder boundary", () => {
        expect(commonFolder("a/b/", "a/b/")).to.equal("a/b/");
        expect(commonFolder("a/b/c/", "a/b/")).to.equal("a/b/");
        expect(commonFolder("a/bc/", "a/bd/")).to.equal("a/");
        expect(commonFolder("ab/", "ab")).to.equal("");
        expect(commonFolder("", "a/")).to.equal("");
    });
});
