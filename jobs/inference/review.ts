import { ClosedItem, ReviewOutcome } from "../../infra/review-contract";
import { clientsFromEnvironment, settingsFromEnvironment } from "./env";
import {
    ClassificationState,
    closeItem,
    enqueueReview,
    fileReviewed,
    inferenceIdOf,
    WorkflowClients,
    WorkflowSettings,
    writePrediction,
} from "./workflow";

/** The workflow's review-queue tasks, by `action`. */
export type ReviewAction =
    | { readonly action: "prediction"; readonly classification: ClassificationState }
    | {
          readonly action: "enqueue";
          readonly classification: ClassificationState;
          readonly task_token: string;
          readonly execution_arn: string;
      }
    | { readonly action: "file"; readonly classification: ClassificationState; readonly review: ReviewOutcome }
    | {
          readonly action: "close";
          readonly item_id: string;
          readonly reason: ClosedItem["reason"];
          readonly reviewer?: string;
          readonly execution_arn?: string;
      };

export function runReviewAction(c: WorkflowClients, s: WorkflowSettings, event: ReviewAction): Promise<unknown> {
    switch (event.action) {
        case "prediction":
            return writePrediction(c, s, event.classification);
        case "enqueue":
            return enqueueReview(c, s, event);
        case "file":
            return fileReviewed(c, s, {
                item_id: event.classification.item_id,
                review: event.review,
                inference_id: inferenceIdOf(event.classification),
                model_package: event.classification.model_package,
                predicted_label: event.classification.top[0]?.label,
                suggested_label: event.classification.suggestion?.label,
            });
        case "close":
            return closeItem(c, s, event);
        default:
            throw new Error(`unknown review action ${JSON.stringify((event as { action?: unknown }).action)}`);
    }
}

let deps: { clients: WorkflowClients; settings: WorkflowSettings } | undefined;

export async function handler(event: ReviewAction): Promise<unknown> {
    deps ??= { clients: clientsFromEnvironment(), settings: settingsFromEnvironment() };
    return runReviewAction(deps.clients, deps.settings, event);
}
