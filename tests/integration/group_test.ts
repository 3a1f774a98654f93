/**
 * Folded fan-out output (`exec --all --group`, `-o grouped`) over the load pods (20 on the test server; a
 * real cluster's own number, c.loadPods), and the live `done/total`
 * line: on a terminal (tmux) it shows while pods run and the summary replaces it; without one, stderr
 * carries the summary and nothing else.
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { runKodama } from "../cli/_run.ts";
import { CONFIG, MAIN } from "../cli/_run.ts";
import { Kube } from "../../src/kube/client.ts";
import { waitForPods } from "../../src/pods/wait.ts";
import { tmux } from "./_helpers.ts";
import { clusterTest } from "../cluster/fixture.ts";

clusterTest(
  "exec --all --group over the load pods: one group, then the odd pod in its own; the live line on a terminal",
  { seed: "none", pods: 20 },
  async (t, c) => {
    const kube = await Kube.connect({ kubeconfig: c.kubeconfig, namespace: "load" });
    const n = c.loadPods;
    const last = String(n - 1).padStart(3, "0");
    const k = (args: string[]) => runKodama(["--kubeconfig", c.kubeconfig, "-n", "load", ...args]);
    try {
      await waitForPods(kube, { namespace: "load", match: ["load-"] }, { for: "ready", timeoutMs: 60_000 });

      await t.step("identical output: one group naming every load pod, load-[000-NNN]", async () => {
        const r = await k(["exec", "--all", "--group", "--", "sh", "-c", "echo same"]);
        assertEquals(r.code, 0, r.stderr);
        assertEquals(
          r.stdout,
          `----------------\nload-[000-${last}] (${n}) exit 0\n----------------\nsame\n`,
        );
        // no terminal: the summary and nothing else (no live line, no escape codes)
        assertMatch(
          r.stderr,
          new RegExp(`^${n} pods: ${n} ok, 0 failed \\(slowest load-\\d{3} [\\d.]+m?s\\)\n$`),
        );
      });

      await t.step("one pod differs (output and exit code): two groups, the odd pod named", async () => {
        const r = await k([
          "exec",
          "--all",
          "-o",
          "grouped",
          "--",
          "sh",
          "-c",
          'if [ "$(hostname)" = load-013 ]; then echo other >&2; exit 3; fi; echo same',
        ]);
        assertEquals(r.code, 1);
        assertEquals(
          r.stdout,
          [
            "----------------",
            `load-[000-012,014-${last}] (${n - 1}) exit 0`,
            "----------------",
            "same",
            "----------------",
            "load-013 (1) exit 3",
            "----------------",
            "other",
            "",
          ].join("\n"),
        );
        const bad = await k(["exec", "--all", "--group", "-o", "json", "--", "true"]);
        assertEquals(bad.code, 2);
      });

      await t.step("on a terminal: a done/total line while pods run, replaced by the summary", async () => {
        const sock = `kodama-group-${crypto.randomUUID().slice(0, 8)}`;
        const dir = await Deno.makeTempDir();
        const out = `${dir}/out`;
        const cmd = [
          Deno.execPath(),
          "run",
          "-A",
          "--config",
          CONFIG,
          MAIN,
          "--kubeconfig",
          c.kubeconfig,
          "-n",
          "load",
          "exec",
          "--all",
          "--max-parallel",
          "2",
          "--",
          "sh",
          "-c",
          // fixed: each command takes a moment, so the progress line is seen counting (work, not a wait)
          "sleep 0.3; echo hi",
        ].map((a) => `'${a}'`).join(" ");
        await tmux(
          sock,
          "new-session",
          "-d",
          "-x",
          "120",
          "-y",
          "40",
          `NO_COLOR=1 ${cmd} > ${out}; echo EXIT=$?; sleep 30`,
        );
        try {
          let seen = "";
          for (let i = 0; i < 600 && !new RegExp(`\\d+/${n} done`).test(seen); i++) {
            seen = await tmux(sock, "capture-pane", "-p");
            await new Promise((r) => setTimeout(r, 50));
          }
          assertMatch(seen, new RegExp(`[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] \\d+/${n} done \\(`));
          let screen = "";
          for (let i = 0; i < 600 && !screen.includes("EXIT="); i++) {
            screen = await tmux(sock, "capture-pane", "-p");
            await new Promise((r) => setTimeout(r, 50));
          }
          assert(screen.includes("EXIT=0"), screen);
          assertMatch(screen, new RegExp(`^${n} pods: ${n} ok, 0 failed`, "m"));
          assert(!screen.includes(`/${n} done`), `the live line stayed: ${screen}`);
          assertEquals((await Deno.readTextFile(out)).trim().split("\n").length, n);
        } finally {
          await tmux(sock, "kill-server");
          await Deno.remove(dir, { recursive: true });
        }
      });
    } finally {
      kube.close();
    }
  },
);
