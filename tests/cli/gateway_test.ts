/**
 * `kodama gateway` on the test server, black-box: ensure makes the gateway's objects (the key only in its
 * own Secret, a restricted non-root pod that gets ready on /healthz, a ClusterIP Service, an ingress policy
 * for session pods), keeps its signing key across ensures, status shows keys masked only; a session started
 * then holds a token instead of the key and may reach only the gateway; `--no-gateway` keeps today's path;
 * delete removes it all; bad input and a missing gateway exit 2 and 3.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { purge, type SessionWorld, withSessionWorld } from "./_session.ts";

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
  const pod = await getJson(w, "pod", "kodama-gateway");
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
  assertEquals((await getJson(w, "pod", "kodama-gateway")).metadata.uid, uid);

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

  // kodama doctor checks it
  const doc = await w.k(["doctor"]);
  assertMatch(doc.stdout, /^gateway +ready +kodama-gateway ready at /m, doc.stdout + doc.stderr);

  try {
    // a session started now goes through it: a token in its Secret, never the key
    const s = await w.k(["start", "gw1", "--no-sync", "--image", "busybox:1.36"], { env });
    assertEquals(s.code, 0, s.stderr);
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
      "image: busybox:1.36\negressHosts: [files.pypi.org, evil.example.com, registry.npmjs.org]\n",
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
    const o = await w.k(["start", "gw2", "--no-sync", "--no-gateway", "--image", "busybox:1.36"], { env });
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
  assertEquals((await getJson(w, "pod", "kodama-gateway")).status.phase, "Running");

  const del = await w.k(["gateway", "delete"]);
  assertEquals(del.code, 0, del.stderr);
  for (const kind of ["pod", "service", "secret", "configmap", "networkpolicy"]) {
    const r = await w.kc(["get", kind, "kodama-gateway", "--ignore-not-found", "-o", "name"]);
    assertEquals(r.stdout.trim(), "", `${kind} left`);
  }
  assertEquals((await w.k(["gateway", "delete"])).code, 3);
});
