import { prefixes } from "../../infra/naming";
import { clientsFromEnvironment, objectOfEvent, settingsFromEnvironment } from "./env";
import { heartbeatWaiting, resumeFromAnnotation, WorkflowClients, WorkflowSettings } from "./workflow";

/**
 * Two EventBridge events: an object created under the review queue's `annotations/` (Label Studio's target
 * storage) resumes the execution waiting for its item; the heartbeat schedule keeps queued items' executions alive.
 */
export async function runCallback(c: WorkflowClients, s: WorkflowSettings, event: unknown): Promise<unknown> {
    if ((event as { "detail-type"?: string })["detail-type"] === "Scheduled Event") return heartbeatWaiting(c, s);
    const object = objectOfEvent(event);
    if (!object || object.bucket !== s.rawBucket || !object.key.startsWith(prefixes.reviewAnnotations(s.model)))
        return { status: "ignored", why: "not an annotation of this model's review queue" };
    const result = await resumeFromAnnotation(c, s, object.key);
    c.log?.(`annotation ${object.key}: ${result.status}`, { ...result });
    return result;
}

let deps: { clients: WorkflowClients; settings: WorkflowSettings } | undefined;

export async function handler(event: unknown): Promise<unknown> {
    // No metrics from here: the review function is the one writer of the model's namespace.
    deps ??= { clients: { ...clientsFromEnvironment(), cloudwatch: undefined }, settings: settingsFromEnvironment() };
    return runCallback(deps.clients, deps.settings, event);
}
