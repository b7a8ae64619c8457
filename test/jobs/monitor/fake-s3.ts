import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { S3Like } from "../../../jobs/monitor/claim";

/** A bucket of a few objects answering the four calls the claim makes, with S3's conditional-write errors. */
export class FakeS3 implements S3Like {
    readonly objects = new Map<string, { body: string; etag: string }>();
    readonly puts: Record<string, unknown>[] = [];
    /** Runs before a conditional put is judged: another run writing at the same moment. */
    beforePut?: (input: Record<string, unknown>) => void;
    private etags = 0;

    put(key: string, body: string): string {
        const etag = `"etag-${++this.etags}"`;
        this.objects.set(key, { body, etag });
        return etag;
    }

    async send(command: unknown): Promise<never> {
        const input = (command as { input: Record<string, unknown> }).input;
        const key = input.Key as string;
        const fail = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
        const found = this.objects.get(key);
        if (command instanceof HeadObjectCommand) {
            if (!found) throw fail("NotFound", 404);
            return { ETag: found.etag } as never;
        }
        if (command instanceof GetObjectCommand) {
            if (!found) throw fail("NoSuchKey", 404);
            return { ETag: found.etag, Body: { transformToString: async () => found.body } } as never;
        }
        if (command instanceof PutObjectCommand) {
            this.puts.push({ ...input });
            this.beforePut?.(input);
            const current = this.objects.get(key);
            if (input.IfNoneMatch === "*" && current) throw fail("PreconditionFailed", 412);
            if (input.IfMatch !== undefined && current?.etag !== input.IfMatch) throw fail("PreconditionFailed", 412);
            return { ETag: this.put(key, input.Body as string) } as never;
        }
        throw new Error(`unexpected command ${(command as object).constructor.name}`);
    }
}
