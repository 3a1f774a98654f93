import { assert, assertEquals, assertMatch, assertRejects, assertStringIncludes } from "@kodama/test-assert";
import { runSandboxed, type SandboxOptions } from "../../../src/workflow/sandbox/host.ts";
import { denoPermissions, describeDenial } from "../../../src/workflow/sandbox/permissions.ts";
import { memorySink } from "../../../src/base/sink.ts";
import type { Permissions } from "../../../src/workflow/schema.ts";
import { checkedScript } from "../../../src/workflow/sandbox/graph.ts";
import { fileURLToPath } from "node:url";
import { envTest, lockEnv } from "../../_env_lock.ts";
import { waitUntil } from "../../cluster/harness.ts";

const scripts = new URL("../../fixtures/workflows/scripts/", import.meta.url);
const REPO = fileURLToPath(new URL("../../../", import.meta.url));
// snapshots of checked scripts go to kodama's cache: a private one for this file
// each test sets it while it holds the environment lock (tests/_env_lock.ts), not the whole file
const sandboxHome = await Deno.makeTempDir({ prefix: "kodama-sandbox-test-" });
const test = (name: string, fn: () => void | Promise<void>) =>
  envTest(name, fn, { KODAMA_HOME: sandboxHome });

/** A fixture script, checked and snapshotted the way a script step runs it. */
function script(name: string | URL, readPaths: string[] = []) {
  const path = typeof name === "string" && !name.startsWith("file:")
    ? fileURLToPath(new URL(name, scripts))
    : fileURLToPath(name);
  return checkedScript(path, { root: path.startsWith(REPO) ? REPO : "/tmp", readPaths });
}
/** The file's own fixtures, snapshotted into the file's own cache: under the lock, as a test would. */
async function fixtures() {
  const unlock = await lockEnv(["KODAMA_HOME"]);
  Deno.env.set("KODAMA_HOME", sandboxHome);
  try {
    return { probe: await script("probe.ts"), smoke: await script("smoke.ts") };
  } finally {
    unlock();
  }
}
// not at whatever KODAMA_HOME another file's test has set meanwhile: that test then removes its home,
// snapshot and all, and the worker here found "Module not found" (a whole run at three jobs, stop 71)
const { probe, smoke } = await fixtures();
const withoutWhere = (e: string | undefined) => e?.replace(/ \(at [^()]*:\d+:\d+\)$/, "");

function run(perms: Permissions, inputs: Record<string, unknown>, extra: Partial<SandboxOptions> = {}) {
  const out = memorySink();
  const err = memorySink();
  const p = runSandboxed({
    mode: "script",
    script: probe,
    permissions: denoPermissions(perms, "/tmp"),
    start: {
      exportName: "default",
      ctx: { inputs, params: {}, env: {}, targets: {}, step: { id: "t", workflow: "w" } },
    },
    out,
    err,
    timeoutMs: 10_000,
    signal: new AbortController().signal,
    ...extra,
  });
  return p.then((r) => ({ ...r, out: out.text(), err: err.text() }));
}

test("permissions: workflow vocabulary -> exact Deno permissions, everything else denied", () => {
  const home = Deno.env.get("HOME");
  assertEquals(denoPermissions({}, "/repo"), {
    read: false,
    write: false,
    net: false,
    env: false,
    run: false,
    ffi: false,
    sys: false,
    import: false,
  });
  const p = denoPermissions({
    read: ["data", "~/.ssh", "/etc/hosts"],
    net: ["127.0.0.1:8080"],
    run: ["curl"],
    env: ["HOME"],
  }, "/repo");
  assertEquals(p.read, ["/repo/data", `${home}/.ssh`, "/etc/hosts"]);
  assertEquals(p.net, ["127.0.0.1:8080"]);
  assertEquals(p.run, ["curl"]);
  assertEquals(p.env, ["HOME"]);
  assertEquals(p.write, false);
  // a file is granted from baseDir (as pins.ts pins it), never from wherever the process runs
  const files = denoPermissions({ run: ["sh", "./build.sh", "bin/x", "~/t/y", "/opt/z"] }, "/repo");
  assertEquals(files.run, ["sh", "/repo/build.sh", "/repo/bin/x", `${home}/t/y`, "/opt/z"]);
});

test("permissions: Deno's refusal becomes one actionable line", () => {
  assertEquals(
    describeDenial(
      'NotCapable: Requires read access to "/root/.kube/config", run again with the --allow-read flag',
    ),
    'denied: read access to "/root/.kube/config" (add it to permissions.read)',
  );
  assertEquals(
    describeDenial('Requires net access to "127.0.0.1:4000", run again with the --allow-net flag'),
    'denied: net access to "127.0.0.1:4000" (add it to permissions.net)',
  );
  assertEquals(describeDenial("something else"), undefined);
});

