import { assert, assertEquals, assertThrows } from "@kodama/test-assert";
import { configSchema } from "../../../src/config/schema.ts";
import {
  buildSession,
  editorConfigHook,
  keepAliveCommand,
  redactedList,
} from "../../../src/session/spec/manifests.ts";
import { WATCHDOG, watchdogArgs } from "../../../src/session/lifecycle/lifetime.ts";
import KEEPALIVE from "../../../src/session/pod/keepalive.sh" with { type: "text" };
import EDITORCONFIG from "../../../src/session/pod/editorconfig.sh" with { type: "text" };
import { EDITOR_MOUNT, resolveSpec, specOf } from "../../../src/session/spec/spec.ts";
import { ExitCode, type KodamaError } from "../../../src/base/errors.ts";

const cfg = configSchema.parse({});
const now = new Date("2026-01-15T14:30:00Z");

function spec(
  extra: Partial<Parameters<typeof resolveSpec>[0]> = {},
  envVars: string[] = [],
  editorFiles: string[] = [],
) {
  return resolveSpec({ name: "demo", namespace: "dev", ...extra }, cfg, { envVars, editorFiles, now });
}

Deno.test("settings: flags over config over defaults, canonical quantities", () => {
  const s = spec({
    cpu: "0.5",
    memory: "1.5Gi",
    image: "busybox:1.36",
    storage: "20Gi",
    storageClass: "fast",
  });
  assertEquals(s, {
    v: 1,
    name: "demo",
    namespace: "dev",
    image: "busybox:1.36",
    cpu: "500m",
    memory: "1536Mi",
    storage: { workspace: "20Gi", home: "1Gi", storageClass: "fast" },
    workdir: "/workspace",
    shell: "/bin/bash",
    sandbox: { egress: { deny: [] } },
    envVars: [],
    editorFiles: [],
    createdAt: "2026-01-15T14:30:00Z",
  });
  const d = spec();
  assertEquals([d.image, d.cpu, d.memory, d.storage.workspace], [cfg.defaults.image, "1", "2Gi", "10Gi"]);
  const custom = configSchema.parse({
    defaults: { resources: { cpu: "2", storage: "5Gi" }, serviceAccount: "agent" },
  });
  const c = resolveSpec({ name: "x", namespace: "dev" }, custom, { envVars: [], editorFiles: [], now });
  assertEquals([c.cpu, c.ephemeralStorage, c.serviceAccount], ["2", "5Gi", "agent"]);
});

Deno.test("settings: bad input is exit 2 before anything else", () => {
  for (
    const f of [{ name: "Bad_Name" }, { cpu: "lots" }, { memory: "x" }, { storage: "0" }, {
      storageClass: "No_Such",
    }]
  ) {
    const e = assertThrows(() => spec(f)) as KodamaError;
    assertEquals(e.code, ExitCode.USAGE, JSON.stringify(f));
  }
});

Deno.test("objects: labels, the settings annotation, volumes, and a pod that runs in an image with only sh", () => {
  const s = spec({ image: "busybox:1.36", cpu: "0.5" }, ["A", "B"], ["helix-config.toml"]);
  const o = buildSession(s, { env: { A: "1", B: "é" }, editor: { "helix-config.toml": "theme = 'x'" } });
  const all = [o.secret, ...o.pvcs, o.configMap!, o.pod];
  for (const obj of all) {
    // a PVC says which of the session's volumes it is (a kept one is found by it, whatever its name)
    const which = obj === o.pvcs[0] ? "workspace" : obj === o.pvcs[1] ? "home" : undefined;
    assertEquals(obj.metadata?.labels, {
      "app.kubernetes.io/managed-by": "kodama",
      "kodama.dev/session": "demo",
      ...(which ? { "kodama.dev/volume": which } : {}),
    });
    assertEquals(specOf(obj), s);
    assertEquals(obj.metadata?.namespace, "dev");
  }
  assertEquals(all.map((x) => `${x.kind}/${x.metadata?.name}`), [
    "Secret/kodama-env-demo",
    "PersistentVolumeClaim/kodama-workspace-demo",
    "PersistentVolumeClaim/kodama-claude-home-demo",
    "ConfigMap/kodama-editor-config-demo",
    "Pod/kodama-demo",
  ]);
  assertEquals(o.secret.data, { A: "MQ==", B: "w6k=" });
  assertEquals(o.pvcs[0].spec, {
    accessModes: ["ReadWriteOnce"],
    resources: { requests: { storage: "10Gi" } },
  });
  const pod = o.pod.spec!;
  assertEquals(pod.securityContext, {
    fsGroup: 1000,
    fsGroupChangePolicy: "OnRootMismatch",
    seccompProfile: { type: "RuntimeDefault" },
  });
  const c = pod.containers[0];
  assertEquals(c.workingDir, "/workspace");
  assertEquals(c.command?.slice(0, 2), ["sh", "-c"]);
  assertEquals(c.resources, {
    requests: { cpu: "125m", memory: "512Mi" },
    limits: { cpu: "500m", memory: "2Gi" },
  });
  assertEquals(c.envFrom, [{ secretRef: { name: "kodama-env-demo", optional: true } }]);
  assertEquals(c.env?.find((e) => e.name === "HOME")?.value, "/home/kodama");
  assertEquals(c.volumeMounts?.map((m) => `${m.name}:${m.mountPath}`), [
    "workspace:/workspace",
    "home:/home/kodama",
    "editor-config:/etc/kodama/editor",
  ]);
  assertEquals(pod.volumes?.map((v) => v.persistentVolumeClaim?.claimName ?? v.configMap?.name), [
    "kodama-workspace-demo",
    "kodama-claude-home-demo",
    "kodama-editor-config-demo",
  ]);
  assertEquals(pod.serviceAccountName, undefined);
});

