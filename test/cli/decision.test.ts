import { expect } from "chai";
import { CliError } from "../../jobs/cli/common";
import {
    APPROVAL_DESCRIPTION_MAX,
    decisionDescription,
    decisionMetadata,
    isValidMetadataEntry,
    metadataUpdate,
    metadataValue,
    utcTimestamp,
} from "../../jobs/cli/lib/decision";

const BY = "arn:aws:sts::123456789012:assumed-role/MLOpsApprover/jane@example.com";
const AT = new Date("2026-11-22T17:36:16.512Z");

describe("approval decisions (pure)", () => {
    it("timestamps are UTC to the second", () => {
        expect(utcTimestamp(AT)).to.equal("2026-11-22T17:36:16Z");
    });

    it("metadata values drop characters SageMaker refuses and keep the ones it allows", () => {
        expect(metadataValue("looks good, ship it!")).to.equal("looks good ship it");
        expect(metadataValue("  a\n\tb  ")).to.equal("a b");
        expect(metadataValue("v1.2 @team/ml: acc=0.94 +2%")).to.equal("v1.2 @team/ml: acc=0.94 +2");
        expect(metadataValue("Überprüft – ok")).to.equal("Überprüft ok");
        expect(metadataValue("!!!")).to.equal(undefined);
    });

    it("metadata values longer than 256 characters are cut to 256 with ...", () => {
        const v = metadataValue("x".repeat(300))!;
        expect(v).to.have.length(256);
        expect(v.endsWith("x...")).to.equal(true);
        expect(isValidMetadataEntry("approval-note", v)).to.equal(true);
    });

    it("an STS caller ARN (with an e-mail session name) is a valid metadata value as is", () => {
        expect(metadataValue(BY)).to.equal(BY);
        expect(isValidMetadataEntry("approved-by", BY)).to.equal(true);
        expect(isValidMetadataEntry("approved-by", "a,b")).to.equal(false);
        expect(isValidMetadataEntry("", "x")).to.equal(false);
        expect(isValidMetadataEntry("k".repeat(129), "x")).to.equal(false);
    });

    it("an approval sets approved-by/at/note and clears a previous rejection", () => {
        const { set, clear } = decisionMetadata({ action: "approve", by: BY, at: AT, note: "F1 up 2 points, checked 20 images" });
        expect(set).to.deep.equal({
            "approved-by": BY,
            "approved-at": "2026-11-22T17:36:16Z",
            "approval-note": "F1 up 2 points checked 20 images",
        });
        expect(clear).to.have.members([
            "rejected-by",
            "rejected-at",
            "rejection-reason",
            "approval-forced-reason",
            "approval-forced-violations",
            "approval-forced-evidence",
            "decision-record",
        ]);
    });

    it("a forced approval records the reason and how many violations were overridden", () => {
        const d = { action: "approve" as const, by: BY, at: AT, reason: "brightness drift is the new camera", overriddenViolations: 2 };
        expect(decisionMetadata(d).set).to.deep.include({
            "approval-forced-reason": "brightness drift is the new camera",
            "approval-forced-violations": "2",
        });
        expect(decisionDescription(d)).to.equal(
            `Approved by ${BY} at 2026-11-22T17:36:16Z (forced past 2 monitoring violations: brightness drift is the new camera)`,
        );
    });

    it("an approval forced past missing evidence records why the evidence was missing", () => {
        const d = {
            action: "approve" as const,
            by: BY,
            at: AT,
            reason: "monitor is being repaired",
            overriddenViolations: 0,
            overriddenEvidence: "incomplete: s3://capture/run/ has no completion record",
        };
        expect(decisionMetadata(d).set).to.deep.include({
            "approval-forced-reason": "monitor is being repaired",
            "approval-forced-evidence": "incomplete: s3://capture/run/ has no completion record",
        });
        expect(decisionDescription(d)).to.equal(
            `Approved by ${BY} at 2026-11-22T17:36:16Z (forced without monitoring evidence: monitor is being repaired)`,
        );
    });

    it("either decision records its ledger entry, and clears the other decision's", () => {
        const uri = "s3://vision-mlops-staging-artifacts-123456789012-us-east-1/_decisions/g/3/000002.json";
        expect(decisionMetadata({ action: "reject", by: BY, at: AT, reason: "r", recordUri: uri }).set["decision-record"]).to.equal(uri);
        const { properties, toRemove } = metadataUpdate({ "decision-record": "s3://old" }, { action: "approve", by: BY, at: AT });
        expect(properties).not.to.have.property("decision-record");
        expect(toRemove).to.include("decision-record");
    });

    it("descriptions are one line and keep the note's full text", () => {
        expect(decisionDescription({ action: "approve", by: BY, at: AT, note: "good,\nship it!" })).to.equal(
            `Approved by ${BY} at 2026-11-22T17:36:16Z: good, ship it!`,
        );
        expect(decisionDescription({ action: "reject", by: BY, at: AT, reason: "misreads stop signs at night" })).to.equal(
            `Rejected by ${BY} at 2026-11-22T17:36:16Z: misreads stop signs at night`,
        );
    });

    it("a note that would make the description exceed 1024 characters is refused with how much to cut", () => {
        const prefix = `Approved by ${BY} at 2026-11-22T17:36:16Z: `.length;
        const fits = "n".repeat(APPROVAL_DESCRIPTION_MAX - prefix);
        expect(decisionDescription({ action: "approve", by: BY, at: AT, note: fits })).to.have.length(APPROVAL_DESCRIPTION_MAX);
        expect(() => decisionDescription({ action: "approve", by: BY, at: AT, note: `${fits}nn` })).to.throw(
            CliError,
            "the approval description would be 1026 characters and SageMaker allows 1024; shorten --note by at least 2 characters",
        );
    });

    it("an update keeps the training metadata, replaces the old decision and lists stale keys to remove", () => {
        const existing = {
            "git-commit": "4f2a9c1",
            "dataset-batch": "2026-11-20",
            "rejected-by": "arn:aws:sts::123456789012:assumed-role/Other/bob",
            "rejected-at": "2026-11-21T09:00:00Z",
            "rejection-reason": "wrong classes",
            "approval-note": "an old note",
        };
        const { properties, toRemove } = metadataUpdate(existing, { action: "approve", by: BY, at: AT });
        expect(properties).to.deep.equal({
            "git-commit": "4f2a9c1",
            "dataset-batch": "2026-11-20",
            "approved-by": BY,
            "approved-at": "2026-11-22T17:36:16Z",
        });
        expect(toRemove).to.have.members(["rejected-by", "rejected-at", "rejection-reason", "approval-note"]);
        for (const [k, v] of Object.entries(properties)) expect(isValidMetadataEntry(k, v), k).to.equal(true);
    });

    it("an update that would pass SageMaker's 50 metadata entries is refused", () => {
        const existing = Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`k${i}`, "v"]));
        expect(() => metadataUpdate(existing, { action: "approve", by: BY, at: AT })).to.throw(
            CliError,
            "the package would have 51 metadata entries and SageMaker allows 50",
        );
    });
});
