import { expect } from "chai";
import { ChildProcess, spawn } from "child_process";
import { join, resolve } from "path";
import { OpenItem } from "../../policy/open-items";
import { PLATFORM_RULES, platformPolicies } from "../../policy/pack";
import { declared, runPack, unconditionedTrust } from "./support";

const ROOT = resolve(__dirname, "../..");
const ROLE = "aws:iam/role:Role";

describe("policy pack: the pack as a whole", function () {
    this.timeout(60_000);

    it("names every rule once, with a description, the controls it enforces and the fix", () => {
        const names = PLATFORM_RULES.map((r) => r.name);
        expect(new Set(names).size).to.equal(names.length);
        for (const r of PLATFORM_RULES) {
            expect(r.name, r.name).to.match(/^[a-z0-9]+(-[a-z0-9]+)*$/);
            expect(r.description.length, r.name).to.be.greaterThan(20);
            expect(r.controls.length, r.name).to.be.greaterThan(0);
            expect(r.remediationSteps.length, r.name).to.be.greaterThan(10);
            expect(Boolean(r.validateResource) !== Boolean(r.validateStack), `${r.name}: a resource or a stack rule`).to.equal(true);
        }
        // The controls PLATFORM.md and the security review list, each enforced by some rule.
        const controls = PLATFORM_RULES.flatMap((r) => [...r.controls]).join(" ");
        for (const c of [
            "SageMaker.4",
            "SageMaker.5",
            "SageMaker.9",
            "SageMaker.11",
            "SageMaker.13",
            "SageMaker.14",
            "SageMaker.22",
            "SageMaker.25",
            "CKV_AWS_98",
            "CKV_AWS_367",
            "CKV_AWS_368",
            "CKV_AWS_369",
            "CKV_AWS_370",
            "S3.5",
            "S3.8",
            "S3.9",
            "S3.13",
            "S3.14",
            "S3.17",
            "confused deputy",
            "no * resource on write actions",
            "no AmazonSageMakerFullAccess",
            "cloudwatch:namespace",
            "no GPU endpoints in staging",
            "endpoint instance caps",
            "training runtime bound, managed spot",
            "data capture sampling caps",
            "lifecycle on capture data",
        ])
            expect(controls, c).to.contain(c);
        const mandatory = PLATFORM_RULES.filter((r) => r.enforcementLevel === "mandatory").length;
        expect(mandatory, "everything but the processing-isolation hint is mandatory").to.equal(PLATFORM_RULES.length - 1);
    });

    it("reports a listed open item as a warning naming it, and fails the same violation once the item is deleted", async () => {
        const resources = [
            declared(ROLE, "vision-mlops-staging-traffic-signs-training-role", {
                assumeRolePolicy: unconditionedTrust("sagemaker.amazonaws.com"),
            }),
        ];
        const item: OpenItem = {
            id: "trust-training-role",
            policy: "iam-service-trust-source-conditions",
            resourceType: ROLE,
            resourceName: /-training-role$/,
            file: "components/training-pipeline.ts",
            fix: "…",
        };
        const listed = await runPack(resources, [item]);
        const warnings = listed.violations.filter((v) => v.policy.startsWith("iam-service-trust-source-conditions"));
        expect(warnings.map((v) => [v.policy, v.enforcementLevel, v.openItem?.id])).to.deep.equal([
            ["iam-service-trust-source-conditions-open-items", "advisory", "trust-training-role"],
        ]);
        expect(warnings[0].message).to.match(/^open item trust-training-role \(components\/training-pipeline\.ts\): \[confused deputy/);
        // An item covers only what it names: another role with the same violation stays mandatory.
        const other = await runPack(
            [
                ...resources,
                declared(ROLE, "vision-mlops-staging-extra", {
                    assumeRolePolicy: unconditionedTrust("events.amazonaws.com"),
                }),
            ],
            [item],
        );
        expect(other.violations.filter((v) => v.enforcementLevel === "mandatory").map((v) => v.resource?.name)).to.deep.equal([
            "vision-mlops-staging-extra",
        ]);
        const deleted = await runPack(resources, []);
        expect(
            deleted.violations.filter((v) => v.policy.startsWith("iam-service-trust")).map((v) => [v.policy, v.enforcementLevel]),
        ).to.deep.equal([["iam-service-trust-source-conditions", "mandatory"]]);
    });

    it("refuses an open item that names no rule, so a typo cannot exempt anything", () => {
        const typo: OpenItem = {
            id: "trust-some-role",
            policy: "iam-trust-typo",
            resourceType: ROLE,
            resourceName: /-some-role$/,
            file: "components/some.ts",
            fix: "…",
        };
        expect(() => platformPolicies(PLATFORM_RULES, [typo])).to.throw(
            /open item trust-some-role names no rule of the pack: iam-trust-typo/,
        );
    });

    describe("served as pulumi preview --policy-pack policy runs it", () => {
        let child: ChildProcess;
        let client: any;
        const analyzerPb = require("@pulumi/pulumi/proto/analyzer_pb");
        const { AnalyzerClient } = require("@pulumi/pulumi/proto/analyzer_grpc_pb");
        const { Struct } = require("google-protobuf/google/protobuf/struct_pb");
        const { Empty } = require("google-protobuf/google/protobuf/empty_pb");
        const grpc = require("@grpc/grpc-js");
        const call = <T>(method: string, request: unknown) =>
            new Promise<T>((done, fail) => client[method](request, (err: Error | null, response: T) => (err ? fail(err) : done(response))));

        before(async () => {
            // What the CLI's Node.js language host does with a TypeScript pack: load its package from the pack's folder.
            child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", 'require("./")'], {
                cwd: join(ROOT, "policy"),
                stdio: ["ignore", "pipe", "pipe"],
            });
            let stderr = "";
            child.stderr!.on("data", (d) => (stderr += d));
            const port = await new Promise<string>((done, fail) => {
                child.stdout!.on("data", (d) => done(String(d).trim().split("\n")[0]));
                child.on("exit", (code) => fail(new Error(`the pack exited with ${code} before serving: ${stderr}`)));
            });
            expect(port).to.match(/^\d+$/);
            client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        });
        after(() => {
            client?.close();
            child?.kill();
        });

        const analyze = (type: string, name: string, properties: Record<string, unknown>) => {
            const request = new analyzerPb.AnalyzeRequest();
            request.setType(type);
            request.setName(name);
            request.setUrn(`urn:pulumi:staging::vision-mlops::${type}::${name}`);
            request.setProperties(Struct.fromJavaScript(properties));
            request.setOptions(new analyzerPb.AnalyzerResourceOptions());
            return call<{ getDiagnosticsList(): { getPolicyname(): string; getMessage(): string; getEnforcementlevel(): number }[] }>(
                "analyze",
                request,
            ).then((r) =>
                r.getDiagnosticsList().map((d) => ({ policy: d.getPolicyname(), message: d.getMessage(), level: d.getEnforcementlevel() })),
            );
        };

        it("serves every policy of platformPolicies(), with its enforcement level", async () => {
            const info = await call<{ getName(): string; getPoliciesList(): { getName(): string; getEnforcementlevel(): number }[] }>(
                "getAnalyzerInfo",
                new Empty(),
            );
            expect(info.getName()).to.equal("vision-mlops");
            const served = info.getPoliciesList().map((p) => [p.getName(), p.getEnforcementlevel()]);
            const level = { advisory: analyzerPb.EnforcementLevel.ADVISORY, mandatory: analyzerPb.EnforcementLevel.MANDATORY };
            expect(served).to.deep.equal(platformPolicies().map((p) => [p.name, level[p.enforcementLevel as "advisory" | "mandatory"]]));
        });

        it("fails a model without network isolation, naming SageMaker.5", async () => {
            const diagnostics = await analyze("aws:sagemaker/model:Model", "m", {
                executionRoleArn: "arn:aws:iam::123456789012:role/r",
                enableNetworkIsolation: false,
            });
            expect(diagnostics).to.have.length(1);
            expect(diagnostics[0]).to.deep.include({
                policy: "sagemaker-model-network-isolation",
                level: analyzerPb.EnforcementLevel.MANDATORY,
            });
            // The engine shows the policy's description, then the violation's message.
            const [description, message] = diagnostics[0].message.split("\n");
            expect(description).to.equal(PLATFORM_RULES.find((r) => r.name === "sagemaker-model-network-isolation")!.description);
            expect(message).to.match(
                /^\[SageMaker\.5, CKV_AWS_370\] sagemaker Model "m" runs without network isolation.*Fix: set enableNetworkIsolation: true$/,
            );
        });

        it("answers a value unknown until the update with the engine's advisory note, neither passing nor failing it", async () => {
            const unknown = require("@pulumi/pulumi/runtime/rpc").unknownValue;
            const diagnostics = await analyze("aws:sagemaker/model:Model", "m", {
                executionRoleArn: "arn:aws:iam::123456789012:role/r",
                enableNetworkIsolation: unknown,
            });
            expect(diagnostics.map((d) => [d.policy, d.level])).to.deep.equal([
                ["sagemaker-model-network-isolation", analyzerPb.EnforcementLevel.ADVISORY],
            ]);
            expect(diagnostics[0].message).to.match(
                /can't run policy 'sagemaker-model-network-isolation' from policy pack 'vision-mlops@v0\.1\.0' during preview: string value at \.enableNetworkIsolation can't be known during preview/,
            );
        });
    });
});
