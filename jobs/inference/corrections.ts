import { createHash } from "crypto";
import { Correction, correctionKeys, reviewItemId } from "../../infra/review-contract";
import { checkImage, ImageCheck } from "../lib/classify";
import { getText, putIfAbsent, S3 } from "../ingest/s3";

/**
 * Sending a person's correction to a model's review queue (the prediction page does, from its Lambda): the image
 * and the class they picked become `corrections/<id>.<ext>` and `corrections/<id>.json` in the raw bucket; the
 * record's arrival starts the item's review in the inference workflow, where a reviewer confirms the class
 * before it becomes training data. The writer needs s3:PutObject (and s3:GetObject, for a repeated correction)
 * on `prefixes.reviewCorrections(model)` only, and the raw bucket's key.
 */

/** A correction the queue refuses; `code` is stable for callers to branch on, the message is for the person. */
export class CorrectionError extends Error {
    constructor(
        readonly code: "unknown_class",
        message: string,
    ) {
        super(message);
        this.name = "CorrectionError";
    }
}

export interface CorrectionRequest {
    /** The raw bucket. */
    readonly bucket: string;
    readonly model: string;
    /** The model's classes; the label must be one of them. */
    readonly classes: readonly string[];
    readonly image: Uint8Array;
    readonly label: string;
    readonly submittedBy?: string;
    readonly prediction?: Correction["prediction"];
    readonly check?: ImageCheck;
    readonly now?: () => Date;
}

export interface FiledCorrection {
    readonly correction: Correction;
    readonly imageKey: string;
    readonly recordKey: string;
    /** False when the same image with the same class was sent before: that record stands and nothing was written. */
    readonly created: boolean;
}

/** The correction's id: the same image with the same class is one correction, whoever sends it and how often. */
export function correctionId(imageSha256: string, label: string): string {
    return reviewItemId("fix", createHash("sha256").update(`${imageSha256}\n${label}`).digest("hex").slice(0, 40));
}

/**
 * Files a correction: checks the image (size, signature; a ClassifyError with its code otherwise) and the class
 * (a CorrectionError naming the classes), writes the image, then the record, each only if absent, so a repeated
 * or retried correction changes nothing and starts no second review.
 */
export async function fileCorrection(s3: S3, request: CorrectionRequest): Promise<FiledCorrection> {
    const contentType = checkImage(request.image, request.check);
    if (!request.classes.includes(request.label))
        throw new CorrectionError(
            "unknown_class",
            `"${request.label}" is not a class of model ${request.model}; pick one of: ${request.classes.join(", ")}`,
        );
    const digest = createHash("sha256").update(request.image).digest();
    const sha256 = digest.toString("hex");
    const id = correctionId(sha256, request.label);
    const keys = correctionKeys(request.model, id, contentType);
    const correction: Correction = {
        version: 1,
        id,
        model: request.model,
        image_key: keys.image,
        content_type: contentType,
        sha256,
        label: request.label,
        submitted_at: (request.now ?? (() => new Date()))().toISOString(),
        ...(request.submittedBy ? { submitted_by: request.submittedBy } : {}),
        ...(request.prediction ? { prediction: request.prediction } : {}),
    };
    // The image first: the record is what starts the review, and it must find its image.
    await putIfAbsent(s3, {
        Bucket: request.bucket,
        Key: keys.image,
        Body: request.image,
        ContentType: contentType,
        ChecksumSHA256: digest.toString("base64"),
    });
    const created = await putIfAbsent(s3, {
        Bucket: request.bucket,
        Key: keys.record,
        Body: `${JSON.stringify(correction, null, 2)}\n`,
        ContentType: "application/json",
    });
    if (created) return { correction, imageKey: keys.image, recordKey: keys.record, created: true };
    const existing = await getText(s3, request.bucket, keys.record);
    return {
        correction: existing ? (JSON.parse(existing.text) as Correction) : correction,
        imageKey: keys.image,
        recordKey: keys.record,
        created: false,
    };
}