Deno.test("keep-alive: POSIX sh, sleep when present; the editor configs by the postStart hook, only what is there", () => {
  const plain = keepAliveCommand(spec());
  // a constant program (pod/keepalive.sh)
  assertEquals(plain, ["sh", "-c", KEEPALIVE, "kodama-session"]);
  assert(KEEPALIVE.includes(`trap on_term TERM INT`));
  assert(/on_term\(\) \{\s+kill "\$!" 2>\/dev\/null\n/.test(KEEPALIVE));
  assert(KEEPALIVE.includes("sleep 86400 & wait $!"));
  assert(!KEEPALIVE.includes("$$"), "Kubernetes turns $$ in a command into $");
  assert(!EDITORCONFIG.includes("$$"), "Kubernetes turns $$ in a command into $");
  // no editor files: no hook
  assertEquals(editorConfigHook(spec()), undefined);
  assertEquals(buildSession(spec(), { env: {}, editor: {} }).pod.spec!.containers[0].lifecycle, undefined);
  const s = spec({}, [], ["helix-config.toml", "zellij-config.kdl"]);
  const hook = editorConfigHook(s)!;
  assertEquals(hook.slice(0, 5), ["sh", "-c", EDITORCONFIG, "kodama-editor", EDITOR_MOUNT]);
  assertEquals(
    hook[5],
    "helix-config.toml:.config/helix/config.toml zellij-config.kdl:.config/zellij/config.kdl",
  );
  assert(!hook.join(" ").includes("languages.toml"));
  // the session container runs it before it counts as running (the kubelet's postStart)
  assertEquals(
    buildSession(s, { env: {}, editor: {} }).pod.spec!.containers[0].lifecycle,
    { postStart: { exec: { command: hook } } },
  );
  // idle stop: the watchdog takes over, the main process marked as its own
  const idle = keepAliveCommand({ ...spec(), idleStop: 1800 });
  assertEquals(idle.slice(0, 5), [
    "sh",
    "-c",
    'KODAMA_IDLE_IGNORE=1 exec sh -c "$0" "$@"',
    KEEPALIVE,
    "kodama-session",
  ]);
  assertEquals(idle.slice(5), [WATCHDOG, ...watchdogArgs(1800)]);
});

/** A process's children (pgrep -P: procps on Linux, the base system on macOS). */
/** The `sleep` processes whose parent is `pid` (not the `cp` or `mkdir` it runs before). */
async function sleepsOf(pid: number): Promise<number[]> {
  const r = await new Deno.Command("pgrep", { args: ["-x", "-P", String(pid), "sleep"], stdout: "piped" })
    .output();
  return new TextDecoder().decode(r.stdout).split("\n").filter(Boolean).map(Number);
}

function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name:
    "editor hook: the repository's editor files replace the copy in HOME, defaults only fill; keep-alive waits",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "kodama-keepalive-" });
    const dir = `${root}/editor`, home = `${root}/home`;
    await Deno.mkdir(dir);
    await Deno.mkdir(`${home}/.config/helix`, { recursive: true });
    for (const f of ["helix-config.toml", "helix-languages.toml", "zellij-config.kdl"]) {
      await Deno.writeTextFile(`${dir}/${f}`, `from ${f}\n`);
    }
    await Deno.writeTextFile(`${home}/.config/helix/config.toml`, "edited\n");
    await Deno.writeTextFile(`${home}/.config/helix/languages.toml`, "edited\n");
    const s = { ...spec({}, [], ["helix-config.toml"]), editor: true };
    const hook = editorConfigHook(s)!;
    hook[4] = dir;
    const h = await new Deno.Command("sh", { args: hook.slice(1), env: { HOME: home } }).output();
    assertEquals(h.code, 0);
    // a hook that cannot copy (no such folder) still succeeds: the kubelet would kill the container
    const bad = editorConfigHook(s)!;
    bad[4] = `${root}/missing`;
    assertEquals(
      (await new Deno.Command("sh", { args: bad.slice(1), env: { HOME: home } }).output()).code,
      0,
    );
    const argv = keepAliveCommand(s);
    const c = new Deno.Command("sh", { args: argv.slice(1), env: { HOME: home }, stderr: "piped" }).spawn();
    try {
      let sleeper: number[] = [];
      for (const end = Date.now() + 30_000; Date.now() < end && !sleeper.length;) {
        sleeper = await sleepsOf(c.pid);
        if (!sleeper.length) await new Promise((r) => setTimeout(r, 25));
      }
      assertEquals(sleeper.length, 1, "the keep-alive's sleep");
      assertEquals(await Deno.readTextFile(`${home}/.config/helix/config.toml`), "from helix-config.toml\n");
      assertEquals(await Deno.readTextFile(`${home}/.config/helix/languages.toml`), "edited\n");
      assertEquals(await Deno.readTextFile(`${home}/.config/zellij/config.kdl`), "from zellij-config.kdl\n");
      // its sleep goes with it (outside a pod nothing else would end it: it was left sleeping a day)
      c.kill("SIGTERM");
      assertEquals((await c.status).code, 0, "TERM ends it at once, cleanly");
      for (let i = 0; i < 200 && alive(sleeper[0]); i++) await new Promise((r) => setTimeout(r, 25));
      assert(!alive(sleeper[0]), "the sleep ended with it");
    } finally {
      try {
        c.kill("SIGKILL");
      } catch { /* ended */ }
      await c.status;
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test("dry-run list: Secret values redacted, nothing else changed", () => {
  const o = buildSession(spec({}, ["TOKEN"]), { env: { TOKEN: "s3cr3t-value" }, editor: {} });
  const list = redactedList(o);
  const text = JSON.stringify(list);
  assert(!text.includes("s3cr3t-value") && !text.includes(btoa("s3cr3t-value")), text);
  assertEquals((list[0] as { stringData: unknown }).stringData, { TOKEN: "<redacted>" });
  // in creation order: the egress policy right after the Secret that claims the name, the Job (which owns
  // the pod) last
  assertEquals(list.map((o) => o.kind), [
    "Secret",
    "NetworkPolicy",
    "PersistentVolumeClaim",
    "PersistentVolumeClaim",
    "Job",
  ]);
});

Deno.test("editor defaults: the ConfigMap has all three files; defaults only fill, repo files replace", async () => {
  const { editorData, EDITOR_DEFAULTS } = await import("../../../src/session/spec/editor.ts");
  const s = { ...spec({}, [], ["helix-config.toml"]), editor: true };
  const data = editorData({ "helix-config.toml": "theme = 'repo'\n" });
  assertEquals(Object.keys(data).sort(), ["helix-config.toml", "helix-languages.toml", "zellij-config.kdl"]);
  assertEquals(data["helix-config.toml"], "theme = 'repo'\n");
  assertEquals(data["zellij-config.kdl"], EDITOR_DEFAULTS["zellij-config.kdl"]);
  const o = buildSession(s, { env: {}, editor: data });
  assertEquals(o.configMap?.data, data);
  const argv = editorConfigHook(s)!;
  // the repository's file: replaced at each start; the defaults: only where nothing is
  assertEquals(argv.slice(5, 7), [
    "helix-config.toml:.config/helix/config.toml",
    "helix-languages.toml:.config/helix/languages.toml zellij-config.kdl:.config/zellij/config.kdl",
  ]);
  // editor.enabled false: no ConfigMap, no mount
  const off = buildSession(spec(), { env: {}, editor: {} });
  assertEquals(off.configMap, undefined);
  assert(!off.pod.spec!.volumes!.some((v) => v.configMap), "an editor volume without a ConfigMap");
});
