/**
 * Long-running commands across an API-server outage (item 5 of issue 14), against the test server stopped
 * abruptly (`faults.stopMidStream`) and served again on the same port (`faults.listenAgain`), with the same
 * CA or a new one (the kubeconfig rewritten, as a rebuilt control plane's would be):
 * - `logs -f` resumes every stream where it left off: the ticker's numbered lines arrive without a gap or a
 *   repeat, and stderr says once that the server is unreachable and once that it is back;
 * - `pods -w` keeps printing rows for changes made after the restart;
 * - `wait --for exists` reports the outage (not "waiting for pods to appear") and finishes after it;
 * - each gives up with exit 1 naming the server once it has been unreachable for --reconnect-timeout.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { kubectl, onRealCluster, type TestCluster } from "../cluster/harness.ts";
import { hasStackTrace, spawnKodama } from "../cli/_run.ts";
import { clusterTest } from "../cluster/fixture.ts";

/** A running kodama whose stdout and stderr are collected as they arrive. */
class Running {
  out = "";
  err = "";
  private done: Promise<Deno.CommandStatus>;
  constructor(readonly child: Deno.ChildProcess) {
    const pump = async (s: ReadableStream<Uint8Array>, to: "out" | "err") => {
      for await (const t of s.pipeThrough(new TextDecoderStream())) this[to] += t;
    };
    const p = Promise.all([pump(child.stdout, "out"), pump(child.stderr, "err")]);
    this.done = p.then(() => child.status);
  }
  static start(c: TestCluster, args: string[]): Running {
    return new Running(spawnKodama(["--kubeconfig", c.kubeconfig, ...args]));
  }
  async until(pred: (r: Running) => boolean, what: string, ms = 60_000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred(this)) {
      if (Date.now() > end) {
        throw new Error(`timed out waiting for ${what}\nstdout:\n${this.out}\nstderr:\n${this.err}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  async exit(ms = 60_000): Promise<number> {
    let t: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, rej) => {
      t = setTimeout(() => rej(new Error(`did not exit\nstdout:\n${this.out}\nstderr:\n${this.err}`)), ms);
    });
    try {
      return (await Promise.race([this.done, timeout])).code;
    } finally {
      clearTimeout(t);
    }
  }
  kill(sig: Deno.Signal = "SIGINT") {
    try {
      this.child.kill(sig);
    } catch { /* exited */ }
  }
}

/** The tick numbers in `logs` output lines `ticker | tick-N`, in order. */
const ticks = (out: string) => [...out.matchAll(/tick-(\d+)\b/g)].map((m) => Number(m[1]));

function consecutive(ns: number[]): void {
  assert(ns.length > 0, "no ticks");
  for (let i = 1; i < ns.length; i++) {
    assertEquals(
      ns[i],
      ns[i - 1] + 1,
      `gap or repeat after tick-${ns[i - 1]}: ${ns.slice(Math.max(0, i - 3), i + 3)}`,
    );
  }
}

clusterTest(
  "streams survive an API-server outage: logs -f, pods -w, wait --for exists",
  { seed: "sessions", ignore: onRealCluster },
  async (t, c) => { // several lines a second, numbered: a gap or a repeat shows in the sequence
    const made = await kubectl(c, [
      "run",
      "ticker",
      "-n",
      "dev",
      "--image=busybox:1.36",
      "--",
      "sh",
      "-c",
      "i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.05; done",
    ]);
    assertEquals(made.code, 0, made.stderr);

    for (const newCa of [false, true]) {
      await t.step(
        `logs -f resumes without a gap or a repeat (${newCa ? "new CA" : "same CA"})`,
        async () => {
          const r = Running.start(c, [
            "logs",
            "-n",
            "dev",
            "--pod",
            "ticker",
            "-f",
            "--reconnect-timeout",
            "2m",
          ]);
          try {
            await r.until((x) => ticks(x.out).length >= 10, "the first ticks");
            c.faults.stopMidStream();
            await r.until(
              (x) => /warning: cannot reach .*; retrying for up to 2m/.test(x.err),
              "the outage noted",
            );
            const during = ticks(r.out).at(-1)!;
            await c.faults.listenAgain({ newCa });
            await r.until(
              (x) => /reconnected after [\d.]+m?s; resuming/.test(x.err),
              "the reconnection noted",
            );
            await r.until((x) => ticks(x.out).at(-1)! > during + 20, "ticks after the outage");
            r.kill();
            assertEquals(await r.exit(), 130);
            consecutive(ticks(r.out));
            // said once each, however many streams and retries noticed
            assertEquals(r.err.match(/cannot reach/g)?.length, 1, r.err);
            assertEquals(r.err.match(/reconnected/g)?.length, 1, r.err);
            assert(!hasStackTrace(r.err), r.err);
          } finally {
            r.kill("SIGKILL");
          }
        },
      );
    }

    await t.step("pods -w keeps printing changes made after the server is back", async () => {
      const r = Running.start(c, ["pods", "-n", "dev", "-w", "--reconnect-timeout", "2m"]);
      try {
        await r.until((x) => x.out.includes("ticker"), "the initial list");
        c.faults.stopMidStream();
        await r.until((x) => x.err.includes("cannot reach"), "the outage noted");
        await c.faults.listenAgain();
        const mk = await kubectl(c, [
          "run",
          "after-outage",
          "-n",
          "dev",
          "--image=busybox:1.36",
          "--",
          "sleep",
          "3600",
        ]);
        assertEquals(mk.code, 0, mk.stderr);
        await r.until((x) => /^after-outage +0\/1 +Pending/m.test(x.out), "a row for the new pod");
        await r.until((x) => x.err.includes("reconnected"), "the reconnection noted");
        r.kill();
        assertEquals(await r.exit(), 130);
      } finally {
        r.kill("SIGKILL");
        await kubectl(c, ["delete", "pod", "after-outage", "-n", "dev", "--wait=false"]);
      }
    });

    await t.step("wait --for exists reports the outage, then finishes once the pod exists", async () => {
      const r = Running.start(c, [
        "wait",
        "-n",
        "dev",
        "--pod",
        "late",
        "--for",
        "exists",
        "--timeout",
        "2m",
        "--reconnect-timeout",
        "2m",
      ]);
      try {
        await r.until((x) => x.err.includes("waiting for matching pods to appear"), "waiting");
        c.faults.stopMidStream();
        await r.until((x) => x.err.includes("cannot reach"), "the outage noted");
        await c.faults.listenAgain();
        const mk = await kubectl(c, [
          "run",
          "late",
          "-n",
          "dev",
          "--image=busybox:1.36",
          "--",
          "sleep",
          "3600",
        ]);
        assertEquals(mk.code, 0, mk.stderr);
        assertEquals(await r.exit(), 0, r.err);
        assertEquals(r.out.trim(), "pod/late condition met");
        assertStringIncludes(r.err, "reconnected");
      } finally {
        r.kill("SIGKILL");
        await kubectl(c, ["delete", "pod", "late", "-n", "dev", "--wait=false"]);
      }
    });

    await t.step(
      "a server that stays away: each command gives up with exit 1 after --reconnect-timeout",
      async () => {
        const runs = [
          Running.start(c, ["logs", "-n", "dev", "--pod", "ticker", "-f", "--reconnect-timeout", "2s"]),
          Running.start(c, ["pods", "-n", "dev", "-w", "--reconnect-timeout", "2s"]),
          Running.start(c, [
            "wait",
            "-n",
            "dev",
            "--pod",
            "never",
            "--for",
            "exists",
            "--timeout",
            "5m",
            "--reconnect-timeout",
            "2s",
          ]),
        ];
        try {
          await runs[0].until((x) => ticks(x.out).length > 3, "logs running");
          await runs[1].until((x) => x.out.includes("ticker"), "pods -w running");
          await runs[2].until((x) => x.err.includes("waiting for matching pods"), "wait running");
          c.faults.stopMidStream();
          for (const r of runs) {
            assertEquals(await r.exit(), 1, r.err);
            const last = r.err.trim().split("\n").filter((l) => l.startsWith("error:"));
            assertEquals(last.length, 1, r.err);
            assertMatch(
              last[0],
              /^error: gave up: the API server https:\/\/127\.0\.0\.1:\d+ \(context admin\) has been unreachable for [\d.]+s \(connection refused\)$/,
            );
            assert(!hasStackTrace(r.err), r.err);
          }
        } finally {
          for (const r of runs) r.kill("SIGKILL");
          await c.faults.listenAgain();
        }
      },
    );
  },
);