const denials: [string, Record<string, unknown>, Permissions, string][] = [
  [
    "read a file",
    { probe: "read", arg: "/etc/hostname" },
    { read: ["/etc/hostname"] },
    'denied: read access to "/etc/hostname" (add it to permissions.read)',
  ],
  [
    "read an env var",
    { probe: "env", arg: "HOME" },
    { env: ["HOME"] },
    'denied: env access to "HOME" (add it to permissions.env)',
  ],
  [
    "spawn a binary",
    { probe: "spawn", arg: "deno" },
    { run: ["deno"] },
    'denied: run access to "deno" (add it to permissions.run)',
  ],
  ["write a file", { probe: "write", arg: "/tmp/kodama-sandbox-probe" }, {
    write: ["/tmp/kodama-sandbox-probe"],
  }, 'denied: write access to "/tmp/kodama-sandbox-probe" (add it to permissions.write)'],
];

for (const [what, inputs, allow, message] of denials) {
  test(`sandbox: ${what} is denied without the permission, allowed with it`, async () => {
    const denied = await run({}, inputs);
    assertEquals(denied.ok, false);
    // one line from kodama: the refusal, then where in the script it happened
    assertEquals(withoutWhere(denied.error), message);
    assertMatch(denied.error!, / \(at tests\/fixtures\/workflows\/scripts\/probe\.ts:\d+:\d+\)$/);
    const allowed = await run(allow, inputs);
    assertEquals(allowed.error, undefined);
    assert(allowed.ok, `allowed run failed: ${allowed.error}`);
  });
}

test("sandbox: fetch to a local server is denied until net lists it", async () => {
  const ac = new AbortController();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: ac.signal, onListen() {} },
    () => new Response("pong"),
  );
  const url = `http://127.0.0.1:${server.addr.port}/`;
  try {
    const denied = await run({}, { probe: "fetch", arg: url });
    assertEquals(
      withoutWhere(denied.error),
      `denied: net access to "127.0.0.1:${server.addr.port}" (add it to permissions.net)`,
    );
    const allowed = await run({ net: [`127.0.0.1:${server.addr.port}`] }, { probe: "fetch", arg: url });
    assertEquals(allowed.outputs, { body: "pong" });
  } finally {
    ac.abort();
    await server.finished;
  }
});

test("sandbox: a throw, an unhandled rejection, a syntax error fail the step with their message", async () => {
  assertEquals(
    withoutWhere((await run({}, { probe: "throw" })).error),
    "StepError: the probe failed on purpose",
  );
  const rej = await run({}, { probe: "reject" });
  assertEquals(rej.ok, false);
  assertStringIncludes(rej.error!, "nobody caught this");
  // kept as .txt so `deno fmt`/`deno lint` of the tree do not trip over it
  const broken = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.copyFile(new URL("syntax_error.ts.txt", scripts), broken);
  // a module that does not parse is refused by the graph check, before any worker starts
  const e = await assertRejects(() => script(`file://${broken}`));
  await Deno.remove(broken);
  assertEquals(e.message, `${broken}:1:1: cannot parse the module: a syntax error`);
});

test("sandbox: the time limit terminates even a busy loop", async () => {
  const t0 = Date.now();
  const r = await run({}, { probe: "spin" }, { timeoutMs: 300 });
  assertEquals(r.error, "timed out after 300ms");
  assertEquals(r.code, 5);
  assert(Date.now() - t0 < 3000);
});

test("sandbox: aborting (Ctrl-C) ends a hanging script", async () => {
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 100);
  const r = await run({}, { probe: "hang" }, { signal: ac.signal });
  assertEquals(r.ok, false);
  assertEquals(r.code, 130);
});

test("sandbox: the smoke plugin reaches the host API; 10 at once all get their messages", async () => {
  const calls: string[] = [];
  const api = (method: string, args: unknown[]) => {
    calls.push(`${method}:${args[0]}`);
    return Promise.resolve([{ name: `pod-${args[0]}` }]);
  };
  // under `deno test` the first load of a TypeScript script is type-checked; do it once, not 10 times at once
  await runSandboxed({
    mode: "script",
    script: smoke,
    permissions: denoPermissions({}, "/tmp"),
    start: {
      exportName: "default",
      ctx: { inputs: { target: "w" }, params: {}, env: {}, targets: {}, step: { id: "w", workflow: "w" } },
    },
    api: () => Promise.resolve([]),
    out: memorySink(),
    err: memorySink(),
    timeoutMs: 60_000,
    signal: new AbortController().signal,
  });
  calls.length = 0;
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => {
    const out = memorySink();
    return runSandboxed({
      mode: "script",
      script: smoke,
      permissions: denoPermissions({}, "/tmp"),
      start: {
        exportName: "default",
        ctx: {
          inputs: { target: `t${i}`, echo: i },
          params: { p: i },
          env: {},
          targets: {},
          step: { id: `s${i}`, workflow: "w" },
        },
      },
      api,
      out,
      err: memorySink(),
      timeoutMs: 60_000,
      signal: new AbortController().signal,
    }).then((r) => ({ r, out: out.text(), i }));
  }));
  for (const { r, out, i } of results) {
    assert(r.ok, r.error);
    assertEquals(r.outputs, { smoke: "smoke-ok", pods: [`pod-t${i}`], echo: i, params: { p: i } });
    assertEquals(out, `smoke-ok s${i} 1\n`);
  }
  assertEquals(calls.sort(), Array.from({ length: 10 }, (_, i) => `listPods:t${i}`).sort());
});

