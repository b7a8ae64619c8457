/**
 * Reading IAM and resource policies as AWS evaluates them, for checks that ask what a policy *does* (is a
 * plain-HTTP GetObject denied? is an upload with another key denied?) rather than how it is spelt.
 *
 * `parsePolicy` accepts every shape IAM accepts (a single statement or a list, single values or lists,
 * `"*"` principals); `deniedBy`/`allowedBy` evaluate a request against the statements with IAM's rules
 * for the condition operators the platform's policies use. An operator outside that set is an error, never
 * a guess: a check must not pass on a condition it cannot read.
 */

/** One statement as written: IAM lets most elements be a single value or a list. */
export interface RawStatement {
    readonly Sid?: string;
    readonly Effect: "Allow" | "Deny";
    readonly Principal?: "*" | Readonly<Record<string, string | readonly string[]>>;
    readonly NotPrincipal?: Readonly<Record<string, string | readonly string[]>>;
    readonly Action?: string | readonly string[];
    readonly NotAction?: string | readonly string[];
    readonly Resource?: string | readonly string[];
    readonly NotResource?: string | readonly string[];
    readonly Condition?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

/** A request to evaluate: who, what, on which ARN, with which condition keys present. */
export interface PolicyRequest {
    readonly action: string;
    readonly resource: string;
    /** The caller: an AWS service principal, or an IAM principal ARN; absent means anyone. */
    readonly principal?: { readonly service?: string; readonly aws?: string };
    /** Condition keys the request carries (absent keys are left out), e.g. `{ "aws:SecureTransport": "false" }`. */
    readonly context?: Readonly<Record<string, string>>;
}

/** The statements of a policy document given as JSON text or an object; the error names what is wrong. */
export function parsePolicy(policy: unknown): RawStatement[] {
    let doc: unknown = policy;
    if (typeof policy === "string") {
        try {
            doc = JSON.parse(policy);
        } catch (e) {
            throw new Error(`the policy is not JSON (${(e as Error).message})`, { cause: e });
        }
    }
    const statements = (doc as { Statement?: unknown } | undefined)?.Statement;
    if (statements === undefined) throw new Error("the policy has no Statement");
    const list = (Array.isArray(statements) ? statements : [statements]) as RawStatement[];
    for (const s of list)
        if (s.Effect !== "Allow" && s.Effect !== "Deny")
            throw new Error(`statement ${s.Sid ?? "(no Sid)"} has Effect ${JSON.stringify(s.Effect)}, not Allow or Deny`);
    return list;
}

/** A single value or a list, as a list. */
export function listOf<T>(value: T | readonly T[] | undefined): T[] {
    return value === undefined ? [] : Array.isArray(value) ? [...value] : [value as T];
}

/** The service principals a statement names (`Principal.Service`), e.g. `["events.amazonaws.com"]`. */
export function servicePrincipals(s: RawStatement): string[] {
    return s.Principal && s.Principal !== "*" ? listOf(s.Principal.Service) : [];
}

/** The condition keys a statement tests, under any operator, in lower case (IAM compares keys case-insensitively). */
export function conditionKeys(s: RawStatement): string[] {
    return Object.values(s.Condition ?? {}).flatMap((byKey) => Object.keys(byKey).map((k) => k.toLowerCase()));
}

/** The values a statement's condition gives a key under any operator (e.g. every `aws:SourceAccount` value). */
export function conditionValues(s: RawStatement, key: string): string[] {
    const wanted = key.toLowerCase();
    return Object.values(s.Condition ?? {}).flatMap((byKey) =>
        Object.entries(byKey)
            .filter(([k]) => k.toLowerCase() === wanted)
            .flatMap(([, v]) => listOf(v as string | string[]).map(String)),
    );
}

/** Does some Deny statement of the policy match the request? */
export function deniedBy(statements: readonly RawStatement[], request: PolicyRequest): boolean {
    return statements.some((s) => s.Effect === "Deny" && matches(s, request));
}

/** Does some Allow statement of the policy match the request? (An explicit deny still wins: see `deniedBy`.) */
export function allowedBy(statements: readonly RawStatement[], request: PolicyRequest): boolean {
    return statements.some((s) => s.Effect === "Allow" && matches(s, request));
}

/** Whether the statement applies to the request: principal, action, resource and every condition. */
export function matches(s: RawStatement, request: PolicyRequest): boolean {
    return (
        principalMatches(s, request) &&
        actionMatches(s, request.action) &&
        resourceMatches(s, request.resource) &&
        conditionsHold(s, request)
    );
}

function principalMatches(s: RawStatement, request: PolicyRequest): boolean {
    if (s.NotPrincipal) throw new Error(`statement ${s.Sid ?? "(no Sid)"} uses NotPrincipal, which these checks do not evaluate`);
    // Identity policies have no Principal: they apply to whoever holds them.
    if (s.Principal === undefined || s.Principal === "*") return true;
    const aws = listOf(s.Principal.AWS);
    if (aws.includes("*")) return true;
    const p = request.principal;
    if (!p) return false;
    return (p.service !== undefined && listOf(s.Principal.Service).includes(p.service)) || (p.aws !== undefined && aws.includes(p.aws));
}

function actionMatches(s: RawStatement, action: string): boolean {
    const hit = (patterns: string[]) => patterns.some((p) => glob(p, action, true));
    if (s.NotAction !== undefined) return !hit(listOf(s.NotAction));
    return hit(listOf(s.Action));
}

function resourceMatches(s: RawStatement, resource: string): boolean {
    const hit = (patterns: string[]) => patterns.some((p) => glob(p, resource, false));
    if (s.NotResource !== undefined) return !hit(listOf(s.NotResource));
    // Trust policies have no Resource: the role itself.
    if (s.Resource === undefined) return true;
    return hit(listOf(s.Resource));
}

const NEGATED = new Set(["StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike"]);
const COMPARE: Readonly<Record<string, (pattern: string, value: string) => boolean>> = {
    StringEquals: (p, v) => p === v,
    StringNotEquals: (p, v) => p === v,
    StringEqualsIgnoreCase: (p, v) => p.toLowerCase() === v.toLowerCase(),
    StringNotEqualsIgnoreCase: (p, v) => p.toLowerCase() === v.toLowerCase(),
    StringLike: (p, v) => glob(p, v, false),
    StringNotLike: (p, v) => glob(p, v, false),
    ArnEquals: (p, v) => p === v,
    ArnNotEquals: (p, v) => p === v,
    ArnLike: (p, v) => glob(p, v, false),
    ArnNotLike: (p, v) => glob(p, v, false),
    Bool: (p, v) => p.toLowerCase() === v.toLowerCase(),
};

/**
 * IAM's rules: operators AND together, keys within an operator AND together, values of one key OR
 * together (for negated operators: the value matches none of them). A key the request lacks makes a
 * positive operator false and a negated one true; `...IfExists` makes it true either way; `Null` tests
 * presence.
 */
function conditionsHold(s: RawStatement, request: PolicyRequest): boolean {
    const context = new Map(Object.entries(request.context ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    return Object.entries(s.Condition ?? {}).every(([operator, byKey]) => {
        if (operator.includes(":"))
            throw new Error(`statement ${s.Sid ?? "(no Sid)"}: the set operator ${operator} is not evaluated by these checks`);
        const ifExists = operator.endsWith("IfExists");
        const base = ifExists ? operator.slice(0, -"IfExists".length) : operator;
        return Object.entries(byKey).every(([key, raw]) => {
            const values = listOf(raw as unknown).map(String);
            const actual = context.get(key.toLowerCase());
            if (base === "Null") return values.some((v) => (v.toLowerCase() === "true") === (actual === undefined));
            const compare = COMPARE[base];
            if (!compare)
                throw new Error(`statement ${s.Sid ?? "(no Sid)"}: condition operator ${operator} is not evaluated by these checks`);
            if (actual === undefined) return ifExists || NEGATED.has(base);
            const any = values.some((v) => compare(v, actual));
            return NEGATED.has(base) ? !any : any;
        });
    });
}

/** IAM wildcards: `*` any run of characters, `?` one character. */
function glob(pattern: string, value: string, ignoreCase: boolean): boolean {
    const source = pattern
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*/g, ".*")
        .replace(/\?/g, ".");
    return new RegExp(`^${source}$`, ignoreCase ? "is" : "s").test(value);
}
