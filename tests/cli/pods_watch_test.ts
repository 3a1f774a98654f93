/**
 * `kodama pods -w` / `--watch-only` / `--output-watch-events` against the test cluster, side by side with
 * the real `kubectl get pods -w` on the same events: same rows (AGE aside), same widths, same STATUS sequence.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { KUBECTL } from "../cluster/harness.ts";
import { Kube } from "../../src/kube/client.ts";
import { busyboxPod } from "../integration/_helpers.ts";
import { closedPortKubeconfig, hasStackTrace, runKodama, spawnKodama } from "./_run.ts";
import { clusterTest } from "../cluster/fixture.ts";

/** A running child whose output is collected as it comes, so a test can wait for lines. */
class Proc {
  out = "";
  err = "";
  readonly status: Promise<Deno.CommandStatus>;
  private pumps: Promise<void>[];
  constructor(readonly child: Deno.ChildProcess) {
    const pump = async (s: ReadableStream<Uint8Array>, put: (t: string) => void) => {
      const dec = new TextDecoder();
      for await (const c of s) put(dec.decode(c, { stream: true }));
    };
    this.pumps = [pump(child.stdout, (t) => this.out += t), pump(child.stderr, (t) => this.err += t)];
    this.status = child.status;
  }
  async waitFor(pred: (p: Proc) => boolean, what: string, ms = 20_000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred(this)) {
      if (Date.now() > end) {
        throw new Error(`timed out waiting for ${what}\nstdout:\n${this.out}\nstderr:\n${this.err}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  async end(signal: Deno.Signal): Promise<number> {
    try {
      this.child.kill(signal);
    } catch { /* already gone */ }
    const timer = setTimeout(() => {
      try {
        this.child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 10_000);
    const { code } = await this.status;
    clearTimeout(timer);
    await Promise.all(this.pumps);
    return code;
  }
}

const rows = (out: string) => out.split("\n").filter(Boolean);
/** a table line without its last column (AGE), padding kept: the look, minus the clock */
const withoutAge = (line: string) => line.replace(/\S+$/, "");
/** READY STATUS of each row of pod `name` */
const statusSeq = (out: string, name: string, col = 0) =>
  rows(out).map((l) => l.split(/\s+/)).filter((c) => c[col] === name).map((c) =>
    `${c[col + 1]} ${c[col + 2]}`
  );

clusterTest(
  "kodama pods -w against the test cluster, next to kubectl get pods -w",
  { seed: "demo" },
  async (t, cluster) => {
    const kc = ["--kubeconfig", cluster.kubeconfig];
    const kube = await Kube.connect({ kubeconfig: cluster.kubeconfig });
    const procs: Proc[] = [];
    const kodama = (args: string[]) => {
      const p = new Proc(spawnKodama([...kc, ...args, "--log-level", "debug"]));
      procs.push(p);
      return p;
    };
    // the debug log names the watch request once it is open (the watch starts from the list's version)
    const watching = (p: Proc) => p.err.includes("watch=true");
    try {
      await t.step(
        "-w, --watch-only, --output-watch-events, -m, -o name; STATUS sequence as kubectl's",
        async () => {
          const cache = cluster.testServer
            ? ["--cache-dir", `${cluster.testServer.stateDir}/kubectl-cache`]
            : [];
          const kctl = new Proc(
            new Deno.Command(KUBECTL, {
              args: [...kc, ...cache, "get", "pods", "-n", "staging", "-w"],
              stdout: "piped",
              stderr: "piped",
              stdin: "null",
            }).spawn(),
          );
          procs.push(kctl);
          const plain = kodama(["pods", "-n", "staging", "-w"]);
          const events = kodama(["pods", "-n", "staging", "-w", "--output-watch-events", "-m", "w-new"]);
          const only = kodama(["pods", "-n", "staging", "--watch-only", "-o", "name"]);
          await kctl.waitFor((p) => p.out.includes("spark-driver"), "kubectl's initial list");
          for (const p of [plain, events, only]) await p.waitFor(watching, "the watch to open");

          await kube.createObject("pods", "staging", busyboxPod("w-new"));
          await kube.createObject("pods", "staging", busyboxPod("w-other"));
          await plain.waitFor((p) => statusSeq(p.out, "w-new").includes("1/1 Running"), "w-new Running");
          await kube.deleteObject("pods", "staging", "w-new");
          await kube.deleteObject("pods", "staging", "w-other");
          await events.waitFor((p) => p.out.includes("DELETED"), "the DELETED event");
          for (const p of [plain, kctl]) {
            await p.waitFor(
              (q) => statusSeq(q.out, "w-other").length >= 4 && statusSeq(q.out, "w-new").length >= 4,
              "rows",
            );
          }
          // both saw the same events: wait until the rows stop changing
          let last = "";
          while (last !== plain.out + kctl.out + only.out) {
            last = plain.out + kctl.out + only.out;
            await new Promise((r) => setTimeout(r, 1000));
          }

          const kLines = rows(kctl.out);
          const pLines = rows(plain.out);
          assertEquals(pLines[0].split(/\s+/), ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
          assert(pLines[1].startsWith("spark-driver-7f9a2c "), plain.out);
          // same rows, same padding (kubectl keeps the first batch's widths and only widens them)
          assertEquals(
            pLines.map(withoutAge),
            kLines.map(withoutAge),
            `kodama:\n${plain.out}\nkubectl:\n${kctl.out}`,
          );
          const seq = statusSeq(plain.out, "w-new");
          assertEquals(seq, statusSeq(kctl.out, "w-new"));
          assertEquals(seq[0], "0/1 Pending");
          assert(seq.includes("1/1 Running"), seq.join(", "));
          assertEquals(seq.at(-1), "0/1 Terminating");

          // -m applies to events; the EVENT column; DELETED last
          const ev = rows(events.out);
          assertEquals(ev[0].split(/\s+/), ["EVENT", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
          assert(ev.slice(1).every((l) => l.split(/\s+/)[1] === "w-new"), events.out);
          assert(ev[1].startsWith("ADDED      w-new   0/1     Pending"), events.out);
          assert(ev.some((l) => /^MODIFIED\s+w-new\s+1\/1\s+Running/.test(l)), events.out);
          assert(ev.at(-1)!.startsWith("DELETED "), events.out);
          assertEquals(ev.length - 1, seq.length);

          // --watch-only: no initial list; -o name: pod/x per event
          const names = rows(only.out);
          assert(!names.includes("pod/spark-driver-7f9a2c"), only.out);
          assertEquals(new Set(names), new Set(["pod/w-new", "pod/w-other"]));
          assertEquals(names.filter((n) => n === "pod/w-new").length, seq.length);

          // Ctrl-C: 130, every line complete, no stack trace
          for (const p of [plain, events, only]) {
            const before = p.out;
            assertEquals(await p.end("SIGINT"), 130, p.err);
            assert(p.out.endsWith("\n") && p.out.startsWith(before), p.out);
            assert(!hasStackTrace(p.err), p.err);
          }
        },
      );

      await t.step("-o json and yaml: objects framed as kubectl frames them in watch mode", async () => {
        const json = kodama(["pods", "-n", "prod", "-w", "-o", "json", "-l", "app=api"]);
        const yaml = kodama([
          "pods",
          "-n",
          "prod",
          "-w",
          "-o",
          "yaml",
          "--output-watch-events",
          "-l",
          "app=api",
        ]);
        for (const p of [json, yaml]) await p.waitFor(watching, "the watch to open");
        await json.waitFor(
          (p) => p.out.trimEnd().endsWith("}") && p.out.split("\n}\n").length >= 3,
          "two objects",
        );
        // consecutive pretty objects, 4-space indent, keys sorted
        const objs = json.out.split("\n}\n").slice(0, 2).map((s) => JSON.parse(s + "\n}"));
        assertEquals(objs.map((o) => `${o.kind} ${o.metadata.labels.app}`), [
          "Pod api",
          "Pod api",
        ]);
        assert(json.out.startsWith('{\n    "apiVersion": "v1",\n    "kind": "Pod",'), json.out.slice(0, 80));
        await yaml.waitFor((p) => p.out.split("\n---\n").length >= 2, "two documents");
        assert(yaml.out.startsWith("object:\n  apiVersion: v1\n"), yaml.out.slice(0, 80));
        assertStringIncludes(yaml.out, "\ntype: ADDED\n---\nobject:\n");
        for (const p of [json, yaml]) assertEquals(await p.end("SIGINT"), 130, p.err);
      });

      await t.step("a reader that goes away ends the watch quietly with 0", async () => {
        const child = spawnKodama([...kc, "pods", "-n", "dev", "-w", "-o", "name"]);
        const reader = child.stdout.getReader();
        await kube.createObject("pods", "dev", busyboxPod("w-pipe"));
        await reader.read(); // pod/w-pipe
        await reader.cancel();
        await kube.deleteObject("pods", "dev", "w-pipe"); // the next row finds the pipe closed
        const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
        const { code } = await child.status;
        clearTimeout(timer);
        const err = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
        assertEquals(code, 0, err);
        assertEquals(err, "");
      });

      await t.step("forbidden is exit 4, a dead server exit 1, one line each", async () => {
        const r = await runKodama([...kc, "--context", "dev", "pods", "-n", "prod", "-w"]);
        assertEquals(r.code, 4, r.stderr);
        assertStringIncludes(r.stderr, "forbidden: cannot list pods in namespace prod");
        assert(!hasStackTrace(r.stderr) && r.stderr.trim().split("\n").length <= 2, r.stderr);
        const dir = await Deno.makeTempDir();
        const { port } = await closedPortKubeconfig(dir);
        const dead = await runKodama(["--kubeconfig", `${dir}/kc`, "pods", "--watch-only"]);
        await Deno.remove(dir, { recursive: true });
        assertEquals(dead.code, 1, dead.stderr);
        assertEquals(
          dead.stderr.trim().split("\n")[0],
          `error: cannot reach https://127.0.0.1:${port} (context closed): connection refused`,
        );
        assert(!hasStackTrace(dead.stderr), dead.stderr);
      });
    } finally {
      for (const p of procs) await p.end("SIGKILL");
      kube.close();
    }
  },
);
