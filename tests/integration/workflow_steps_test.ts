/**
 * The cluster-facing step kinds that were only tried by hand, each run from a real workflow file
 * (a temp repo's `.kodama/workflows/`) through `kodama run` against the test cluster, asserting
 * their effects and the outputs later steps read: logs (tail, follow with a timeout), cp (into
 * every pod and back, byte-identical), port-forward (a sandboxed script fetches through it; closed
 * after the run and after its parallel group), wait (ready / phase / deleted; a timeout is exit 5),
 * tmux (panes titled with the pods, in a private tmux server). Two parts run the engine in-process
 * where the CLI process exiting would hide the effect: forwards closed when runWorkflow returns,
 * and the host API looking only at already-resolved targets (counted API lists).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import type { V1Pod } from "@kubernetes/client-node";
import { join } from "node:path";
import { deleteObjects, DEMO, KODAMA_TEST_IMAGE } from "../cluster/harness.ts";
import { hasStackTrace, runKodama } from "../cli/_run.ts";
import { HAVE_TMUX } from "./picker_tmux.ts";
import { busyboxPod, tmux as tmuxOn } from "./_helpers.ts";
import { Kube } from "../../src/kube/client.ts";
import { waitForPods } from "../../src/pods/wait.ts";
import { loadWorkflowFile } from "../../src/workflow/file.ts";
import { runWorkflow } from "../../src/workflow/engine.ts";
import { createDisplay } from "../../src/workflow/display.ts";
import { memorySink } from "../../src/base/sink.ts";
import { clusterTest } from "../cluster/fixture.ts";
import { lockEnv } from "../_env_lock.ts";

const [API0] = DEMO.apiPods;
const DRIVES = DEMO.wekaPods.filter((p) => p.startsWith("weka-drive-"));

/** a busybox pod running `sh -c script` */
function pod(name: string, script: string, o: { neverReady?: boolean } = {}): V1Pod {
  return busyboxPod(name, { labels: { test: "workflow-steps" }, command: ["sh", "-c", script], ...o });
}

