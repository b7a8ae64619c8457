/**
 * Mocha `require` (after ts-node): Pulumi captures a stack trace for every resource it registers (its source
 * position, with no frame limit) and for every RPC promise; ts-node's source-map support maps each of those
 * frames back to TypeScript, which doubled the CPU a program costs under mocks. Stacks captured inside
 * @pulumi/pulumi keep V8's own format (mocks never show them); every other stack, a failing test's included,
 * is still mapped.
 */
const mapped = Error.prepareStackTrace;
const PULUMI_SDK = /[\\/]node_modules[\\/]@pulumi[\\/]pulumi[\\/]/;

if (mapped) {
    Error.prepareStackTrace = (error, frames) => {
        if (frames.length > 0 && PULUMI_SDK.test(frames[0].getFileName() ?? ""))
            return `${String(error)}${frames.map((f) => `\n    at ${String(f)}`).join("")}`;
        return mapped(error, frames);
    };
}

/**
 * Pulumi also records a stack trace on every promise it tracks (runtime/debuggable.js: about 19,000 for one
 * staging platform) and prints them only in its promise-leak report when PULUMI_DEBUG_PROMISE_LEAKS is set.
 * Capturing and formatting them was half the CPU of a whole platform on mocks (a warm staging build: 4.5 s with
 * them, 2.3 s without). Unless that variable is set, they are recorded with no frames (stack limit 0 for the
 * capture alone); the promise, its leak tracking and every other stack are as before.
 */
interface PulumiDebuggable {
    debugPromiseLeaks: boolean;
    debuggablePromise<T>(p: Promise<T>, ctx: unknown): Promise<T>;
}
const debuggable = require("@pulumi/pulumi/runtime/debuggable") as PulumiDebuggable;
const tracked = debuggable.debuggablePromise;
// Pulumi's modules call it through the module's exports, so replacing the export replaces every call.
if (typeof tracked === "function" && !debuggable.debugPromiseLeaks) {
    debuggable.debuggablePromise = function <T>(p: Promise<T>, ctx: unknown): Promise<T> {
        const limit = Error.stackTraceLimit;
        Error.stackTraceLimit = 0;
        try {
            return tracked(p, ctx);
        } finally {
            Error.stackTraceLimit = limit;
        }
    };
}
