import * as pulumi from "@pulumi/pulumi";
import { execFileSync } from "child_process";
import { fromPulumiConfig, parsePlatformConfig, PlatformConfig } from "../infra/config";

/** The one place the program reads its stack config: every key, validated at once. */
export function readPlatformConfig(): PlatformConfig {
    const stack = pulumi.getStack();
    return parsePlatformConfig(fromPulumiConfig(pulumi.runtime.allConfig()), `Pulumi.${stack}.yaml`);
}

/** The commit being deployed: CI's GITHUB_SHA, else the work tree's HEAD, else "unknown". */
export function sourceCommit(): string {
    if (process.env.GITHUB_SHA) return process.env.GITHUB_SHA;
    try {
        return execFileSync("git", ["rev-parse", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
        return "unknown";
    }
}