async function portOpen(port: number): Promise<boolean> {
  try {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    c.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * The port refuses connections now, or within a few event-loop turns: a closed listener's socket is let go by
 * Deno once its pending accept is cancelled, so a connect right after the close can still be taken (seen once
 * in a whole run at full load). A forward that is never closed keeps answering for the whole 5 s.
 */
async function closesSoon(port: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (!(await portOpen(port))) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** A script module: GET inputs.url and return the body (or the error, so a later `if` can read it). */
const FETCH = `export default async ({ inputs }) => {
  try {
    const r = await fetch(String(inputs.url));
    return { status: r.status, body: (await r.text()).trim() };
  } catch (e) {
    return { error: [e?.message, e?.cause?.message].filter(Boolean).join(": ") };
  }
};
`;

clusterTest("workflow steps against the test cluster: logs, cp, port-forward, wait, tmux, outputs", {
  seed: "demo",
}, async (t, cluster) => {
  // its sandboxed steps run in this process and put its environment back when they end (tests/_env_lock.ts)
  const unlock = await lockEnv();
  const kube = await Kube.connect({ kubeconfig: cluster.kubeconfig });
  const tmp = await Deno.makeTempDir({ prefix: "kodama-wf-steps-" });
  const repo = join(tmp, "repo");
  const wfDir = join(repo, ".kodama", "workflows");
  const env = { KUBECONFIG: cluster.kubeconfig, KODAMA_HOME: join(tmp, "home") };
  const write = (name: string, text: string) => Deno.writeTextFile(join(wfDir, `${name}.yaml`), text);
  const run = (args: string[]) => runKodama(["run", ...args], { env, cwd: repo });
  try {
    await Deno.mkdir(join(repo, ".git"), { recursive: true });
    await Deno.mkdir(wfDir, { recursive: true });
    await Deno.mkdir(join(repo, ".kodama", "scripts"), { recursive: true });
    await Deno.writeTextFile(join(repo, ".kodama", "scripts", "fetch.ts"), FETCH);
    // pods with known logs, in namespace dev
    await kube.createObject(
      "pods",
      "dev",
      pod("logger", `for i in 1 2 3 4 5 6; do echo "line $i of logger"; done; exec sleep 3600`),
    );
    await kube.createObject(
      "pods",
      "dev",
      pod("ticker", `i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.2; done`),
    );
    await waitForPods(kube, { namespace: "dev", selector: "test=workflow-steps" }, {
      for: "ready",
      timeoutMs: 20_000,
    });

    await t.step("logs: the pods' real lines, prefixed, bounded by tail; outputs.stdout", async () => {
      await write(
        "recent",
        `targets:
  logger: { namespace: dev, pod: logger }
  api: { namespace: prod, match: api, select: all }
steps:
  - id: tail
    logs: { target: logger, tail: 2 }
  - id: both
    logs: { target: api, tail: 1 }
  - id: check
    if: contains(steps.tail.outputs.stdout, 'line 6 of logger') && !contains(steps.tail.outputs.stdout, 'line 4')
    exec: { target: logger, command: [echo, "tail ok"] }
`,
      );
      const r = await run(["recent"]);
      assertEquals(r.code, 0, r.stderr);
      const lines = r.stdout.trimEnd().split("\n");
      // one pod: no prefix, exactly the last 2 of its 6 lines
      assertEquals(lines.slice(0, 2), ["line 5 of logger", "line 6 of logger"]);
      // several pods: one line each (tail 1), prefixed with the pod name: the api pods' listen line
      const apiLines = lines.filter((l) => l.startsWith("api-"));
      assertEquals(apiLines.length, DEMO.apiPods.length, r.stdout);
      for (const p of DEMO.apiPods) {
        const l = apiLines.find((x) => x.startsWith(p));
        assert(l, `no line of ${p}:\n${r.stdout}`);
        // the test server's http-echo logs "serving NAME on IP:PORT" first (a real cluster's image differs)
        assertMatch(l, new RegExp(cluster.real ? `^${p} +\\| \\S` : `^${p} +\\| serving ${p} on 127\\.`));
      }
      assertEquals(lines.at(-1), "tail ok");
    });

    await t.step("logs follow: ends at the step timeout as a success, with the lines seen", async () => {
      await write(
        "follow",
        `targets:
  ticker: { namespace: dev, pod: ticker }
steps:
  - id: follow
    logs: { target: ticker, follow: true, tail: 0 }
    timeout: 4s
  - id: after
    if: steps.follow.outcome == 'success' && contains(steps.follow.outputs.stdout, 'tick')
    exec: { target: ticker, command: [echo, "followed ok"] }
`,
      );
      const r = await run(["follow"]);
      assertEquals(r.code, 0, r.stderr);
      assertStringIncludes(r.stderr, "✓ follow");
      const ticks = r.stdout.split("\n").filter((l) => /^tick \d+$/.test(l));
      // at most 4 s of a line every 0.2 s, starting from now (tail 0): some fresh lines, never the backlog
      // (the timeout also covers finding the pod and opening the stream, slow on a loaded machine)
      assert(ticks.length >= 2 && ticks.length <= 25, r.stdout);
      const n = ticks.map((l) => Number(l.split(" ")[1]));
      assert(n.every((x, i) => i === 0 || x === n[i - 1] + 1), `lines out of order: ${n}`);
      assertStringIncludes(r.stdout, "followed ok\n");
      // a bounded read (tail) cut short by its timeout is a timeout failure, not a quiet success
      if (!cluster.real) {
        await write(
          "slow-tail",
          `targets:\n  logger: { namespace: dev, pod: logger }\nsteps:\n  - id: slow\n    logs: { target: logger, tail: 2 }\n    timeout: 300ms\n`,
        );
        cluster.faults.delay(1500);
        let slow;
        try {
          slow = await run(["slow-tail"]);
        } finally {
          cluster.faults.reset();
        }
        assertEquals(slow.code, 5, slow.stderr);
        assertStringIncludes(slow.stderr, 'failed at step "slow": timed out after 300ms');
      }
      // follow without a timeout is refused by validation (it would never end)
      await write(
        "follow-forever",
        `targets:\n  ticker: { namespace: dev, pod: ticker }\nsteps:\n  - logs: { target: ticker, follow: true }\n`,
      );
      const v = await run(["follow-forever"]);
      assertEquals(v.code, 2, v.stderr);
      assertStringIncludes(v.stderr, "following logs needs a step `timeout`");
    });

    await t.step("cp: into every pod of a target and back out, byte-identical", async () => {
      const data = new Uint8Array(200_000);
      for (let i = 0; i < data.length; i += 65_536) crypto.getRandomValues(data.subarray(i, i + 65_536));
      await Deno.writeFile(join(repo, "payload.bin"), data);
      const sum = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", data)))
        .map((b) => b.toString(16).padStart(2, "0")).join("");
      await write(
        "copy",
        `targets:
  drives: { namespace: ${DEMO.wekaNamespace}, match: drive, select: all }
steps:
  - id: up
    cp: { target: drives, from: ./payload.bin, to: "pod:kodama-payload.bin" }
  - id: check
    exec: { target: drives, command: [sh, -c, "sha256sum kodama-payload.bin | cut -d' ' -f1"] }
  - id: down
    cp: { target: drives, from: "pod:kodama-payload.bin", to: ./out/back.bin }
  - id: cleanup
    if: always()
    exec: { target: drives, command: [rm, -f, kodama-payload.bin] }
  - id: outputs
    exec:
      target: drives
      prefix: false
      command: [echo, "\${{ join(steps.up.outputs.pods, ',') }}|\${{ steps.down.outputs.to }}|\${{ steps.check.outputs.ok }}"]
      parallel: 1
`,
      );
      await Deno.mkdir(join(repo, "out"), { recursive: true });
      const r = await run(["copy"]);
      assertEquals(r.code, 0, r.stderr);
      for (const p of DRIVES) assertStringIncludes(r.stdout, `${p} | ${sum}\n`);
      const back = await Deno.readFile(join(repo, "out", "back.bin"));
      assertEquals(back.length, data.length);
      assert(back.every((b, i) => b === data[i]), "downloaded file differs");
      assertStringIncludes(
        r.stdout,
        `${DRIVES.join(",")}|${join(repo, "out", "back.bin")}|${DRIVES.length}\n`,
      );
      assert(!hasStackTrace(r.stderr), r.stderr);
    });

    await t.step(
      "port-forward: a sandboxed script fetches through it; outputs; closed after the run",
      async () => {
        await write(
          "forward",
          `targets:
  api: { namespace: prod, match: api }
permissions:
  net: ["127.0.0.1"]
steps:
  - id: fwd
    port-forward: { target: api, ports: [":http"] }
  - id: get
    script: { module: ../scripts/fetch.ts, with: { url: "\${{ steps.fwd.outputs.url }}/" } }
  - id: check
    if: steps.get.outputs.body == targets.api.pod.name && steps.fwd.outputs.ports.http == steps.fwd.outputs.port && steps.fwd.outputs.ports['8080'] == steps.fwd.outputs.port
    exec: { target: api, command: [echo, "port \${{ steps.fwd.outputs.port }} answered \${{ steps.get.outputs.body }}"] }
`,
        );
        const untrusted = await run(["forward"]);
        assertEquals(untrusted.code, 2, untrusted.stderr);
        const r = await run(["forward", "--trust"]);
        assertEquals(r.code, 0, r.stderr);
        const m = /^port (\d+) answered (\S+)$/m.exec(r.stdout);
        assert(m, `the check step did not run:\n${r.stdout}\n${r.stderr}`);
        assertEquals(m[2], API0);
        assertMatch(r.stderr, new RegExp(`forwarding 127\\.0\\.0\\.1:${m[1]} -> ${API0}:8080`));
        assertEquals(await portOpen(Number(m[1])), false, "the forwarded port is still open");
      },
    );

    await t.step(
      "port-forward in-process: open for the steps that follow, closed when the run (or its group) ends",
      async () => {
        const dir = join(tmp, "inproc");
        await Deno.mkdir(dir, { recursive: true });
        await Deno.writeTextFile(join(dir, "fetch.ts"), FETCH);
        const file = join(dir, "forward-scopes.yaml");
        await Deno.writeTextFile(
          file,
          `targets:
  api: { namespace: prod, match: api }
permissions:
  net: ["127.0.0.1"]
steps:
  - id: fwd
    port-forward: { target: api, ports: [":8080"] }
  - parallel:
      steps:
        - id: inner
          port-forward: { target: api, ports: [":http"] }
        - id: during
          script: { module: ./fetch.ts, with: { url: "\${{ steps.fwd.outputs.url }}" } }
  - id: outer-still-open
    script: { module: ./fetch.ts, with: { url: "\${{ steps.fwd.outputs.url }}" } }
  - id: inner-closed
    script: { module: ./fetch.ts, with: { url: "\${{ steps.inner.outputs.url }}" } }
`,
        );
        // a home workflow is trusted (nothing pinned): the run needs no trust store
        const lw = await loadWorkflowFile(file, "home");
        const out = memorySink();
        const err = memorySink();
        const r = await runWorkflow(lw, {
          connect: () => Kube.connect({ kubeconfig: cluster.kubeconfig }),
          display: createDisplay({ out, err, live: false, color: false }),
        });
        assertEquals(r.exitCode, 0, err.text());
        const o = (id: string) => r.steps[id].outputs as Record<string, unknown>;
        const port = Number(o("fwd").port);
        const inner = Number(o("inner").port);
        assert(port > 0 && inner > 0 && port !== inner, JSON.stringify(r.steps));
        assertEquals(o("during").body, API0);
        assertEquals(o("outer-still-open").body, API0);
        assertMatch(String(o("inner-closed").error), /refused/i);
        // runWorkflow returned: every forward of the run is closed (this process is still alive)
        assertEquals(await closesSoon(port), true, "the run's forward is still open");
        assertEquals(await closesSoon(inner), true, "the group's forward is still open");
      },
    );

    await t.step("wait: a pod created by a local step becomes ready; phase; deleted; outputs", async () => {
      await Deno.writeTextFile(
        join(repo, "waited.yaml"),
        `apiVersion: v1
kind: Pod
metadata: { name: waited, namespace: dev, labels: { app: waited } }
spec:
  # it ignores SIGTERM, so it stays Terminating for the grace period: the "gone" step must find it
  # still there when it starts (with sleep dying at once, a loaded machine let it vanish first)
  terminationGracePeriodSeconds: 3
  initContainers: # Pending for a second: the wait step must not need a Running pod to start
    - name: init
      image: ${KODAMA_TEST_IMAGE}
      command: [sleep, "1"]
  containers:
    - name: main
      image: ${KODAMA_TEST_IMAGE}
      command: [sh, -c, "trap '' TERM; exec sleep 3600"]
`,
      );
      await write(
        "waiting",
        `targets:
  waited: { namespace: dev, labels: { app: waited } }
permissions:
  run: [kubectl]
  env: [KUBECONFIG]
steps:
  - id: create
    local: { command: [kubectl, apply, -f, ./waited.yaml] }
  - id: ready
    wait: { target: waited, for: ready }
    timeout: 30s
  - id: running
    wait: { target: waited, for: phase=running }
    timeout: 10s
  - id: in-it
    if: steps.ready.outputs.pods[0] == 'waited' && steps.running.outputs.pod == 'waited' && targets.waited.pod.name == 'waited'
    exec: { target: waited, command: [hostname] }
  - id: delete
    local: { command: [kubectl, delete, pod, waited, -n, dev, --wait=false] }
  - id: gone
    wait: { target: waited, for: deleted }
    timeout: 30s
  - id: report
    if: steps.gone.outputs.pods[0] == 'waited'
    local: { command: [kubectl, version, --client=true, -o, json] }
`,
      );
      const r = await run(["waiting", "--trust"]);
      assertEquals(r.code, 0, r.stderr);
      assertStringIncludes(r.stdout, "pod/waited created");
      assertStringIncludes(r.stdout, "\nwaited\n"); // hostname in the pod, once it was ready
      assertStringIncludes(r.stderr, "✓ gone");
      assertStringIncludes(r.stdout, `"clientVersion"`, r.stdout + r.stderr); // the report step ran: outputs.pods of deleted
      const left = await kube.listPods("dev", { labelSelector: "app=waited" });
      assertEquals(left.length, 0);
    });

    await t.step(
      "wait keeps the target's select: pick asks (or --yes takes the first), all takes every pod",
      async () => {
        const wf = (select: string) =>
          `targets:
  pair: { namespace: dev, labels: { test: workflow-steps }, select: ${select} }
steps:
  - id: ready
    wait: { target: pair, for: ready }
    timeout: 20s
  - id: where
    exec: { target: pair, command: [hostname], prefix: false }
`;
        await write("pair-pick", wf("pick"));
        await write("pair-all", wf("all"));
        const noTty = await run(["pair-pick"]);
        assertEquals(noTty.code, 2, noTty.stderr);
        assertStringIncludes(noTty.stderr, "select: pick needs a terminal");
        const yes = await run(["pair-pick", "--yes"]);
        assertEquals(yes.code, 0, yes.stderr);
        assertEquals(yes.stdout, "logger\n");
        const all = await run(["pair-all"]);
        assertEquals(all.code, 0, all.stderr);
        assertEquals(all.stdout.split("\n").filter(Boolean).sort(), ["logger", "ticker"]);
      },
    );

    await t.step(
      "wait that cannot be satisfied: exit 5 within its timeout, naming the pending pod",
      async () => {
        await kube.createObject("pods", "dev", {
          ...pod("never-ready", "exec sleep 3600", { neverReady: true }),
        });
        await write(
          "never",
          `targets:
  never: { namespace: dev, pod: never-ready }
  ghost: { namespace: dev, match: no-such-pod }
steps:
  - id: w
    wait: { target: never, for: ready }
    timeout: 2s
  - id: absent
    if: always()
    wait: { target: ghost, for: exists }
    timeout: 1s
    continue-on-error: true
  - id: after
    if: always() && steps.w.outcome == 'failure'
    exec: { target: never, command: [echo, "wait failed: \${{ steps.w.error }} / \${{ steps.absent.error }}"] }
`,
        );
        const started = Date.now();
        const r = await run(["never"]);
        const took = Date.now() - started;
        assertEquals(r.code, 5, r.stderr);
        assertStringIncludes(
          r.stderr,
          'failed at step "w": timed out after 2s: 1 of 1 pods not ready: never-ready',
        );
        assertStringIncludes(
          r.stdout,
          "wait failed: timed out after 2s: 1 of 1 pods not ready: never-ready (Running, not ready: main) / " +
            "timed out after 1s waiting for pods to appear\n",
        );
        assert(took < 13_000, `took ${took} ms`);
        await kube.deleteObject("pods", "dev", "never-ready", { gracePeriodSeconds: 0 });
      },
    );

    await t.step({
      name: "tmux: panes titled with the pod names in a private tmux server, running in the pods",
      ignore: !HAVE_TMUX,
      fn: async () => {
        const sock = `kodama-wf-${crypto.randomUUID().slice(0, 8)}`;
        const tmux = (...args: string[]) => tmuxOn(sock, ...args);
        // the test's own server, started with a kubeconfig that does not exist: the panes only reach
        // the cluster if the step hands them the run's cluster
        await new Deno.Command("tmux", {
          args: ["-L", sock, "-f", "/dev/null", "new-session", "-d", "-s", "base", "sleep 600"],
          env: { KUBECONFIG: join(tmp, "nope"), TMUX: "" },
        }).output();
        try {
          await write(
            "panes",
            `targets:
  drives: { namespace: ${DEMO.wekaNamespace}, match: drive, select: all }
steps:
  - id: panes
    tmux: { target: drives, command: [sh], layout: even-vertical }
  - id: show
    if: startsWith(steps.panes.outputs.session, 'kodama-') && length(steps.panes.outputs.pods) == 3
    exec: { target: drives, command: [echo, "session \${{ steps.panes.outputs.session }}"], parallel: 1, prefix: false }
`,
          );
          const r = await runKodama(["run", "panes"], {
            env: { ...env, KODAMA_TMUX_SOCKET: sock, TMUX: "" },
            cwd: repo,
          });
          assertEquals(r.code, 0, r.stderr);
          const session = r.stdout.split("\n")[0];
          assertMatch(session, /^kodama-weka-operator-system-\w+$/);
          assertStringIncludes(r.stdout, `session ${session}\n`);
          const rows = (await tmux("list-panes", "-s", "-t", session, "-F", "#{pane_id}|#{pane_title}"))
            .trim().split("\n");
          assertEquals(rows.map((x) => x.split("|")[1]).sort(), DRIVES);
          // each pane is a shell in its pod: `hostname` there prints the pod's name
          for (const row of rows) {
            const [id, title] = row.split("|");
            let screen = "";
            const end = Date.now() + 20_000;
            let typed = false;
            while (Date.now() < end) {
              screen = await tmux("capture-pane", "-p", "-t", id);
              if (!typed && /[$#] ?\s*$/.test(screen)) {
                await tmux("send-keys", "-t", id, "-l", "hostname\n");
                typed = true;
              }
              if (typed && screen.split("\n").some((l) => l.trim() === title)) break;
              await new Promise((res) => setTimeout(res, 100));
            }
            assert(screen.split("\n").some((l) => l.trim() === title), `pane ${title}:\n${screen}`);
          }
        } finally {
          const socketPath = (await tmux("display-message", "-p", "#{socket_path}")).trim();
          await tmux("kill-server");
          if (socketPath) await Deno.remove(socketPath).catch(() => {}); // tmux leaves the file behind
        }
      },
    });

    await t.step(
      "host API: exec finds pods only in resolved targets, and lists no other target",
      async () => {
        const dir = join(tmp, "hostapi");
        await Deno.mkdir(dir, { recursive: true });
        await Deno.writeTextFile(
          join(dir, "probe.ts"),
          `export default async ({ host, targets }) => {
  const first = await host.exec(${JSON.stringify(API0)}, ["hostname"]);
  let refused = "";
  try {
    await host.exec("weka-drive-1", ["hostname"]);
  } catch (e) {
    refused = String(e?.message ?? e);
  }
  const drives = await host.listPods("drive");
  const later = await host.exec(drives[1], ["hostname"]);
  return { first: first.stdout.trim(), refused, later: later.stdout.trim(), seen: Object.keys(targets) };
};
`,
        );
        const file = join(dir, "scoped.yaml");
        // "other" and "picky" come first: the old lookup resolved every declared target in order
        await Deno.writeTextFile(
          file,
          `targets:
  other: { namespace: staging, match: spark }
  picky: { namespace: ${DEMO.wekaNamespace}, match: weka, select: pick }
  drive: { namespace: ${DEMO.wekaNamespace}, match: drive, select: all }
  api: { namespace: prod, match: api }
steps:
  - id: warm
    exec: { target: api, command: [hostname] }
  - id: probe
    script: { module: ./probe.ts }
`,
        );
        const lists: string[] = [];
        const counted = (k: Kube): Kube =>
          new Proxy(k, {
            get(target, prop, receiver) {
              const v = Reflect.get(target, prop, receiver);
              if (prop === "listPods") {
                return (ns: string | undefined, ...rest: unknown[]) => {
                  lists.push(ns ?? "(all)");
                  return (v as (...a: unknown[]) => unknown).call(target, ns, ...rest);
                };
              }
              return typeof v === "function" ? v.bind(target) : v;
            },
          });
        const lw = await loadWorkflowFile(file, "home");
        const err = memorySink();
        const r = await runWorkflow(lw, {
          connect: async () => counted(await Kube.connect({ kubeconfig: cluster.kubeconfig })),
          display: createDisplay({ out: memorySink(), err, live: false, color: false }),
        });
        assertEquals(r.exitCode, 0, err.text());
        const o = r.steps.probe.outputs as Record<string, unknown>;
        assertEquals(o.first, API0);
        assertEquals(o.seen, ["api"]);
        assertEquals(
          o.refused,
          'pod "weka-drive-1" is not in a resolved target of this workflow (resolved: api); ' +
            'call listPods("other") first to use another target',
        );
        assertEquals(o.later, "weka-drive-1");
        // api (warm step) and drive (the script's listPods): nothing for "other" or "picky"
        assertEquals(lists.sort(), ["prod", DEMO.wekaNamespace]);
      },
    );
  } finally {
    await deleteObjects(cluster, "dev", "pod/logger", "pod/ticker", "pod/never-ready", "pod/waited");
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    unlock();
  }
});
