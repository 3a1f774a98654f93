/**
 * Helpers for the session tests: every kodama call runs as the restricted `dev` user in namespace `dev`
 * (context `dev`), with its own KODAMA_HOME and working directory.
 */
import { kubectl, type TestCluster } from "../cluster/harness.ts";
import { runKodama, type RunResult, spawnKodama } from "./_run.ts";
import { NETWORK_ENV, PRESETS } from "../../src/agent/presets/presets.ts";
import { clusterTest, type ClusterTestOptions } from "../cluster/fixture.ts";
import { onTimeout } from "../_timeout.ts";
import { join } from "node:path";
import { signalHolder } from "../../src/base/proc/liveness.ts";
import { syncDir } from "../../src/session/sync/store.ts";
import { DAEMON_CLAIM } from "../../src/session/sync/column.ts";
import { Kube } from "../../src/kube/client.ts";
import { attachSession } from "../../src/session/access/attach.ts";
import { KodamaError } from "../../src/base/errors.ts";
import { memorySink } from "../../src/base/sink.ts";
import { sessionObject } from "../../src/session/state/list.ts";
import { requireSession } from "../../src/session/state/cluster.ts";
import { statusCommand } from "../../src/session/sync/commands.ts";
import { deleteSession } from "../../src/session/lifecycle/lifecycle.ts";

/** The image sessions use in tests: one the test server runs and a real test cluster can pull. */
export const SESSION_IMAGE = Deno.env.get("KODAMA_TEST_IMAGE") ?? "busybox:1.36";

