/**
 * `kodama gateway` on the test server, black-box: ensure makes the gateway's objects (the key only in its
 * own Secret, a one-replica StatefulSet whose restricted non-root pod gets ready on /healthz, a ClusterIP
 * Service, an ingress policy for session pods), keeps its signing key across ensures, status shows keys
 * masked only; a deleted gateway pod comes back on the same state claim (status counts the replacement); a
 * session started then holds a token instead of the key and may reach only the gateway; `--no-gateway` keeps
 * today's path; delete removes it all; a bare gateway pod of an older kodama is handed to a StatefulSet; bad
 * input and a missing gateway exit 2 and 3.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { waitUntil } from "../cluster/harness.ts";
import { purge, SESSION_IMAGE, type SessionWorld, withSessionWorld } from "./_session.ts";

const KEY = "sk-ant-api03-gatewaytestkey-0123456789abcdefWXYZ";
const GH = "ghp_gatewaytesttoken0123456789abcd";

const env = { ANTHROPIC_API_KEY: KEY, GITHUB_TOKEN: GH };

async function secretData(w: SessionWorld, name: string): Promise<Record<string, string>> {
  const r = await w.kc(["get", "secret", name, "-o", "json"]);
  assertEquals(r.code, 0, r.stderr);
  const data = JSON.parse(r.stdout).data ?? {};
  return Object.fromEntries(
    Object.entries(data).map(([k, v]) => [k, new TextDecoder().decode(Uint8Array.fromBase64(v as string))]),
  );
}

async function getJson(w: SessionWorld, kind: string, name: string) {
  const r = await w.kc(["get", kind, name, "-o", "json"]);
  assertEquals(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

withSessionWorld("gateway: ensure, status, a session through it, delete", {}, async (_t, w) => {
  // nothing yet: status and delete say so (exit 3)
  const none = await w.k(["gateway", "status"]);
  assertEquals(none.code, 3, none.stderr);
  assertStringIncludes(none.stderr, "no gateway in namespace dev");
  assertEquals((await w.k(["gateway", "log", "s1"])).code, 3);
  assertEquals((await w.k(["gateway", "usage"])).code, 3);
  // bad input: exit 2
  assertEquals((await w.k(["gateway", "log"])).code, 2);
  const by = await w.k(["gateway", "usage", "--by", "week"]);
  assertEquals(by.code, 2, by.stderr);
  assertEquals((await w.k(["gateway", "ensure", "--timeout", "soon"], { env })).code, 2);
  // no key anywhere: exit 2, nothing made
  const nokey = await w.k(["gateway", "ensure", "--no-wait"], { env: { KODAMA_KEYS_STORE: "file" } });
  assertEquals(nokey.code, 2, nokey.stderr);
  assertStringIncludes(nokey.stderr, "no key for the gateway to hold");

  const made = await w.k(["gateway", "ensure", "--timeout", "90s"], { env });
  assertEquals(made.code, 0, made.stderr);
  assertStringIncludes(made.stdout, "gateway ready at http://");
  assert(!made.stdout.includes(KEY) && !made.stderr.includes(KEY), "ensure printed the key");

  const cfg = JSON.parse((await secretData(w, "kodama-gateway"))["config.json"]);
  assertEquals(cfg.providers.anthropic.keys[0], { id: "a1", header: "x-api-key", value: KEY });
  assertEquals(cfg.providers.anthropic.upstream, "https://api.anthropic.com");
  assertEquals(cfg.providers.git.keys[0].host, "github.com");
  // a one-replica StatefulSet on the state claim (a volume of its template, not a volumeClaimTemplate)
  const sts = await getJson(w, "statefulset", "kodama-gateway");
  assertEquals(sts.spec.replicas, 1);
  assertEquals(sts.spec.volumeClaimTemplates, undefined);
  assertEquals(sts.spec.template.spec.restartPolicy, "Always");
  const pod = await getJson(w, "pod", "kodama-gateway-0");
  assertEquals(pod.metadata.ownerReferences?.[0]?.kind, "StatefulSet");
  assertEquals(pod.metadata.labels["kodama.dev/component"], "gateway");
  assert(
    pod.spec.volumes.some((v: { persistentVolumeClaim?: { claimName: string } }) =>
      v.persistentVolumeClaim?.claimName === "kodama-gateway-state"
    ),
  );
  assertEquals((await w.kc(["get", "pod", "kodama-gateway", "--ignore-not-found", "-o", "name"])).stdout, "");
  const c = pod.spec.containers[0];
  assertEquals(c.securityContext.runAsNonRoot, true);
  assertEquals(c.securityContext.readOnlyRootFilesystem, true);
  assertEquals(c.securityContext.capabilities.drop, ["ALL"]);
  assertEquals(pod.spec.automountServiceAccountToken, false);
  assertEquals(pod.spec.securityContext.seccompProfile.type, "RuntimeDefault");
  assertEquals(c.readinessProbe.httpGet.path, "/healthz");
  const svc = await getJson(w, "service", "kodama-gateway");
  assertEquals(svc.spec.ports[0].port, 8080);
  const np = await getJson(w, "networkpolicy", "kodama-gateway");
  assertEquals(np.spec.policyTypes, ["Ingress"]);
  assertEquals(np.spec.ingress[0].ports, [{ protocol: "TCP", port: 8080 }]);

  // a second ensure keeps the signing key (tokens minted before stay good) and the pod
  const uid = pod.metadata.uid;
  const again = await w.k(["gateway", "ensure"], { env });
  assertEquals(again.code, 0, again.stderr);
  const cfg2 = JSON.parse((await secretData(w, "kodama-gateway"))["config.json"]);
  assertEquals(cfg2.signingKey, cfg.signingKey);
  assertEquals((await getJson(w, "pod", "kodama-gateway-0")).metadata.uid, uid);

  const st = await w.k(["gateway", "status", "-o", "json"]);
  assertEquals(st.code, 0, st.stderr);
  assert(!st.stdout.includes(KEY) && !st.stdout.includes(GH), "status printed a key");
  const status = JSON.parse(st.stdout);
  assertEquals(status.ready, true);
  assertEquals(status.keys.map((k: { provider: string; id: string }) => `${k.provider}/${k.id}`), [
    "anthropic/a1",
    "git/gh1",
  ]);
  assertEquals(status.keys[0].suffix, "…WXYZ");
  assertEquals([status.workload, status.podName, status.state], ["StatefulSet", "kodama-gateway-0", "ready"]);
  assertEquals([status.restarts, status.replacements], [0, 0]);

  // the gateway outlives its pod: deleted (an eviction, a lost node), the StatefulSet makes it again on the
  // same claim, and ensure waits for it; status counts the replacement (its journal on the claim does)
  const gone = await w.kc(["delete", "pod", "kodama-gateway-0", "--wait=true"]);
  assertEquals(gone.code, 0, gone.stderr);
  const back = await w.k(["gateway", "ensure", "--timeout", "90s"], { env });
  assertEquals(back.code, 0, back.stderr);
  assertStringIncludes(back.stderr, "statefulset kept");
  const reborn = await getJson(w, "pod", "kodama-gateway-0");
  assert(reborn.metadata.uid !== uid, "the same pod");
  const st2 = JSON.parse((await w.k(["gateway", "status", "-o", "json"])).stdout);
  assertEquals([st2.state, st2.replacements], ["ready", 1]);
  const table = await w.k(["gateway", "status"]);
  assertMatch(
    table.stdout,
    /^pod: +kodama-gateway-0 \(StatefulSet kodama-gateway\), 0 restarts, 1 replacement, since /m,
  );

  // another image: the template changes, the controller replaces the pod, ensure waits for the new one
  await Deno.writeTextFile(`${w.home}/config.yaml`, "gateway:\n  image: kodama-dev:bookworm\n");
  try {
    const rolled = await w.k(["gateway", "ensure", "--timeout", "90s"], { env });
    assertEquals(rolled.code, 0, rolled.stderr);
    assertStringIncludes(rolled.stderr, "statefulset updated");
    const next = await getJson(w, "pod", "kodama-gateway-0");
    assert(next.metadata.uid !== reborn.metadata.uid, "the pod was not replaced");
    assertEquals(next.spec.containers[0].image, "kodama-dev:bookworm");
    assert(
      next.status.conditions.some((c: { type: string; status: string }) =>
        c.type === "Ready" && c.status === "True"
      ),
    );
    assertEquals(JSON.parse((await w.k(["gateway", "status", "-o", "json"])).stdout).replacements, 2);
  } finally {
    await Deno.remove(`${w.home}/config.yaml`);
  }

  // a plain agent check with no key here: the gateway holds the anthropic key (exit 0, said), not `no key`
  const noKeyEnv = { KODAMA_KEYS_STORE: "file" };
  const chk = await w.k(["agent", "check"], { env: noKeyEnv });
  assertEquals(chk.code, 0, chk.stdout + chk.stderr);
  assertMatch(chk.stdout, /^RESULT +gateway: no key here: the namespace's gateway holds the anthropic key/m);
  assertStringIncludes(chk.stdout, "kodama gateway status");
  const chkJson = JSON.parse((await w.k(["agent", "check", "-o", "json"], { env: noKeyEnv })).stdout);
  assertEquals([chkJson.verdict, chkJson.exitCode], ["gateway", 0]);
  // a provider it holds no key of is still no key (exit 4)
  const chkCodex = await w.k(["agent", "check", "--agent", "codex"], { env: noKeyEnv });
  assertEquals(chkCodex.code, 4, chkCodex.stdout + chkCodex.stderr);
  assertStringIncludes(chkCodex.stderr, "no key is set");

  // kodama doctor checks it
  const doc = await w.k(["doctor"]);
  assertMatch(doc.stdout, /^gateway +ready +kodama-gateway ready at /m, doc.stdout + doc.stderr);

  try {
    // a session started now goes through it: a token in its Secret, never the key
    // the dry run says what the real start does: through the gateway, the token's Secret, nothing created
    // a base URL of the session's own (here this environment's) is replaced by the gateway's upstream: said
    const dry = await w.k(
      ["start", "gw1", "--no-sync", "--image", SESSION_IMAGE, "--dry-run", "-o", "json"],
      { env: { ...env, ANTHROPIC_BASE_URL: "http://proxy.example:3128" } },
    );
    assertEquals(dry.code, 0, dry.stderr);
    assertStringIncludes(dry.stderr, "goes through the gateway kodama-gateway");
    assertMatch(
      dry.stderr,
      /^warning: gw1's ANTHROPIC_BASE_URL=http:\/\/proxy\.example:3128 is not used: .*https:\/\/api\.anthropic\.com.*kodama gateway ensure/m,
    );
    assert(
      !dry.stdout.includes(KEY) && dry.stdout.includes('\\"gateway\\":{'),
      "the dry run shows no gateway",
    );
    // the user's --env-file names its own base URL (with a password): start says the gateway's is used
    await Deno.writeTextFile(
      `${w.cwd}/proxy.env`,
      "ANTHROPIC_BASE_URL=https://bob:pw-9931@proxy.example/v1\n",
    );
    const s = await w.k(
      ["start", "gw1", "--no-sync", "--image", SESSION_IMAGE, "--env-file", "proxy.env"],
      { env },
    );
    assertEquals(s.code, 0, s.stderr);
    assertMatch(
      s.stderr,
      /^warning: gw1's ANTHROPIC_BASE_URL=https:\/\/proxy\.example\/v1 is not used: through the gateway kodama-gateway its anthropic requests go to https:\/\/api\.anthropic\.com/m,
    );
    assert(!s.stderr.includes("pw-9931"), "the URL's password was said");
    const data = await secretData(w, "kodama-env-gw1");
    assert(!Object.values(data).some((v) => v.includes(KEY) || v.includes(GH)), "the key is in the session");
    assert(data.ANTHROPIC_API_KEY.startsWith("kgw1."), data.ANTHROPIC_API_KEY);
    assertEquals(data.ANTHROPIC_BASE_URL, `${status.url}/p/anthropic`);
    assertStringIncludes(data.HTTPS_PROXY, `@${new URL(status.url).host}`);
    assertEquals(data.GIT_CONFIG_VALUE_0, "https://github.com/");
    assertEquals(data.GITHUB_TOKEN, undefined);
    const egress = await getJson(w, "networkpolicy", "kodama-egress-gw1");
    assertEquals(JSON.stringify(egress.spec.egress).includes("ipBlock"), false);
    assertEquals(egress.spec.egress[1].to[0].podSelector.matchLabels, { "kodama.dev/component": "gateway" });
    const get = await w.k(["session", "get", "gw1"]);
    assertMatch(
      get.stdout,
      new RegExp(`Gateway: +kodama-gateway \\(token …${data.ANTHROPIC_API_KEY.slice(-4)}\\)`),
    );
    const used = JSON.parse((await w.k(["gateway", "status", "-o", "json"])).stdout);
    assertEquals(used.sessions, ["gw1"]);

    // no real key can be put into it afterwards either: the key is the gateway's
    const rot = await w.k(["agent", "keys", "rotate", "gw1"], { env });
    assertEquals(rot.code, 2, rot.stderr);
    assertStringIncludes(rot.stderr, "goes through the gateway kodama-gateway");
    const set = await w.k(["session", "env", "set", "gw1", `ANTHROPIC_API_KEY=${KEY}`]);
    assertEquals(set.code, 2, set.stderr);
    assert(!(await secretData(w, "kodama-env-gw1")).ANTHROPIC_API_KEY.includes(KEY));

    // the user's hosts, narrowed by a repository's template: only what both allow goes into the token
    await Deno.writeTextFile(
      `${w.home}/config.yaml`,
      'session:\n  egress:\n    hosts: [registry.npmjs.org, "*.pypi.org"]\n',
    );
    await Deno.mkdir(`${w.cwd}/.kodama/templates`, { recursive: true });
    await Deno.writeTextFile(
      `${w.cwd}/.kodama/templates/narrow.yaml`,
      `image: ${SESSION_IMAGE}\negressHosts: [files.pypi.org, evil.example.com, registry.npmjs.org]\n`,
    );
    const n = await w.k(["start", "gw3", "--no-sync", "--template", "narrow"], { env });
    assertEquals(n.code, 0, n.stderr);
    const token = (await secretData(w, "kodama-env-gw3")).ANTHROPIC_API_KEY;
    const claims = JSON.parse(
      new TextDecoder().decode(Uint8Array.fromBase64(token.split(".")[1], { alphabet: "base64url" })),
    );
    assertEquals(claims.allow, ["files.pypi.org", "registry.npmjs.org"]);
    assertEquals(claims.p, ["anthropic"]);
    assertEquals([claims.s, claims.ns], ["gw3", "dev"]);

    // --no-gateway: as without one (the key in the env Secret, the usual egress policy)
    const o = await w.k(["start", "gw2", "--no-sync", "--no-gateway", "--image", SESSION_IMAGE], { env });
    assertEquals(o.code, 0, o.stderr);
    assertEquals((await secretData(w, "kodama-env-gw2")).ANTHROPIC_API_KEY, KEY);
    const plain = await getJson(w, "networkpolicy", "kodama-egress-gw2");
    assert(JSON.stringify(plain.spec.egress).includes("ipBlock"));
  } finally {
    await purge(w, "gw1");
    await purge(w, "gw2");
    await purge(w, "gw3");
  }

  // the state claim deleted under a running gateway stays Terminating (pvc-protection) while its pod lives;
  // ensure then makes pod and claim anew instead of a pod on a claim about to be gone (seen on a real cluster)
  const pvc = await w.kc(["delete", "pvc", "kodama-gateway-state", "--wait=false"]);
  assertEquals(pvc.code, 0, pvc.stderr);
  assert(
    (await getJson(w, "pvc", "kodama-gateway-state")).metadata.deletionTimestamp,
    "the claim is Terminating",
  );
  const anew = await w.k(["gateway", "ensure", "--timeout", "90s"], { env });
  assertEquals(anew.code, 0, anew.stderr);
  assertStringIncludes(anew.stderr, "waiting for PersistentVolumeClaim kodama-gateway-state to be deleted");
  const claim = await getJson(w, "pvc", "kodama-gateway-state");
  assertEquals(claim.metadata.deletionTimestamp, undefined, "a claim made anew");
  assertEquals((await getJson(w, "pod", "kodama-gateway-0")).status.phase, "Running");

  const del = await w.k(["gateway", "delete"]);
  assertEquals(del.code, 0, del.stderr);
  assertStringIncludes(del.stdout, "statefulset");
  for (const kind of ["statefulset", "service", "secret", "configmap", "networkpolicy"]) {
    const r = await w.kc(["get", kind, "kodama-gateway", "--ignore-not-found", "-o", "name"]);
    assertEquals(r.stdout.trim(), "", `${kind} left`);
  }
  // deleted: gone once its grace has passed (a real kubelet ends it; the test server at once)
  await waitUntil(
    async () =>
      (await w.kc(["get", "pods", "-l", "kodama.dev/component=gateway", "-o", "name"])).stdout.trim() === "",
    60_000,
    "no gateway pod left",
  );
  assertEquals((await w.k(["gateway", "delete"])).code, 3);

  // a bare gateway pod an older kodama made: status says so; ensure hands the gateway to a StatefulSet. It
  // ends on TERM as a gateway does (a bare `sleep` as PID 1 ignores it: ensure waited out a 30 s grace period)
  const old = await w.kc([
    "run",
    "kodama-gateway",
    "--image",
    SESSION_IMAGE,
    "--labels",
    "app.kubernetes.io/managed-by=kodama,kodama.dev/component=gateway",
    "--",
    "sh",
    "-c",
    "trap 'exit 0' TERM; sleep 3600 & wait",
  ]);
  assertEquals(old.code, 0, old.stderr);
  const legacy = await w.k(["gateway", "status"]);
  assertEquals(legacy.code, 0, legacy.stderr);
  assertMatch(legacy.stdout, /^pod: +kodama-gateway \(a bare pod from an older kodama/m);
  const adopted = await w.k(["gateway", "ensure", "--timeout", "90s"], { env });
  assertEquals(adopted.code, 0, adopted.stderr);
  assertStringIncludes(adopted.stderr, "is a bare pod from an older kodama: deleting it");
  assertEquals((await w.kc(["get", "pod", "kodama-gateway", "--ignore-not-found", "-o", "name"])).stdout, "");
  assertEquals((await getJson(w, "pod", "kodama-gateway-0")).status.phase, "Running");
  assertEquals((await w.k(["gateway", "delete"])).code, 0);
});
