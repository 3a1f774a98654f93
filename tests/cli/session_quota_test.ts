/**
 * A start the API server refuses at create time ends at once (issue 52.2): a ResourceQuota with no room for
 * the pod (its Job's controller reports the refusal) or for the volumes is 403 (exit 4), an object refused as invalid is 422 (exit 2); one error line
 * and a hint, and nothing is left behind (no claims, no Secrets, no local state file, nothing for `list` to
 * nag about). A quota with room lets the start through, and its status.used counts the session. Each case
 * runs in a namespace of its own (a quota in a shared one would refuse other tests' pods). The 422 is
 * injected (test server only): kodama checks its own input before anything is sent.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { kubectl, tempNamespace } from "../cluster/harness.ts";
import { hasStackTrace, runKodama } from "./_run.ts";
import { clusterTest } from "../cluster/fixture.ts";
import { SESSION_IMAGE } from "./_session.ts";

clusterTest("start under a ResourceQuota, and a create refused as invalid: fail fast, keep nothing", {
  seed: "sessions",
  timeoutMs: 300_000,
}, async (t, c) => {
  const home = await Deno.makeTempDir({ prefix: "kodama-quota-" });
  const k = (args: string[]) =>
    runKodama(["--kubeconfig", c.kubeconfig, "--context", "admin", ...args], {
      env: { KODAMA_HOME: home, GIT_CONFIG_GLOBAL: "/dev/null" },
      cwd: home,
    });
  const kc = (args: string[], stdin?: string) => kubectl(c, args, { context: "admin", stdin });
  const quota = async (ns: string, hard: Record<string, string>) => {
    const r = await kc(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "ResourceQuota",
        metadata: { name: "room", namespace: ns },
        spec: { hard },
      }),
    );
    assertEquals(r.code, 0, r.stderr);
  };
  /** nothing of session `name` in `ns`, and no local state: `list` has nothing to say about it */
  const nothingLeft = async (ns: string, name: string) => {
    const left = await kc([
      "get",
      "pods,pvc,secrets,configmaps",
      "-n",
      ns,
      "-l",
      `kodama.dev/session=${name}`,
      "-o",
      "name",
    ]);
    assertEquals(left.stdout.trim(), "", `left behind: ${left.stdout}`);
    const state = await Deno.stat(`${home}/sessions/${name}.yaml`).then(() => true, () => false);
    assert(!state, "a state file was left");
    const l = await k(["list", "-n", ns]);
    assert(!/prune|stale/i.test(l.stderr), l.stderr);
  };
  const spaces: { remove(): Promise<void> }[] = [];
  const space = async (p: string) => {
    const s = await tempNamespace(c, p);
    spaces.push(s);
    return s.name;
  };
  try {
    await t.step("no room for the pod (pods: 0): exit 4 at once, one line and a hint", async () => {
      const ns = await space("quota-pods");
      await quota(ns, { pods: "0" });
      const r = await k(["start", "qa", "-n", ns, "--image", SESSION_IMAGE, "--no-sync", "--timeout", "3m"]);
      assertEquals(r.code, 4, r.stderr);
      const err = r.stderr.slice(r.stderr.indexOf("error: "));
      assertMatch(
        err,
        /^error: forbidden: pods "kodama-qa(-[a-z0-9]{5})?" is forbidden: exceeded quota: room, requested: pods=1, used: pods=0, limited: pods=0\n {2}the namespace's ResourceQuota room has no room for it \(`kubectl describe resourcequota room -n quota-pods-\w+`\)[^\n]*\n$/,
      );
      assert(!hasStackTrace(r.stderr), r.stderr);
      await nothingLeft(ns, "qa");
    });

    await t.step("no room for the volumes (requests.storage below them): exit 4, nothing kept", async () => {
      const ns = await space("quota-storage");
      await quota(ns, { "requests.storage": "1Gi" });
      const r = await k(["start", "qb", "-n", ns, "--image", SESSION_IMAGE, "--no-sync", "--timeout", "3m"]);
      assertEquals(r.code, 4, r.stderr);
      assertMatch(
        r.stderr,
        /error: forbidden: persistentvolumeclaims "kodama-[a-z-]+-qb" is forbidden: exceeded quota: room, requested: requests\.storage=\S+, used: requests\.storage=\S+, limited: requests\.storage=1Gi\n/,
      );
      await nothingLeft(ns, "qb");
    });

    await t.step("a quota with room: the start goes through and status.used counts it", async () => {
      const ns = await space("quota-room");
      await quota(ns, {
        pods: "2",
        "requests.cpu": "2",
        "limits.memory": "8Gi",
        persistentvolumeclaims: "4",
        "requests.storage": "100Gi",
      });
      const r = await k(["start", "qc", "-n", ns, "--image", SESSION_IMAGE, "--no-sync", "--cpu", "1"]);
      assertEquals(r.code, 0, r.stderr);
      const used = async () =>
        JSON.parse((await kc(["get", "resourcequota", "room", "-n", ns, "-o", "json"])).stdout).status.used;
      let u = await used();
      // the quota controller catches up on its own schedule on a real cluster
      for (let i = 0; i < 60 && u.pods !== "1"; i++) {
        await new Promise((res) => setTimeout(res, 1000));
        u = await used();
      }
      assertEquals([u.pods, u["requests.cpu"], u.persistentvolumeclaims], ["1", "250m", "2"]);
      const del = await k(["delete", "qc", "-n", ns, "--force", "--purge"]);
      assertEquals(del.code, 0, del.stderr);
    });

    await t.step({
      name: "a create refused as invalid (422): exit 2, the server's words, nothing kept",
      ignore: c.real,
      fn: async () => {
        const ns = await space("quota-invalid");
        c.faults.failNext(1, 422, {
          method: "POST",
          // the session's Job (its template is the pod: issue 80)
          pathIncludes: `/namespaces/${ns}/jobs`,
          message:
            `Job.batch "kodama-qd" is invalid: spec.template.spec.containers[0].securityContext.seccompProfile.type: Unsupported value: "RuntimeDefault"`,
        });
        const r = await k([
          "start",
          "qd",
          "-n",
          ns,
          "--image",
          SESSION_IMAGE,
          "--no-sync",
          "--timeout",
          "3m",
        ]);
        assertEquals(r.code, 2, r.stderr);
        assertStringIncludes(
          r.stderr,
          `error: Job.batch "kodama-qd" is invalid: spec.template.spec.containers[0]`,
        );
        assert(!hasStackTrace(r.stderr), r.stderr);
        await nothingLeft(ns, "qd");
      },
    });
  } finally {
    for (const s of spaces) await s.remove();
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
});
