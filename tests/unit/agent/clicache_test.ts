/**
 * The namespace's agent-CLI cache: its manifests (src/agent/clicache/clicache.ts) and its two pod programs run for
 * real under dash with a fake npm: the install pod's fill (pod/cachefill.sh, with its integrity check) and a
 * run's lookup (pod/install.sh) that then needs no npm at all. Issue 79: the install pod takes nothing of
 * the session's (env Secret, env, image) and runs under an egress policy; entries are keyed by source.
 */
import { assert, assertEquals, assertNotEquals, assertStringIncludes } from "@kodama/test-assert";
import { configSchema } from "../../../src/config/schema.ts";
import { buildPod, cliCacheEntry } from "../../../src/session/spec/manifests.ts";
import { resolveSpec, type SessionSpec } from "../../../src/session/spec/spec.ts";
import {
  buildCachePVC,
  buildInstallCaConfigMap,
  buildInstallJob,
  buildInstallPod,
  buildInstallPolicy,
  cacheDir,
  cacheKey,
  cacheState,
  cacheUnavailable,
  CLI_CACHE_PATH,
  CLI_CACHE_PVC,
  CLI_CACHE_UNAVAILABLE,
  CLI_CACHE_VERDICT,
  DEFAULT_REGISTRY,
  failureReason,
  FILL_FAILED_EXIT,
  fillArgv,
  IN_IMAGE_EXIT,
  installPodName,
  type InstallSource,
  installSource,
  PENDING_BOUND_MS,
  probeArgv,
  probedImage,
} from "../../../src/agent/clicache/clicache.ts";
import { matchPodFailurePolicy } from "../../cluster/controllers/job.ts";
import { PRESETS } from "../../../src/agent/presets/presets.ts";
import INSTALL_SH from "../../../src/agent/pod/install.sh" with { type: "text" };

const spec = (config: Record<string, unknown> = {}, flags: Record<string, unknown> = {}) =>
  resolveSpec({ name: "demo", namespace: "dev", ...flags }, configSchema.parse(config), {
    envVars: [],
    editorFiles: [],
    now: new Date("2026-01-01T00:00:00Z"),
  });

const SRC: InstallSource = { image: "node:22-bookworm", registry: DEFAULT_REGISTRY, env: [] };
const KEY = "0123456789abcdef0123456789abcdef";

Deno.test("cli cache: the PVC is ReadWriteMany and no session's; the install pod is placed as a session pod", () => {
  const pvc = buildCachePVC("dev");
  assertEquals(pvc.metadata?.name, CLI_CACHE_PVC);
  assertEquals(pvc.spec?.accessModes, ["ReadWriteMany"]);
  // no session label: delete and gc select by it, so they never take the cache
  assert(!Object.keys(pvc.metadata?.labels ?? {}).some((k) => k.startsWith("kodama.dev/session")));
  assert(!cacheUnavailable(pvc));
  pvc.metadata!.annotations = { [CLI_CACHE_VERDICT]: CLI_CACHE_UNAVAILABLE };
  assert(cacheUnavailable(pvc));

  const i = PRESETS.claude.install;
  assertEquals(
    installPodName(i, KEY),
    `kodama-agent-clis-install-claude-${i.version.replaceAll(".", "-")}-${KEY.slice(0, 10)}`,
  );
  const long = installPodName({ ...i, version: "1.0.0-Beta.1+x".repeat(9) }, KEY);
  assert(long.length <= 63 && long.endsWith(`-${KEY.slice(0, 10)}`), long);
  assertEquals(cacheDir(CLI_CACHE_PATH, i), `/opt/kodama-clis/${i.package}@${i.version}`);

  const s = spec({}, { scheduling: { imagePullSecrets: ["reg"] } });
  const session = buildPod(s);
  const pod = buildInstallPod(s, i, SRC, KEY);
  const c = pod.spec!.containers[0];
  assertEquals(c.securityContext, session.spec!.containers[0].securityContext);
  assertEquals(pod.spec!.initContainers![0].securityContext, session.spec!.containers[0].securityContext);
  assertEquals(pod.spec!.securityContext, session.spec!.securityContext);
  assertEquals(pod.spec!.imagePullSecrets, [{ name: "reg" }]);
  assertEquals(pod.spec!.automountServiceAccountToken, false);
  assertEquals(pod.spec!.restartPolicy, "Never");
  assertEquals(c.volumeMounts?.find((m) => m.name === "cache")?.readOnly, undefined);
  assertEquals(c.command?.slice(-5), [`/cache/${KEY}`, i.package, i.version, i.bin, DEFAULT_REGISTRY]);
});

