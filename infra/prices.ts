import {
    ProcessingInstanceType,
    ProductionVariantInstanceType,
    TrainingInstanceType,
    TransformInstanceType,
} from "@aws-sdk/client-sagemaker";

/**
 * The price table the cost estimate reads: on-demand USD figures for every SageMaker instance type the stack
 * config accepts, and for the other services a stack bills, each with its source and the date of the figure.
 *
 * No pricing API is called: the figures are checked in, so the estimate is reproducible and works offline.
 * `basis` says how far each figure can be trusted:
 *   - `price-list`: read from AWS Price List data (quoted by the source, with its date);
 *   - `published`: a dated public page or table that gives the figure for that instance or service;
 *   - `estimate`: no dated source was found; the figure is derived (the reason is recorded) and the plan marks
 *     it with `~`.
 * To add an instance type: add a row with its source; the config then accepts it where SageMaker does.
 */

export type PriceBasis = "price-list" | "published" | "estimate";

export interface PriceSource {
    readonly title: string;
    /** Where the figure can be checked; empty when no source was found. */
    readonly url: string;
    /** Date of the figures as the source gives them (ISO date), or "undated". */
    readonly asOf: string;
    readonly basis: PriceBasis;
}

export const PRICE_SOURCES = {
    priceList202607: {
        title: "AWS Price List API, us-east-1, as quoted in a course cost model (Host:/Processing: usage types, CloudWatch)",
        url: "https://github.com/scott2borg/cs401r-2026-instructor/blob/0e16233a61ef56f603e283828038fba5bac24d4f/CS_401R_Labs/Lab%206%20%E2%80%94%20Cost%20Model%20%26%20Pre-Flight%20Blockers.md",
        asOf: "2026-07-30",
        basis: "price-list",
    },
    budgetsPriceList: {
        title: "AWS Price List, AWS Budgets (AWSBudgets.csv): $0.00 per budget-day without actions",
        url: "https://huggingface.co/datasets/labofsahil/aws-pricing-dataset/blob/87886d0b3d9351ff523b05be6fe410a1f447be0b/AWSBudgets.csv",
        asOf: "2020-10-01",
        basis: "price-list",
    },
    studioTable202504: {
        title: "SageMaker Studio instance table with hourly prices (same per-instance rates as hosting and processing)",
        url: "https://github.com/JHUAPL-DTC-TA2/wiki/blob/2b48144868afcfec7b2f51b3e7621a0a1d981073/docs/sagemaker_instances.md",
        asOf: "2025-04-29",
        basis: "published",
    },
    pricingPage202111: {
        title: "GPU table copied from aws.amazon.com/sagemaker/pricing (on-demand, us-east-1)",
        url: "https://github.com/goerlitz/nlp-classification/blob/b753c52193f65946231f28a58d1443bb7120bfa7/notebooks/10kGNAD/sagemaker/README.md",
        asOf: "2021-11-29",
        basis: "published",
    },
    g5Article202510: {
        title: "The real cost of running AI models on SageMaker inference (us-east-1, October 2025)",
        url: "https://zircon.tech/blog/the-real-cost-of-running-ai-models-on-aws-sagemaker-inference-deep-dive",
        asOf: "2025-10",
        basis: "published",
    },
    g5Guide202603: {
        title: "SageMaker inference guide: real-time endpoint prices (March 2026)",
        url: "https://www.wring.co/blog/aws-sagemaker-inference-guide",
        asOf: "2026-03-15",
        basis: "published",
    },
    s3Article202603: {
        title: "Amazon S3 pricing explained, US East (N. Virginia) as of March 2026",
        url: "https://cloudburn.io/blog/amazon-s3-pricing",
        asOf: "2026-03-13",
        basis: "published",
    },
    kmsExample2019: {
        title: "KMS pricing example: $1 per key-month, $0.03 per 10,000 requests",
        url: "https://gist.github.com/dasgoll/b88d5be05dcc0deb052ad40446c2fb40",
        asOf: "2019-10-30",
        basis: "published",
    },
    none: { title: "no dated public source found", url: "", asOf: "undated", basis: "estimate" },
} as const satisfies Record<string, PriceSource>;

export type PriceSourceId = keyof typeof PRICE_SOURCES;

