import { Environment } from "./naming";

/** Options that keep data safe from `pulumi destroy` and from replacements. */
export interface DataProtection {
    readonly protect: boolean;
    readonly retainOnDelete: boolean;
}

/**
 * The one place that decides how data resources (buckets, the data key) are protected: in prod they are
 * protected and retained on delete, so neither a destroy nor a replacement can remove customer data; in
 * staging they can be torn down freely.
 */
export function dataProtection(environment: Environment): DataProtection {
    const prod = environment === "prod";
    return { protect: prod, retainOnDelete: prod };
}
