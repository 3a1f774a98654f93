/**
 * `kodama pick` in a real terminal (tmux, private socket, 120x30) against the test cluster:
 * the picker opens, narrows as you type, Enter prints namespace/name on stdout, Esc exits 130 with the
 * terminal settings unchanged, the preview shows labels, the list is live, KODAMA_PICKER=fzf works.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import type { TestCluster } from "../cluster/harness.ts";
import { HAVE_TMUX, Tmux } from "./picker_tmux.ts";
import { clusterTest } from "../cluster/fixture.ts";

const CONFIG = new URL("../../deno.json", import.meta.url).pathname;
const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const NS = "weka-operator-system";

function kodama(c: TestCluster, args: string): string {
  return `${Deno.execPath()} run -A --config ${CONFIG} ${MAIN} --kubeconfig ${c.kubeconfig} ${args}`;
}

async function kubectl(c: TestCluster, ...args: string[]): Promise<void> {
  const out = await new Deno.Command("kubectl", {
    args: ["--kubeconfig", c.kubeconfig, ...args],
    stdout: "null",
    stderr: "piped",
  })
    .output();
  if (!out.success) throw new Error(`kubectl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

const rows = (screen: string) => screen.split("\n").filter((l) => / weka-(drive|compute)-\d/.test(l)).length;

clusterTest(
  "picker: kodama pick in tmux against the test cluster",
  { seed: "demo", ignore: !HAVE_TMUX },
  async (t, c) => {
    await t.step(
      "--query drive --select-1 opens with 3 drives; typing narrows; Enter prints the pod",
      async () => {
        const tm = await Tmux.start(kodama(c, `pick -n ${NS} --query drive --select-1`));
        try {
          let s = await tm.waitFor((s) => s.includes("3/4"), "3 of 4 pods listed");
          assertStringIncludes(s, "pod> drive");
          assertEquals(rows(s), 3);
          // the preview (120 columns: on the right) shows the cursor pod's labels
          assertStringIncludes(s, "app=weka-drive");
          assertStringIncludes(s, "namespace  weka-operator-system");
          await tm.type("2");
          s = await tm.waitFor((s) => s.includes("1/4"), "narrowed to one");
          assertEquals(rows(s), 1);
          await tm.keys("Enter");
          assertEquals(await tm.exitCode(), 0);
          assertEquals(await tm.read("stdout"), `${NS}/weka-drive-2\n`);
          assertEquals(await tm.read("stty.after"), await tm.read("stty.before"));
        } finally {
          await tm.stop();
        }
      },
    );

    await t.step("SIGINT/SIGTERM from outside exit 130 and restore the terminal", async () => {
      for (const sig of ["SIGINT", "SIGTERM"] as const) {
        const tm = await Tmux.start(kodama(c, `pick -n prod`));
        try {
          await tm.waitFor((s) => s.includes("3/3"), "picker open");
          await tm.kill(sig);
          assertEquals(await tm.exitCode(), 130, sig);
          assertEquals(await tm.read("stty.after"), await tm.read("stty.before"), sig);
        } finally {
          await tm.stop();
        }
      }
    });

    await t.step("Esc exits 130 quietly and restores the terminal", async () => {
      const tm = await Tmux.start(kodama(c, `pick -n ${NS}`));
      try {
        await tm.waitFor((s) => s.includes("4/4"), "picker open");
        await tm.type("dr");
        await tm.waitFor((s) => s.includes("3/4"));
        // resize: 120 columns have the preview on the right; at 70 it is gone and the list redrawn
        assertStringIncludes(await tm.screen(), "│ namespace  weka-operator-system");
        await tm.resize(70, 20);
        // the resize clears the screen before the new frame: wait for the frame, not the blank between
        const narrow = await tm.waitFor(
          (s) => !s.includes("│") && s.includes("pod> dr") && rows(s) === 3,
          "redraw without the side preview",
        );
        for (const l of narrow.split("\n")) assert([...l].length <= 70, l);
        await tm.keys("Escape");
        assertEquals(await tm.exitCode(), 130);
        assertEquals(await tm.read("stdout"), "");
        // every terminal setting unchanged (the first line, with rows/columns, changed with the resize)
        const settings = (s: string) => s.split("\n").slice(1).join("\n");
        const before = await tm.read("stty.before");
        assert(before.includes("icanon"), before);
        assertEquals(settings(await tm.read("stty.after")), settings(before));
        // quiet, as fzf: no error line
        assert(!(await tm.screen()).includes("error:"), await tm.screen());
      } finally {
        await tm.stop();
      }
    });

    await t.step("the query line edits like fzf's: typing after Left Left inserts mid-query", async () => {
      // with colour the caret is a reverse-video cell (terminal cursor hidden); without, the terminal cursor
      for (const env of [{}, { NO_COLOR: "1" }] as Record<string, string>[]) {
        // -A for the namespace column; the label keeps it to the demo world's weka pods (a real cluster
        // has many more pods in other namespaces)
        const tm = await Tmux.start(kodama(c, `pick -A -l app.kubernetes.io/name=weka`), { env });
        try {
          await tm.waitFor((s) => s.includes("pod>") && rows(s) === 4, "picker open");
          await tm.type("w-0");
          let s = await tm.waitFor((s) => s.includes("pod> w-0") && rows(s) === 2, "w-0: both -0 pods");
          await tm.keys("Left", "Left");
          await tm.type("c"); // "w|-0" -> "wc|-0": only weka-compute-0 (typed at the end: nothing matches)
          s = await tm.waitFor((s) => s.includes("pod> wc-0"), "c inserted before -0");
          assertEquals(rows(s), 1);
          assertStringIncludes(s, "weka-operator-system  weka-compute-0");
          const cur = await tm.cursor();
          assertEquals(cur.x, "pod> wc".length, "the terminal cursor sits on the caret");
          assertEquals(cur.visible, "NO_COLOR" in env); // hidden under the reverse-video caret cell
          // Ctrl-U and Ctrl-K empty the query around the caret; Ctrl-D on an empty query leaves like fzf
          await tm.keys("C-u", "C-k");
          await tm.waitFor((s) => /^pod>\s*$/m.test(s) && rows(s) === 4, "empty query");
          await tm.keys("C-d");
          assertEquals(await tm.exitCode(), 130);
          assertEquals(await tm.read("stty.after"), await tm.read("stty.before"));
          assert((await tm.cursor()).visible, "cursor shown again");
        } finally {
          await tm.stop();
        }
      }
    });

    await t.step(
      "--multi: Tab marks, Enter prints every marked pod; a pod deleted meanwhile is greyed",
      async () => {
        const tm = await Tmux.start(
          kodama(c, `pick -A -l app.kubernetes.io/name=weka --multi --query 'weka dr'`),
        );
        try {
          await tm.waitFor((s) => s.includes("3/4"), "3 drives of the 4 weka pods");
          await tm.keys("Tab", "Tab");
          let s = await tm.waitFor((s) => s.includes("(2 selected)"));
          assertStringIncludes(s, "weka-operator-system  weka-drive-0"); // -A: namespace column
          if (!c.real) {
            // the drives are a StatefulSet's pods: one deleted comes back at once under the same name, so
            // the set is scaled down instead (its highest ordinal goes for good), then back up
            await kubectl(c, "scale", "sts", "-n", NS, "weka-drive", "--replicas=2");
            s = await tm.waitFor((s) => s.includes("weka-drive-2 (deleted)"), "deleted pod greyed");
            assertStringIncludes(s, "2/3 (2 selected)");
            await kubectl(c, "scale", "sts", "-n", NS, "weka-drive", "--replicas=3");
          }
          await tm.keys("Enter");
          assertEquals(await tm.exitCode(), 0);
          assertEquals(await tm.read("stdout"), `${NS}/weka-drive-0\n${NS}/weka-drive-1\n`);
        } finally {
          await tm.stop();
        }
      },
    );

    await t.step({
      name: "KODAMA_PICKER=fzf hands the choice to fzf",
      ignore: !new Deno.Command("sh", { args: ["-c", "command -v fzf"], stdout: "null" }).outputSync()
        .success,
      fn: async () => {
        const tm = await Tmux.start(kodama(c, `pick -n prod --query web`), {
          env: { KODAMA_PICKER: "fzf" },
        });
        try {
          await tm.waitFor((s) => s.includes("prod/web-"), "fzf shows namespace/name lines");
          await tm.keys("Enter");
          assertEquals(await tm.exitCode(), 0);
          assert(/^prod\/web-[a-z0-9-]+\n$/.test(await tm.read("stdout")), await tm.read("stdout"));
        } finally {
          await tm.stop();
        }
      },
    });

    await t.step("KODAMA_PICKER=fzf without fzf installed is a clear error", async () => {
      const tm = await Tmux.start(kodama(c, `pick -n prod`), {
        env: { KODAMA_PICKER: "fzf", PATH: "/nonexistent" },
      });
      try {
        assertEquals(await tm.exitCode(), 2);
        assertStringIncludes(await tm.screen(), "fzf is not installed");
      } finally {
        await tm.stop();
      }
    });
  },
);
