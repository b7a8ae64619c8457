import { createReadStream } from "fs";
import { createInterface } from "readline";
import { walkFiles } from "../lib/fs-walk";
import { join } from "path";

/**
 * Ground-truth labels for captured requests, JSON lines in either form:
 * - `{"inferenceId": "...", "label": "stop"}` (or `"eventId"`; the label a class name or index);
 * - Model Monitor's own: `{"groundTruthData": {"data": "stop", "encoding": "CSV"}, "eventMetadata": {"eventId": "..."}}`.
 * Labels are held in memory (one entry per labelled request); capture records are still streamed.
 */
export interface GroundTruth {
    /** Class index by inferenceId or eventId. */
    readonly labels: ReadonlyMap<string, number>;
    /** Lines that were not JSON, had no id, or named a class the model does not have. */
    readonly rejected: number;
    readonly rejectedSamples: readonly string[];
}

export async function loadGroundTruth(dir: string, classes: readonly string[]): Promise<GroundTruth> {
    const labels = new Map<string, number>();
    const byName = new Map(classes.map((c, i) => [c, i]));
    let rejected = 0;
    const rejectedSamples: string[] = [];
    const reject = (where: string, why: string) => {
        rejected++;
        if (rejectedSamples.length < 10) rejectedSamples.push(`${where}: ${why}`);
    };
    for await (const rel of walkFiles(dir)) {
        if (!/\.jsonl?$/.test(rel)) continue;
        const rl = createInterface({ input: createReadStream(join(dir, rel)), crlfDelay: Infinity });
        let lineNo = 0;
        for await (const line of rl) {
            lineNo++;
            if (!line.trim()) continue;
            let v: any;
            try {
                v = JSON.parse(line);
            } catch {
                reject(`${rel}:${lineNo}`, "not JSON");
                continue;
            }
            const id: unknown = v?.inferenceId ?? v?.eventId ?? v?.eventMetadata?.inferenceId ?? v?.eventMetadata?.eventId;
            const raw: unknown = v?.label ?? v?.groundTruthData?.data;
            if (typeof id !== "string" || id === "") { reject(`${rel}:${lineNo}`, "no inferenceId or eventId"); continue; }
            const index = classIndex(raw, byName, classes.length);
            if (index === undefined) { reject(`${rel}:${lineNo}`, `label ${JSON.stringify(raw)} is not one of the model's classes`); continue; }
            labels.set(id, index);
        }
    }
    return { labels, rejected, rejectedSamples };
}

function classIndex(raw: unknown, byName: ReadonlyMap<string, number>, count: number): number | undefined {
    if (typeof raw === "number") return Number.isInteger(raw) && raw >= 0 && raw < count ? raw : undefined;
    if (typeof raw !== "string") return undefined;
    const text = raw.trim().replace(/^"(.*)"$/, "$1");
    if (byName.has(text)) return byName.get(text);
    if (/^\d+$/.test(text)) return classIndex(Number(text), byName, count);
    return undefined;
}
