/**
 * NetworkPolicy (networking.k8s.io/v1) as the real kubectl sees it on the test server: discovery,
 * apply/get/list by label/delete, the API server's defaulting (policyTypes, a port's TCP) and validation
 * (a bad CIDR, an except outside its cidr, an unknown protocol: 422 with the field and kube-apiserver's
 * words), and a watch through kodama's own client. Nothing is enforced: the tests check the objects.
 * Runs on the real cluster too (KODAMA_TEST_KUBECONFIG): v1.24 words a bad CIDR "not a valid CIDR".
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { kubectl, type TestCluster } from "../cluster/harness.ts";
import { clusterTest } from "../cluster/fixture.ts";
import { Kube } from "../../src/kube/client.ts";

const dev = (c: TestCluster, args: string[], stdin?: string) =>
  kubectl(c, ["-n", "dev", ...args], { context: "dev", stdin });

const policy = (name: string, session: string, egress: string) =>
  `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: ${name}
  labels: {app.kubernetes.io/managed-by: kodama, kodama.dev/session: ${session}}
spec:
  podSelector: {matchLabels: {kodama.dev/session: ${session}}}
  egress:
${egress}
`;

const DNS_AND_WORLD = `  - ports: [{protocol: UDP, port: 53}, {port: 53}]
  - to: [{ipBlock: {cidr: 0.0.0.0/0, except: [169.254.0.0/16, 10.0.0.0/8]}}, {ipBlock: {cidr: "::/0", except: ["fe80::/10"]}}]`;

clusterTest("netpol: kubectl applies, lists by label, shows and deletes NetworkPolicies", {
  seed: "sessions",
}, async (t, c) => {
  const id = crypto.randomUUID().slice(0, 6);
  const [a, b] = [`np-a-${id}`, `np-b-${id}`];
  try {
    await t.step("discovery names the kind and its short name", async () => {
      const r = await kubectl(c, ["api-resources", "--api-group=networking.k8s.io"]);
      assertEquals(r.code, 0, r.stderr);
      assertMatch(r.stdout, /^networkpolicies\s+netpol\s+networking\.k8s\.io\/v1\s+true\s+NetworkPolicy/m);
    });
    await t.step("apply creates; the server fills in policyTypes and a port's protocol", async () => {
      const r = await dev(c, ["apply", "-f", "-"], policy(a, `s-${id}`, DNS_AND_WORLD));
      assertEquals(r.code, 0, r.stderr);
      assertStringIncludes(r.stdout, `networkpolicy.networking.k8s.io/${a} created`);
      const got = JSON.parse((await dev(c, ["get", "netpol", a, "-o", "json"])).stdout);
      assertEquals(got.spec.policyTypes, ["Ingress", "Egress"]);
      assertEquals(got.spec.egress[0].ports, [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }]);
      assertEquals(got.spec.egress[1].to[0].ipBlock.except, ["169.254.0.0/16", "10.0.0.0/8"]);
    });
    await t.step("a second apply replaces the lists (no merge of ports by number)", async () => {
      const egress = `  - ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]
  - to: [{ipBlock: {cidr: 10.1.0.0/16}}]`;
      const r = await dev(c, ["apply", "-f", "-"], policy(a, `s-${id}`, egress));
      assertEquals(r.code, 0, r.stderr);
      assertStringIncludes(r.stdout, "configured");
      const got = JSON.parse((await dev(c, ["get", "netpol", a, "-o", "json"])).stdout);
      assertEquals(got.spec.egress[0].ports.length, 2);
      assertEquals(got.spec.egress[1].to, [{ ipBlock: { cidr: "10.1.0.0/16" } }]);
    });
    await t.step("get prints NAME POD-SELECTOR AGE; -l picks one session's", async () => {
      const r2 = await dev(c, ["apply", "-f", "-"], policy(b, `t-${id}`, DNS_AND_WORLD));
      assertEquals(r2.code, 0, r2.stderr);
      const r = await dev(c, ["get", "networkpolicy"]);
      assertEquals(r.code, 0, r.stderr);
      assertMatch(r.stdout, /^NAME\s+POD-SELECTOR\s+AGE/);
      assertMatch(r.stdout, new RegExp(`^${a}\\s+kodama\\.dev/session=s-${id}\\s`, "m"));
      const l = await dev(c, ["get", "netpol", "-l", `kodama.dev/session=t-${id}`, "-o", "name"]);
      assertEquals(l.stdout.trim(), `networkpolicy.networking.k8s.io/${b}`);
    });
    await t.step("validation: a bad CIDR, an except outside its cidr, an unknown protocol", async () => {
      const bad = await dev(
        c,
        ["apply", "-f", "-"],
        policy(`np-bad-${id}`, "x", `  - to: [{ipBlock: {cidr: 10.0.0.300/8}}]`),
      );
      assertEquals(bad.code, 1);
      assertStringIncludes(
        bad.stderr,
        `is invalid: spec.egress[0].to[0].ipBlock.cidr: Invalid value: "10.0.0.300/8"`,
      );
      assertMatch(bad.stderr, /not a valid CIDR|must be a valid CIDR value/);
      const outside = await dev(
        c,
        ["apply", "-f", "-"],
        policy(
          `np-out-${id}`,
          "x",
          `  - to: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.0.0/16, 192.168.0.0/24]}}]`,
        ),
      );
      assertEquals(outside.code, 1);
      assertStringIncludes(
        outside.stderr,
        'spec.egress[0].to[0].ipBlock.except[0]: Invalid value: "10.0.0.0/16": must be a strict subset of `cidr`',
      );
      assertStringIncludes(
        outside.stderr,
        'spec.egress[0].to[0].ipBlock.except[1]: Invalid value: "192.168.0.0/24"',
      );
      const proto = await dev(
        c,
        ["apply", "-f", "-"],
        policy(`np-proto-${id}`, "x", `  - ports: [{protocol: ICMP, port: 1}]`),
      );
      assertEquals(proto.code, 1);
      assertStringIncludes(proto.stderr, 'spec.egress[0].ports[0].protocol: Unsupported value: "ICMP"');
      const none = await dev(c, ["get", "netpol", "-o", "name"]);
      assert(!/np-(bad|out|proto)-/.test(none.stdout), none.stdout);
    });
    await t.step("kodama's client watches them; kubectl delete removes them", async () => {
      const kube = await Kube.connect({ kubeconfig: c.kubeconfig, context: "dev" });
      const ac = new AbortController();
      const seen: string[] = [];
      try {
        const gone = new Promise<void>((resolve) => {
          kube.watchObjects<{ metadata?: { name?: string; resourceVersion?: string } }>(
            "networkpolicies",
            "dev",
            { labelSelector: `kodama.dev/session=t-${id}` },
            (type, o) => {
              seen.push(`${type} ${o.metadata?.name}`);
              if (type === "DELETED") resolve();
            },
            { signal: ac.signal },
          ).catch(() => {});
        });
        const d = await dev(c, ["delete", "networkpolicy", b]);
        assertEquals(d.code, 0, d.stderr);
        assertStringIncludes(d.stdout, `networkpolicy.networking.k8s.io "${b}" deleted`);
        await gone;
        assertEquals(seen.at(-1), `DELETED ${b}`);
        const get = await dev(c, ["get", "netpol", b]);
        assertEquals(get.code, 1);
        assertStringIncludes(get.stderr, `networkpolicies.networking.k8s.io "${b}" not found`);
      } finally {
        ac.abort();
        kube.close();
      }
    });
  } finally {
    await dev(c, ["delete", "netpol", a, b, "--ignore-not-found"]);
  }
});