export interface PriceFigure {
    readonly usd: number;
    readonly source: PriceSourceId;
    /** Present when the figure is not the source's own: why it is an estimate and what it is derived from. */
    readonly estimate?: string;
}

export function basisOf(figure: PriceFigure): PriceBasis {
    return figure.estimate !== undefined ? "estimate" : PRICE_SOURCES[figure.source].basis;
}

const fig = (usd: number, source: PriceSourceId, estimate?: string): PriceFigure =>
    estimate ? { usd, source, estimate } : { usd, source };
const TABLES = "the figure several public cost tables agree on; no dated source found";

/** The region whose figures stand in, marked as estimates, where a region has no figure of its own. */
export const BASE_PRICE_REGION = "us-east-1";

/**
 * On-demand USD per instance-hour. SageMaker bills these families at one rate whether the instance hosts an
 * endpoint or runs a training, processing or transform job (checked for ml.m5.large, whose Host: and
 * Processing: figures are the same in the price list); the table therefore keeps one figure per type.
 */
export const INSTANCE_PRICES: Readonly<Record<string, Readonly<Record<string, PriceFigure>>>> = {
    "us-east-1": {
        "ml.t2.medium": fig(0.056, "none", TABLES),
        "ml.m5.large": fig(0.115, "priceList202607"),
        "ml.m5.xlarge": fig(0.23, "priceList202607"),
        "ml.m5.2xlarge": fig(0.461, "studioTable202504"),
        "ml.m5.4xlarge": fig(0.922, "studioTable202504", "twice ml.m5.2xlarge (m5 rates scale with size)"),
        "ml.c5.large": fig(0.102, "studioTable202504", "half of ml.c5.xlarge (c5 rates scale with size)"),
        "ml.c5.xlarge": fig(0.204, "studioTable202504"),
        "ml.c5.2xlarge": fig(0.408, "studioTable202504"),
        "ml.c5.4xlarge": fig(0.816, "studioTable202504", "twice ml.c5.2xlarge (c5 rates scale with size)"),
        "ml.g4dn.xlarge": fig(0.7364, "pricingPage202111"),
        "ml.g4dn.2xlarge": fig(0.94, "pricingPage202111"),
        "ml.g4dn.4xlarge": fig(1.505, "studioTable202504"),
        "ml.g4dn.8xlarge": fig(2.72, "studioTable202504"),
        "ml.g4dn.12xlarge": fig(4.89, "pricingPage202111"),
        "ml.g4dn.16xlarge": fig(5.44, "pricingPage202111"),
        "ml.g5.xlarge": fig(1.41, "g5Article202510"),
        "ml.g5.2xlarge": fig(1.52, "g5Guide202603"),
        "ml.g5.4xlarge": fig(2.03, "studioTable202504"),
        "ml.g5.8xlarge": fig(3.06, "none", TABLES),
        "ml.g5.12xlarge": fig(7.09, "none", TABLES),
        "ml.g5.24xlarge": fig(10.18, "none", TABLES),
        "ml.g5.48xlarge": fig(20.36, "none", TABLES),
        "ml.p3.2xlarge": fig(3.825, "studioTable202504"),
        "ml.p3.8xlarge": fig(14.688, "studioTable202504"),
        "ml.p3.16xlarge": fig(28.152, "pricingPage202111"),
        "ml.p3dn.24xlarge": fig(35.894, "pricingPage202111"),
    },
};

/** What the other billed services cost, per the unit in each key's name. */
export interface ServicePrices {
    readonly s3StandardGbMonth: PriceFigure;
    readonly s3PutPer1000: PriceFigure;
    readonly s3GetPer1000: PriceFigure;
    readonly kmsKeyMonth: PriceFigure;
    readonly kmsRequestsPer10000: PriceFigure;
    readonly cloudwatchAlarmMonth: PriceFigure;
    readonly cloudwatchCustomMetricMonth: PriceFigure;
    readonly cloudwatchDashboardMonth: PriceFigure;
    readonly ecrGbMonth: PriceFigure;
    readonly schedulerInvocationsPerMillion: PriceFigure;
    readonly budgetDay: PriceFigure;
}

const NOT_READ = "AWS's long-standing published figure, not read from a stored copy of its page";

