import { ModelApprovalStatus, UpdateModelPackageCommand } from "@aws-sdk/client-sagemaker";
import { RegistryClient } from "../../../infra/registry";
import { CliError } from "../common";

/**
 * An operator's approval or rejection of a model package, recorded twice: as the package's
 * ApprovalDescription (free text, up to 1024 characters) and as CustomerMetadataProperties (searchable
 * key/values, shown by `status`).
 */
export interface Decision {
    readonly action: "approve" | "reject";
    /** The caller's ARN from STS. */
    readonly by: string;
    readonly at: Date;
    /** approve: the optional --note. */
    readonly note?: string;
    /** approve: the --reason given with --force; reject: the --reason. */
    readonly reason?: string;
    /** approve --force: how many monitoring violations were overridden. */
    readonly overriddenViolations?: number;
    /** approve --force: why there was no monitoring evidence (`incomplete: s3://... has no completion record ...`). */
    readonly overriddenEvidence?: string;
    /** The decision's entry in the ledger (jobs/cli/lib/ledger.ts). */
    readonly recordUri?: string;
}

/** The metadata keys the CLIs write; `status` reads the same ones. */
export const DECISION_KEYS = {
    approvedBy: "approved-by",
    approvedAt: "approved-at",
    approvalNote: "approval-note",
    forcedReason: "approval-forced-reason",
    forcedViolations: "approval-forced-violations",
    forcedEvidence: "approval-forced-evidence",
    rejectedBy: "rejected-by",
    rejectedAt: "rejected-at",
    rejectionReason: "rejection-reason",
    record: "decision-record",
} as const;

const APPROVAL_KEYS = [
    DECISION_KEYS.approvedBy,
    DECISION_KEYS.approvedAt,
    DECISION_KEYS.approvalNote,
    DECISION_KEYS.forcedReason,
    DECISION_KEYS.forcedViolations,
    DECISION_KEYS.forcedEvidence,
];
const REJECTION_KEYS = [DECISION_KEYS.rejectedBy, DECISION_KEYS.rejectedAt, DECISION_KEYS.rejectionReason];
/** Keys either decision sets; a decision without one clears the other's. */
const COMMON_KEYS = [DECISION_KEYS.record];

/** SageMaker's limits on CustomerMetadataProperties (CustomerMetadataMap in the API reference). */
export const METADATA_LIMITS = { entries: 50, keyLength: 128, valueLength: 256 } as const;
/** Letters, numbers, white space and `_ . : / = + - @`: the only characters metadata keys and values may hold. */
const METADATA_CHARACTERS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const METADATA_DISALLOWED = /[^\p{L}\p{Z}\p{N}_.:/=+\-@]+/gu;
/** ApprovalDescription: at most 1024 characters matching `.*`, so one line. */
export const APPROVAL_DESCRIPTION_MAX = 1024;