export interface SessionWorld {
  c: TestCluster;
  /** KODAMA_HOME of this "machine" */
  home: string;
  /** the working directory kodama runs in (a project dir) */
  cwd: string;
  /** run `kodama --kubeconfig … --context dev ARGS` */
  k(
    args: string[],
    o?: { home?: string; stdin?: string; env?: Record<string, string>; cwd?: string },
  ): Promise<RunResult>;
  spawn(args: string[], o?: { home?: string; env?: Record<string, string> }): Deno.ChildProcess;
  /**
   * `kodama attach NAME --command SCRIPT` in this process: the same feature function (attachSession) on one
   * kept connection, for tests that only look into (or prepare) a session's pod. `attach --command` itself
   * keeps its black-box tests (session_attach_test.ts); a process each time cost ~0.4 CPU-s (#63).
   */
  sh(name: string, script: string): Promise<RunResult>;
  /** one kept in-process connection as this world's user (context), for the in-process looks */
  kube(): Promise<Kube>;
  /** `session get NAME -o json`'s `.status`, in this process (for waits that poll it) */
  status(name: string): Promise<Record<string, unknown>>;
  /** `sync status NAME -o json` of this world's home, in this process (for waits that poll it) */
  syncStatus(name: string): Promise<Record<string, unknown>>;
  /** run the real kubectl as dev in namespace dev */
  kc(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  cleanup(): Promise<void>;
}

const FORWARDED_HERE = [
  ...NETWORK_ENV,
  ...Object.values(PRESETS).flatMap((p) => p.authEnv),
];

/** `context`: the kubeconfig context kodama and kubectl use (default `dev`, whose namespace is `dev`). */
export async function sessionWorld(c: TestCluster, context = "dev"): Promise<SessionWorld> {
  const home = await Deno.makeTempDir({ prefix: "kodama-home-" });
  const cwd = await Deno.makeTempDir({ prefix: "kodama-project-" });
  const base = (a: string[]) => ["--kubeconfig", c.kubeconfig, "--context", context, ...a];
  let kube: Promise<Kube> | undefined;
  const connect = () => kube ??= Kube.connect({ kubeconfig: c.kubeconfig, context });
  // the developer's own git config (a global excludes file would change what sync sends) stays out
  const env = (h: string | undefined, more?: Record<string, string>) => ({
    KODAMA_HOME: h ?? home,
    GIT_CONFIG_GLOBAL: "/dev/null",
    XDG_CONFIG_HOME: `${home}/xdg`,
    // this machine's own Codex login (~/.codex/auth.json, which `gateway ensure` reads) stays out too
    CODEX_HOME: `${home}/codex`,
    // what this machine's environment would send along with a session's agent (proxies, a CA bundle, an
    // endpoint: src/agent/presets/presets.ts) stays out unless a test gives it
    ...Object.fromEntries(FORWARDED_HERE.map((k) => [k, ""])),
    ...more,
  });
  return {
    c,
    home,
    cwd,
    k: (args, o = {}) =>
      runKodama(base(args), {
        cwd: o.cwd ?? cwd,
        stdin: o.stdin,
        env: env(o.home, o.env),
      }),
    spawn: (args, o = {}) => spawnKodama(base(args), { cwd, env: env(o.home, o.env) }),
    kube: connect,
    sh: async (name, script) => await attachInProcess(await connect(), name, script),
    status: async (name) => {
      const k = await connect();
      return sessionObject(await requireSession(k, k.namespace, name)).status as Record<string, unknown>;
    },
    syncStatus: async (name) => {
      const out = memorySink();
      await statusCommand(name, { output: "json" }, out, home);
      return JSON.parse(out.text());
    },
    kc: (args) => kubectl(c, ["-n", "dev", ...args], { context }),
    cleanup: async () => {
      if (kube) (await kube.catch(() => undefined))?.close();
      await Deno.remove(home, { recursive: true }).catch(() => {});
      await Deno.remove(cwd, { recursive: true }).catch(() => {});
    },
  };
}

/** `attach NAME --command SCRIPT` as the CLI runs it (no terminal), its output and exit code collected. */
async function attachInProcess(kube: Kube, name: string, script: string): Promise<RunResult> {
  const out = memorySink(), err = memorySink();
  try {
    const code = await attachSession(kube, kube.namespace, name, {
      command: script,
      shell: "sh",
      out,
      err,
      stdinIsTerminal: false,
      stdoutIsTerminal: false,
    });
    return { code, stdout: out.text(), stderr: err.text() };
  } catch (e) {
    if (!(e instanceof KodamaError)) throw e;
    return { code: e.code, stdout: out.text(), stderr: `${err.text()}error: ${e.message}\n` };
  }
}

/**
 * Remove a session and its volumes (best effort; tests call it in `finally`): what `delete NAME --force
 * --purge` does, through the same feature function in this process, with the world's home for the local
 * state. `delete` keeps its black-box tests (session_test and others call `w.k(["delete", …])`).
 */
export async function purge(w: SessionWorld, name: string): Promise<void> {
  const quiet = memorySink();
  try {
    const kube = await w.kube();
    await deleteSession(kube, kube.namespace, name, {
      force: true,
      purge: true,
      interactive: false,
      confirm: () => Promise.resolve(false),
      out: quiet,
      err: quiet,
      home: w.home,
    });
  } catch { /* already gone, or the cluster is */ }
}

/** Read a child's stderr until `pattern` shows up; returns everything read so far. */
export async function readUntil(
  stream: ReadableStream<Uint8Array>,
  pattern: RegExp,
): Promise<{ text: string; rest: ReadableStreamDefaultReader<Uint8Array> }> {
  const reader = stream.getReader();
  const dec = new TextDecoder();
  let text = "";
  while (!pattern.test(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += dec.decode(value, { stream: true });
  }
  return { text, rest: reader };
}

/** Drain a reader to the end (text). */
export async function drain(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const dec = new TextDecoder();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return text;
    text += dec.decode(value, { stream: true });
  }
}

/** Every process's command line on this machine, once (`ps -eo args`). */
export async function psArgs(): Promise<string> {
  const r = await new Deno.Command("ps", { args: ["-eo", "args"], stdout: "piped", stderr: "null" }).output();
  return new TextDecoder().decode(r.stdout);
}

/**
 * Wait for a child while taking `ps` snapshots of the whole machine (test-cluster pods are local
 * processes, so theirs too) until it ends: what a secret must never show up in.
 */
export async function runScanningPs(
  child: Deno.ChildProcess,
): Promise<{ code: number; stdout: string; stderr: string; snapshots: string[] }> {
  let running = true;
  const snapshots: string[] = [];
  const scan = (async () => {
    while (running) snapshots.push(await psArgs());
  })();
  const out = await child.output();
  running = false;
  await scan;
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr), snapshots };
}

