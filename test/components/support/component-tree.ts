import * as pulumi from "@pulumi/pulumi";
import { OfflineOptions } from "../../../stacks/offline";
import { DeclaredResource, settled, unwrapOutput, useMocks } from "../../support/mocks";

/**
 * Who each resource's parent is, as Pulumi's SDK sees it (mocks do not pass parents on). Give `transformations`
 * to the component under test: a child declared without `{ parent: this }` inherits none of its ancestors'
 * transformations, so it is never recorded and has no chain up to the component.
 */
export function parentage(): {
    readonly transformations: pulumi.ResourceTransformation[];
    /** Declarations (other than `root` and providers) whose chain of parents does not reach `root`. */
    orphans(declared: readonly DeclaredResource[], root: pulumi.Resource): string[];
    /** `<type>::<name>` of each resource the one named was declared to depend on (`dependsOn`). */
    dependsOn(type: string, name: string): string[];
} {
    const labels = new Map<pulumi.Resource, string>();
    const parents = new Map<string, string | undefined>();
    const dependencies = new Map<string, pulumi.Resource[]>();
    const record: pulumi.ResourceTransformation = ({ resource, type, name, opts }) => {
        const label = `${type}::${name}`;
        labels.set(resource, label);
        parents.set(label, opts.parent ? labels.get(opts.parent) : undefined);
        dependencies.set(
            label,
            ([] as pulumi.Resource[]).concat((opts.dependsOn as pulumi.Resource | pulumi.Resource[] | undefined) ?? []),
        );
        return undefined;
    };
    return {
        transformations: [record],
        dependsOn: (type, name) => (dependencies.get(`${type}::${name}`) ?? []).map((r) => labels.get(r) ?? "(not declared here)"),
        orphans(declared, root) {
            const top = labels.get(root);
            if (!top) throw new Error("the root was not declared with these transformations");
            const reachesTop = (label: string): boolean => {
                const seen = new Set<string>();
                for (let at = parents.get(label); at !== undefined && !seen.has(at); at = parents.get(at)) {
                    if (at === top) return true;
                    seen.add(at);
                }
                return false;
            };
            return declared
                .map((r) => `${r.type}::${r.name}`)
                .filter((label) => label !== top && !label.startsWith("pulumi:providers:") && !reachesTop(label));
        },
    };
}

/**
 * The outputs a component registered (`registerOutputs`), as the engine stores them in the stack's state, read from the
 * mock monitor (internal to @pulumi/pulumi) once the program has settled.
 */
export async function registeredOutputs(component: pulumi.ComponentResource): Promise<Record<string, unknown>> {
    const urn = await unwrapOutput(component.urn);
    const monitor = (pulumi.runtime as unknown as { getMonitor(): unknown }).getMonitor() as {
        resources?: Map<string, { state?: { toJavaScript?: () => Record<string, unknown> } }>;
    };
    if (!(monitor.resources instanceof Map)) throw new Error("this @pulumi/pulumi's mock monitor keeps no resources");
    const state = monitor.resources.get(urn)?.state;
    if (!state?.toJavaScript) throw new Error(`${urn} registered no outputs`);
    return state.toJavaScript();
}

/**
 * Declares the component `build` makes (with `opts` passed on) under fresh mocks, waits for the program to settle, and
 * returns what a reviewer checks of its tree: every declaration, those not parented under it, its registered outputs, and
 * what each resource was declared to depend on.
 */
export async function componentTree<T extends pulumi.ComponentResource>(
    build: (opts: pulumi.ComponentResourceOptions) => T,
    stack = "staging",
    options: OfflineOptions = {},
): Promise<{
    component: T;
    declared: DeclaredResource[];
    orphans: string[];
    outputs: Record<string, unknown>;
    dependsOn: (type: string, name: string) => string[];
}> {
    const declared = useMocks(stack, options);
    const tree = parentage();
    const component = build({ transformations: tree.transformations });
    await settled(declared, component.urn);
    return {
        component,
        declared,
        orphans: tree.orphans(declared, component),
        outputs: await registeredOutputs(component),
        dependsOn: tree.dependsOn,
    };
}
