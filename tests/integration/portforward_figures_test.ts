/**
 * Port-forward figures are current: `port-forward list` (table and -o json) shows the connections and bytes
 * of requests made a moment ago (within 1 s), and a live terminal line shows a non-zero rate while traffic
 * flows, then the totals.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import * as http from "node:http";
import { tempNamespace } from "../cluster/harness.ts";
import { clusterTest } from "../cluster/fixture.ts";
import { httpPod } from "./_helpers.ts";
import { CONFIG, MAIN, runKodama } from "../cli/_run.ts";
import { Kube } from "../../src/kube/client.ts";
import { waitForPods } from "../../src/pods/wait.ts";
import type { ForwardRecord } from "../../src/pods/pf_stats.ts";

function get(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/", agent: false, timeout: 5000 }, (res) => {
      let body = "";
      res.on("data", (c) => body += c);
      res.on("end", () => resolve(body.trim()));
      res.on("error", (e) => resolve(`error: ${e.message}`));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e) => resolve(`error: ${e.message}`));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function hasScript(): boolean {
  try {
    return new Deno.Command("script", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

clusterTest("port-forward figures: list shows requests made a moment ago; the live line shows the rate", {
  seed: "sessions",
}, async (t, c) => {
  const home = await Deno.makeTempDir();
  const env = { KODAMA_HOME: home };
  const k = (args: string[]) => runKodama(["--kubeconfig", c.kubeconfig, ...args], { env });
  const space = await tempNamespace(c, "pf-figures");
  const NS = space.name;
  const kube = await Kube.connect({ kubeconfig: c.kubeconfig, namespace: NS });
  try {
    await kube.createObject("pods", NS, httpPod("web"));
    await waitForPods(kube, { namespace: NS, pod: "web" }, { for: "ready", timeoutMs: 60_000 });

    await t.step("list: three requests show as 3 connections and their bytes", async () => {
      const r = await k(["port-forward", "-n", NS, "pod/web", ":8080", "--detach"]);
      assertEquals(r.code, 0, r.stderr);
      const [id, line] = r.stdout.trim().split("\n");
      const port = Number(/:(\d+) ->/.exec(line)![1]);
      // the figures reach the state file 4 times a second when they change: `list` is read until they show
      // (on a loaded machine a tick comes late; how soon is the feature's, not a timed assertion here)
      const listed = async (args: string[], done: (out: string) => boolean) => {
        let out = "";
        for (let i = 0; i < 100 && !done(out = (await k(["port-forward", "list", ...args])).stdout); i++) {
          await sleep(100);
        }
        return out;
      };
      const recOf = (out: string) =>
        (JSON.parse(out || "[]") as ForwardRecord[]).find((x) => x.id === id) ?? {} as ForwardRecord;
      for (let i = 0; i < 3; i++) assertEquals(await get(port), "web");
      const rec = recOf(await listed(["-o", "json"], (o) => recOf(o).totals?.connections === 3));
      assertEquals(rec.totals.connections, 3, JSON.stringify(rec));
      assert(rec.totals.bytesIn > 0 && rec.totals.bytesOut > 0, JSON.stringify(rec.totals));
      for (let i = 0; i < 2; i++) assertEquals(await get(port), "web");
      const colsOf = (table: string) =>
        (table.split("\n").find((l) => l.startsWith(id)) ?? "").trim().split(/\s{2,}/);
      const table = await listed([], (o) => colsOf(o)[5] === "5");
      const cols = colsOf(table);
      assertEquals(cols[5], "5", table); // CONNS
      assert(cols[6] !== "0 B" && cols[7] !== "0 B", table); // IN, OUT
      assertEquals((await k(["port-forward", "stop", id])).code, 0);
    });

    await t.step("the live line (a terminal) shows the rate of requests made a moment ago", async () => {
      if (!hasScript()) return console.log("util-linux script is not installed: skipped");
      const cmd = [
        Deno.execPath(),
        "run",
        "-A",
        "--no-prompt",
        "--config",
        CONFIG,
        MAIN,
        "--kubeconfig",
        c.kubeconfig,
        "port-forward",
        "-n",
        NS,
        "pod/web",
        ":8080",
      ].map((a) => `'${a}'`).join(" ");
      const child = new Deno.Command("script", {
        args: ["-qfec", `stty cols 200 rows 40; exec ${cmd}`, "/dev/null"],
        env: { ...env, NO_COLOR: "1", TERM: "xterm", DENO_NO_UPDATE_CHECK: "1" },
        stdin: "piped",
        stdout: "piped",
        stderr: "null",
      }).spawn();
      let screen = "";
      const decoder = new TextDecoder();
      const reading = (async () => {
        for await (const chunk of child.stdout) screen += decoder.decode(chunk, { stream: true });
      })();
      try {
        for (let i = 0; i < 300 && !/Forwarding from 127\.0\.0\.1:(\d+)/.test(screen); i++) await sleep(50);
        const port = Number(/127\.0\.0\.1:(\d+)/.exec(screen)?.[1]);
        assert(port, screen);
        // every live line drawn from before the requests until the rate has fallen back to 0 (the window
        // itself is RateMeter's, unit-tested in pf_stats_test; here: the terminal shows it, whatever the load)
        let seen = screen.length;
        const drawn: string[] = [];
        for (let i = 0; i < 5; i++) assertEquals(await get(port), "web");
        const rate = / in [\d.]+ (B|KiB) \(([\d.]+) (B|KiB)\/s\), out [\d.]+ (B|KiB) \(([\d.]+) (B|KiB)\/s\)/;
        const busy = (l: string) => Number(rate.exec(l)?.[2] ?? 0) > 0 && Number(rate.exec(l)?.[5] ?? 0) > 0;
        // the line drawn last stays unterminated until the next redraw: it counts once its last figure is in
        const current = () => screen.slice(Math.max(screen.lastIndexOf("\r"), screen.lastIndexOf("\n")) + 1);
        const idleAfterBusy = () => {
          const i = drawn.findIndex(busy);
          const now = / 5 total,.* errors/.test(current()) ? [current()] : [];
          return i >= 0 && [...drawn.slice(i + 1), ...now].some((l) => rate.test(l) && !busy(l));
        };
        const t0 = performance.now();
        while (performance.now() - t0 < 10_000 && !idleAfterBusy()) {
          await sleep(25);
          // whole lines only: a read can end inside a line (its rates not yet written)
          const end = Math.max(screen.lastIndexOf("\r"), screen.lastIndexOf("\n"));
          if (end < seen) continue;
          const fresh = screen.slice(seen, end);
          seen = end + 1;
          // deno-lint-ignore no-control-regex
          for (const line of fresh.split(/\r|\n|\x1b\[[0-9;?]*[A-Za-z]/)) {
            if (line.includes(" 5 total,")) drawn.push(line);
          }
        }
        const tail = JSON.stringify(screen.slice(-300));
        assert(drawn.length > 0, `no live line after the requests: ${tail}`);
        assert(drawn.some(busy), `no line showed a rate after the requests: ${drawn.join(" | ")}`);
        // a rate, not a total: with no more requests it falls back to 0 B/s
        assert(idleAfterBusy(), `the rate never fell back to 0: ${drawn.slice(-3).join(" | ")}`);
      } finally {
        child.kill("SIGINT");
        await child.status;
        await reading.catch(() => {});
        await child.stdin.close().catch(() => {});
      }
    });
  } finally {
    await k(["port-forward", "stop", "--all"]);
    await space.remove();
    kube.close();
  }
});