Deno.test("cli cache: the install pod belongs to a Job, retried after a disruption or a crash, not after a verdict", () => {
  const s = spec({}, { scheduling: { imagePullSecrets: ["reg"] } });
  const i = PRESETS.claude.install;
  const pod = buildInstallPod(s, i, SRC, KEY);
  const job = buildInstallJob(s, i, SRC, KEY);
  // the fixed name is the Job's (the lock); the pod is the template, its labels (the policy selects them)
  // and annotations on both
  assertEquals([job.apiVersion, job.kind, job.metadata?.name], ["batch/v1", "Job", installPodName(i, KEY)]);
  assertEquals(job.metadata?.labels, pod.metadata?.labels);
  assertEquals(job.spec?.template.metadata?.labels, pod.metadata?.labels);
  assertEquals(job.spec?.template.metadata?.annotations, pod.metadata?.annotations);
  assertEquals(job.metadata?.annotations, pod.metadata?.annotations);
  assertEquals(job.spec?.template.spec, pod.spec);
  assertEquals(job.spec?.template.spec?.restartPolicy, "Never");
  assertEquals([job.spec?.backoffLimit, job.spec?.parallelism, job.spec?.completions], [2, 1, 1]);
  assertEquals(job.spec?.podReplacementPolicy, "Failed");
  assertEquals(job.spec?.activeDeadlineSeconds, undefined);
  assertEquals(probedImage(job), s.image);
  // Kubernetes turns `$$` in a container command into `$`: the fill's own folder never relies on it
  assert(!fillArgv(i, KEY, DEFAULT_REGISTRY).some((a) => a.includes("$$")));
  // what each end of a pod does to the Job, read as the Job controller reads it
  const ended = (o: { probe?: number; install?: number; disrupted?: boolean }) =>
    matchPodFailurePolicy(job as never, {
      metadata: { namespace: "dev", name: "p" },
      status: {
        phase: "Failed",
        ...(o.disrupted ? { conditions: [{ type: "DisruptionTarget", status: "True" }] } : {}),
        initContainerStatuses: [{ name: "probe", state: { terminated: { exitCode: o.probe ?? 0 } } }],
        ...(o.install !== undefined
          ? { containerStatuses: [{ name: "install", state: { terminated: { exitCode: o.install } } }] }
          : {}),
      },
    } as never)?.action;
  assertEquals(ended({ disrupted: true, install: 137 }), "Ignore");
  assertEquals(ended({ probe: IN_IMAGE_EXIT }), "FailJob");
  assertEquals(ended({ install: FILL_FAILED_EXIT }), "FailJob");
  // a crash (OOM kill, a signal): counted, retried up to backoffLimit
  assertEquals(ended({ install: 137 }), undefined);
  assertEquals(ended({ install: 2 }), undefined);
});

/** A session whose image and env are the repository's: its env Secret holds a poisoned registry. */
function poisoned(): SessionSpec {
  return { ...spec(), image: "ghcr.io/evil/image:1", env: { NPM_CONFIG_REGISTRY: "http://127.0.0.1:1/" } } as
    & SessionSpec
    & Record<string, unknown>;
}

