import { clientsFromEnvironment, objectOfEvent, settingsFromEnvironment } from "./env";
import { startForImage, WorkflowClients, WorkflowSettings } from "./workflow";

/** An image dropped under the trigger prefix (EventBridge "Object Created"): start its execution. */
export async function runStart(c: WorkflowClients, s: WorkflowSettings, event: unknown): Promise<unknown> {
    const object = objectOfEvent(event);
    if (!object || object.bucket !== s.rawBucket || !s.imagePrefixes.some((p) => object.key.startsWith(p)) || object.key.endsWith(".json"))
        return { status: "ignored" };
    if (!s.stateMachineArn) throw new Error("the start function needs the state machine's ARN");
    const started = await startForImage(c, s.stateMachineArn, object.bucket, object.key);
    c.log?.(`${object.key}: ${started.started ? "started" : "already classified as"} ${started.name}`, { ...started });
    return started;
}

let deps: { clients: WorkflowClients; settings: WorkflowSettings } | undefined;

export async function handler(event: unknown): Promise<unknown> {
    deps ??= { clients: clientsFromEnvironment(), settings: settingsFromEnvironment() };
    return runStart(deps.clients, deps.settings, event);
}
