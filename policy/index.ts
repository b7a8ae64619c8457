import { PolicyPack } from "@pulumi/policy";
import { PACK_NAME, platformPolicies } from "./pack";

/**
 * The platform's policy pack, for real previews and updates:
 *
 *     pulumi preview --stack staging --policy-pack policy
 *
 * The rules live in `rules/`, the known open items in `open-items.ts`; `npm run plan` runs the same policies
 * offline (`offline.ts`). Creating the pack starts the analyzer the Pulumi CLI talks to, so nothing else
 * imports this file.
 */
new PolicyPack(PACK_NAME, {
    description: "vision-mlops guardrails: Security Hub and Checkov controls for SageMaker, S3 and IAM, and per-stack cost limits.",
    enforcementLevel: "mandatory",
    policies: platformPolicies(),
});
