import { expect } from "chai";
import { ConfigError, formatProblem, parsePlatformConfig } from "../../infra/config";

/** Every problem parsePlatformConfig reports for `input`, formatted as the person deploying reads them; fails if it is accepted. */
export function problemsOf(input: unknown): string[] {
    try {
        parsePlatformConfig(input);
    } catch (e) {
        expect(e).to.be.instanceOf(ConfigError);
        return (e as ConfigError).problems.map(formatProblem);
    }
    throw new Error("config was accepted");
}