test("sandbox: a host API error reaches the script as a rejection", async () => {
  const out = memorySink();
  const r = await runSandboxed({
    mode: "script",
    script: smoke,
    permissions: denoPermissions({}, "/tmp"),
    start: {
      exportName: "default",
      ctx: { inputs: { target: "nope" }, params: {}, env: {}, targets: {}, step: { id: "s", workflow: "w" } },
    },
    api: () => Promise.reject(new Error('unknown target "nope": this workflow declares drive')),
    out,
    err: memorySink(),
    signal: new AbortController().signal,
  });
  assertEquals(r.error, 'unknown target "nope": this workflow declares drive');
});

test("sandbox: local mode runs only binaries listed in run, with the given env", async () => {
  const go = (run: string[] | undefined, command: string[]) => {
    const out = memorySink();
    return runSandboxed({
      mode: "local",
      permissions: denoPermissions({ run }, "/tmp"),
      start: { local: { command, cwd: "/tmp", env: { PATH: Deno.env.get("PATH") ?? "", GREETING: "hi" } } },
      out,
      err: memorySink(),
      signal: new AbortController().signal,
    }).then((r) => ({ ...r, out: out.text() }));
  };
  const denied = await go(undefined, ["sh", "-c", "echo $GREETING"]);
  assertEquals(denied.error, 'denied: run access to "sh" (add it to permissions.run)');
  const ok = await go(["sh"], ["sh", "-c", "echo $GREETING; pwd; exit 3"]);
  assertEquals(ok.outputs.exitCode, 3);
  assertEquals(ok.out, "hi\n/tmp\n");
});

test("sandbox: a timed-out local command is killed, not left behind", async () => {
  const marker = `kodama-sleep-${crypto.randomUUID().slice(0, 8)}`;
  const r = await runSandboxed({
    mode: "local",
    permissions: denoPermissions({ run: ["bash"] }, "/tmp"),
    start: {
      local: {
        command: ["bash", "-c", `exec -a ${marker} sleep 30`],
        cwd: "/tmp",
        env: { PATH: Deno.env.get("PATH") ?? "" },
      },
    },
    out: memorySink(),
    err: memorySink(),
    timeoutMs: 300,
    signal: new AbortController().signal,
  });
  assertEquals(r.error, "timed out after 300ms");
  // a killed process leaves the table once reaped: wait for that (it would stay for 30 s if not killed)
  let left: string[] = [];
  await waitUntil(
    async () => {
      const ps = await new Deno.Command("ps", { args: ["-eo", "args"], stdout: "piped" }).output();
      left = new TextDecoder().decode(ps.stdout).split("\n").filter((l) => l.includes(marker));
      return left.length === 0;
    },
    10_000,
    "the command to go",
  ).catch(() => {});
  assertEquals(left, []);
});

test("sandbox: a step started after Ctrl-C (its signal already aborted) ends interrupted, without a crash", async () => {
  for (const mode of ["local", "script"] as const) {
    const ac = new AbortController();
    ac.abort(new Error("interrupted"));
    const r = await runSandboxed({
      mode,
      ...(mode === "script" ? { script: probe } : {}),
      permissions: denoPermissions({ run: ["sleep"] }, "/tmp"),
      start: mode === "local"
        ? { local: { command: ["sleep", "30"], cwd: "/tmp", env: { PATH: Deno.env.get("PATH") ?? "" } } }
        : {
          exportName: "default",
          ctx: { inputs: {}, params: {}, env: {}, targets: {}, step: { id: "t", workflow: "w" } },
        },
      out: memorySink(),
      err: memorySink(),
      signal: ac.signal,
    });
    assertEquals(r.ok, false, mode);
    assertEquals(r.code, 130, mode);
    assertEquals(r.error, "interrupted", mode);
  }
});
