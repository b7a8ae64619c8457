import { clientsFromEnvironment, settingsFromEnvironment } from "./env";
import { classifyStep, ClassificationState } from "./workflow";

/** The workflow's Classify task: `{"image": "s3://...", "item_id": "<execution name>"}` -> the classification. */
let deps: { clients: ReturnType<typeof clientsFromEnvironment>; settings: ReturnType<typeof settingsFromEnvironment> } | undefined;

export async function handler(event: { image: string; item_id: string }): Promise<ClassificationState> {
    deps ??= { clients: clientsFromEnvironment(), settings: settingsFromEnvironment() };
    return classifyStep(deps.clients, deps.settings, event);
}
