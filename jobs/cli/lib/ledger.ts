import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { ModelApprovalStatus } from "@aws-sdk/client-sagemaker";
import { randomUUID } from "crypto";
import { decisionLedgerLocation, describePackage, PackageInfo, RegistryClient } from "../../../infra/registry";
import { CliError } from "../common";
import { EXIT_CODES } from "./aws-errors";
import { Decision, DECISION_KEYS, recordDecision, utcTimestamp } from "./decision";
import { listObjects } from "./s3";

/**
 * The decision ledger. SageMaker's UpdateModelPackage has no conditional write, so two operators deciding on
 * one package at the same time would both "succeed" and the later write would silently undo the earlier.
 * Every decision is therefore first created as its own S3 object, `<prefix><sequence>.json`, with
 * If-None-Match: "*": S3 lets exactly one of competing writes of the same key through. The sequence is one
 * past the last decision the command saw, so a command that decides on a state it did not see loses; only
 * then is the registry updated. The ledger's location follows from the package ARN (decisionLedgerLocation).
 */

export const LEDGER_SCHEMA_VERSION = 1;

/** The monitoring run an approval went by, kept with it. */
export interface LedgerEvidence {
    readonly run: string;
    readonly verdict: string;
    readonly records: number;
    readonly window: { readonly start: string; readonly end: string };
    readonly runId: string;
}

/** One decision as recorded. */
export interface LedgerEntry {
    readonly schemaVersion: typeof LEDGER_SCHEMA_VERSION;
    readonly packageArn: string;
    /** 1 for the first decision on the package, then one more for each that overrules the one before. */
    readonly sequence: number;
    /** Tells the command that wrote the entry apart from every other. */
    readonly decisionId: string;
    readonly action: Decision["action"];
    readonly by: string;
    /** UTC, to the second (as in the package metadata). */
    readonly at: string;
    readonly note?: string;
    readonly reason?: string;
    readonly overriddenViolations?: number;
    readonly overriddenEvidence?: string;
    readonly evidence?: LedgerEvidence;
    /** The sequence of the decision this one replaces (--overrule). */
    readonly overrules?: number;
}

export type LedgerS3 = Pick<S3Client, "send">;

const ENTRY_NAME = /^(\d{6})\.json$/;
const entryKey = (prefix: string, sequence: number) => `${prefix}${String(sequence).padStart(6, "0")}.json`;

export interface Ledger {
    readonly bucket: string;
    readonly prefix: string;
    readonly entries: readonly LedgerEntry[];
}

/** The ledger URI of an entry, or of the whole ledger. */
export const ledgerUri = (ledger: Pick<Ledger, "bucket" | "prefix">, sequence?: number) =>
    `s3://${ledger.bucket}/${sequence === undefined ? ledger.prefix : entryKey(ledger.prefix, sequence)}`;

async function readEntry(s3: LedgerS3, bucket: string, key: string): Promise<LedgerEntry> {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const text = (await res.Body?.transformToString("utf8")) ?? "";
    let doc: Partial<LedgerEntry>;
    try {
        doc = JSON.parse(text);
    } catch (e) {
        throw new CliError(
            `the decision record s3://${bucket}/${key} is not valid JSON (${(e as Error).message}); repair or remove it by hand`,
        );
    }
    if (doc?.schemaVersion !== LEDGER_SCHEMA_VERSION || (doc.action !== "approve" && doc.action !== "reject") || typeof doc.by !== "string")
        throw new CliError(
            `the decision record s3://${bucket}/${key} is not a decision this version of vision-mlops writes; repair or remove it by hand`,
        );
    return doc as LedgerEntry;
}

/** Every decision on the package, oldest first. A missing bucket is an error saying which stack creates it. */
export async function readLedger(s3: LedgerS3, packageArn: string): Promise<Ledger> {
    const { bucket, prefix } = decisionLedgerLocation(packageArn);
    const objects = await listObjects(s3, bucket, prefix);
    if (!objects)
        throw new CliError(
            `the decision ledger's bucket ${bucket} does not exist; it is the artifacts bucket of the staging stack in the account ` +
                `and region of ${packageArn}: deploy staging there first`,
        );
    const keys = objects.map((o) => o.key).filter((k) => ENTRY_NAME.test(k.slice(prefix.length)));
    keys.sort();
    const entries = await Promise.all(keys.map((k) => readEntry(s3, bucket, k)));
    return { bucket, prefix, entries };
}

const PAST = { approve: "approved", reject: "rejected" } as const;