Deno.test("cli cache: the install pod takes nothing of the session's: no env Secret, no env, not its image", () => {
  const s = poisoned();
  for (const p of Object.values(PRESETS)) {
    const pod = buildInstallPod(s, p.install, SRC, KEY);
    const text = JSON.stringify(pod);
    // no envFrom and no secret of any kind, in any container
    assert(!text.includes("secretRef") && !text.includes("secretKeyRef") && !text.includes("envFrom"), text);
    assert(!text.includes("127.0.0.1:1"), text);
    const c = pod.spec!.containers[0];
    assertEquals(c.image, SRC.image);
    // the environment is kodama's: these names only
    assertEquals(
      (c.env ?? []).map((e) => e.name).sort(),
      ["HOME", "KODAMA_FILL_RESULT", "NPM_CONFIG_REGISTRY", "NPM_CONFIG_UPDATE_NOTIFIER"],
    );
    assertEquals(c.env!.find((e) => e.name === "NPM_CONFIG_REGISTRY")?.value, DEFAULT_REGISTRY);
    // the session's image runs only the probe: no env, no volume, only `command -v BIN`
    const init = pod.spec!.initContainers!;
    assertEquals(init.length, 1);
    assertEquals(init[0].image, s.image);
    assertEquals([init[0].env, init[0].envFrom, init[0].volumeMounts], [undefined, undefined, undefined]);
    assertEquals(init[0].command?.slice(-1), [p.install.bin]);
  }
  // a source with the user's proxy and CA: those, and still nothing of the session's
  const withCa = buildInstallPod(s, PRESETS.claude.install, {
    ...SRC,
    env: [{ name: "HTTPS_PROXY", value: "http://proxy:3128" }],
    caPem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
  }, KEY);
  const names = withCa.spec!.containers[0].env!.map((e) => e.name);
  assert(names.includes("HTTPS_PROXY") && names.includes("KODAMA_CA_FILE"), names.join());
  // the certificates travel as a mounted file, never as one environment string: a real node refuses an
  // exec whose one string passes 128 KiB (a whole CA store), `argument list too long`
  const big = "-----BEGIN CERTIFICATE-----\n" + "A".repeat(200 * 1024) + "\n-----END CERTIFICATE-----\n";
  const bigSrc = { ...SRC, caPem: big };
  const pod = buildInstallPod(s, PRESETS.claude.install, bigSrc, KEY);
  for (const e of pod.spec!.containers[0].env!) assert((e.value ?? "").length < 128 * 1024, e.name);
  const cm = buildInstallCaConfigMap(s, PRESETS.claude.install, bigSrc, KEY)!;
  assertEquals(cm.data!["ca.pem"], big);
  assertEquals(cm.metadata!.name, pod.metadata!.name);
  const vol = pod.spec!.volumes!.find((v) => v.name === "ca");
  assertEquals(vol?.configMap?.name, cm.metadata!.name);
  const mount = pod.spec!.containers[0].volumeMounts!.find((m) => m.name === "ca");
  assertEquals(
    `${mount?.mountPath}/ca.pem`,
    pod.spec!.containers[0].env!.find((e) => e.name === "KODAMA_CA_FILE")?.value,
  );
  assertEquals(buildInstallCaConfigMap(s, PRESETS.claude.install, SRC, KEY), undefined);
});

Deno.test("cli cache: the install source is the user's config, else this machine's env, never credentials", () => {
  const env = (vars: Record<string, string>) => (n: string) => vars[n];
  const img = "node:22-bookworm";
  assertEquals(installSource({ image: img }, env({})).source.registry, DEFAULT_REGISTRY);
  assertEquals(
    installSource({ image: img }, env({ NPM_CONFIG_REGISTRY: "https://npm.corp/x" })).source.registry,
    "https://npm.corp/x/",
  );
  assertEquals(
    installSource({ image: img }, env({ npm_config_registry: "http://10.0.0.5:4873" })).source.registry,
    "http://10.0.0.5:4873/",
  );
  // the config wins over the environment
  assertEquals(
    installSource({ image: img, registry: "https://mine/" }, env({ NPM_CONFIG_REGISTRY: "https://other/" }))
      .source.registry,
    "https://mine/",
  );
  // credentials never go into the pod's spec: a registry or proxy carrying them is left out, said
  const r = installSource(
    { image: img },
    env({
      NPM_CONFIG_REGISTRY: "https://u:p@npm.corp/",
      HTTPS_PROXY: "http://u:pw@proxy:3128",
      NO_PROXY: "x",
    }),
  );
  assertEquals(r.source.registry, DEFAULT_REGISTRY);
  assertEquals(r.source.env, [{ name: "NO_PROXY", value: "x" }]);
  assertEquals(r.notes.length, 2, r.notes.join("\n"));
  const bare = installSource(
    { image: img },
    env({ http_proxy: "u:pw@proxy:3128", https_proxy: "proxy:3128" }),
  );
  assertEquals(bare.source.env, [{ name: "https_proxy", value: "proxy:3128" }]);
  assert(!r.notes.join().includes("u:p"), r.notes.join());
  // only the proxy variables of this machine: nothing else it holds
  const all = installSource({ image: img }, env({ ANTHROPIC_API_KEY: "k", NODE_OPTIONS: "--require x" }));
  assertEquals(all.source.env, []);
  // a registry in the user's config with credentials is refused when the config is read
  const bad = configSchema.safeParse({ agent: { cliCacheRegistry: "https://u:p@npm.corp/" } });
  assert(!bad.success);
  assert(configSchema.safeParse({ agent: { cliCacheRegistry: "https://npm.corp/" } }).success);
});

