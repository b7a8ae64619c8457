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