/** `approved by <who> at <when> (note: ...)`. */
export function describeEntry(e: LedgerEntry): string {
    const said =
        e.action === "approve" ? [e.note && `note: ${e.note}`, e.reason && `forced: ${e.reason}`] : [e.reason && `reason: ${e.reason}`];
    const extra = said.filter(Boolean).join("; ");
    return `${PAST[e.action]} by ${e.by} at ${e.at}${extra ? ` (${extra})` : ""}${e.overrules ? `, overruling decision ${e.overrules}` : ""}`;
}

/** The decision an entry records, as the registry update takes it. */
function decisionOf(e: LedgerEntry, uri: string): Decision {
    return {
        action: e.action,
        by: e.by,
        at: new Date(e.at),
        note: e.note,
        reason: e.reason,
        overriddenViolations: e.overriddenViolations,
        overriddenEvidence: e.overriddenEvidence,
        recordUri: uri,
    };
}

const STATUS_OF = { approve: ModelApprovalStatus.APPROVED, reject: ModelApprovalStatus.REJECTED } as const;

/** True when the registry shows the entry's decision (its status, and its decider and time). */
export function registryShows(info: PackageInfo, e: LedgerEntry): boolean {
    const md = info.customerMetadata;
    const [byKey, atKey] =
        e.action === "approve"
            ? [DECISION_KEYS.approvedBy, DECISION_KEYS.approvedAt]
            : [DECISION_KEYS.rejectedBy, DECISION_KEYS.rejectedAt];
    return info.approvalStatus === STATUS_OF[e.action] && md[atKey] === e.at && md[byKey] !== undefined;
}

/** A decision the registry shows but the ledger does not have (made before the ledger, or outside the CLIs). */
function registryDecision(info: PackageInfo): { action: Decision["action"]; text: string } | undefined {
    const md = info.customerMetadata;
    if (info.approvalStatus === ModelApprovalStatus.APPROVED)
        return {
            action: "approve",
            text: `approved by ${md[DECISION_KEYS.approvedBy] ?? "someone outside these commands"} at ${md[DECISION_KEYS.approvedAt] ?? "an unrecorded time"}`,
        };
    if (info.approvalStatus === ModelApprovalStatus.REJECTED)
        return {
            action: "reject",
            text: `rejected by ${md[DECISION_KEYS.rejectedBy] ?? "someone outside these commands"} at ${md[DECISION_KEYS.rejectedAt] ?? "an unrecorded time"}`,
        };
    return undefined;
}

export interface DecideOptions {
    /** Replace a decision of the other kind (reject an approved package, approve a rejected one). */
    readonly overrule?: boolean;
    /** The command line that would overrule, for the message that asks for it. */
    readonly overruleCommand: string;
    readonly print: (line: string) => void;
    readonly warn: (line: string) => void;
}

/** A decision the command may record: the ledger as it read it, and the registry's view of the package. */
export interface DecisionPlan {
    readonly ledger: Ledger;
    readonly info: PackageInfo;
    /** The decision being overruled, if any. */
    readonly overruling?: string;
}

type Clients = { readonly s3: LedgerS3; readonly sagemaker: RegistryClient };

/** Completes in the registry the ledger's last decision when its own update never landed. */
async function completeInRegistry(
    sagemaker: RegistryClient,
    ledger: Ledger,
    info: PackageInfo,
    warn: (line: string) => void,
): Promise<PackageInfo> {
    const head = ledger.entries.at(-1);
    if (!head || registryShows(info, head)) return info;
    warn(
        `warning: the registry shows ${info.approvalStatus}, but the last decision in the ledger (${ledgerUri(ledger, head.sequence)}) is ` +
            `${describeEntry(head)}; its registry update had not landed, so it was completed in the registry now`,
    );
    await recordDecision(sagemaker, info.arn, info.customerMetadata, decisionOf(head, ledgerUri(ledger, head.sequence)));
    return describePackage(sagemaker, info.arn);
}

/**
 * Reads the package's decisions and says whether `intent` may be recorded: undefined (printed) when the
 * package already carries the same decision; an error (exit code 3) when it carries the other one and the
 * command does not overrule it, or when the same decision is there with another note or reason, which would
 * be lost. A decision whose registry update never landed is completed first.
 */
