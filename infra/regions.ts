/**
 * The regions where the SageMaker API is available, so a stack file naming a region that does not exist (or
 * has no SageMaker) is refused before anything is deployed.
 *
 * Source: the endpoint metadata AWS publishes for its SDKs, botocore 1.43.11 `botocore/data/endpoints.json`,
 * service `api.sagemaker`, partitions `aws`, `aws-cn` and `aws-us-gov`, region endpoints only (the `-fips`
 * and `-secondary` endpoint names are not regions). `test/infra/regions.test.ts` checks the list against
 * the botocore installed with moto; regenerate it from there when AWS opens a region.
 */
export const SAGEMAKER_REGIONS_SOURCE = "botocore 1.43.11 data/endpoints.json, service api.sagemaker (aws, aws-cn, aws-us-gov)";

export const SAGEMAKER_REGIONS = [
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
] as const;

export function isSageMakerRegion(region: string): boolean {
    return (SAGEMAKER_REGIONS as readonly string[]).includes(region);
}
