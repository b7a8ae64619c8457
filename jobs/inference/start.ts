import { prefixes } from "../../infra/naming";
import { clientsFromEnvironment, objectOfEvent, settingsFromEnvironment } from "./env";
import { startForCorrection, startForImage, WorkflowClients, WorkflowSettings } from "./workflow";

/**
 * An object arrived (EventBridge "Object Created"): a correction's record starts its review; an image dropped
 * under the trigger prefix starts its classification. Anything else is ignored.
 */
export async function runStart(c: WorkflowClients, s: WorkflowSettings, event: unknown): Promise<unknown> {
    const object = objectOfEvent(event);
    if (!object || object.bucket !== s.rawBucket) return { status: "ignored" };
    if (object.key.startsWith(prefixes.reviewCorrections(s.model))) {
        const started = await startForCorrection(c, s, object.key);
        c.log?.(
            "status" in started
                ? `${object.key}: ignored: ${started.why}`
                : `${object.key}: review ${started.started ? "started" : "already started"} as ${started.name}`,
            {
                ...started,
            },
        );
        return started;
    }
    if (!s.imagePrefixes.some((p) => object.key.startsWith(p)) || object.key.endsWith(".json")) return { status: "ignored" };
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