Deno.test("cli cache: an entry is keyed by package, version, registry and image; a session mounts only its own", async () => {
  const i = PRESETS.claude.install;
  const k = await cacheKey(i, SRC);
  assert(/^[0-9a-f]{32}$/.test(k), k);
  assertEquals(await cacheKey(i, { ...SRC, env: [{ name: "NO_PROXY", value: "x" }] } as InstallSource), k);
  const others = [
    await cacheKey(i, { ...SRC, registry: "http://127.0.0.1:4873/" }),
    await cacheKey(i, { ...SRC, image: "node:20" }),
    await cacheKey({ ...i, version: "9.9.9" }, SRC),
    await cacheKey(PRESETS.codex.install, SRC),
  ];
  for (const o of others) assertNotEquals(o, k);
  assertEquals(new Set(others).size, others.length);
  // another source, another install pod (the lock is per entry)
  assertNotEquals(installPodName(i, k), installPodName(i, others[0]));

  const off = buildPod(spec());
  assert(!off.spec!.volumes!.some((v) => v.persistentVolumeClaim?.claimName === CLI_CACHE_PVC));
  const on = buildPod({ ...spec(), cliCache: k });
  const vol = on.spec!.volumes!.find((v) => v.persistentVolumeClaim?.claimName === CLI_CACHE_PVC);
  assertEquals(vol?.persistentVolumeClaim?.readOnly, true);
  const m = on.spec!.containers[0].volumeMounts!.find((x) => x.name === vol!.name);
  assertEquals(m, { name: vol!.name, mountPath: CLI_CACHE_PATH, subPath: k, readOnly: true });
  // a session from before entries (cliCache: true, the whole unverified volume), or anything not a key:
  // nothing mounted, the session installs itself
  for (const old of [true, "../x", "", "ABC"]) {
    const p = buildPod({ ...spec(), cliCache: old as unknown as string });
    assertEquals(cliCacheEntry({ ...spec(), cliCache: old as unknown as string }), undefined);
    assert(!p.spec!.volumes!.some((v) => v.persistentVolumeClaim?.claimName === CLI_CACHE_PVC));
  }
});

Deno.test("cli cache: the install pod is selected by its egress NetworkPolicy, with the user's sandbox rules", () => {
  const i = PRESETS.gemini.install;
  for (
    const cfg of [{}, { session: { egress: { deny: ["10.0.0.0/8"] } } }, {
      session: { egress: { allow: ["1.2.3.0/24"] } },
    }]
  ) {
    const s = spec(cfg);
    const pod = buildInstallPod(s, i, SRC, KEY);
    const np = buildInstallPolicy(s, i, KEY)!;
    assertEquals(np.metadata?.name, pod.metadata?.name);
    assertEquals(np.spec?.policyTypes, ["Egress"]);
    const sel = np.spec!.podSelector!.matchLabels!;
    assert(Object.keys(sel).length >= 2);
    for (const [k, v] of Object.entries(sel)) assertEquals(pod.metadata!.labels![k], v, k);
    // it selects no session pod (no session label), and no other entry's install pod
    assert(!Object.keys(sel).some((k) => k.startsWith("kodama.dev/session")));
    const other = buildInstallPod(s, i, SRC, "f".repeat(32));
    assert(Object.entries(sel).some(([k, v]) => other.metadata!.labels![k] !== v));
    // the metadata endpoints are never reachable from it: excepted, or not in the only allowed range
    const rules = JSON.stringify(np.spec!.egress);
    if (!s.sandbox?.egress?.allow) assertStringIncludes(rules, "169.254.0.0/16");
    else assert(!rules.includes("0.0.0.0/0"), rules);
    if (s.sandbox?.egress?.allow) assertStringIncludes(JSON.stringify(np.spec!.egress), "1.2.3.0/24");
    if (s.sandbox?.egress?.deny.length) assertStringIncludes(JSON.stringify(np.spec!.egress), "10.0.0.0/8");
  }
  // the user turned egress policies off: none, as for sessions
  assertEquals(buildInstallPolicy(spec({ session: { egress: { enabled: false } } }), i, KEY), undefined);
});

