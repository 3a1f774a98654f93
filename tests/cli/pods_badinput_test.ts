/**
 * Bad input to pod commands is a clear error with a documented exit code and no side effects:
 * a port-forward that cannot start leaves no file in $KODAMA_HOME/port-forwards (nor does one that ran),
 * a bad listen address is exit 2 before anything listens or warns, contradicting pod-choice flags are
 * exit 2 naming both, and duration/number values are checked whenever given.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { runKodama, spawnKodama } from "./_run.ts";
import { clusterTest } from "../cluster/fixture.ts";

clusterTest(
  "pod commands: bad input is exit 2 (or 3) with no side effects",
  { seed: "demo" },
  async (t, c) => {
    const home = await Deno.makeTempDir({ prefix: "kodama-badinput-" });
    const env = { KODAMA_HOME: home };
    const k = (...args: string[]) => runKodama(["--kubeconfig", c.kubeconfig, ...args], { env });
    const files = () => {
      try {
        return [...Deno.readDirSync(`${home}/port-forwards`)].map((e) => e.name).sort();
      } catch {
        return [];
      }
    };
    try {
      await t.step("a rejected port-forward leaves no file behind", async () => {
        const before = files();
        const r = await k("port-forward", "-n", "prod", "-m", "zzz", "80");
        assertEquals(r.code, 3, r.stderr);
        assertEquals(files(), before);
        const a = await k(
          "port-forward",
          "-n",
          "prod",
          "-m",
          "api",
          "--first",
          "--address",
          "not an addr",
          "8080",
        );
        assertEquals(a.code, 2, a.stderr);
        assertStringIncludes(a.stderr, `--address "not an addr"`);
        assert(a.stderr.trim().split("\n").length <= 2, a.stderr);
        assertEquals(files(), before);
      });

      await t.step("a port-forward that ran and ended removes its files", async () => {
        const before = files();
        const p = spawnKodama(
          ["--kubeconfig", c.kubeconfig, "port-forward", "-n", "prod", "-m", "api", "--first", ":8080"],
          { env },
        );
        const reader = p.stdout.pipeThrough(new TextDecoderStream()).getReader();
        const { value } = await reader.read();
        assertStringIncludes(value ?? "", "Forwarding from 127.0.0.1:");
        assert(files().length > before.length, "registered while it runs");
        p.kill("SIGINT");
        const st = await p.status;
        await reader.cancel().catch(() => {});
        await p.stderr.cancel().catch(() => {});
        assertEquals(st.code, 0);
        assertEquals(files(), before);
      });

      await t.step("ui --address: a bad address is exit 2, no warning, nothing listens", async () => {
        for (const addr of ["not an addr", "999.1.1.1"]) {
          const r = await k("ui", "--address", addr);
          assertEquals(r.code, 2, r.stderr);
          assertEquals(r.stdout, "");
          assertStringIncludes(r.stderr, `--address "${addr}"`);
          assert(!r.stderr.includes("warning"), r.stderr);
        }
      });

      await t.step("pod-choice flags that contradict: exit 2 naming both, nothing run", async () => {
        for (
          const [flags, names] of [
            [["--all", "--first"], ["--all", "--first"]],
            [["--pick", "--first"], ["--pick", "--first"]],
          ] as const
        ) {
          const r = await k("exec", "-n", "prod", "-m", "api", ...flags, "--", "echo", "ran");
          assertEquals(r.code, 2, r.stderr);
          assertEquals(r.stdout, "");
          for (const n of names) assertStringIncludes(r.stderr, n);
        }
        const pf = await k("port-forward", "-n", "prod", "-m", "api", "--first", "--pick", "8080");
        assertEquals(pf.code, 2, pf.stderr);
      });

      await t.step("duration and number values are checked whenever given", async () => {
        for (
          const args of [
            ["exec", "-n", "prod", "-m", "api", "--all", "--timeout", "", "--", "true"],
            ["logs", "-n", "prod", "-m", "api", "--since", ""],
            ["logs", "-n", "prod", "-m", "api", "--tail", ""],
            ["pods", "-n", "prod", "--reconnect-timeout", "soon"],
          ]
        ) {
          const r = await k(...args);
          assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
          assertEquals(r.stdout, "", args.join(" "));
        }
      });
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
);
