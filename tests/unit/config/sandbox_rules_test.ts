/**
 * A repository's .kodama.yaml cannot loosen the pod's sandbox (docs/security.md "The pod is the sandbox"):
 * a token, another ServiceAccount, root, no egress policy, a wider allow-list or a shorter deny-list from it
 * are ignored with a warning naming the key, and the user's own values (or the defaults) apply.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import { join } from "node:path";
import { loadConfig } from "../../../src/config/load.ts";

Deno.test("a repo cannot loosen the pod's sandbox: token, account, user, egress", async () => {
  const root = await Deno.makeTempDir({ prefix: "kodama-sandbox-rules-" });
  try {
    const home = join(root, "home");
    const repo = join(root, "repo");
    await Deno.mkdir(home, { recursive: true });
    await Deno.mkdir(join(repo, ".git"), { recursive: true });
    await Deno.writeTextFile(
      join(home, "config.yaml"),
      "defaults:\n  serviceAccount: agent\nsession:\n  runAsUser: 1000\n  egress:\n    deny: [10.244.0.0/16]\n    allow: [10.0.0.0/8]\n",
    );
    await Deno.writeTextFile(
      join(repo, ".kodama.yaml"),
      `defaults:\n  serviceAccount: cluster-admin-sa\n  image: busybox:1.36\nsession:\n  serviceAccountToken: true\n  runAsUser: 0\n  egress:\n    enabled: false\n    deny: []\n    allow: [0.0.0.0/0]\n`,
    );
    const cfg = await loadConfig({ home, cwd: repo });
    const v = cfg.values;
    assertEquals(v.defaults.serviceAccount, "agent");
    assertEquals(v.session.serviceAccountToken, false);
    assertEquals(v.session.runAsUser, 1000);
    assertEquals(v.session.egress, { enabled: true, deny: ["10.244.0.0/16"], allow: ["10.0.0.0/8"] });
    // what only shapes the pod still comes from the repository
    assertEquals(v.defaults.image, "busybox:1.36");
    assertEquals(cfg.refused.map((r) => r.key).sort(), [
      "defaults.serviceAccount",
      "session.egress.allow",
      "session.egress.deny",
      "session.egress.enabled",
      "session.runAsUser",
      "session.serviceAccountToken",
    ]);
    for (const r of cfg.refused) assert(r.why.includes("cannot loosen the pod's sandbox"), r.why);
    assert(cfg.warnings.some((w) => w.includes("session.egress.enabled ignored")), cfg.warnings.join("\n"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
