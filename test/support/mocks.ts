import { DeclaredResource } from "../../stacks/offline";

export {
    DeclaredResource,
    OFFLINE_ACCOUNT as TEST_ACCOUNT,
    OFFLINE_REGION as TEST_REGION,
    settled,
    unwrapOutput,
    useMocks,
} from "../../stacks/offline";

export const ofType = (type: string) => (r: DeclaredResource) => r.type === type;
export const named = (name: string) => (r: DeclaredResource) => r.name === name;

/** The one declaration of this type and name; fails loudly when absent. */
export function find(declared: readonly DeclaredResource[], type: string, name: string): DeclaredResource {
    const hit = declared.find((r) => r.type === type && r.name === name);
    if (!hit) {
        const names = declared.filter(ofType(type)).map((r) => r.name);
        throw new Error(`no ${type} named ${name}; declared: ${names.join(", ") || "none"}`);
    }
    return hit;
}
