import { expect } from "chai";
import { declarationOf, ResourceRecord } from "../../infra/declared";

const PIPELINE = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/vision-mlops-staging-signs-training";

/** An EventBridge rule and its target that starts the pipeline. */
function starter(name: string, rule: Record<string, string>): ResourceRecord[] {
    return [
        { type: "aws:cloudwatch/eventRule:EventRule", name, inputs: { name, ...rule } },
        { type: "aws:cloudwatch/eventTarget:EventTarget", name: `${name}-target`, inputs: { rule: name, arn: PIPELINE } },
    ];
}

describe("declarationOf: what a stack declares", () => {
    it("lists a pipeline's starters in one order however the program happened to declare them: schedules first, then by name", () => {
        const schedule = starter("vision-mlops-staging-signs-retrain", { scheduleExpression: "rate(7 days)" });
        const batch = starter("vision-mlops-staging-signs-batch-manifest", { eventPattern: JSON.stringify({ source: ["aws.s3"] }) });
        const drift = starter("vision-mlops-staging-signs-retrain-on-drift", {
            eventPattern: JSON.stringify({ source: ["aws.cloudwatch"] }),
        });
        const naming = { environment: "staging" as const, models: ["signs"] };
        const orders = [
            [...schedule, ...batch, ...drift],
            [...drift, ...batch, ...schedule],
            [...batch, ...drift, ...schedule],
        ];
        for (const resources of orders)
            expect(declarationOf(resources, naming).triggers.map((t) => t.name)).to.deep.equal([
                "vision-mlops-staging-signs-retrain",
                "vision-mlops-staging-signs-batch-manifest",
                "vision-mlops-staging-signs-retrain-on-drift",
            ]);
    });
});
