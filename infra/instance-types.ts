import {
    ProcessingInstanceType,
    ProductionVariantInstanceType,
    TrainingInstanceType,
    TransformInstanceType,
} from "@aws-sdk/client-sagemaker";

/**
 * The instance types SageMaker accepts for each kind of job, taken from the enums of the SageMaker API model
 * that `@aws-sdk/client-sagemaker` ships (`TrainingInstanceType`, `ProcessingInstanceType`,
 * `TransformInstanceType`, `ProductionVariantInstanceType`), so a type AWS does not have is refused before
 * anything is deployed, and the lists move with the SDK.
 */
export const INSTANCE_TYPES = {
    training: listOf(TrainingInstanceType),
    processing: listOf(ProcessingInstanceType),
    transform: listOf(TransformInstanceType),
    endpoint: listOf(ProductionVariantInstanceType),
} as const;

export type InstanceUse = keyof typeof INSTANCE_TYPES;

const DESCRIPTIONS: Record<InstanceUse, string> = {
    training: "a SageMaker training instance type",
    processing: "a SageMaker processing instance type",
    transform: "a SageMaker batch transform instance type",
    endpoint: "a SageMaker real-time endpoint instance type",
};

/** Common types to show when nothing is close to what was written. */
const EXAMPLES: Record<InstanceUse, readonly string[]> = {
    training: ["ml.g4dn.xlarge", "ml.g5.xlarge", "ml.p3.2xlarge"],
    processing: ["ml.m5.xlarge", "ml.c5.xlarge", "ml.m5.4xlarge"],
    transform: ["ml.m5.xlarge", "ml.c5.xlarge", "ml.g4dn.xlarge"],
    endpoint: ["ml.c5.large", "ml.m5.large", "ml.g4dn.xlarge"],
};

const KINDS: Record<InstanceUse, string> = {
    training: "SageMaker Training",
    processing: "both SageMaker Processing",
    transform: "Batch Transform",
    endpoint: "real-time endpoints",
};

function listOf(values: Record<string, string>): readonly string[] {
    return [...new Set(Object.values(values))].sort();
}

export function isInstanceType(use: InstanceUse, type: string): boolean {
    return INSTANCE_TYPES[use].includes(type);
}

/**
 * Why `type` cannot be used for every one of `uses`, or undefined when it can:
 * `is not a SageMaker training instance type; did you mean ml.g4dn.xlarge?`.
 */
export function instanceTypeProblem(uses: InstanceUse | readonly InstanceUse[], type: string): string | undefined {
    const all = typeof uses === "string" ? [uses] : uses;
    if (all.every((use) => isInstanceType(use, type))) return undefined;
    const accepted = INSTANCE_TYPES[all[0]].filter((t) => all.every((use) => isInstanceType(use, t)));
    const what = all.length === 1 ? DESCRIPTIONS[all[0]] : `an instance type of ${all.map((u) => KINDS[u]).join(" and ")}`;
    return `is not ${what}${suggestion(type, accepted, ` (the API accepts ${accepted.length}, e.g. ${EXAMPLES[all[0]].join(", ")})`)}`;
}

/** `; did you mean X?` for near misses among `candidates`, else `otherwise`. */
export function suggestion(value: string, candidates: readonly string[], otherwise: string): string {
    const near = closestMatches(value, candidates);
    return near.length > 0 ? `; did you mean ${near.join(" or ")}?` : otherwise;
}

/**
 * The candidates nearest to `value` by edit distance (insertions, deletions, substitutions and swaps of
 * neighbours), at most three of them, and only when they are close enough to be a slip of the keyboard:
 * within 3 edits and less than a third of the value's length.
 */
export function closestMatches(value: string, candidates: readonly string[], max = 3): string[] {
    const limit = Math.min(3, Math.ceil(value.length / 3) - 1);
    let best = Infinity;
    let matches: string[] = [];
    for (const c of candidates) {
        const d = editDistance(value.toLowerCase(), c.toLowerCase(), limit);
        if (d > limit || d > best) continue;
        if (d < best) {
            best = d;
            matches = [];
        }
        matches.push(c);
    }
    return matches.slice(0, max);
}

/** Optimal string alignment distance (Levenshtein plus adjacent swaps), giving up once it exceeds `limit`. */
function editDistance(a: string, b: string, limit: number): number {
    if (Math.abs(a.length - b.length) > limit) return limit + 1;
    const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
    for (let i = 1; i <= a.length; i++) {
        const row = [i];
        let rowMin = i;
        for (let j = 1; j <= b.length; j++) {
            const cost = a[i - 1] === b[j - 1] ? 0 : 1;
            let d = Math.min(rows[i - 1][j] + 1, row[j - 1] + 1, rows[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2][j - 2] + 1);
            row.push(d);
            rowMin = Math.min(rowMin, d);
        }
        if (rowMin > limit) return limit + 1;
        rows.push(row);
    }
    return rows[a.length][b.length];
}

/** A type with NVIDIA GPUs (ml.p*, ml.g*). */
export function isGpuInstance(type: string): boolean {
    return /^ml\.(p\d|g\d)/.test(type);
}

/** A GPU instance, or one with AWS Trainium training accelerators (ml.trn*). */
export function isAcceleratedTrainingInstance(type: string): boolean {
    return isGpuInstance(type) || /^ml\.trn\d/.test(type);
}
