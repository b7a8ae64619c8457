import { expect } from "chai";
import { mkdtempSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { OPEN_ITEMS, openItemFor } from "../../policy/open-items";
import { DeclaredForPolicy, mandatoryViolations, PolicyReport, PolicyViolation, runPolicies } from "../../policy/offline";
import { PLATFORM_RULES, platformPolicies } from "../../policy/pack";
import { ConfigError } from "../../infra/config";
import { PlanResult, policyRefusal, runPlan } from "../../scripts/plan";
import { projectPlan } from "../support/plans";

const ROOT = resolve(__dirname, "../..");

const logs = new Map<PlanResult, string[]>();
async function plan(stack: "staging" | "prod", projectDir = ROOT): Promise<PlanResult> {
    const log: string[] = [];
    const result = await runPlan(stack, {
        projectDir,
        outDir: mkdtempSync(join(tmpdir(), `policy-${stack}-`)),
        registry: "sample",
        log: (l) => log.push(l),
    });
    logs.set(result, log);
    return result;
}

/** The rules alone, with no open item: what the stacks really violate. */
const raw = (declared: readonly DeclaredForPolicy[], stack: string) =>
    runPolicies(declared, { stack, policies: platformPolicies(PLATFORM_RULES, []), openItems: [] });

/** A copy of the declarations with one resource changed. */
function changed(declared: readonly DeclaredForPolicy[], name: string, change: (inputs: Record<string, any>) => void): DeclaredForPolicy[] {
    if (!declared.some((r) => r.name === name)) throw new Error(`no declared resource ${name}`);
    return declared.map((r) => {
        if (r.name !== name) return r;
        const inputs = JSON.parse(JSON.stringify(r.inputs));
        change(inputs);
        return { ...r, inputs };
    });
}

const rerun = (declared: DeclaredForPolicy[], stack: string): Promise<PolicyReport> => runPolicies(declared, { stack });
const summary = (vs: readonly PolicyViolation[]) => vs.map((v) => `${v.policy} ${v.resource?.name ?? "(stack)"}`);

describe("policy pack over both stacks' planned resources", function () {
    this.timeout(600_000);
    let staging: PlanResult;
    let prod: PlanResult;
    let modelMonitor: PlanResult;

    before(async () => {
        for (const [stack, shared] of [
            ["staging", await projectPlan("staging")],
            ["prod", await projectPlan("prod")],
        ] as const) {
            logs.set(shared.result, [...shared.log]);
            if (stack === "staging") staging = shared.result;
            else prod = shared.result;
        }
        // Staging again with the model-monitor engine, so the MonitoringSchedule rules meet the real resources.
        const project = mkdtempSync(join(tmpdir(), "policy-model-monitor-"));
        writeFileSync(
            join(project, "Pulumi.staging.yaml"),
            readFileSync(join(ROOT, "Pulumi.staging.yaml"), "utf8").replace("engine: pipeline", "engine: model-monitor"),
        );
        modelMonitor = await plan("staging", project);
        expect(modelMonitor.policyInputs.filter((r) => r.type === "aws:sagemaker/monitoringSchedule:MonitoringSchedule")).to.have.length(4);
    });

    it("finds no mandatory violation in either stack: the plan passes, printing every warning with its open item", () => {
        for (const r of [staging, prod, modelMonitor]) {
            expect(summary(mandatoryViolations(r.policy)), r.stack).to.deep.equal([]);
            expect(policyRefusal(r.policy)).to.equal(undefined);
            const log = logs.get(r)!;
            const open = r.policy.violations.filter((v) => v.openItem).length;
            const head = log.find((l) => l.startsWith("Policy pack vision-mlops: "));
            expect(head).to.match(
                new RegExp(
                    `^Policy pack vision-mlops: \\d+ policies over ${r.policyInputs.length} resources: 0 mandatory violations, ${open} open items \\(warnings\\)`,
                ),
            );
            const warnings = log.filter((l) => l.startsWith("  warning   open item "));
            expect(warnings).to.have.length(open);
            for (const w of warnings)
                expect(w).to.match(/^ {2}warning {3}open item [a-z-]+ \((components|infra)\/[a-z/.-]+\.ts\): \[[^\]]+\] .+\. Fix: /);
        }
        const written = JSON.parse(readFileSync(staging.files[0], "utf8")).policy;
        expect(written.violations).to.have.length(staging.policy.violations.length);
    });

    it("fails the plan on a mandatory violation, naming how many", () => {
        const violation: PolicyViolation = { policy: "s3-access-logging", enforcementLevel: "mandatory", message: "[S3.9] ..." };
        expect(policyRefusal({ ...staging.policy, violations: [...staging.policy.violations, violation] })).to.match(
            /^1 mandatory policy violation \(listed above under "Policy pack"\)/,
        );
    });

    it("finds, without the open-items list, only violations the list names: anything new fails here", async () => {
        for (const r of [staging, prod, modelMonitor]) {
            const unlisted = mandatoryViolations(await raw(r.policyInputs, r.stack)).filter(
                (v) => !openItemFor(v.policy, v.resource?.type, v.resource?.name),
            );
            expect(summary(unlisted), `${r.stack}: mandatory violations no open item names`).to.deep.equal([]);
        }
    });

    it("still finds every open item somewhere: delete an item from policy/open-items.ts once its fix lands", async () => {
        const found = new Set<string>();
        for (const r of [staging, prod, modelMonitor])
            for (const v of mandatoryViolations(await raw(r.policyInputs, r.stack))) {
                const item = openItemFor(v.policy, v.resource?.type, v.resource?.name);
                if (item) found.add(item.id);
            }
        expect(
            OPEN_ITEMS.map((i) => i.id).filter((id) => !found.has(id)),
            "open items that no longer fire",
        ).to.deep.equal([]);
    });

    it("has no open item left: every rule is mandatory on both stacks", () => {
        expect(OPEN_ITEMS).to.deep.equal([]);
        for (const r of [staging, prod])
            expect(
                r.policy.violations.filter((v) => v.openItem).map((v) => v.openItem!.id),
                r.stack,
            ).to.deep.equal([]);
        for (const r of [staging, prod]) {
            const advisory = r.policy.violations.filter((v) => v.enforcementLevel === "advisory" && !v.openItem);
            expect(
                advisory.map((v) => v.policy),
                r.stack,
            ).to.satisfy((ps: string[]) => ps.every((p) => p === "sagemaker-processing-network-isolation"));
            expect(
                r.policy.violations.filter((v) => v.cannotRun),
                "offline values are all known",
            ).to.deep.equal([]);
        }
    });

    const DECLARED_BEFORE_SERVICE_ROLE = [
        "vision-mlops:monitoring:ModelMonitor",
        "vision-mlops:serving:ModelEndpoint",
        "vision-mlops:training:TrainingPipeline",
    ];
    const MODELS_BEFORE_SERVICE_ROLE = ["traffic-signs", "bikes-vs-motorcycles"];
    it("adopts every role and policy declared before ServiceRole: the URN its alias names is the URN it had", () => {
        /** A resource's URN type chain under the stack (`parent$...$type::name`), with ServiceRole's level left out as its alias leaves it. */
        const aliasUrns = (r: PlanResult) => {
            const byLabel = new Map(r.resources.map((x) => [`${x.type}::${x.name}`, x]));
            const chain = (x: (typeof r.resources)[number]): string[] => {
                const parent = x.parent && byLabel.get(x.parent);
                return [...(parent ? chain(parent) : []), x.type];
            };
            return (
                r.resources
                    .filter((x) => x.type.startsWith("aws:iam/"))
                    .map((x) => {
                        const types = chain(x).filter((t) => t !== "vision-mlops:iam:ServiceRole");
                        expect(types[0], x.name).to.equal("vision-mlops:stack:Platform");
                        return `${types.slice(1).join("$")}::${x.name}`;
                    })
                    // Components born with ServiceRole (the inference workflow, the prediction page) adopt nothing,
                    // nor do models added since (their aliases name URNs no stack has).
                    .filter((urn) => DECLARED_BEFORE_SERVICE_ROLE.some((component) => urn.startsWith(`${component}$`)))
                    .filter((urn) => MODELS_BEFORE_SERVICE_ROLE.some((model) => urn.includes(`::vision-mlops-${r.stack}-${model}-`)))
                    .sort()
            );
        };
        // Written out from the plans of the commit before ServiceRole took these roles over.
        expect(aliasUrns(staging)).to.deep.equal([
            "vision-mlops:monitoring:ModelMonitor$aws:iam/role:Role::vision-mlops-staging-bikes-vs-motorcycles-monitor-role",
            "vision-mlops:monitoring:ModelMonitor$aws:iam/role:Role::vision-mlops-staging-bikes-vs-motorcycles-monitor-scheduler-role",
            "vision-mlops:monitoring:ModelMonitor$aws:iam/role:Role::vision-mlops-staging-traffic-signs-monitor-retrain-role",
            "vision-mlops:monitoring:ModelMonitor$aws:iam/role:Role::vision-mlops-staging-traffic-signs-monitor-role",
            "vision-mlops:monitoring:ModelMonitor$aws:iam/role:Role::vision-mlops-staging-traffic-signs-monitor-scheduler-role",
            "vision-mlops:monitoring:ModelMonitor$aws:iam/rolePolicy:RolePolicy::vision-mlops-staging-bikes-vs-motorcycles-monitor-role-policy",
            "vision-mlops:monitoring:ModelMonitor$aws:iam/rolePolicy:RolePolicy::vision-mlops-staging-bikes-vs-motorcycles-monitor-scheduler-role-policy",
            "vision-mlops:monitoring:ModelMonitor$aws:iam/rolePolicy:RolePolicy::vision-mlops-staging-traffic-signs-monitor-retrain-role-policy",
            "vision-mlops:monitoring:ModelMonitor$aws:iam/rolePolicy:RolePolicy::vision-mlops-staging-traffic-signs-monitor-role-policy",
            "vision-mlops:monitoring:ModelMonitor$aws:iam/rolePolicy:RolePolicy::vision-mlops-staging-traffic-signs-monitor-scheduler-role-policy",
            "vision-mlops:serving:ModelEndpoint$aws:iam/role:Role::vision-mlops-staging-bikes-vs-motorcycles-role",
            "vision-mlops:serving:ModelEndpoint$aws:iam/role:Role::vision-mlops-staging-traffic-signs-role",
            "vision-mlops:serving:ModelEndpoint$aws:iam/rolePolicy:RolePolicy::vision-mlops-staging-bikes-vs-motorcycles-role-policy",
            "vision-mlops:serving:ModelEndpoint$aws:iam/rolePolicy:RolePolicy::vision-mlops-staging-traffic-signs-role-policy",
            "vision-mlops:training:TrainingPipeline$aws:iam/role:Role::vision-mlops-staging-bikes-vs-motorcycles-training-role",
            "vision-mlops:training:TrainingPipeline$aws:iam/role:Role::vision-mlops-staging-bikes-vs-motorcycles-training-starter-role",
            "vision-mlops:training:TrainingPipeline$aws:iam/role:Role::vision-mlops-staging-traffic-signs-training-role",
            "vision-mlops:training:TrainingPipeline$aws:iam/role:Role::vision-mlops-staging-traffic-signs-training-starter-role",
            "vision-mlops:training:TrainingPipeline$aws:iam/rolePolicy:RolePolicy::vision-mlops-staging-bikes-vs-motorcycles-training-role-policy",
            "vision-mlops:training:TrainingPipeline$aws:iam/rolePolicy:RolePolicy::vision-mlops-staging-bikes-vs-motorcycles-training-starter-policy",
            "vision-mlops:training:TrainingPipeline$aws:iam/rolePolicy:RolePolicy::vision-mlops-staging-traffic-signs-training-role-policy",
            "vision-mlops:training:TrainingPipeline$aws:iam/rolePolicy:RolePolicy::vision-mlops-staging-traffic-signs-training-starter-policy",
        ]);
        expect(aliasUrns(prod)).to.deep.equal([
            "vision-mlops:monitoring:ModelMonitor$aws:iam/role:Role::vision-mlops-prod-bikes-vs-motorcycles-monitor-role",
            "vision-mlops:monitoring:ModelMonitor$aws:iam/role:Role::vision-mlops-prod-bikes-vs-motorcycles-monitor-scheduler-role",
            "vision-mlops:monitoring:ModelMonitor$aws:iam/role:Role::vision-mlops-prod-traffic-signs-monitor-role",
            "vision-mlops:monitoring:ModelMonitor$aws:iam/role:Role::vision-mlops-prod-traffic-signs-monitor-scheduler-role",
            "vision-mlops:monitoring:ModelMonitor$aws:iam/rolePolicy:RolePolicy::vision-mlops-prod-bikes-vs-motorcycles-monitor-role-policy",
            "vision-mlops:monitoring:ModelMonitor$aws:iam/rolePolicy:RolePolicy::vision-mlops-prod-bikes-vs-motorcycles-monitor-scheduler-role-policy",
            "vision-mlops:monitoring:ModelMonitor$aws:iam/rolePolicy:RolePolicy::vision-mlops-prod-traffic-signs-monitor-role-policy",
            "vision-mlops:monitoring:ModelMonitor$aws:iam/rolePolicy:RolePolicy::vision-mlops-prod-traffic-signs-monitor-scheduler-role-policy",
            "vision-mlops:serving:ModelEndpoint$aws:iam/role:Role::vision-mlops-prod-bikes-vs-motorcycles-role",
            "vision-mlops:serving:ModelEndpoint$aws:iam/role:Role::vision-mlops-prod-traffic-signs-role",
            "vision-mlops:serving:ModelEndpoint$aws:iam/rolePolicy:RolePolicy::vision-mlops-prod-bikes-vs-motorcycles-role-policy",
            "vision-mlops:serving:ModelEndpoint$aws:iam/rolePolicy:RolePolicy::vision-mlops-prod-traffic-signs-role-policy",
        ]);
        // Each of them is a ServiceRole's child now, so the alias is what keeps it.
        for (const r of [staging, prod])
            for (const x of r.resources.filter((x) => x.type.startsWith("aws:iam/")))
                expect(x.parent, x.name).to.match(/^vision-mlops:iam:ServiceRole::/);
    });

    it("adopts every resource declared before Platform took its own args: each old URN is a new URN or one of its aliases", () => {
        // The URNs of the plans of the commit before, written out as a fixture (they cannot be derived from today's code).
        const before = JSON.parse(readFileSync(join(__dirname, "fixtures/urns-before-platform-args.json"), "utf8")) as Record<
            string,
            string[]
        >;
        for (const r of [staging, prod]) {
            expect(before[r.stack], r.stack).to.have.length.greaterThan(200);
            const adopted = new Set(r.urns.flatMap((u) => [u.urn, ...u.aliases]));
            expect(
                before[r.stack].filter((urn) => !adopted.has(urn)),
                `${r.stack}: URNs a pulumi up would delete (and create anew under another URN)`,
            ).to.deep.equal([]);
            expect(r.urns).to.have.length(r.resources.length);
        }
        // The plan's URNs are the engine's: the whole parent chain, the root stack's type left out.
        const urnOf = (type: string, name: string) => staging.urns[staging.resources.findIndex((x) => x.type === type && x.name === name)];
        expect(urnOf("vision-mlops:stack:Platform", "vision-mlops-staging").urn).to.equal(
            "urn:pulumi:staging::vision-mlops::vision-mlops:stack:Platform::vision-mlops-staging",
        );
        const role = urnOf("aws:iam/role:Role", "vision-mlops-staging-traffic-signs-role");
        expect(role.urn).to.equal(
            "urn:pulumi:staging::vision-mlops::vision-mlops:stack:Platform$vision-mlops:serving:ModelEndpoint$vision-mlops:iam:ServiceRole$aws:iam/role:Role::vision-mlops-staging-traffic-signs-role",
        );
        // ServiceRole's `{ parent }` alias names the URN the role had before it had a ServiceRole.
        expect(role.aliases).to.deep.equal([
            "urn:pulumi:staging::vision-mlops::vision-mlops:stack:Platform$vision-mlops:serving:ModelEndpoint$aws:iam/role:Role::vision-mlops-staging-traffic-signs-role",
        ]);
        expect(urnOf("aws:iam/rolePolicy:RolePolicy", "vision-mlops-staging-traffic-signs-role-policy").aliases).to.deep.equal([
            "urn:pulumi:staging::vision-mlops::vision-mlops:stack:Platform$vision-mlops:serving:ModelEndpoint$aws:iam/rolePolicy:RolePolicy::vision-mlops-staging-traffic-signs-role-policy",
        ]);
    });

    describe("a stack changed to break a rule fails the plan, naming the control", () => {
        const failsWith = async (declared: DeclaredForPolicy[], stack: string, policy: string, control: RegExp) => {
            const failing = mandatoryViolations(await rerun(declared, stack));
            expect(summary(failing)).to.have.length.greaterThan(0);
            expect(
                failing.every((v) => v.policy === policy),
                summary(failing).join("; "),
            ).to.equal(true);
            for (const v of failing) expect(v.message).to.match(control);
        };

        it("capture without KMS: CKV_AWS_98", async () => {
            const broken = changed(
                staging.policyInputs,
                "vision-mlops-staging-traffic-signs-endpoint",
                (i) => delete i.dataCapture.KmsKeyId,
            );
            await failsWith(
                broken,
                "staging",
                "sagemaker-data-capture-kms",
                /^\[CKV_AWS_98, S3\.17\] EndpointDeployment "vision-mlops-staging-traffic-signs-endpoint" captures 100%/,
            );
        });

        it("a bucket without logging: S3.9", async () => {
            const broken = staging.policyInputs.filter((r) => r.name !== "vision-mlops-staging-lake-raw-logging");
            await failsWith(
                broken,
                "staging",
                "s3-access-logging",
                /^\[S3\.9\] s3 Bucket "vision-mlops-staging-lake-raw" keeps no server access logs/,
            );
        });

        it("a role with a write on *: no * resource on write actions", async () => {
            const broken = changed(staging.policyInputs, "vision-mlops-staging-traffic-signs-role-policy", (i) => {
                const doc = JSON.parse(i.policy);
                doc.Statement.push({ Effect: "Allow", Action: ["s3:PutObject"], Resource: ["*"] });
                i.policy = JSON.stringify(doc);
            });
            await failsWith(
                broken,
                "staging",
                "iam-no-wildcard-write",
                /^\[no \* resource on write actions\] iam RolePolicy "vision-mlops-staging-traffic-signs-role-policy" allows s3:PutObject on \*/,
            );
        });

        it("a one-instance prod endpoint, or one autoscaling takes down to one: SageMaker.4", async () => {
            const broken = changed(prod.policyInputs, "vision-mlops-prod-traffic-signs-endpoint", (i) => (i.instanceCount = 1));
            await failsWith(
                broken,
                "prod",
                "sagemaker-prod-variants-several-instances",
                /^\[SageMaker\.4\] .*variant AllTraffic in prod starts 1 instance/,
            );
            const scaledIn = changed(prod.policyInputs, "vision-mlops-prod-traffic-signs-endpoint", (i) => (i.scaling.minCapacity = 1));
            await failsWith(
                scaledIn,
                "prod",
                "sagemaker-prod-variants-several-instances",
                /lets autoscaling take it down to 1 instance in prod/,
            );
        });

        it("a CPU training type: sagemaker-training-gpu, in the stack file's check and in the pack", async () => {
            const project = mkdtempSync(join(tmpdir(), "policy-cpu-training-"));
            const file = readFileSync(join(ROOT, "Pulumi.staging.yaml"), "utf8");
            expect(file).to.include("instanceType: ml.g4dn.xlarge");
            writeFileSync(join(project, "Pulumi.staging.yaml"), file.replace("instanceType: ml.g4dn.xlarge", "instanceType: ml.m5.xlarge"));
            let refused: unknown;
            await plan("staging", project).catch((e) => (refused = e));
            expect(refused, "the plan of a stack file with a CPU training type").to.be.instanceOf(ConfigError);
            expect((refused as Error).message).to.match(
                /models\.[a-z0-9-]+\.training\.instanceType: "ml\.m5\.xlarge" is not a GPU instance, which policy rule sagemaker-training-gpu requires/,
            );
            // A real preview checks the declared pipeline too, whatever reached it. (A CPU type with local NVMe, like the
            // GPU type it replaces, so the step's volume-key setting stays right and only the GPU rule speaks.)
            const pipeline = "vision-mlops-staging-traffic-signs-training-pipeline";
            const broken = changed(staging.policyInputs, pipeline, (i) => {
                const d = JSON.parse(i.pipelineDefinition);
                d.Steps.find((s: { Name: string }) => s.Name === "Train").Arguments.ResourceConfig.InstanceType = "ml.m5d.xlarge";
                i.pipelineDefinition = JSON.stringify(d);
            });
            await failsWith(
                broken,
                "staging",
                "sagemaker-training-gpu",
                /^\[sagemaker-training-gpu\] Training step Train of sagemaker Pipeline "vision-mlops-staging-traffic-signs-training-pipeline" trains on ml\.m5d\.xlarge, which has no GPU/,
            );
        });

        it("a GPU endpoint in staging: the staging cost rule", async () => {
            const broken = changed(
                staging.policyInputs,
                "vision-mlops-staging-traffic-signs-endpoint",
                (i) => (i.instanceType = "ml.g4dn.xlarge"),
            );
            const failing = mandatoryViolations(await rerun(broken, "staging"));
            // A local-NVMe type also refuses the config's KMS key, which CKV_AWS_98 reports.
            expect(summary(failing).sort()).to.deep.equal([
                "cost-no-gpu-endpoints-in-staging vision-mlops-staging-traffic-signs-endpoint",
                "sagemaker-endpoint-config-kms vision-mlops-staging-traffic-signs-endpoint",
            ]);
        });
    });
});
