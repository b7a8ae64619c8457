/**
 * EventBridge event patterns, as plain values (no imports): what the training triggers and the inference workflow's
 * rules match, and what the Lambda handlers that receive those events may import without pulling in the rest.
 */

/** An EventBridge event pattern: nested fields ending in lists of allowed values or matchers. */
export type EventPattern = { readonly [field: string]: EventPattern | readonly PatternValue[] };
export type PatternValue =
    string | number | boolean | null | { readonly prefix: string } | { readonly suffix: string } | { readonly wildcard: string };

/** S3's EventBridge "Object Created" event for an object of the bucket whose key matches any of the matchers. */
export function objectCreatedEventPattern(bucketName: string, keys: readonly PatternValue[]): EventPattern {
    return {
        source: ["aws.s3"],
        "detail-type": ["Object Created"],
        detail: { bucket: { name: [bucketName] }, object: { key: keys } },
    };
}