export const SERVICE_PRICES: Readonly<Record<string, ServicePrices>> = {
    "us-east-1": {
        s3StandardGbMonth: fig(0.023, "s3Article202603"),
        s3PutPer1000: fig(0.005, "none", NOT_READ),
        s3GetPer1000: fig(0.0004, "none", NOT_READ),
        kmsKeyMonth: fig(1, "kmsExample2019"),
        kmsRequestsPer10000: fig(0.03, "kmsExample2019"),
        cloudwatchAlarmMonth: fig(0.1, "priceList202607"),
        cloudwatchCustomMetricMonth: fig(0.3, "priceList202607"),
        cloudwatchDashboardMonth: fig(3, "priceList202607"),
        ecrGbMonth: fig(0.1, "none", NOT_READ),
        schedulerInvocationsPerMillion: fig(1, "none", NOT_READ),
        budgetDay: fig(0, "budgetsPriceList"),
    },
};

/**
 * Share of the on-demand price managed spot training saves. Spot prices move with demand per zone and hour;
 * AWS states savings of up to 90%, and this is an estimate, not a price.
 */
export const SPOT_SAVINGS: PriceFigure = fig(0.7, "none", "spot prices vary by zone and hour; AWS states savings of up to 90%");

/** A figure for one region, and whether it is another region's standing in. */
export interface RegionalFigure {
    readonly figure: PriceFigure;
    /** The region the figure is for; BASE_PRICE_REGION when the asked region has none. */
    readonly region: string;
}

/** The figure a region is billed at, or the base region's marked as an estimate; undefined for an unpriced type. */
export function instancePrice(region: string, instanceType: string): RegionalFigure | undefined {
    const own = INSTANCE_PRICES[region]?.[instanceType];
    if (own) return { figure: own, region };
    const base = INSTANCE_PRICES[BASE_PRICE_REGION][instanceType];
    return base && { figure: standIn(base, region), region: BASE_PRICE_REGION };
}

export function servicePrice(region: string, service: keyof ServicePrices): RegionalFigure {
    const own = SERVICE_PRICES[region]?.[service];
    if (own) return { figure: own, region };
    return { figure: standIn(SERVICE_PRICES[BASE_PRICE_REGION][service], region), region: BASE_PRICE_REGION };
}

function standIn(base: PriceFigure, region: string): PriceFigure {
    return { ...base, estimate: `the ${BASE_PRICE_REGION} figure; the table has none for ${region}` };
}

/** How the config uses an instance type; each use is checked against SageMaker's own list for it. */
export type InstanceUse = "endpoint" | "training" | "processing";

const SAGEMAKER_TYPES: Record<InstanceUse, ReadonlySet<string>> = {
    endpoint: new Set(Object.values(ProductionVariantInstanceType)),
    training: new Set(Object.values(TrainingInstanceType)),
    // The processing instance type also runs the pipeline's batch transform.
    processing: new Set(
        Object.values(ProcessingInstanceType).filter((t) => (Object.values(TransformInstanceType) as string[]).includes(t)),
    ),
};

/** Every priced instance type SageMaker accepts for the use, in table order. */
export function pricedInstanceTypes(use: InstanceUse): string[] {
    const priced = new Set(Object.values(INSTANCE_PRICES).flatMap((t) => Object.keys(t)));
    return [...priced].filter((t) => SAGEMAKER_TYPES[use].has(t));
}

export function isPricedFor(use: InstanceUse, instanceType: string): boolean {
    return SAGEMAKER_TYPES[use].has(instanceType) && Object.values(INSTANCE_PRICES).some((t) => instanceType in t);
}

/** `ml.m5.large, ml.m5.xlarge, ml.c5.xlarge` -> `ml.m5.{large,xlarge}, ml.c5.xlarge`: a list a person can read. */
export function describeInstanceTypes(types: readonly string[]): string {
    const byFamily = new Map<string, string[]>();
    for (const t of types) {
        const [, family, size] = t.split(".");
        const sizes = byFamily.get(family) ?? [];
        sizes.push(size);
        byFamily.set(family, sizes);
    }
    return [...byFamily]
        .map(([family, sizes]) => (sizes.length === 1 ? `ml.${family}.${sizes[0]}` : `ml.${family}.{${sizes.join(",")}}`))
        .join(", ");
}
