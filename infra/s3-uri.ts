/** `s3://bucket/key` -> its parts (key may be empty or a prefix); an error that quotes anything else. */
export function parseS3Uri(uri: string): { bucket: string; key: string } {
    const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(uri);
    if (!m) throw new Error(`${JSON.stringify(uri)} is not an S3 URI (s3://<bucket>/<key>)`);
    return { bucket: m[1], key: m[2] ?? "" };
}

export function s3Uri(bucket: string, key = ""): string {
    return `s3://${bucket}/${key}`;
}
