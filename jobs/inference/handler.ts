import { INFERENCE_ENV, InferenceFunction } from "../../infra/inference-workflow";
import { handler as batch } from "./batch";
import { handler as callback } from "./callback";
import { handler as classify } from "./classify";
import { handler as review } from "./review";
import { handler as start } from "./start";

/**
 * The one bundle of the workflow's functions: each function runs the handler its `VISION_FUNCTION` names, so
 * the five share one build (and one tested artefact) while each keeps its own role.
 */
const HANDLERS: Record<InferenceFunction, (event: never) => Promise<unknown>> = { classify, review, callback, batch, start };

export async function handler(event: never): Promise<unknown> {
    const name = process.env[INFERENCE_ENV.function] as InferenceFunction | undefined;
    const run = name && HANDLERS[name];
    if (!run) throw new Error(`${INFERENCE_ENV.function} is ${JSON.stringify(name)}; expected one of ${Object.keys(HANDLERS).join(", ")}`);
    return run(event);
}
