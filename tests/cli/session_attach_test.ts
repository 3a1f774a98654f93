/**
 * `kodama attach` in a real terminal (tmux, private socket): a shell in the workspace with the terminal's
 * size forwarded and restored on exit; the picker over running sessions; and the other session views —
 * `list -w`, `session get -o yaml`, `session prune` — and attach's errors for sessions that cannot take it.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { parse } from "yaml";
import type { TestCluster } from "../cluster/harness.ts";
import { HAVE_TMUX, Tmux } from "../integration/picker_tmux.ts";
import { CONFIG, MAIN } from "./_run.ts";
import { purge, readUntil, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

function kodamaLine(c: TestCluster, home: string, args: string): string {
  return `env KODAMA_HOME=${home} ${Deno.execPath()} run -A --config ${CONFIG} ${MAIN} --kubeconfig ${c.kubeconfig} --context dev ${args}`;
}

withSessionWorld(
  "attach: an interactive shell in tmux (workspace, size forwarded, terminal restored); the picker",
  { ignore: !HAVE_TMUX },
  async (t, w) => {
    const c = w.c;
    try {
      for (const name of ["tty-a", "tty-b"]) {
        const r = await w.k(["start", name, "--image", SESSION_IMAGE]);
        assertEquals(r.code, 0, r.stderr);
      }
      const m = await w.k(["attach", "tty-a", "--command", "echo in-the-workspace > /workspace/marker.txt"]);
      assertEquals(m.code, 0, m.stderr);
      await t.step(
        "a shell: commands run in the workspace; resize reaches the pod; exit restores the terminal",
        async () => {
          const tm = await Tmux.start(kodamaLine(c, w.home, "attach tty-a"), { width: 100, height: 30 });
          // the helper sends the command's stdout (where a TTY exec writes, echo included) to a file
          const out = async (re: RegExp, what: string, from = 0) => {
            const end = Date.now() + 20_000;
            for (;;) {
              // without terminal control sequences: a real busybox ash asks for the cursor position
              // (ESC[6n) and redraws its prompt with ESC[J after it
              // deno-lint-ignore no-control-regex
              const text = (await tm.read("stdout")).slice(from).replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
              if (re.test(text)) {
                return text;
              }
              if (Date.now() > end) throw new Error(`timed out waiting for ${what}; output:\n${text}`);
              await new Promise((r) => setTimeout(r, 50));
            }
          };
          try {
            // type once the shell shows its prompt (raw mode may drop what was typed before)
            await out(/[#$>] ?$/, "the shell's prompt");
            // the shell starts in the workspace: a relative path finds the file written there
            await tm.type("echo SESSION=$KODAMA_SESSION; cat marker.txt; stty size\n");
            await out(/SESSION=tty-a[^]*in-the-workspace[^]*\b30 100\b/, "the shell's answers");
            await tm.resize(90, 25);
            // the resize travels (SIGWINCH -> kodama -> the pod) apart from the keys: ask until it is there
            const end = Date.now() + 20_000;
            while (!/\b25 90\b/.test(await tm.read("stdout"))) {
              if (Date.now() > end) {
                throw new Error(`the new size never reached the pod:\n${await tm.read("stdout")}`);
              }
              const before = (await tm.read("stdout")).length;
              await tm.type("stty size\n");
              // the answer and the next prompt, after what was there before
              await out(/\b\d+ \d+\r?\n[^]*[#$>] ?$/, "the answer to stty size", before);
            }
            await tm.type("exit 3\n");
            assertEquals(await tm.exitCode(), 3);
            // the terminal's modes are back as they were (its size changed with the resize)
            const modes = (t: string) => t.replace(/rows \d+; columns \d+;/, "");
            assertEquals(modes(await tm.read("stty.after")), modes(await tm.read("stty.before")));
          } finally {
            await tm.stop();
          }
        },
      );
      await t.step(
        "no name: the picker lists the running sessions; Enter attaches to the chosen one",
        async () => {
          const tm = await Tmux.start(kodamaLine(c, w.home, "attach --command 'echo in-$KODAMA_SESSION'"), {
            width: 100,
            height: 20,
          });
          try {
            await tm.waitFor(
              (s) => s.includes("tty-a") && s.includes("tty-b") && s.includes("session>"),
              "the picker",
            );
            await tm.type("tty-b");
            await tm.waitFor((s) => /1\/2/.test(s), "one match");
            await tm.keys("Enter");
            assertEquals(await tm.exitCode(), 0);
            assertStringIncludes(await tm.read("stdout"), "in-tty-b");
          } finally {
            await tm.stop();
          }
        },
      );
    } finally {
      await purge(w, "tty-a");
      await purge(w, "tty-b");
    }
  },
);

withSessionWorld(
  "sessions: list -w follows a stop, get -o yaml, prune, and attach's errors",
  {},
  async (t, w) => {
    try {
      const started = await w.k([
        "start",
        "watched",
        "--image",
        SESSION_IMAGE,
        "--cpu",
        "250m",
        "--memory",
        "512Mi",
      ]);
      assertEquals(started.code, 0, started.stderr);

      await t.step("list -o wide shows EXPIRES IMAGE CPU MEMORY NODE", async () => {
        const r = await w.k(["list", "-o", "wide"]);
        assertMatch(
          r.stdout,
          /^NAME\s+NAMESPACE\s+STATUS\s+SYNC\s+BRANCH\s+READY\s+OWNER\s+AGE\s+EXPIRES\s+IMAGE\s+CPU\s+MEMORY\s+NODE$/m,
        );
        assertMatch(
          r.stdout,
          new RegExp(
            `^watched\\s+dev\\s+Running\\s+Inactive\\s+<none>\\s+1/1\\s+dev\\s+\\S+\\s+<none>\\s+${
              SESSION_IMAGE.replace(/[.]/g, "\\.")
            }\\s+250m\\s+512Mi\\s+\\S+$`,
            "m",
          ),
        );
        // a real cluster's namespace may hold other tests' sessions: each is one `session/NAME` line
        const names = (await w.k(["list", "-o", "name"])).stdout.split("\n").filter(Boolean);
        assert(names.includes("session/watched"), names.join(", "));
        assertEquals(names.filter((n) => !/^session\/[a-z0-9-]+$/.test(n)), []);
        const mask = (t: string) => t.replace(/\b\d+(s|m\d*s?)\b/g, "AGE");
        assertEquals(mask((await w.k(["session"])).stdout), mask((await w.k(["list"])).stdout));
      });

      await t.step("list -w prints the list, then a row when the session stops", async () => {
        const child = w.spawn(["list", "-w"]);
        const first = await readUntil(child.stdout, /watched\s+dev\s+Running/);
        const stop = await w.k(["stop", "watched"]);
        assertEquals(stop.code, 0, stop.stderr);
        let text = first.text;
        const dec = new TextDecoder();
        while (!/watched\s+dev\s+Stopped/.test(text)) {
          const { value, done } = await first.rest.read();
          if (done) break;
          text += dec.decode(value);
        }
        child.kill("SIGINT");
        await first.rest.cancel();
        const { code } = await child.status;
        assertEquals(code, 130);
        assertMatch(text, /^NAME\s+NAMESPACE\s+STATUS/m);
        assertMatch(text, /watched\s+dev\s+Stopped/);
      });

      await t.step("attach to a stopped session names resume; get -o yaml shows the Session", async () => {
        const a = await w.k(["attach", "watched", "--command", "true"]);
        assertEquals(a.code, 1);
        assertStringIncludes(a.stderr, "session watched is stopped");
        assertStringIncludes(a.stderr, "kodama resume watched");
        const g = await w.k(["session", "get", "watched", "-o", "yaml"]);
        assertEquals(g.code, 0, g.stderr);
        const obj = parse(g.stdout);
        assertEquals([obj.kind, obj.metadata.name, obj.status.phase], ["Session", "watched", "Stopped"]);
        assertEquals(obj.spec.cpu, "250m");
        assertEquals(obj.status.volumes.map((v: { name: string }) => v.name).sort(), [
          "kodama-claude-home-watched",
          "kodama-workspace-watched",
        ]);
        const missing = await w.k(["attach", "nosuch", "--command", "true"]);
        assertEquals(missing.code, 3);
        assertStringIncludes(missing.stderr, 'session "nosuch" not found in namespace dev');
      });

      await t.step(
        "prune removes state files whose session is gone; list says when there are some",
        async () => {
          const d = await w.k(["delete", "watched", "--force", "--purge", "--keep-config"]);
          assertEquals(d.code, 0, d.stderr);
          const l = await w.k(["list"]);
          assertStringIncludes(l.stderr, "1 local session file has no session in the cluster (watched)");
          assertStringIncludes(l.stderr, "kodama session prune");
          const dry = await w.k(["session", "prune", "--dry-run"]);
          assertStringIncludes(dry.stdout, "would remove watched");
          await Deno.stat(`${w.home}/sessions/watched.yaml`);
          const p = await w.k(["session", "prune"]);
          assertStringIncludes(p.stdout, "removed watched (namespace dev, context dev)");
          assert(!(await w.k(["list"])).stderr.includes("local session file"));
        },
      );
    } finally {
      await purge(w, "watched");
    }
  },
);
