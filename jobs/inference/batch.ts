import { clientsFromEnvironment, settingsFromEnvironment } from "./env";
import { BatchResult, WorkflowClients, WorkflowSettings, writeReviewBatch } from "./workflow";

/** From the workflow (enough reviewed images) or the batch schedule: reviewed images become an ingest batch. */
let deps: { clients: WorkflowClients; settings: WorkflowSettings } | undefined;

export async function handler(): Promise<BatchResult> {
    deps ??= { clients: clientsFromEnvironment(), settings: settingsFromEnvironment() };
    const result = await writeReviewBatch(deps.clients, deps.settings);
    deps.clients.log?.(`review batch: ${result.ingest}`, { ...result });
    return result;
}
