/**
 * Issue 79 defect 5: a repository's template (or `.kodama.yaml`) chose tolerations for control-plane nodes,
 * a control-plane node selector and the `system-node-critical` priority class. Now placement a repository
 * may choose is an allow-list (src/config/placement.ts): refused with exit 4 naming the key, as its
 * annotations and pull secrets are; the user's own config, flags and templates still choose them.
 */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "@kodama/test-assert";
import { join } from "node:path";
import { configSchema } from "../../../src/config/schema.ts";
import { loadConfig } from "../../../src/config/load.ts";
import { resolveSpec } from "../../../src/session/spec/spec.ts";
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

const tpl = (input: TemplateScheduling["input"], source: TemplateScheduling["source"] = "repo") => ({
  templateScheduling: { name: "cp", source, input },
});

const forbidden = (fn: () => unknown, words: string) => {
  const e = assertThrows(fn) as KodamaError;
  assertEquals(e.code, ExitCode.FORBIDDEN, e.message);
  assertStringIncludes(e.message, `template "cp" (the repository's) asks for ${words}`);
  assertEquals(e.message.includes("\n"), false);
  assertStringIncludes(e.hint ?? "", "~/.kodama/config.yaml");
};

Deno.test("placement: a repository's template cannot choose control-plane nodes or a priority class", () => {
  for (
    const t of [
      "node-role.kubernetes.io/control-plane:NoSchedule",
      "node-role.kubernetes.io/master:NoSchedule",
      "node-role.kubernetes.io/master=:NoExecute",
      "Node-Role.Kubernetes.io/control-plane:NoSchedule",
      "node.kubernetes.io/unschedulable:NoSchedule",
      ":NoSchedule",
    ]
  ) forbidden(() => spec({}, tpl({ tolerations: ["gpu:NoSchedule", t] })), `tolerations "${t}"`);
  for (
    const [k, v] of [
      ["node-role.kubernetes.io/control-plane", ""],
      ["node-role.kubernetes.io/master", ""],
      ["kubernetes.io/hostname", "cp-1"],
    ]
  ) forbidden(() => spec({}, tpl({ nodeSelector: { pool: "gpu", [k]: v } })), `nodeSelector "${k}=${v}"`);
  for (const p of ["system-node-critical", "system-cluster-critical", "high"]) {
    forbidden(() => spec({}, tpl({ priorityClass: p })), `priorityClass "${p}"`);
  }
  // what a repository may still ask for: its own taints and labels, and what kind of node
  const ok = spec(
    {},
    tpl({
      tolerations: ["gpu=true:NoSchedule", "spot:NoExecute"],
      nodeSelector: { pool: "gpu", "kubernetes.io/arch": "arm64", "topology.kubernetes.io/zone": "a" },
    }),
  );
  assertEquals(ok.scheduling?.tolerations?.length, 2);
  assertEquals(ok.scheduling?.nodeSelector?.["kubernetes.io/arch"], "arm64");
});

Deno.test("placement: the user's config, flags and own templates still choose control-plane nodes and priority", () => {
  const cp = {
    tolerations: ["node-role.kubernetes.io/control-plane:NoSchedule"],
    nodeSelector: { "node-role.kubernetes.io/control-plane": "" },
    priorityClass: "system-node-critical",
  };
  // the user's own template
  const own = spec({}, tpl(cp, "user"));
  assertEquals(own.scheduling?.priorityClass, "system-node-critical");
  // the user's config: a repository's template may repeat what it chose
  const cfg = spec({ defaults: { scheduling: cp } }, tpl(cp));
  assertEquals(cfg.scheduling?.tolerations?.[0].key, "node-role.kubernetes.io/control-plane");
  // flags
  const flagged = spec({}, {
    ...tpl({ tolerations: cp.tolerations, priorityClass: "system-cluster-critical" }),
    scheduling: { tolerations: cp.tolerations, priorityClass: "system-cluster-critical" },
  });
  assertEquals(flagged.scheduling?.priorityClass, "system-cluster-critical");
  // and flags alone
  const flags = spec({}, { scheduling: { ...cp, nodeSelector: ["node-role.kubernetes.io/master="] } });
  assertEquals(flags.scheduling?.nodeSelector, { "node-role.kubernetes.io/master": "" });
});

Deno.test("placement: a repository's .kodama.yaml cannot choose control-plane nodes or a priority class", async () => {
  const root = await Deno.makeTempDir({ prefix: "kodama-placement-" });
  try {
    const home = join(root, "home"), repo = join(root, "repo");
    await Deno.mkdir(home, { recursive: true });
    await Deno.mkdir(join(repo, ".git"), { recursive: true });
    const load = async (yaml: string, global = "") => {
      await Deno.writeTextFile(join(repo, ".kodama.yaml"), yaml);
      await Deno.writeTextFile(join(home, "config.yaml"), global);
      return await loadConfig({ home, cwd: repo });
    };
    const cfg = await load(
      "defaults:\n  scheduling:\n" +
        '    tolerations: ["node-role.kubernetes.io/master:NoSchedule"]\n' +
        '    nodeSelector: {node-role.kubernetes.io/control-plane: ""}\n' +
        "    priorityClass: system-cluster-critical\n",
      "defaults:\n  scheduling:\n    priorityClass: normal\n",
    );
    assertEquals(cfg.refused.map((r) => r.key).sort(), [
      "defaults.scheduling.nodeSelector",
      "defaults.scheduling.priorityClass",
      "defaults.scheduling.tolerations",
    ]);
    assertEquals(cfg.values.defaults.scheduling.tolerations, []);
    assertEquals(cfg.values.defaults.scheduling.nodeSelector, {});
    assertEquals(cfg.values.defaults.scheduling.priorityClass, "normal");
    assert(
      cfg.warnings.some((w) => w.includes("defaults.scheduling.tolerations ignored")),
      cfg.warnings.join("\n"),
    );
    // its own taints and labels pass
    const fine = await load(
      'defaults:\n  scheduling:\n    tolerations: ["gpu=true:NoSchedule"]\n    nodeSelector: {pool: gpu}\n',
    );
    assertEquals(fine.refused, []);
    assertEquals(fine.values.defaults.scheduling.nodeSelector, { pool: "gpu" });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
