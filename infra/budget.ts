/**
 * What a stack's cost budget counts: its `environment` tag (`tag`) or the whole account in its region (`account`).
 * A module of its own with no imports: the config schema and the CostBudget component both read it, and the cost
 * model imports the schema's modules, so living there would make a cycle.
 */
export const BUDGET_FILTERS = ["tag", "account"] as const;
export type BudgetFilter = (typeof BUDGET_FILTERS)[number];
