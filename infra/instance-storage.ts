import * as sagemaker from "@aws-sdk/client-sagemaker";

/**
 * SageMaker refuses a `VolumeKmsKeyId` (training, processing, transform) or an endpoint-config `KmsKeyId`
 * for instance types whose storage is local NVMe: those volumes are encrypted by the instance's hardware
 * module, and asking for a KMS key on them is a ValidationException. Every job and endpoint therefore asks
 * for the data key exactly when the instance has EBS storage.
 *
 * The rule is EC2's naming, applied to every family the SageMaker API model's instance-type enums name
 * (`ProductionVariantInstanceType`, `TrainingInstanceType`, ... in @aws-sdk/client-sagemaker): a `d` among
 * the attribute letters after the generation (c6gd, m5ad, r7gd, g4dn, p4de) means instance-store volumes,
 * and so does the storage-optimised class `i`. Accelerated families do not follow the naming (g5, p5 and
 * trn1 have local NVMe; p3 and inf2 have EBS), so each of them is listed below, and a test walks the enums
 * so a family a newer API model adds cannot go unclassified.
 */

/** Accelerated families with local NVMe whose names carry no `d`. */
const ACCELERATED_LOCAL = new Set([
    "g5",
    "g6",
    "g6e",
    "g7",
    "g7e",
    "gr6",
    "p5",
    "p5e",
    "p5en",
    "p6-b200",
    "p6-b300",
    "p6e-gb200",
    "trn1",
    "trn1n",
    "trn2",
    "dl1",
]);

/** Accelerated families with EBS storage only. */
const ACCELERATED_EBS = new Set(["p2", "p3", "inf1", "inf2"]);

/** Instance classes whose families are GPUs or other accelerators: their storage is decided family by family. */
const ACCELERATED_CLASSES = new Set(["g", "gr", "p", "trn", "inf", "dl", "f", "vt"]);

/** Types in the enums that are not EC2 families (a Studio app size), with no volume anyone configures. */
const NOT_EC2 = new Set(["geospatial"]);

/** `p6e-gb200` -> class `p`, attributes `e`; `m6idn` -> class `m`, attributes `idn`. */
const FAMILY = /^([a-z]+)(\d+)([a-z]*)(?:-[a-z0-9]+)?$/;

/** Whether a family has local NVMe storage, or undefined when it is an accelerated family nobody classified. */
function familyHasInstanceStorage(family: string): boolean | undefined {
    if (NOT_EC2.has(family)) return false;
    const m = FAMILY.exec(family);
    if (!m) return undefined;
    const [, cls, , attributes] = m;
    if (attributes.includes("d") || cls === "i") return true;
    if (ACCELERATED_LOCAL.has(family)) return true;
    if (ACCELERATED_EBS.has(family)) return false;
    return ACCELERATED_CLASSES.has(cls) ? undefined : false;
}

/** Every `ml.*` instance type the SageMaker API model names, across all of its instance-type enums. */
export function apiModelInstanceTypes(): readonly string[] {
    const types = new Set<string>();
    for (const [name, value] of Object.entries(sagemaker))
        if (name.endsWith("InstanceType") && value && typeof value === "object")
            for (const t of Object.values(value)) if (typeof t === "string" && t.startsWith("ml.")) types.add(t);
    return [...types].sort();
}

/** `ml.g4dn.xlarge` -> true; `ml.p3.2xlarge`, `ml.m5.xlarge` -> false. */
export function hasInstanceStorage(instanceType: string): boolean {
    const [prefix, family, size] = instanceType.split(".");
    if (prefix !== "ml" || !family || !size)
        throw new Error(`${JSON.stringify(instanceType)} is not a SageMaker instance type such as ml.m5.xlarge`);
    const local = familyHasInstanceStorage(family);
    if (local === undefined)
        throw new Error(
            `${instanceType}: the storage of the ${family} family (local NVMe or EBS) is not known; classify it in infra/instance-storage.ts`,
        );
    return local;
}

/** `{ VolumeKmsKeyId: key }` for instances with EBS volumes, `{}` for those with local NVMe storage. */
export function volumeKmsKey(instanceType: string, keyArn: string): { VolumeKmsKeyId?: string } {
    return hasInstanceStorage(instanceType) ? {} : { VolumeKmsKeyId: keyArn };
}
