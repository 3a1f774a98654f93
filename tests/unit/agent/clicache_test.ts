/**
 * The namespace's agent-CLI cache: its manifests (src/agent/clicache.ts) and its two pod programs run for
 * real under dash with a fake npm: the install pod's fill (pod/cachefill.sh) and a run's lookup
 * (pod/install.sh) that then needs no npm at all.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { configSchema } from "../../../src/config/schema.ts";
import { buildPod } from "../../../src/session/spec/manifests.ts";
import { resolveSpec } from "../../../src/session/spec/spec.ts";
import {
  buildCachePVC,
  buildInstallPod,
  cacheDir,
  cacheState,
  cacheUnavailable,
  CLI_CACHE_PATH,
  CLI_CACHE_PVC,
  CLI_CACHE_UNAVAILABLE,
  CLI_CACHE_VERDICT,
  fillArgv,
  IN_IMAGE_EXIT,
  installPodName,
  PENDING_BOUND_MS,
} from "../../../src/agent/clicache.ts";
import { PRESETS } from "../../../src/agent/presets.ts";
import INSTALL_SH from "../../../src/agent/pod/install.sh" with { type: "text" };

const spec = (config: Record<string, unknown> = {}, flags: Record<string, unknown> = {}) =>
  resolveSpec({ name: "demo", namespace: "dev", ...flags }, configSchema.parse(config), {
    envVars: [],
    editorFiles: [],
    now: new Date("2026-01-01T00:00:00Z"),
  });

Deno.test("cli cache: the PVC is ReadWriteMany and no session's; the install pod runs as a session pod would", () => {
  const pvc = buildCachePVC("dev");
  assertEquals(pvc.metadata?.name, CLI_CACHE_PVC);
  assertEquals(pvc.spec?.accessModes, ["ReadWriteMany"]);
  // no session label: delete and gc select by it, so they never take the cache
  assert(!Object.keys(pvc.metadata?.labels ?? {}).some((k) => k.startsWith("kodama.dev/session")));
  assert(!cacheUnavailable(pvc));
  pvc.metadata!.annotations = { [CLI_CACHE_VERDICT]: CLI_CACHE_UNAVAILABLE };
  assert(cacheUnavailable(pvc));

  const i = PRESETS.claude.install;
  assertEquals(installPodName(i), `kodama-agent-clis-install-claude-${i.version.replaceAll(".", "-")}`);
  assert(installPodName({ ...i, version: "1.0.0-Beta.1+x".repeat(9) }).length <= 63);
  assertEquals(cacheDir(CLI_CACHE_PATH, i), `/opt/kodama-clis/${i.package}@${i.version}`);

  const s = spec({}, { scheduling: { imagePullSecrets: ["reg"] } });
  const session = buildPod(s);
  const pod = buildInstallPod(s, i);
  const c = pod.spec!.containers[0];
  assertEquals(c.image, s.image);
  assertEquals(c.securityContext, session.spec!.containers[0].securityContext);
  assertEquals(pod.spec!.securityContext, session.spec!.securityContext);
  assertEquals(pod.spec!.imagePullSecrets, [{ name: "reg" }]);
  assertEquals(pod.spec!.automountServiceAccountToken, false);
  assertEquals(pod.spec!.restartPolicy, "Never");
  assertEquals(c.volumeMounts?.find((m) => m.name === "cache")?.readOnly, undefined);
  assertEquals(c.command?.slice(-4), ["/cache", i.package, i.version, i.bin]);
});

Deno.test("cli cache: a session pod mounts the cache read-only only when asked to", () => {
  const off = buildPod(spec());
  assert(!off.spec!.volumes!.some((v) => v.persistentVolumeClaim?.claimName === CLI_CACHE_PVC));
  const on = buildPod({ ...spec(), cliCache: true });
  const vol = on.spec!.volumes!.find((v) => v.persistentVolumeClaim?.claimName === CLI_CACHE_PVC);
  assertEquals(vol?.persistentVolumeClaim?.readOnly, true);
  const m = on.spec!.containers[0].volumeMounts!.find((x) => x.name === vol!.name);
  assertEquals(m, { name: vol!.name, mountPath: CLI_CACHE_PATH, readOnly: true });
});

Deno.test("cli cache: filled once by the install pod's program, then found by a run without npm", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bin = `${dir}/fakebin`;
    await Deno.mkdir(bin);
    // a fake npm: counts its calls, writes noise, puts the program where `npm --prefix P` would
    await Deno.writeTextFile(
      `${bin}/npm`,
      [
        "#!/bin/sh",
        `echo "npm $*" >> "${dir}/calls"`,
        `echo "npm http fetch GET 200 https://registry.npmjs.org/x 12ms"`,
        `while [ "$1" != --prefix ]; do shift; done`,
        `mkdir -p "$2/node_modules/.bin" && printf '#!/bin/sh\\necho fake-cli\\n' > "$2/node_modules/.bin/gemini"`,
        `chmod +x "$2/node_modules/.bin/gemini"`,
      ].join("\n") + "\n",
    );
    await Deno.chmod(`${bin}/npm`, 0o755);
    const i = PRESETS.gemini.install;
    const cache = `${dir}/cache`;
    const run = async (argv: string[], env: Record<string, string>) => {
      const out = await new Deno.Command(argv[0], {
        args: argv.slice(1),
        env,
        stdout: "piped",
        stderr: "piped",
      })
        .output();
      return {
        code: out.code,
        stdout: new TextDecoder().decode(out.stdout),
        stderr: new TextDecoder().decode(out.stderr),
      };
    };
    const fill = fillArgv(i).map((a) => a === "/cache" ? cache : a);
    const env = { PATH: `${bin}:/usr/bin:/bin`, HOME: dir };
    for (let n = 0; n < 2; n++) {
      const r = await run(["dash", ...fill.slice(1)], env);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stderr, "");
    }
    // installed once; complete, and nothing half-done left beside it
    assertEquals((await Deno.readTextFile(`${dir}/calls`)).trim().split("\n").length, 1);
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
    assertEquals((await Deno.readTextFile(`${dir}/calls`)).trim().split("\n").length, 1);
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

Deno.test("cli cache: its state from the install pod, the claim and the claim's events", () => {
  const pvc = (phase: string, annotations: Record<string, string> = {}) => ({
    metadata: { name: CLI_CACHE_PVC, uid: "u1", annotations },
    status: { phase },
  });
  const pod = (phase?: string, exitCode?: number, made = "2026-01-01T00:00:00Z") => ({
    metadata: { creationTimestamp: made as unknown as Date },
    status: {
      ...(phase ? { phase } : {}),
      ...(exitCode !== undefined
        ? { containerStatuses: [{ state: { terminated: { exitCode } } }] as never }
        : {}),
    },
  });
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  assertEquals(cacheState(pvc("Bound"), pod("Succeeded"), [], t0), "ready");
  assertEquals(cacheState(pvc("Bound"), pod("Running"), [], t0 + 10 * PENDING_BOUND_MS), "waiting");
  assertEquals(cacheState(pvc("Bound"), pod("Failed", IN_IMAGE_EXIT), [], t0), "in-image");
  assertEquals(cacheState(pvc("Bound"), pod("Failed", 1), [], t0), "failed");
  // no ReadWriteMany: the provisioner's event, or Pending past the bound with the pod waiting for it
  const ev = {
    reason: "ProvisioningFailed",
    involvedObject: { kind: "PersistentVolumeClaim", name: CLI_CACHE_PVC },
  };
  assertEquals(cacheState(pvc("Pending"), pod("Pending"), [ev], t0), "unavailable");
  assertEquals(
    cacheState(pvc("Pending"), pod("Pending"), [{
      ...ev,
      involvedObject: { ...ev.involvedObject, name: "x" },
    }], t0),
    "waiting",
  );
  assertEquals(cacheState(pvc("Pending"), pod("Pending"), [], t0 + PENDING_BOUND_MS / 2), "waiting");
  assertEquals(cacheState(pvc("Pending"), pod("Pending"), [], t0 + PENDING_BOUND_MS + 1), "unavailable");
  // the verdict recorded: unavailable before anything else is read
  assertEquals(
    cacheState(pvc("Bound", { [CLI_CACHE_VERDICT]: CLI_CACHE_UNAVAILABLE }), undefined, [], t0),
    "unavailable",
  );
  // the install pod's owner found the CLI in the image, recorded it and deleted the pod: a start that
  // waited on that pod reads the claim (it waited out its whole timeout when it read only the pod)
  const key = "kodama.dev/in-image-codex-abc";
  assertEquals(cacheState(pvc("Bound", { [key]: "img" }), undefined, [], t0, key), "in-image");
  assertEquals(
    cacheState(pvc("Bound", { [key]: "img" }), undefined, [], t0, "kodama.dev/in-image-x"),
    "waiting",
  );
});
