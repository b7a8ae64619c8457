import { expect } from "chai";
import { cliFailure, CliError } from "../../jobs/cli/common";
import { awsFailureKind, describeAwsFailure, EXIT_CODES, isInfrastructureFailure, withAwsCall } from "../../jobs/cli/lib/aws-errors";
import { clientSettingsFromEnvironment, DEFAULT_CLIENT_SETTINGS } from "../../jobs/cli/lib/clients";

/** SDK errors as the clients raise them: a name, sometimes a socket code, and $metadata once AWS answered. */
const sdkError = (name: string, message: string, extra: Record<string, unknown> = {}) =>
    Object.assign(new Error(message), { name, ...extra });
const answered = (status: number) => ({ $metadata: { httpStatusCode: status, attempts: 3 } });

describe("AWS failures, classified for operators (pure)", () => {
    it("tells throttling, network, permissions, credentials, AWS-side and refused requests apart", () => {
        const cases: [Error, string | undefined][] = [
            [sdkError("ThrottlingException", "Rate exceeded", answered(400)), "throttling"],
            [sdkError("SlowDown", "Please reduce your request rate.", answered(503)), "throttling"],
            [sdkError("Unknown", "", answered(429)), "throttling"],
            // The SDK names a reset connection TimeoutError; the socket code says what it was.
            [sdkError("TimeoutError", "read ECONNRESET", { code: "ECONNRESET" }), "network"],
            [sdkError("Error", "getaddrinfo ENOTFOUND sagemaker.us-east-1.amazonaws.com", { code: "ENOTFOUND" }), "network"],
            [sdkError("TimeoutError", "the request socket timed out after 30000 ms of inactivity"), "network"],
            [sdkError("RequestTimeout", "Your socket connection to the server was not read from or written to", answered(400)), "network"],
            [sdkError("AccessDeniedException", "not authorized", answered(400)), "permissions"],
            [sdkError("AccessDenied", "Access Denied", answered(403)), "permissions"],
            [sdkError("Forbidden", "", answered(403)), "permissions"],
            [sdkError("ExpiredToken", "The security token included in the request is expired", answered(403)), "credentials"],
            [sdkError("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist", answered(403)), "credentials"],
            [sdkError("CredentialsProviderError", "Could not load credentials from any providers"), "credentials"],
            [sdkError("InternalFailure", "", answered(500)), "server"],
            [sdkError("ValidationException", "Could not find endpoint", answered(400)), "request"],
            [new TypeError("cannot read properties of undefined"), undefined],
        ];
        for (const [e, kind] of cases) expect(awsFailureKind(e), `${e.name}: ${e.message}`).to.equal(kind);
        expect(isInfrastructureFailure(sdkError("ValidationException", "x", answered(400)))).to.equal(false);
        expect(isInfrastructureFailure(sdkError("TimeoutError", "read ECONNRESET", { code: "ECONNRESET" }))).to.equal(true);
    });

    it("looks through wrapped errors (cause) for what happened", () => {
        const wrapped = new Error("could not list", { cause: sdkError("TimeoutError", "read ECONNRESET", { code: "ECONNRESET" }) });
        expect(awsFailureKind(wrapped)).to.equal("network");
    });

    it("prints one line with the call, the object and the IAM action a permission error needs", () => {
        const e = withAwsCall(sdkError("AccessDenied", "Access Denied\nRequestId: 1", answered(403)), {
            service: "S3",
            operation: "ListObjectsV2",
            input: { Bucket: "capture", Prefix: "traffic-signs/monitoring/" },
        });
        expect(describeAwsFailure(e)).to.equal(
            "S3 ListObjectsV2 s3://capture/traffic-signs/monitoring/: permission denied (AccessDenied: Access Denied RequestId: 1) after 3 attempts; " +
                "the caller needs s3:ListBucket on s3://capture/traffic-signs/monitoring/",
        );
        expect(cliFailure(e)).to.deep.equal({ message: `error: ${describeAwsFailure(e)}`, exitCode: EXIT_CODES.permissions });
    });

    it("gives every kind its exit code; operator errors keep theirs; anything else is a bug in one line", () => {
        expect(cliFailure(sdkError("ThrottlingException", "x", answered(400))).exitCode).to.equal(4);
        expect(cliFailure(sdkError("TimeoutError", "read ECONNRESET", { code: "ECONNRESET" })).exitCode).to.equal(5);
        expect(cliFailure(sdkError("ExpiredToken", "x", answered(403))).exitCode).to.equal(7);
        expect(cliFailure(sdkError("InternalFailure", "x", answered(500))).exitCode).to.equal(8);
        expect(cliFailure(new CliError("lost", EXIT_CODES.conflict))).to.deep.equal({ message: "error: lost", exitCode: 3 });
        const bug = cliFailure(new TypeError("x is\nundefined"), {});
        expect(bug.exitCode).to.equal(70);
        expect(bug.message).to.equal(
            "error: unexpected failure (a bug in vision-mlops): x is undefined; set VISION_MLOPS_DEBUG=1 for the stack trace",
        );
        expect(cliFailure(new TypeError("x"), { VISION_MLOPS_DEBUG: "1" }).message).to.match(
            /^error: unexpected failure: TypeError: x\n\s+at /,
        );
    });

    it("client settings come from the environment, and a bad value names the variable", () => {
        expect(clientSettingsFromEnvironment({})).to.deep.equal(DEFAULT_CLIENT_SETTINGS);
        expect(
            clientSettingsFromEnvironment({ VISION_MLOPS_AWS_SOCKET_TIMEOUT_MS: "500", VISION_MLOPS_AWS_MAX_ATTEMPTS: "3" }),
        ).to.deep.include({
            socketTimeoutMs: 500,
            maxAttempts: 3,
        });
        expect(() => clientSettingsFromEnvironment({ VISION_MLOPS_AWS_MAX_ATTEMPTS: "lots" })).to.throw(
            CliError,
            'VISION_MLOPS_AWS_MAX_ATTEMPTS="lots" must be a whole number from 1 to 20; unset it to use 8',
        );
    });
});
