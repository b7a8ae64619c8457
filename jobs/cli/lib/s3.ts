import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";

export interface ListedObject {
    readonly key: string;
    readonly lastModified?: Date;
}

/** Every object under a prefix, across pages; undefined when the bucket does not exist. */
export async function listObjects(s3: Pick<S3Client, "send">, bucket: string, prefix: string): Promise<ListedObject[] | undefined> {
    const objects: ListedObject[] = [];
    let token: string | undefined;
    do {
        let page;
        try {
            page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        } catch (e) {
            if ((e as Error).name === "NoSuchBucket") return undefined;
            throw e;
        }
        for (const o of page.Contents ?? []) if (o.Key) objects.push({ key: o.Key, lastModified: o.LastModified });
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return objects;
}