async function run(argv: string[], env: Record<string, string>) {
  const out = await new Deno.Command(argv[0], { args: argv.slice(1), env, stdout: "piped", stderr: "piped" })
    .output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/**
 * A fake npm: `view` prints the integrity in DIR/integrity (the registry's statement; with DIR/unreachable it
 * fails as npm does without a network), `pack` writes
 * DIR/tarball as a .tgz, `install` puts the program where `npm --prefix P` would; every call is counted.
 */
async function fakeNpm(dir: string, bin: string) {
  await Deno.mkdir(`${dir}/fakebin`, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/fakebin/npm`,
    [
      "#!/bin/sh",
      `echo "npm $*" >> "${dir}/calls"`,
      `case "$1" in`,
      `view) if [ -f "${dir}/unreachable" ]; then echo "npm ERR! code EAI_AGAIN" >&2; exit 1; fi`,
      `  cat "${dir}/integrity" 2>/dev/null; exit 0 ;;`,
      `pack) while [ "$1" != --pack-destination ]; do shift; done; cp "${dir}/tarball" "$2/x-1.0.0.tgz"; exit 0 ;;`,
      `esac`,
      `echo "npm http fetch GET 200 https://registry.npmjs.org/x 12ms"`,
      `while [ "$1" != --prefix ]; do shift; done`,
      // with DIR/hold, two installs that overlap as a lost node's try and the Job's retry do: the first
      // waits for DIR/go1 before it writes anything; the second writes its program, then waits for DIR/go2
      // inside its prefix (as npm holds files open there) and writes one more file there
      `if [ -f "${dir}/hold" ]; then n=$(($(cat "${dir}/n" 2>/dev/null || echo 0) + 1)); echo $n > "${dir}/n"; fi`,
      `if [ "\${n:-0}" = 1 ]; then : > "${dir}/held1"; while [ ! -f "${dir}/go1" ]; do sleep 0.05; done; fi`,
      `mkdir -p "$2/node_modules/.bin" && printf '#!/bin/sh\\necho fake-cli\\n' > "$2/node_modules/.bin/${bin}"`,
      `chmod +x "$2/node_modules/.bin/${bin}"`,
      `if [ "\${n:-0}" = 2 ]; then cd "$2/node_modules" || exit 1; : > "${dir}/held2";`,
      `  while [ ! -f "${dir}/go2" ]; do sleep 0.05; done; echo late > late; fi`,
    ].join("\n") + "\n",
  );
  await Deno.chmod(`${dir}/fakebin/npm`, 0o755);
  const tarball = new TextEncoder().encode("the tarball's bytes");
  await Deno.writeFile(`${dir}/tarball`, tarball);
  const sha = new Uint8Array(await crypto.subtle.digest("SHA-512", tarball));
  await Deno.writeTextFile(`${dir}/integrity`, `sha512-${sha.toBase64()}\n`);
  return `sha512-${sha.toBase64()}`;
}

/** What is in the cache besides complete entries and their logs: partial folders, entries without `.complete`. */
async function leftovers(cache: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, depth: number) => {
    if (!(await Deno.stat(d).catch(() => undefined))) return;
    for await (const e of Deno.readDir(d)) {
      const p = `${d}/${e.name}`;
      if (e.name.includes(".partial")) out.push(p);
      else if (depth === 1 && e.isDirectory && !(await Deno.stat(`${p}/.complete`).catch(() => undefined))) {
        out.push(p);
      } else if (depth === 0 && e.isDirectory) await walk(p, 1);
    }
  };
  await walk(cache, 0);
  return out;
}

Deno.test("cli cache: the probe in the session's image: nothing to cache when it has the CLI or no node", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const exe = async (name: string) => {
      await Deno.mkdir(`${dir}/${name}`, { recursive: true });
      await Deno.writeTextFile(`${dir}/${name}/${name}`, "#!/bin/sh\n");
      await Deno.chmod(`${dir}/${name}/${name}`, 0o755);
      return `${dir}/${name}`;
    };
    const node = await exe("node");
    const claude = await exe("claude");
    const argv = probeArgv(PRESETS.claude.install);
    // dash found here; the probe sees only `path` (the image's PATH)
    const dash = (await run(["sh", "-c", "command -v dash"], { PATH: "/usr/bin:/bin" })).stdout.trim();
    const code = async (path: string) => (await run([dash, ...argv.slice(1)], { PATH: path })).code;
    assertEquals(await code(node), 0);
    assertEquals(await code(`${node}:${claude}`), IN_IMAGE_EXIT);
    assertEquals(await code(`${claude}`), IN_IMAGE_EXIT);
    // no node: a CLI from the cache could not run there
    assertEquals(await code(`${dir}/none`), IN_IMAGE_EXIT);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli cache: filled once by the install pod's program, then found by a run without npm", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const i = PRESETS.gemini.install;
    await fakeNpm(dir, "gemini");
    const cache = `${dir}/cache`;
    const fill = fillArgv(i, KEY, DEFAULT_REGISTRY).map((a) => a === `/cache/${KEY}` ? cache : a);
    const env = { PATH: `${dir}/fakebin:/usr/bin:/bin`, HOME: dir };
    for (let n = 0; n < 2; n++) {
      const r = await run(["dash", ...fill.slice(1)], env);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stderr, "");
    }
    // checked and installed once (view, pack, install from the packed tarball); complete, nothing half-done
    const calls = (await Deno.readTextFile(`${dir}/calls`)).trim().split("\n");
    assertEquals(calls.map((c) => c.split(" ")[1]), ["view", "pack", "install"]);
    assertStringIncludes(calls[2], `${dir}/pack/x-1.0.0.tgz`);
    await Deno.stat(`${cacheDir(cache, i)}/.complete`);
    assertStringIncludes(await Deno.readTextFile(`${cacheDir(cache, i)}.log`), "npm http fetch");

    // a run: the CLI found in the cache, npm not called, nothing said
    const script = [
      'alive() { kill -0 "$1" 2>/dev/null; }',
      'export PATH="$HOME/.local/node_modules/.bin:$PATH"', // as pod/prologue.sh sets it
      INSTALL_SH,
      `kodama_install gemini '${i.package}' '${i.version}' gemini ${i.node} 125 127 || exit 9`,
      "gemini",
    ].join("\n");
    const r = await run(["dash", "-c", script], {
      PATH: "/usr/bin:/bin",
      HOME: dir,
      KODAMA_CLI_CACHE: cache,
    });
    assertEquals([r.code, r.stdout, r.stderr], [0, "fake-cli\n", ""]);
    assertEquals((await Deno.readTextFile(`${dir}/calls`)).trim().split("\n").length, 3);
    // an incomplete directory is never used: the run installs into its home volume as without a cache
    await Deno.remove(`${cacheDir(cache, i)}/.complete`);
    const half = await run(["dash", "-c", script], { ...env, KODAMA_CLI_CACHE: cache });
    assertEquals(half.code, 0, half.stderr);
    assertStringIncludes(half.stderr, "kodama: installing gemini");
    assertStringIncludes(await Deno.readTextFile(`${dir}/calls`), `--prefix ${dir}/.local`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli cache: the fill run again after a try cut off (a lost node's pod) starts over and completes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const i = PRESETS.gemini.install;
    await fakeNpm(dir, "gemini");
    const cache = `${dir}/cache`;
    const entry = cacheDir(cache, i);
    const fill = fillArgv(i, KEY, DEFAULT_REGISTRY).map((a) => a === `/cache/${KEY}` ? cache : a);
    const env = { PATH: `${dir}/fakebin:/usr/bin:/bin`, HOME: dir };
    const listing = async () => {
      const out: string[] = [];
      const walk = async (d: string, rel: string) => {
        for await (const e of Deno.readDir(d)) {
          out.push(`${rel}${e.name}`);
          if (e.isDirectory) await walk(`${d}/${e.name}`, `${rel}${e.name}/`);
        }
      };
      await walk(entry, "");
      return out.sort();
    };
    const full = [".complete", ".integrity", "node_modules", "node_modules/.bin", "node_modules/.bin/gemini"];

    // 1. what a try killed at any point leaves: a half install in its partial folder (an older kodama's
    // name too), or the entry renamed into place before `.complete` (with a stale file in it)
    await Deno.mkdir(`${entry}.partial-old-pod-7/node_modules`, { recursive: true });
    await Deno.mkdir(`${entry}.partial/node_modules`, { recursive: true });
    await Deno.mkdir(`${entry}/node_modules/stale`, { recursive: true });
    await Deno.writeTextFile(`${entry}/node_modules/stale/x`, "half");
    const r = await run(["dash", ...fill.slice(1)], env);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(await listing(), full);
    assertEquals(await leftovers(cache), []);

    // 2. the earlier try's pod still runs (its node lost, not yet dead) while the retry runs: their
    // installs overlap, the earlier one ends first. Once an entry is marked complete, nothing changes it
    // (the retry's install still at work never writes into it), and nothing of either try is left beside it
    await Deno.remove(cache, { recursive: true });
    await Deno.writeTextFile(`${dir}/hold`, "");
    const waitFor = async (f: string) => {
      while (!(await Deno.stat(`${dir}/${f}`).catch(() => undefined))) {
        await new Promise((res) => setTimeout(res, 20));
      }
    };
    const spawn = () =>
      new Deno.Command("dash", { args: fill.slice(1), env, stdout: "piped", stderr: "piped" }).spawn();
    const first = spawn();
    await waitFor("held1");
    const retry = spawn();
    await waitFor("held2");
    await Deno.writeTextFile(`${dir}/go1`, "");
    const one = await first.output();
    assertEquals(one.code, 0, new TextDecoder().decode(one.stderr));
    const marked = await listing();
    assertEquals(marked, full);
    await Deno.writeTextFile(`${dir}/go2`, "");
    const two = await retry.output();
    assertEquals(two.code, 0, new TextDecoder().decode(two.stderr));
    assertEquals(await listing(), marked);
    assertEquals(await leftovers(cache), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli cache: a tarball that is not what the registry states, or no stated integrity: never complete", async () => {
  const i = PRESETS.claude.install;
  const cases: [string, (dir: string) => Promise<void>, string][] = [
    [
      "another tarball",
      (d) => Deno.writeTextFile(`${d}/tarball`, "a fake claude"),
      "does not match the integrity",
    ],
    ["another sha512", async (d) => {
      const other = new Uint8Array(await crypto.subtle.digest("SHA-512", new Uint8Array([1])));
      await Deno.writeTextFile(`${d}/integrity`, `sha512-${other.toBase64()}\n`);
    }, "does not match the integrity"],
    ["only a sha1", (d) => Deno.writeTextFile(`${d}/integrity`, "sha1-AAAA\n"), "states no sha512 integrity"],
    ["nothing stated", (d) => Deno.remove(`${d}/integrity`), "states no sha512 integrity"],
    // no egress to the registry (a real cluster's pods): said as such, not as a registry that states nothing
    [
      "the registry unreachable",
      (d) => Deno.writeTextFile(`${d}/unreachable`, ""),
      "the registry https://registry.npmjs.org/ did not answer (EAI_AGAIN)",
    ],
  ];
  for (const [what, spoil, says] of cases) {
    const dir = await Deno.makeTempDir();
    try {
      await fakeNpm(dir, "claude");
      await spoil(dir);
      const cache = `${dir}/cache`;
      const fill = fillArgv(i, KEY, DEFAULT_REGISTRY).map((a) => a === `/cache/${KEY}` ? cache : a);
      const result = `${dir}/result`;
      const r = await run(["dash", ...fill.slice(1)], {
        PATH: `${dir}/fakebin:/usr/bin:/bin`,
        HOME: dir,
        KODAMA_FILL_RESULT: result,
      });
      assertEquals(r.code, 1, what);
      // one line, and the same line as the pod's termination message
      assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
      assertStringIncludes(r.stderr, says, what);
      assertEquals(`kodama: ${await Deno.readTextFile(result)}`, r.stderr.trim());
      // nothing usable: no entry, no partial, npm never installed anything
      assertEquals(await leftovers(cache), [], what);
      assert(!(await Deno.readTextFile(`${dir}/calls`)).includes("npm install"), what);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
  // kodama reads that line from the Job's newest pod that gave one
  const pod = (message: string | undefined, made: string) => ({
    metadata: { creationTimestamp: made },
    status: {
      containerStatuses: [{ name: "install", state: { terminated: { exitCode: 1, message } } }],
    },
  });
  assertEquals(
    failureReason([pod("old", "2026-01-01T00:00:00Z"), pod("bad\nmore", "2026-01-01T00:01:00Z")] as never),
    "bad",
  );
  assertEquals(
    failureReason([pod(undefined, "2026-01-01T00:01:00Z"), pod("old", "2026-01-01T00:00:00Z")] as never),
    "old",
  );
  assertEquals(failureReason([]), undefined);
});

Deno.test("cli cache: its state from the install Job, its pods, the claim and the claim's events", () => {
  const pvc = (phase: string, annotations: Record<string, string> = {}) => ({
    metadata: { name: CLI_CACHE_PVC, uid: "u1", annotations },
    status: { phase },
  });
  const made = "2026-01-01T00:00:00Z" as unknown as Date;
  const job = (finished?: "Complete" | "Failed") => ({
    metadata: { name: "j", creationTimestamp: made },
    status: finished ? { conditions: [{ type: finished, status: "True" }] } : {},
  });
  const pod = (phase?: string, exitCode?: number) => ({
    metadata: { creationTimestamp: made },
    status: {
      ...(phase ? { phase } : {}),
      // the probe (the session's image) ends the pod with IN_IMAGE_EXIT when the image has the CLI
      ...(exitCode !== undefined
        ? { initContainerStatuses: [{ state: { terminated: { exitCode } } }] as never }
        : {}),
    },
  });
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  assertEquals(cacheState(pvc("Bound"), job(), [pod("Succeeded")], [], t0), "ready");
  assertEquals(cacheState(pvc("Bound"), job("Complete"), [], [], t0), "ready");
  assertEquals(cacheState(pvc("Bound"), job(), [pod("Running")], [], t0 + 10 * PENDING_BOUND_MS), "waiting");
  assertEquals(cacheState(pvc("Bound"), job(), [pod("Failed", IN_IMAGE_EXIT)], [], t0), "in-image");
  assertEquals(cacheState(pvc("Bound"), job("Failed"), [pod("Failed", 0)], [], t0), "failed");
  // a pod that failed (its node lost, evicted) while the Job goes on: the Job's next pod is waited for
  assertEquals(cacheState(pvc("Bound"), job(), [pod("Failed", 0)], [], t0), "waiting");
  assertEquals(cacheState(pvc("Bound"), job(), [pod("Failed", 0), pod("Pending")], [], t0), "waiting");
  assertEquals(cacheState(pvc("Bound"), job(), [pod("Failed", 0), pod("Succeeded")], [], t0), "ready");
  assertEquals(cacheState(pvc("Bound"), job(), [], [], t0), "waiting");
  // the fill's own verdict (kodama_fill_fail's exit) with no other try going: failed at once, where the Job
  // is not Failed yet (a cluster without podFailurePolicy retries it after 10 s, 20 s, 40 s: 73 s in silence)
  const filled = (phase: string, exitCode: number) => ({
    metadata: { creationTimestamp: made },
    status: { phase, containerStatuses: [{ name: "install", state: { terminated: { exitCode } } }] as never },
  });
  assertEquals(cacheState(pvc("Bound"), job(), [filled("Failed", FILL_FAILED_EXIT)], [], t0), "failed");
  assertEquals(
    cacheState(pvc("Bound"), job(), [pod("Failed", 0), filled("Failed", FILL_FAILED_EXIT)], [], t0),
    "failed",
  );
  // ... but not while another try runs (an old pod on a lost node that meets its folder gone), nor a crash
  assertEquals(
    cacheState(pvc("Bound"), job(), [filled("Failed", FILL_FAILED_EXIT), pod("Running")], [], t0),
    "waiting",
  );
  assertEquals(cacheState(pvc("Bound"), job(), [filled("Failed", 137)], [], t0), "waiting");
  // no ReadWriteMany: the provisioner's event, or Pending past the bound with the Job waiting for it
  const ev = {
    reason: "ProvisioningFailed",
    involvedObject: { kind: "PersistentVolumeClaim", name: CLI_CACHE_PVC },
  };
  assertEquals(cacheState(pvc("Pending"), job(), [pod("Pending")], [ev], t0), "unavailable");
  assertEquals(
    cacheState(pvc("Pending"), job(), [pod("Pending")], [{
      ...ev,
      involvedObject: { ...ev.involvedObject, name: "x" },
    }], t0),
    "waiting",
  );
  assertEquals(cacheState(pvc("Pending"), job(), [pod("Pending")], [], t0 + PENDING_BOUND_MS / 2), "waiting");
  assertEquals(
    cacheState(pvc("Pending"), job(), [pod("Pending")], [], t0 + PENDING_BOUND_MS + 1),
    "unavailable",
  );
  // the verdict recorded: unavailable before anything else is read
  assertEquals(
    cacheState(pvc("Bound", { [CLI_CACHE_VERDICT]: CLI_CACHE_UNAVAILABLE }), undefined, [], [], t0),
    "unavailable",
  );
  // the install Job's owner found the CLI in the image, recorded it and deleted the Job: a start that
  // waited on that Job reads the claim (it waited out its whole timeout when it read only the pod)
  const key = "kodama.dev/in-image-codex-abc";
  assertEquals(cacheState(pvc("Bound", { [key]: "img" }), undefined, [], [], t0, key), "in-image");
  assertEquals(
    cacheState(pvc("Bound", { [key]: "img" }), undefined, [], [], t0, "kodama.dev/in-image-x"),
    "waiting",
  );
});

Deno.test("cli cache: the install's CA bundle is the session's and this machine's certificates, each once", async () => {
  const { joinCerts } = await import("../../../src/agent/clicache/clicachestart.ts");
  const a = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  const b = "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n";
  const key = "-----BEGIN PRIVATE KEY-----\nKKKK\n-----END PRIVATE KEY-----\n";
  assertEquals(joinCerts(undefined, undefined), undefined);
  assertEquals(joinCerts(a + key, undefined), a);
  assertEquals(joinCerts(a, a + b), a + b);
  assertEquals(joinCerts(undefined, key), undefined);
});