/** `2026-11-22T17:36:16Z`: UTC to the second, only characters metadata values allow. */
export function utcTimestamp(at: Date): string {
    return at.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * Free text made fit for a metadata value: characters the API refuses become spaces, runs of white space
 * collapse, and text over the length limit is cut with "..." (the approval description keeps the full text).
 * Undefined when nothing is left.
 */
export function metadataValue(text: string): string | undefined {
    const clean = text.replace(METADATA_DISALLOWED, " ").replace(/\s+/g, " ").trim();
    if (!clean) return undefined;
    return clean.length <= METADATA_LIMITS.valueLength ? clean : `${clean.slice(0, METADATA_LIMITS.valueLength - 3).trimEnd()}...`;
}

/** True when SageMaker would accept the pair as customer metadata. */
export function isValidMetadataEntry(key: string, value: string): boolean {
    return (
        key.length >= 1 &&
        key.length <= METADATA_LIMITS.keyLength &&
        METADATA_CHARACTERS.test(key) &&
        value.length >= 1 &&
        value.length <= METADATA_LIMITS.valueLength &&
        METADATA_CHARACTERS.test(value)
    );
}

function oneLine(text: string): string {
    return text.replace(/\s+/g, " ").trim();
}

/** The ApprovalDescription of a decision; an error when the note or reason makes it longer than the API allows. */
export function decisionDescription(d: Decision): string {
    const when = utcTimestamp(d.at);
    let text: string;
    if (d.action === "approve") {
        text = `Approved by ${d.by} at ${when}`;
        if (d.note) text += `: ${oneLine(d.note)}`;
        if (d.reason !== undefined && d.overriddenEvidence !== undefined)
            text += ` (forced without monitoring evidence: ${oneLine(d.reason)})`;
        else if (d.reason !== undefined)
            text += ` (forced past ${d.overriddenViolations ?? 0} monitoring violation${d.overriddenViolations === 1 ? "" : "s"}: ${oneLine(d.reason)})`;
    } else {
        text = `Rejected by ${d.by} at ${when}: ${oneLine(d.reason ?? "")}`;
    }
    if (text.length > APPROVAL_DESCRIPTION_MAX) {
        const option = d.action === "approve" && d.note ? "--note" : "--reason";
        throw new CliError(
            `the approval description would be ${text.length} characters and SageMaker allows ${APPROVAL_DESCRIPTION_MAX}; ` +
                `shorten ${option} by at least ${text.length - APPROVAL_DESCRIPTION_MAX} characters`,
        );
    }
    return text;
}

/** The metadata a decision sets, and the keys of the opposite decision it clears. */
export function decisionMetadata(d: Decision): { set: Record<string, string>; clear: string[] } {
    const set: Record<string, string> = {};
    const put = (key: string, text: string | undefined) => {
        const value = text === undefined ? undefined : metadataValue(text);
        if (value !== undefined) set[key] = value;
    };
    if (d.action === "approve") {
        put(DECISION_KEYS.approvedBy, d.by);
        put(DECISION_KEYS.approvedAt, utcTimestamp(d.at));
        put(DECISION_KEYS.approvalNote, d.note);
        put(DECISION_KEYS.forcedReason, d.reason);
        if (d.reason !== undefined) put(DECISION_KEYS.forcedViolations, String(d.overriddenViolations ?? 0));
        put(DECISION_KEYS.forcedEvidence, d.overriddenEvidence);
        put(DECISION_KEYS.record, d.recordUri);
        return { set, clear: [...REJECTION_KEYS, ...[...APPROVAL_KEYS, ...COMMON_KEYS].filter((k) => !(k in set))] };
    }
    put(DECISION_KEYS.rejectedBy, d.by);
    put(DECISION_KEYS.rejectedAt, utcTimestamp(d.at));
    put(DECISION_KEYS.rejectionReason, d.reason);
    put(DECISION_KEYS.record, d.recordUri);
    return { set, clear: [...APPROVAL_KEYS, ...[...REJECTION_KEYS, ...COMMON_KEYS].filter((k) => !(k in set))] };
}

/**
 * The UpdateModelPackage metadata fields for a decision on a package that already has `existing` metadata.
 * The full resulting map is sent (existing entries kept, the decision's entries set, stale ones of an
 * earlier decision left out) together with the stale keys to remove, so the result is the same whether
 * the service merges the map into the existing one or replaces it.
 */
export function metadataUpdate(
    existing: Readonly<Record<string, string>>,
    d: Decision,
): { properties: Record<string, string>; toRemove: string[] } {
    const { set, clear } = decisionMetadata(d);
    const properties: Record<string, string> = {};
    for (const [k, v] of Object.entries(existing)) if (!clear.includes(k)) properties[k] = v;
    Object.assign(properties, set);
    const toRemove = clear.filter((k) => k in existing && !(k in set));
    const count = Object.keys(properties).length;
    if (count > METADATA_LIMITS.entries)
        throw new CliError(
            `the package would have ${count} metadata entries and SageMaker allows ${METADATA_LIMITS.entries}; remove some of its CustomerMetadataProperties first`,
        );
    return { properties, toRemove };
}

/** Writes the decision: approval status, description and metadata in one UpdateModelPackage call. */
export async function recordDecision(
    client: RegistryClient,
    packageArn: string,
    existing: Readonly<Record<string, string>>,
    d: Decision,
): Promise<void> {
    const { properties, toRemove } = metadataUpdate(existing, d);
    await client.send(
        new UpdateModelPackageCommand({
            ModelPackageArn: packageArn,
            ModelApprovalStatus: d.action === "approve" ? ModelApprovalStatus.APPROVED : ModelApprovalStatus.REJECTED,
            ApprovalDescription: decisionDescription(d),
            CustomerMetadataProperties: properties,
            ...(toRemove.length ? { CustomerMetadataPropertiesToRemove: toRemove } : {}),
        }),
    );
}
