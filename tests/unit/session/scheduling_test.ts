/**
 * Scheduling on a real cluster (src/session/spec/scheduling.ts, placement.ts): every value is checked where it
 * enters (exit 2 naming it), config + template + flags merge, and the pod gets the fields the API server
 * and the scheduler read. A repository's template may ask for room and placement, never for credentials
 * the user's config does not name (exit 4, naming the key).
 */
import { assertEquals, assertStringIncludes, assertThrows } from "@kodama/test-assert";
import { configSchema } from "../../../src/config/schema.ts";
import { buildPod } from "../../../src/session/spec/manifests.ts";
import { resolveSpec } from "../../../src/session/spec/spec.ts";
import { checkedScheduling, parseToleration, schedulingRows } from "../../../src/session/spec/scheduling.ts";
import type { TemplateScheduling } from "../../../src/session/spec/placement.ts";
import { ExitCode, type KodamaError } from "../../../src/base/errors.ts";

const now = new Date("2026-01-15T14:30:00Z");

function spec(config: Record<string, unknown> = {}, flags: Record<string, unknown> = {}) {
  return resolveSpec({ name: "demo", namespace: "dev", ...flags }, configSchema.parse(config), {
    envVars: [],
    editorFiles: [],
    now,
  });
}

const usage = (fn: () => unknown, words: string) => {
  const e = assertThrows(fn) as KodamaError;
  assertEquals(e.code, ExitCode.USAGE, e.message);
  assertStringIncludes(e.message, words);
  assertEquals(e.message.includes("\n"), false);
};

Deno.test("scheduling: flags become the pod's pull secrets, devices, requests, placement and priority", () => {
  const pod = buildPod(spec({}, {
    cpu: "4",
    memory: "8Gi",
    scheduling: {
      imagePullSecrets: ["regcred", "regcred"],
      gpu: "2",
      resources: ["example.com/fpga=1"],
      cpuRequest: "2",
      memoryRequest: "6Gi",
      nodeSelector: ["pool=gpu", "example.com/zone=a"],
      tolerations: ["gpu=true:NoSchedule", "spot:NoExecute"],
      annotations: ["team.example.com/owner=ml"],
      priorityClass: "high",
    },
  }));
  const p = pod.spec!;
  assertEquals(p.imagePullSecrets, [{ name: "regcred" }]);
  assertEquals(p.nodeSelector, { pool: "gpu", "example.com/zone": "a" });
  assertEquals(p.tolerations, [
    { key: "gpu", operator: "Equal", value: "true", effect: "NoSchedule" },
    { key: "spot", operator: "Exists", effect: "NoExecute" },
  ]);
  assertEquals(p.priorityClassName, "high");
  assertEquals(p.containers[0].resources, {
    requests: { cpu: "2", memory: "6Gi", "nvidia.com/gpu": "2", "example.com/fpga": "1" },
    limits: { cpu: "4", memory: "8Gi", "nvidia.com/gpu": "2", "example.com/fpga": "1" },
  });
  assertEquals(pod.metadata!.annotations!["team.example.com/owner"], "ml");
  // kodama's own annotation (the recorded settings) is still there
  assertStringIncludes(pod.metadata!.annotations!["kodama.dev/spec"] ?? "", '"scheduling"');
});

Deno.test("scheduling: nothing asked, nothing added (the pod as before)", () => {
  const s = spec();
  assertEquals(s.scheduling, undefined);
  const p = buildPod(s).spec!;
  assertEquals([p.imagePullSecrets, p.nodeSelector, p.tolerations, p.priorityClassName], [
    undefined,
    undefined,
    undefined,
    undefined,
  ]);
  assertEquals(p.containers[0].resources, {
    requests: { cpu: "250m", memory: "512Mi" },
    limits: { cpu: "1", memory: "2Gi" },
  });
});

Deno.test("scheduling: config defaults merge under the flags (lists add up, a flag wins per key)", () => {
  const s = spec({
    defaults: {
      resources: { cpuRequest: "500m" },
      scheduling: {
        imagePullSecrets: ["corp"],
        nodeSelector: { pool: "dev", disk: "ssd" },
        tolerations: ["dedicated=dev:NoSchedule"],
        gpu: 1,
      },
    },
  }, { scheduling: { nodeSelector: ["pool=gpu"], imagePullSecrets: ["extra"], gpu: "4" } });
  assertEquals(s.scheduling, {
    imagePullSecrets: ["corp", "extra"],
    requests: { cpu: "500m" },
    extended: { "nvidia.com/gpu": "4" },
    nodeSelector: { pool: "gpu", disk: "ssd" },
    tolerations: [{ key: "dedicated", operator: "Equal", value: "dev", effect: "NoSchedule" }],
  });
  assertEquals(schedulingRows(s.scheduling).map(([k]) => k), [
    "Requests",
    "Devices",
    "Node labels",
    "Tolerations",
    "Pull secret",
  ]);
});