export async function planDecision(
    clients: Clients,
    packageInfo: PackageInfo,
    intent: Pick<Decision, "action" | "note" | "reason">,
    options: DecideOptions,
): Promise<DecisionPlan | undefined> {
    const ledger = await readLedger(clients.s3, packageInfo.arn);
    const info = await completeInRegistry(clients.sagemaker, ledger, packageInfo, options.warn);
    const head = ledger.entries.at(-1);
    const current = head
        ? { action: head.action, text: `${describeEntry(head)} (${ledgerUri(ledger, head.sequence)})` }
        : registryDecision(info) && { ...registryDecision(info)!, text: `${registryDecision(info)!.text} (in the registry)` };
    if (!current) return { ledger, info };
    if (current.action === intent.action) {
        const said = intent.action === "approve" ? (intent.note ?? intent.reason) : intent.reason;
        const headSaid = head && (head.action === "approve" ? (head.note ?? head.reason) : head.reason);
        if (said !== undefined && said !== headSaid)
            throw new CliError(
                `${info.arn} was ${current.text}; this ${intent.action} was not recorded, ` +
                    `so its ${intent.action === "approve" && intent.note !== undefined ? "--note" : "--reason"} was not recorded either`,
                EXIT_CODES.conflict,
            );
        options.print(`${info.arn} was ${current.text}; nothing changed`);
        return undefined;
    }
    if (!options.overrule)
        throw new CliError(
            `${info.arn} was ${current.text}; this ${intent.action} was not recorded. To overrule that decision (both stay in the ledger):\n  ${options.overruleCommand}`,
            EXIT_CODES.conflict,
        );
    return { ledger, info, overruling: current.text };
}

/**
 * Writes the planned decision as the ledger's next entry, conditionally (losing to a competing command is an
 * error with exit code 3 naming whose decision came first), then updates the registry.
 */
export async function recordPlannedDecision(
    clients: Clients,
    plan: DecisionPlan,
    intent: Omit<Decision, "recordUri">,
    options: { readonly evidence?: LedgerEvidence; readonly warn: (line: string) => void },
): Promise<{ readonly entry: LedgerEntry; readonly uri: string }> {
    const { ledger, info } = plan;
    const head = ledger.entries.at(-1);
    const sequence = (head?.sequence ?? 0) + 1;
    const entry: LedgerEntry = {
        schemaVersion: LEDGER_SCHEMA_VERSION,
        packageArn: info.arn,
        sequence,
        decisionId: randomUUID(),
        action: intent.action,
        by: intent.by,
        at: utcTimestamp(intent.at),
        ...(intent.note !== undefined ? { note: intent.note } : {}),
        ...(intent.reason !== undefined ? { reason: intent.reason } : {}),
        ...(intent.overriddenViolations !== undefined ? { overriddenViolations: intent.overriddenViolations } : {}),
        ...(intent.overriddenEvidence !== undefined ? { overriddenEvidence: intent.overriddenEvidence } : {}),
        ...(options.evidence ? { evidence: options.evidence } : {}),
        ...(head ? { overrules: head.sequence } : {}),
    };
    const uri = ledgerUri(ledger, sequence);
    await writeEntry(clients.s3, ledger, entry, intent.action);
    try {
        await recordDecision(clients.sagemaker, info.arn, info.customerMetadata, decisionOf(entry, uri));
    } catch (e) {
        options.warn(
            `warning: the decision is recorded in ${uri}, but the registry update failed; run the same command again to complete it ` +
                "(prod deploys what the registry shows)",
        );
        throw e;
    }
    // A later decision (an overrule) whose registry update overtook ours must still be what the registry shows.
    const after = await readLedger(clients.s3, info.arn);
    if (after.entries.at(-1)!.decisionId !== entry.decisionId)
        await completeInRegistry(clients.sagemaker, after, await describePackage(clients.sagemaker, info.arn), options.warn);
    return { entry, uri };
}

/** Creates the entry only if no decision holds its sequence yet; a competing decision that got there first is a conflict. */
async function writeEntry(s3: LedgerS3, ledger: Ledger, entry: LedgerEntry, action: Decision["action"]): Promise<void> {
    const key = entryKey(ledger.prefix, entry.sequence);
    for (let attempt = 1; ; attempt++) {
        try {
            await s3.send(
                new PutObjectCommand({
                    Bucket: ledger.bucket,
                    Key: key,
                    Body: `${JSON.stringify(entry, null, 2)}\n`,
                    ContentType: "application/json",
                    IfNoneMatch: "*",
                }),
            );
            return;
        } catch (e) {
            const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
            const status = err.$metadata?.httpStatusCode;
            // 409: another conditional write of the key is in flight; S3 asks to retry.
            if ((err.name === "ConditionalRequestConflict" || status === 409) && attempt < 4) {
                await new Promise((r) => setTimeout(r, 200 * attempt));
                continue;
            }
            if (err.name !== "PreconditionFailed" && status !== 412) throw e;
            const winner = await readEntry(s3, ledger.bucket, key);
            throw new CliError(
                `${entry.packageArn} was ${describeEntry(winner)} (${ledgerUri(ledger, entry.sequence)}) while this command was deciding; ` +
                    `this ${action} was not recorded`,
                EXIT_CODES.conflict,
            );
        }
    }
}
