/**
 * SageMaker refuses a `VolumeKmsKeyId` (training, processing, transform) or an endpoint-config `KmsKeyId`
 * for instance types whose storage is local NVMe: those volumes are encrypted by the instance's hardware
 * module, and asking for a KMS key on them is a ValidationException. Every job therefore asks for the data
 * key on the volume exactly when the instance has EBS storage.
 */

/** Families whose storage is local NVMe (the `d` variants, and the GPU families that only come with it). */
const LOCAL_STORAGE_FAMILIES = new Set([
    "c5d",
    "m5d",
    "m5ad",
    "r5d",
    "c6id",
    "m6id",
    "r6id",
    "m5dn",
    "m6idn",
    "g4dn",
    "g4ad",
    "g5",
    "g6",
    "g6e",
    "p3dn",
    "p4d",
    "p4de",
    "p5",
    "p5e",
    "p5en",
    "trn1",
    "trn1n",
]);

/** `ml.g4dn.xlarge` -> true; `ml.p3.2xlarge`, `ml.m5.xlarge` -> false. */
export function hasInstanceStorage(instanceType: string): boolean {
    const family = instanceType.split(".")[1];
    if (!family) throw new Error(`${JSON.stringify(instanceType)} is not a SageMaker instance type such as ml.m5.xlarge`);
    return LOCAL_STORAGE_FAMILIES.has(family);
}

/** `{ VolumeKmsKeyId: key }` for instances with EBS volumes, `{}` for those with local NVMe storage. */
export function volumeKmsKey(instanceType: string, keyArn: string): { VolumeKmsKeyId?: string } {
    return hasInstanceStorage(instanceType) ? {} : { VolumeKmsKeyId: keyArn };
}
