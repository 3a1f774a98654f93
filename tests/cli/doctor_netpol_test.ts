/**
 * `kodama doctor` on NetworkPolicy: whether the cluster's network plugin enforces it, told from the
 * plugin's node pods when kube-system can be read (Calico: enforced; flannel alone: not; none known: cannot
 * tell), always saying that the session's egress policy is only as good as the plugin; and the
 * networkpolicies permission start needs (optional: session.egress.enabled: false does without).
 * The plugin pods here are stand-ins named as the real DaemonSets name theirs: detection reads names only.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { kubectl, needsTestServer } from "../cluster/harness.ts";
import { clusterTest } from "../cluster/fixture.ts";
import { runKodama } from "./_run.ts";
import { SESSION_IMAGE } from "./_session.ts";
import { networkPolicySupport } from "../../src/doctor/checks.ts";

Deno.test("doctor: network plugins by their pods' names (pure)", () => {
  assertEquals(networkPolicySupport(["coredns-1", "calico-node-x2k9p"]).enforced, true);
  assertEquals(networkPolicySupport(["cilium-operator-7d9", "cilium-5xq2z"]).plugin, "Cilium");
  // the operator alone is not the agent
  assertEquals(networkPolicySupport(["cilium-operator-7d9"]).enforced, undefined);
  assertEquals(networkPolicySupport(["kube-flannel-ds-abcde"]).enforced, false);
  // Canal is flannel plus Calico's policy: enforced
  assertEquals(networkPolicySupport(["kube-flannel-ds-abcde", "canal-xyz12"]).enforced, true);
  const none = networkPolicySupport(["coredns-1", "kube-proxy-x"]);
  assertEquals(none.enforced, undefined);
  assertStringIncludes(none.detail, "only as good as the network plugin");
  const denied = networkPolicySupport(undefined, "forbidden: cannot list pods in namespace kube-system");
  assertStringIncludes(denied.detail, "cannot tell: forbidden");
  // the maintained list of cloud metadata endpoints, beyond link-local
  for (const c of ["169.254.0.0/16", "fd00:ec2::254/128", "100.100.100.200/32", "168.63.129.16/32"]) {
    assert(denied.metadataDenied.includes(c), c);
  }
});

clusterTest(
  "doctor: says whether NetworkPolicy is enforced, and that the policy is only as good as the CNI",
  {
    seed: "sessions",
  },
  async (t, c) => {
    if (!needsTestServer(c)) return;
    const home = await Deno.makeTempDir({ prefix: "kodama-doctor-np-" });
    const k = (args: string[]) =>
      runKodama(["--kubeconfig", c.kubeconfig, ...args], { env: { KODAMA_HOME: home } });
    const plugin = (name: string) =>
      kubectl(c, ["-n", "kube-system", "apply", "-f", "-"], {
        context: "admin",
        stdin: `apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {k8s-app: cni}}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: main, image: ${SESSION_IMAGE}, command: [sleep, "3600"]}]
`,
      });
    try {
      await t.step("no plugin pod: cannot tell, said plainly", async () => {
        const r = await k(["doctor", "--context", "admin", "-n", "dev"]);
        assertMatch(r.stdout, /\nnetwork policy +unknown +cannot tell: no known network plugin/);
        assertStringIncludes(r.stdout, "only as good as the network plugin");
      });
      await t.step("flannel alone: NOT ENFORCED; Calico beside it: enforced", async () => {
        assertEquals((await plugin("kube-flannel-ds-q8z2x")).code, 0);
        const f = await k(["doctor", "--context", "admin", "-n", "dev", "-o", "json"]);
        const report = JSON.parse(f.stdout);
        assertEquals(report.networkPolicy.enforced, false);
        assertEquals(report.networkPolicy.plugin, "flannel");
        const text = await k(["doctor", "--context", "admin", "-n", "dev"]);
        assertMatch(text.stdout, /\nnetwork policy +NOT ENFORCED +flannel does not enforce NetworkPolicy/);
        assertEquals((await plugin("calico-node-7fj2m")).code, 0);
        const cal = await k(["doctor", "--context", "admin", "-n", "dev"]);
        assertMatch(cal.stdout, /\nnetwork policy +enforced +Calico enforces NetworkPolicy/);
        assertMatch(
          cal.stdout,
          /\ncloud metadata +denied +the egress policy excepts 169\.254\.0\.0\/16, .*168\.63\.129\.16\/32/,
        );
        assertMatch(text.stdout, /\ncloud metadata +NOT DENIED /);
        // informational: it never changes the verdict or the exit code
        assertEquals(JSON.parse(f.stdout).ok, report.ok);
      });
      await t.step("a user who may not read kube-system: cannot tell, with the reason", async () => {
        const r = await k(["doctor", "--context", "dev", "-n", "dev", "-o", "json"]);
        assertEquals(r.code, 0, r.stdout);
        const report = JSON.parse(r.stdout);
        assertEquals(report.networkPolicy.enforced, undefined);
        assertMatch(report.networkPolicy.detail, /^cannot tell: forbidden/);
        const np = report.permissions.find((p: { resource: string }) => p.resource === "networkpolicies");
        assertEquals([np.group, np.allowed, np.required], ["networking.k8s.io", true, false]);
        assert(np.neededBy.includes("session.egress.enabled: false"));
      });
    } finally {
      await kubectl(c, [
        "-n",
        "kube-system",
        "delete",
        "pod",
        "kube-flannel-ds-q8z2x",
        "calico-node-7fj2m",
        "--ignore-not-found",
      ], {
        context: "admin",
      });
      await Deno.remove(home, { recursive: true }).catch(() => {});
    }
  },
);
