import { spawnSync } from "child_process";
import { EventPattern } from "../../infra/pipeline/trigger";

/**
 * Whether EventBridge would deliver each event to a rule with the pattern, judged by another implementation:
 * moto's event-pattern matcher, the one its PutEvents routes events to rules with. EventBridge's own
 * TestEventPattern API would be the first choice, but moto 5.2.1 does not implement it (events/responses.py
 * answers nothing). All cases go to one python process.
 */
export function eventBridgeMatches(cases: readonly { pattern: EventPattern; event: unknown }[]): boolean[] {
    const script = [
        "import json, sys",
        "from moto.events.models import EventPattern",
        "cases = json.load(sys.stdin)",
        "print(json.dumps([EventPattern.load(json.dumps(c['pattern'])).matches_event(c['event']) for c in cases]))",
    ].join("\n");
    const run = spawnSync("python3", ["-c", script], { input: JSON.stringify(cases), encoding: "utf8" });
    if (run.status !== 0) throw new Error(`moto's event-pattern matcher failed (exit ${run.status}): ${run.stderr || run.error}`);
    const verdicts = JSON.parse(run.stdout) as boolean[];
    if (verdicts.length !== cases.length) throw new Error(`moto judged ${verdicts.length} of ${cases.length} events`);
    return verdicts;
}

/** Verdicts by label, for labelled `[pattern, event]` cases (one python process for all of them). */
export function judgedCases(cases: Record<string, readonly [EventPattern, unknown]>): Record<string, boolean> {
    const labels = Object.keys(cases);
    const verdicts = eventBridgeMatches(labels.map((label) => ({ pattern: cases[label][0], event: cases[label][1] })));
    return Object.fromEntries(labels.map((label, i) => [label, verdicts[i]]));
}
