/** `kodama logs`: multi-pod prefixed logs, following pods created later, Ctrl-C exit 130. */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { DEMO, kubectl, startCluster } from "../cluster/harness.ts";
import { runKodama, spawnKodama } from "../cli/_run.ts";

Deno.test({
  name: "kodama logs",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const c = await startCluster({ seed: "demo" });
    try {
      await t.step("both api pods, prefixed; nothing matched is exit 3", async () => {
        // the api pods log a line when they start serving
        let r = await runKodama(["--kubeconfig", c.kubeconfig, "logs", "-n", "prod", "-l", "app=api"]);
        for (let i = 0; i < 50 && DEMO.apiPods.some((p) => !r.stdout.includes(`${p} | `)); i++) {
          await new Promise((res) => setTimeout(res, 200));
          r = await runKodama(["--kubeconfig", c.kubeconfig, "logs", "-n", "prod", "-l", "app=api"]);
        }
        assertEquals(r.code, 0, r.stderr);
        for (const p of DEMO.apiPods) assertStringIncludes(r.stdout, `${p} | `);
        const none = await runKodama(["--kubeconfig", c.kubeconfig, "logs", "-n", "prod", "-m", "nomatch"]);
        assertEquals(none.code, 3);
      });

      await t.step(
        "-f shows both api pods, then a third created during the test; Ctrl-C exits 130",
        async () => {
          const child = spawnKodama([
            "--kubeconfig",
            c.kubeconfig,
            "logs",
            "-n",
            "prod",
            "-l",
            "app=api",
            "-f",
          ]);
          const errP = new Response(child.stderr).text();
          const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
          let out = "";
          let ended = false;
          // one reader loop; `until` only polls what it collected
          const pump = (async () => {
            while (true) {
              const { value, done } = await reader.read();
              if (done) break;
              out += value;
            }
            ended = true;
          })().catch(() => {});
          const until = async (pred: () => boolean, what: string) => {
            const end = Date.now() + 20_000;
            while (!pred()) {
              if (Date.now() > end) throw new Error(`timed out waiting for ${what}; output:\n${out}`);
              if (ended) throw new Error(`logs exited early; output:\n${out}`);
              await new Promise((r) => setTimeout(r, 100));
            }
          };
          try {
            await until(() => DEMO.apiPods.every((p) => out.includes(`${p} | `)), "lines from both api pods");
            const mk = await kubectl(c, [
              "run",
              "api-third",
              "-n",
              "prod",
              "--image=busybox",
              "--labels=app=api",
              "--restart=Never",
              "--",
              "sh",
              "-c",
              "while true; do echo tick from third; sleep 0.3; done",
            ]);
            assertEquals(mk.code, 0, mk.stderr);
            await until(() => /^api-third +\| tick from third$/m.test(out), "lines from the third api pod");
            child.kill("SIGINT");
            const st = await child.status;
            assertEquals(st.code, 130, await errP);
            // every line whole and prefixed
            for (const l of out.split("\n").filter(Boolean)) {
              assert(/^api-[\w-]+ +\| /.test(l), `bad line ${JSON.stringify(l)}`);
            }
          } finally {
            try {
              child.kill("SIGKILL");
            } catch {
              /* exited */
            }
            await pump;
          }
        },
      );

      await t.step(
        "a stream that ends while the container runs is re-opened, without repeating lines",
        async () => {
          const { Kube } = await import("../../src/kube/client.ts");
          const { streamLogs } = await import("../../src/pods/logs.ts");
          const { memorySink } = await import("../../src/ui/sink.ts");
          const kube = await Kube.connect({ kubeconfig: c.kubeconfig, namespace: "prod" });
          const pod = await kube.getPod("prod", "api-third");
          const out = memorySink();
          const ctrl = new AbortController();
          const run = streamLogs(kube, [pod], {
            follow: true,
            timestamps: true,
            out,
            signal: ctrl.signal,
            backoff: { initial: 100, max: 400 },
          });
          const ticks = () => out.text().split("\n").filter((l) => l.includes("tick from third"));
          const wait = async (n: number) => {
            for (let i = 0; i < 100 && ticks().length < n; i++) await new Promise((r) => setTimeout(r, 100));
          };
          await wait(3);
          const before = ticks().length;
          c.faults.dropStreams(true);
          await new Promise((r) => setTimeout(r, 150));
          c.faults.dropStreams(false);
          await wait(before + 4);
          ctrl.abort();
          await run;
          const lines = ticks();
          assert(lines.length >= before + 4, `no lines after the drop: ${lines.length}`);
          const stamps = lines.map((l) => l.split(" | ")[1].split(" ")[0]);
          for (let i = 1; i < stamps.length; i++) {
            assert(stamps[i] > stamps[i - 1], `repeated or out of order: ${stamps[i]}`);
          }
        },
      );
    } finally {
      await c.stop();
    }
  },
});