Deno.test("scheduling: bad values are one-line usage errors naming the flag", () => {
  usage(() => parseToleration("gpu=true:NoScheduleX"), "effect");
  usage(() => parseToleration("gpu=true"), "KEY[=VALUE]:EFFECT");
  usage(() => parseToleration("bad key:NoSchedule"), "taint key");
  assertEquals(parseToleration("example.com/spot:PreferNoSchedule"), {
    key: "example.com/spot",
    operator: "Exists",
    effect: "PreferNoSchedule",
  });
  usage(() => checkedScheduling({ gpu: "0" }), "--gpu");
  usage(() => checkedScheduling({ gpu: "1.5" }), "whole number");
  usage(() => checkedScheduling({ resources: ["cpu=2"] }), "own settings");
  usage(() => checkedScheduling({ resources: ["fpga=1"] }), "domain prefix");
  usage(() => checkedScheduling({ resources: ["example.com/fpga"] }), "KEY=VALUE");
  usage(() => checkedScheduling({ nodeSelector: ["pool=has space"] }), "label value");
  usage(() => checkedScheduling({ nodeSelector: ["-pool=x"] }), "label key");
  usage(() => checkedScheduling({ imagePullSecrets: ["Reg_Cred"] }), "--image-pull-secret");
  usage(() => checkedScheduling({ priorityClass: "High" }), "--priority-class");
  usage(() => checkedScheduling({ cpuRequest: "2Gi" }), "--cpu-request");
  usage(() => checkedScheduling({ memoryRequest: "lots" }), "--memory-request");
  usage(() => checkedScheduling({ annotations: ["kodama.dev/spec=x"] }), "kodama's own");
  usage(() => spec({}, { cpu: "1", scheduling: { cpuRequest: "2" } }), "above the CPU limit");
  usage(() => spec({}, { memory: "1Gi", scheduling: { memoryRequest: "2Gi" } }), "above the memory limit");
  usage(() => spec({ defaults: { scheduling: { tolerations: ["x:Never"] } } }), "defaults.scheduling");
});

Deno.test("scheduling: a repository's template asks for placement, never for credentials the config does not name", () => {
  const tpl = (input: TemplateScheduling["input"], more: Partial<TemplateScheduling> = {}) => ({
    templateScheduling: { name: "gpu", source: "repo" as const, input, ...more },
  });
  const placed = spec({}, tpl({ gpu: "1", nodeSelector: { pool: "gpu" }, tolerations: ["gpu:NoSchedule"] }));
  assertEquals(placed.scheduling?.extended, { "nvidia.com/gpu": "1" });
  const forbidden = (fn: () => unknown, key: string) => {
    const e = assertThrows(fn) as KodamaError;
    assertEquals(e.code, ExitCode.FORBIDDEN);
    assertStringIncludes(e.message, key);
  };
  forbidden(() => spec({}, tpl({ imagePullSecrets: ["theirs"] })), 'imagePullSecrets "theirs"');
  forbidden(() => spec({}, tpl({}, { serviceAccount: "admin" })), 'serviceAccount "admin"');
  forbidden(
    () =>
      spec(
        {},
        tpl({ annotations: { "container.apparmor.security.beta.kubernetes.io/session": "unconfined" } }),
      ),
    "annotations (container.apparmor.security.beta.kubernetes.io/session)",
  );
  // named by the user's config (or a flag): allowed
  const ok = spec(
    { defaults: { scheduling: { imagePullSecrets: ["corp"] }, serviceAccount: "agent" } },
    tpl({ imagePullSecrets: ["corp"] }, { serviceAccount: "agent" }),
  );
  assertEquals([ok.scheduling?.imagePullSecrets, ok.serviceAccount], [["corp"], "agent"]);
  const flagged = spec({}, { ...tpl({ imagePullSecrets: ["x"] }), scheduling: { imagePullSecrets: ["x"] } });
  assertEquals(flagged.scheduling?.imagePullSecrets, ["x"]);
  // the user's own template may name them
  const user = spec({}, tpl({ imagePullSecrets: ["mine"] }, { source: "user", serviceAccount: "sa" }));
  assertEquals([user.scheduling?.imagePullSecrets, user.serviceAccount], [["mine"], "sa"]);
});