/**
 * `withSessionWorld(name, { seed }, fn)`: a test with its own cluster (clusterTest) and a session world on
 * it, whose home and project directories are removed when `fn` ends, however it ends. `context` as in
 * `sessionWorld`. The cluster is seeded with the demo's namespaces and none of its pods unless `seed` says
 * otherwise (tests/cluster/seed.ts "sessions").
 */
export function withSessionWorld(
  name: string,
  o: ClusterTestOptions & { context?: string },
  fn: (t: Deno.TestContext, w: SessionWorld) => Promise<void>,
): void {
  const { context, ...start } = o;
  clusterTest(name, { seed: "sessions", ...start }, async (t, c) => {
    const w = await sessionWorld(c, context);
    // a hung test's finally never runs: its background syncs (detached, out of trackChild's reach) would
    // retry against the stopped cluster for as long as the machine runs
    onTimeout(() => stopSyncDaemons(w.home));
    try {
      await fn(t, w);
    } finally {
      await w.cleanup();
    }
  });
}

/**
 * SIGKILL every background sync of a home's sessions: the process holding each one's daemon claim
 * (src/base/proc/liveness.ts: never a pid a dead sync left behind). Synchronous, for `onTimeout`.
 */
export function stopSyncDaemons(home: string): void {
  let dirs: Deno.DirEntry[];
  try {
    dirs = [...Deno.readDirSync(join(home, "sync"))];
  } catch {
    return;
  }
  for (const d of dirs) signalHolder(syncDir(d.name, home), DAEMON_CLAIM, "SIGKILL");
}

/**
 * The session's pod now (issue 80: its Job names it `kodama-NAME-x7k2p`, anew when the cluster replaces it):
 * the live one of the session's pods (not ended, not being deleted, the newest), else the newest; "" for
 * none. What `kubectl get pods -l kodama.dev/session=NAME` shows, picked as kodama picks it.
 */
export async function podOf(w: Pick<SessionWorld, "kc">, name: string): Promise<string> {
  const r = await w.kc(["get", "pods", "-l", `kodama.dev/session=${name}`, "-o", "json"]);
  if (r.code !== 0) return "";
  const { sessionPod } = await import("../../src/session/state/sessionpod.ts");
  return sessionPod(JSON.parse(r.stdout).items ?? [])?.metadata?.name ?? "";
}

/** A `kodama ui` this test spawned, logged in: the page's origin and credentials, and its end. */
export interface UiPage {
  login: string;
  origin: string;
  /** `Bearer …`: the page's session credential */
  authorization: string;
  csrf: string;
  close(): Promise<void>;
}

/** Reads the login URL `kodama ui` prints, opens the page and takes its credentials (asserted present). */
export async function openUi(ui: Deno.ChildProcess): Promise<UiPage> {
  const { text, rest } = await readUntil(ui.stdout, /\n/);
  rest.releaseLock();
  const login = text.trim();
  const page = await (await fetch(login)).text();
  const session = /<meta name="kodama-session" content="([0-9a-f]+)">/.exec(page)?.[1] ?? "";
  const csrf = /name="csrf-token" content="([^"]+)"/.exec(page)?.[1] ?? "";
  if (!session || !csrf) throw new Error("the page carries no credentials");
  return {
    login,
    origin: new URL(login).origin,
    authorization: `Bearer ${session}`,
    csrf,
    close: async () => {
      ui.kill("SIGTERM");
      await ui.status;
      await ui.stdout.cancel().catch(() => {});
    },
  };
}
