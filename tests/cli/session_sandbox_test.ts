/**
 * The pod is the sandbox, end to end on the test server: `start --dry-run -o yaml` shows the egress
 * NetworkPolicy and the pod's securityContext (and the API server accepts them: kubectl apply
 * --dry-run=server); a start creates the policy before the pod, stop keeps it, delete removes it, a failed
 * start's rollback removes it; bad egress settings are exit 2 before any request; a user who may not
 * create NetworkPolicies gets exit 4 with the way on (the Role rule, or session.egress.enabled: false).
 * Enforcement is the CNI's business and is not tested here: the objects are.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { parseAllDocuments } from "yaml";
import { kubectl, onRealCluster, startCluster } from "../cluster/harness.ts";
import type { PolicyRule } from "../cluster/auth.ts";
import { podOf, purge, SESSION_IMAGE, sessionWorld, withSessionWorld } from "./_session.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

const config = (w: { home: string }, yaml: string) => Deno.writeTextFile(`${w.home}/config.yaml`, yaml);

withSessionWorld(
  "sandbox: dry-run shows it, start makes the policy first, delete and rollback remove it",
  {},
  async (t, w) => {
    await config(w, "session:\n  egress:\n    deny: [10.244.0.0/16, 10.96.0.0/12]\n");
    try {
      await t.step(
        "--dry-run -o yaml: the policy and the locked-down pod, accepted by the API server",
        async () => {
          const r = await w.k([
            "start",
            "sb",
            "--image",
            SESSION_IMAGE,
            "--no-sync",
            "--dry-run",
            "-o",
            "yaml",
          ]);
          assertEquals(r.code, 0, r.stderr);
          const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj);
          const np = docs.find((d) => d.kind === "NetworkPolicy")!;
          assertEquals(np.metadata.name, "kodama-egress-sb");
          assertEquals(np.metadata.labels["kodama.dev/session"], "sb");
          assertEquals(np.spec.policyTypes, ["Egress"]);
          assertEquals(np.spec.egress[1].to[0].ipBlock, {
            cidr: "0.0.0.0/0",
            except: [
              "169.254.0.0/16",
              "100.100.100.200/32",
              "168.63.129.16/32",
              "10.244.0.0/16",
              "10.96.0.0/12",
            ],
          });
          // the Job's pod template (issue 80: the session's pod belongs to its Job)
          const pod = docs.find((d) => d.kind === "Job")!.spec.template;
          assertEquals(pod.spec.automountServiceAccountToken, false);
          assertEquals(pod.spec.securityContext.seccompProfile, { type: "RuntimeDefault" });
          assertEquals(pod.spec.containers[0].securityContext.allowPrivilegeEscalation, false);
          assertEquals(pod.spec.containers[0].securityContext.capabilities.drop, ["ALL"]);
          const server = await kubectl(w.c, ["-n", "dev", "apply", "--dry-run=server", "-f", "-"], {
            context: "dev",
            stdin: r.stdout,
          });
          assertEquals(server.code, 0, server.stderr);
          assertStringIncludes(
            server.stdout,
            "networkpolicy.networking.k8s.io/kodama-egress-sb created (server dry run)",
          );
          assertEquals((await w.kc(["get", "netpol", "-o", "name"])).stdout.trim(), "");
        },
      );

      await t.step("start: the policy exists with the pod; the pod has no token; attach works", async () => {
        const r = await w.k(["start", "sb", "--image", SESSION_IMAGE, "--no-sync"]);
        assertEquals(r.code, 0, r.stderr);
        const np = await w.kc(["get", "netpol", "-l", "kodama.dev/session=sb", "-o", "name"]);
        assertEquals(np.stdout.trim(), "networkpolicy.networking.k8s.io/kodama-egress-sb");
        const pod = JSON.parse((await w.kc(["get", "pod", await podOf(w, "sb"), "-o", "json"])).stdout);
        assertEquals(pod.spec.automountServiceAccountToken, false);
        assert(
          !(pod.spec.volumes ?? []).some((v: Obj) => v.projected || /token/.test(v.name)),
          JSON.stringify(pod.spec.volumes),
        );
        const g = await w.k(["session", "get", "sb"]);
        assertStringIncludes(
          g.stdout,
          "egress NetworkPolicy kodama-egress-sb (all but link-local; denied 10.244.0.0/16, 10.96.0.0/12); no ServiceAccount token; the image's user",
        );
        const a = await w.sh("sb", "echo inside");
        assertEquals([a.code, a.stdout], [0, "inside\n"], a.stderr);
      });

      await t.step("stop keeps the policy, resume uses it, delete removes it", async () => {
        assertEquals((await w.k(["stop", "sb"])).code, 0);
        assertEquals((await w.kc(["get", "netpol", "kodama-egress-sb", "-o", "name"])).code, 0);
        // removed meanwhile (by hand): resume puts it back before the pod
        assertEquals((await w.kc(["delete", "netpol", "kodama-egress-sb"])).code, 0);
        const res = await w.k(["resume", "sb"]);
        assertEquals(res.code, 0, res.stderr);
        assertEquals((await w.kc(["get", "netpol", "kodama-egress-sb", "-o", "name"])).code, 0);
        const d = await w.k(["delete", "sb", "--force", "--purge"]);
        assertEquals(d.code, 0, d.stderr);
        assertStringIncludes(d.stderr, "networkpolicy/kodama-egress-sb");
        assertEquals((await w.kc(["get", "netpol", "-o", "name"])).stdout.trim(), "");
      });

      await t.step("a start that fails after the policy was made removes it (rollback)", async () => {
        // a claim of the workspace's name that kodama did not keep: the start refuses it (exit 2)
        const claim =
          `apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: kodama-workspace-rb}\nspec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n`;
        const made = await kubectl(w.c, ["-n", "dev", "apply", "-f", "-"], { context: "dev", stdin: claim });
        assertEquals(made.code, 0, made.stderr);
        const r = await w.k(["start", "rb", "--image", SESSION_IMAGE, "--no-sync"]);
        assertEquals(r.code, 2, r.stderr);
        assertStringIncludes(r.stderr, "networkpolicy kodama-egress-rb");
        assertEquals((await w.kc(["get", "netpol", "-o", "name"])).stdout.trim(), "");
        assertEquals((await w.kc(["get", "secret", "kodama-env-rb", "-o", "name"])).code, 1);
      });
    } finally {
      await purge(w, "sb");
      await purge(w, "rb");
      // the claim this test made (kodama keeps its hands off it): on a real cluster the namespace is shared
      await w.kc(["delete", "pvc", "kodama-workspace-rb", "--wait=false", "--ignore-not-found"]);
    }
  },
);

withSessionWorld(
  "sandbox: bad egress settings are exit 2 naming the key, before anything is made",
  {},
  async (_t, w) => {
    const cases: [string, string[]][] = [
      ["session:\n  egress:\n    deny: [10.0.0.0/33]\n", ["session.egress.deny", "not a CIDR"]],
      ["session:\n  egress:\n    allow: [example.com]\n", ["session.egress.allow", "not a CIDR"]],
      ["session:\n  egress:\n    allow: [169.254.169.254/32]\n", ["inside the denied range 169.254.0.0/16"]],
      ["session:\n  egress:\n    deny: [10.0.0.0/8]\n    allow: [10.3.0.0/16]\n", [
        "10.3.0.0/16",
        "10.0.0.0/8",
      ]],
      ["session:\n  runAsUser: -1\n", ["session.runAsUser"]],
    ];
    for (const [yaml, says] of cases) {
      await config(w, yaml);
      const r = await w.k(["start", "bad", "--image", SESSION_IMAGE, "--no-sync"]);
      assertEquals(r.code, 2, `${yaml}: ${r.stderr}`);
      for (const s of says) assertStringIncludes(r.stderr, s, yaml);
      assert(r.stderr.trim().split("\n").length <= 3, r.stderr);
    }
    assertEquals(
      (await w.kc(["get", "netpol,secret,pvc", "-l", "kodama.dev/session=bad", "-o", "name"])).stdout,
      "",
    );
  },
);

Deno.test({
  name:
    "sandbox: without rights on NetworkPolicies, start is exit 4 with the way on; egress.enabled: false opts out",
  ignore: onRealCluster,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { parse } = await import("yaml");
    const text = await Deno.readTextFile(new URL("../../examples/rbac.yaml", import.meta.url));
    const role = text.split(/^---$/m).map((d) => parse(d)).find((d) => d?.kind === "Role");
    const rules = (role.rules as PolicyRule[]).filter((r) => !r.resources.includes("networkpolicies"));
    assert(rules.length < role.rules.length, "examples/rbac.yaml grants networkpolicies");
    const c = await startCluster({ seed: "sessions", users: [{ name: "alice", namespace: "dev", rules }] });
    const w = await sessionWorld(c, "alice");
    try {
      const r = await w.k(["start", "np", "--image", SESSION_IMAGE, "--no-sync"]);
      assertEquals(r.code, 4, r.stderr);
      assertStringIncludes(r.stderr, "cannot create NetworkPolicy kodama-egress-np in namespace dev");
      assertStringIncludes(r.stderr, "session.egress.enabled: false");
      // nothing left behind: the Secret that claimed the name went with the rollback
      const left = await kubectl(c, [
        "-n",
        "dev",
        "get",
        "secret,pod,netpol",
        "-l",
        "kodama.dev/session=np",
        "-o",
        "name",
      ]);
      assertEquals(left.stdout.trim(), "", left.stderr);

      await config(w, "session:\n  egress:\n    enabled: false\n");
      const ok = await w.k(["start", "np", "--image", SESSION_IMAGE, "--no-sync"]);
      assertEquals(ok.code, 0, ok.stderr);
      assertEquals((await kubectl(c, ["-n", "dev", "get", "netpol", "-o", "name"])).stdout.trim(), "");
      // the session had no policy: delete does not need (or ask for) the right to remove one
      const d = await w.k(["delete", "np", "--force", "--purge"]);
      assertEquals(d.code, 0, d.stderr);
    } finally {
      await purge(w, "np");
      await w.cleanup();
      await c.stop();
    }
  },
});
