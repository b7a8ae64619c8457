/**
 * Violations the platform knows of and has not fixed yet: the one list, in one place.
 *
 * A violation that matches an item here is reported by an advisory twin of its rule (`<rule>-open-items`),
 * as a warning that names the item, so `npm run plan` and `pulumi preview --policy-pack policy` still pass;
 * every other violation of the rule stays mandatory. Fixing an item means fixing the code it names and
 * deleting the item: from then on the rule fails any stack that brings the violation back. The policy tests
 * fail while an item matches nothing, so a fixed item cannot linger here as a silent exemption.
 */
export interface OpenItem {
    /** Short, stable id, printed with every warning it covers. */
    readonly id: string;
    /** The rule whose violations it covers. */
    readonly policy: string;
    /** The resource type and logical names it covers. */
    readonly resourceType: string;
    readonly resourceName: RegExp;
    /** Where the fix belongs. */
    readonly file: string;
    /** What is open, and what fixes it. */
    readonly fix: string;
}

/**
 * Empty: every known violation is fixed, so every rule is mandatory on every resource. A violation found
 * and not fixed at once goes here with its fix, and out again when the fix lands.
 */
export const OPEN_ITEMS: readonly OpenItem[] = [];

/** The open item covering a violation of `policy` on this resource, if any. */
export function openItemFor(
    policy: string,
    type: string | undefined,
    name: string | undefined,
    items: readonly OpenItem[] = OPEN_ITEMS,
): OpenItem | undefined {
    if (type === undefined || name === undefined) return undefined;
    return items.find((i) => i.policy === policy && i.resourceType === type && i.resourceName.test(name));
}
