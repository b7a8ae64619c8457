// Lint rules for the whole project: typescript-eslint's recommended set, with the house's own exceptions.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["node_modules/", "dist/", ".plan/", ".bench/", ".scratch/", ".monitoring/", "web/dist/", ".stryker-tmp/", "reports/"] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        rules: {
            // Unused names are the type checker's job (noUnusedLocals); an `_` prefix marks one kept on purpose.
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
            "@typescript-eslint/no-require-imports": "off",
            "no-constant-condition": ["error", { checkLoops: false }],
        },
    },
    {
        files: ["test/**/*.ts"],
        rules: {
            // chai's `expect(x).to.be.true` is an expression statement.
            "@typescript-eslint/no-unused-expressions": "off",
            "@typescript-eslint/no-non-null-assertion": "off",
            // Tests walk JSON the code under test produced (mock inputs, definitions, reports).
            "@typescript-eslint/no-explicit-any": "off",
        },
    },
);
