/**
 * TTY paths driven in a private tmux server (own socket, fixed size): interactive `exec -it`
 * (prompt, window size, resize, exit code, terminal restored), `--tmux` panes, and the picker
 * reached through `kodama exec`.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { DEMO, type TestCluster } from "../cluster/harness.ts";
import { CONFIG, MAIN, spawnKodama } from "../cli/_run.ts";
import { HAVE_TMUX } from "./picker_tmux.ts";
import { tmux } from "./_helpers.ts";
import { clusterTest } from "../cluster/fixture.ts";
import { podFsInfo } from "../cluster/runtime/podns.ts";
import { shellQuote } from "../../src/base/text/escape.ts";

const shq = (s: string) => shellQuote(s, { always: true });

/** A private tmux server whose first pane runs `command` with stdin, stdout and stderr on the terminal. */
class Term {
  private constructor(readonly socket: string, readonly dir: string) {}

  static async start(
    command: string,
    o: { width: number; height: number; env?: Record<string, string> },
  ): Promise<Term> {
    const t = new Term(
      `kodama-test-${crypto.randomUUID().slice(0, 8)}`,
      await Deno.makeTempDir({ prefix: "kodama-tty-" }),
    );
    const env = Object.entries(o.env ?? {}).map(([k, v]) => `${k}=${shq(v)}`).join(" ");
    const script = [
      `stty -a > ${t.dir}/stty.before`,
      `${env ? `env ${env} ` : ""}${command}`,
      `echo $? > ${t.dir}/code.tmp; stty -a > ${t.dir}/stty.after; mv ${t.dir}/code.tmp ${t.dir}/code`,
      "sleep 600",
    ].join("; ");
    await t.tmux(
      "-f",
      "/dev/null",
      "new-session",
      "-d",
      "-x",
      String(o.width),
      "-y",
      String(o.height),
      "sh",
      "-c",
      script,
    );
    await t.tmux("set-option", "-g", "status", "off");
    return t;
  }

  async tmux(...args: string[]): Promise<string> {
    const out = await new Deno.Command("tmux", {
      args: ["-L", this.socket, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(`tmux ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
    return new TextDecoder().decode(out.stdout);
  }

  async screen(target?: string): Promise<string> {
    return (await this.tmux("capture-pane", "-p", ...(target ? ["-t", target] : []))).replace(/\s+$/, "");
  }

  async waitFor(
    pred: (s: string) => boolean,
    what: string,
    timeoutMs = 20_000,
    target?: string,
  ): Promise<string> {
    const end = Date.now() + timeoutMs;
    let s = "";
    while (Date.now() < end) {
      s = await this.screen(target).catch(() => "");
      if (pred(s)) return s;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}; screen:\n${s}`);
  }

  async type(text: string) {
    await this.tmux("send-keys", "-l", text);
  }
  async keys(...k: string[]) {
    for (const key of k) await this.tmux("send-keys", key);
  }

  async exitCode(timeoutMs = 20_000): Promise<number> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      try {
        return Number((await Deno.readTextFile(`${this.dir}/code`)).trim());
      } catch { /* not yet */ }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`command did not exit; screen:\n${await this.screen()}`);
  }

  read(name: string): Promise<string> {
    return Deno.readTextFile(`${this.dir}/${name}`).catch(() => "");
  }

  async stop() {
    await this.tmux("kill-server").catch(() => {});
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

function kodama(c: TestCluster, args: string): string {
  return `${shq(Deno.execPath())} run -A --config ${shq(CONFIG)} ${shq(MAIN)} --kubeconfig ${
    shq(c.kubeconfig)
  } ${args}`;
}

clusterTest(
  "TTY: exec -it, --tmux panes, picker through exec",
  { seed: "demo", ignore: !HAVE_TMUX },
  async (t, c) => {
    await t.step("exec -it: prompt, stty size, resize seen, exit 3, terminal restored", async () => {
      const term = await Term.start(
        kodama(c, `exec -it -n ${DEMO.wekaNamespace} --pod weka-drive-0 -- sh`),
        {
          width: 100,
          height: 30,
        },
      );
      try {
        await term.waitFor((s) => /[$#] ?$/.test(s), "a shell prompt");
        await term.type("stty size\n");
        await term.waitFor((s) => s.includes("30 100"), "stty size = 30 100");
        await term.tmux("resize-window", "-x", "80", "-y", "20");
        // the new size travels on its own channel, after the window's: ask until the pod's terminal has it
        for (let i = 1;; i++) {
          await term.type("stty size\n");
          const got = await term.waitFor((s) => s.includes("20 80"), "stty size after resize = 20 80", 2_000)
            .then(() => true, (e) => i < 10 ? false : Promise.reject(e));
          if (got) break;
        }
        await term.type("exit 3\n");
        assertEquals(await term.exitCode(), 3);
        // every mode restored (the size line differs: we resized the window)
        const modes = (s: string) => s.split("\n").slice(1).join("\n");
        const before = await term.read("stty.before");
        assert(before.includes("icanon") && before.includes("echo"), before);
        assertEquals(modes(await term.read("stty.after")), modes(before));
      } finally {
        await term.stop();
      }
    });

    await t.step(
      "kpod -- sh on a terminal gets a TTY without -it (docker compose exec); -T does not",
      async () => {
        const term = await Term.start(kodama(c, `exec -n ${DEMO.wekaNamespace} --pod weka-drive-0 -- sh`), {
          width: 100,
          height: 30,
        });
        try {
          await term.waitFor((s) => /[$#] ?$/.test(s), "a shell prompt");
          await term.type("echo tty-$((40+2)); tty\n");
          // both lines: the echo's, then tty's answer (a terminal's name, or "not a tty")
          const s = await term.waitFor(
            (s) => /tty-42\s*\n[^]*(\/dev\/\S+|not a tty)/.test(s),
            "the command's output",
          );
          assertMatch(s, /\/dev\/(pts\/\d+|tty\w*)/); // the shell's stdin is a terminal
          await term.type("exit 4\n");
          assertEquals(await term.exitCode(), 4);
        } finally {
          await term.stop();
        }
        // -T: no TTY and no stdin, so the shell reads nothing and ends at once, as `docker compose exec -T`
        const plain = await Term.start(
          kodama(c, `exec -T -n ${DEMO.wekaNamespace} --pod weka-drive-0 -- sh`),
          {
            width: 100,
            height: 30,
          },
        );
        try {
          assertEquals(await plain.exitCode(), 0);
        } finally {
          await plain.stop();
        }
      },
    );

    await t.step("--tmux outside tmux: a detached session, one pane per pod, titled", async () => {
      const sock = `kodama-test-${crypto.randomUUID().slice(0, 8)}`;
      const env = { ...Deno.env.toObject(), KODAMA_TMUX_SOCKET: sock, NO_COLOR: "1" };
      delete (env as Record<string, string>).TMUX;
      try {
        const r = await spawnKodama(
          [
            "--kubeconfig",
            c.kubeconfig,
            "exec",
            "-n",
            DEMO.wekaNamespace,
            "-m",
            "weka",
            "--tmux",
            "--sync-panes",
            "--",
            "sh",
          ],
          { env, clearEnv: true },
        ).output();
        const stderr = new TextDecoder().decode(r.stderr);
        assertEquals(r.code, 0, stderr);
        const session = new TextDecoder().decode(r.stdout).trim();
        assert(session.startsWith("kodama-"), session);
        const list = await tmux(
          sock,
          "list-panes",
          "-s",
          "-t",
          session,
          "-F",
          "#{pane_title}|#{synchronize-panes}|#{pane-border-status}",
        );
        const rows = list.trim().split("\n");
        assertEquals(rows.map((l) => l.split("|")[0]).sort(), [...DEMO.wekaPods].sort());
        for (const row of rows) assertStringIncludes(row, "|1|top");
        // the panes run an interactive shell in their pod; on the test server its prompt names the pod
        const panes = (await tmux(sock, "list-panes", "-s", "-t", session, "-F", "#{pane_id}|#{pane_title}"))
          .trim().split("\n").map((l) => l.split("|"));
        const end = Date.now() + 20_000;
        let screen = "";
        while (Date.now() < end) {
          screen = await tmux(sock, "capture-pane", "-p", "-t", panes[0][0]);
          if (/[$#] ?\s*$/.test(screen)) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        assert(/[$#] ?\s*$/.test(screen), `no prompt in the first pane:\n${screen}`);
        // a pod with its own filesystem view has a real pod's prompt (no host path in it); the fallback
        // names the pod in the prompt instead
        if (!c.real && podFsInfo().mode === "paths") assertStringIncludes(screen, `${panes[0][1]} $`);
        assert(!screen.includes("/tmp/"), `a host path in the prompt:\n${screen}`);
      } finally {
        await tmux(sock, "kill-server");
      }
    });

    await t.step("--tmux inside tmux: a new window with a pane per pod", async () => {
      const term = await Term.start(kodama(c, `exec -n ${DEMO.wekaNamespace} -m weka --tmux -- sh`), {
        width: 160,
        height: 48,
      });
      try {
        assertEquals(await term.exitCode(), 0);
        const rows = (await term.tmux("list-panes", "-a", "-F", "#{window_name}|#{pane_title}")).trim()
          .split("\n");
        const ours = rows.filter((r) => r.startsWith("kodama|")).map((r) => r.split("|")[1]).sort();
        assertEquals(ours, [...DEMO.wekaPods].sort());
      } finally {
        await term.stop();
      }
    });

    await t.step("picker through exec: 2 rows, typing narrows, Enter runs there", async () => {
      const term = await Term.start(kodama(c, "exec -n prod -m api -- hostname"), {
        width: 120,
        height: 30,
      });
      try {
        await term.waitFor((s) => DEMO.apiPods.every((p) => s.includes(p)), "both api pods in the picker");
        await term.type("q7m4t");
        await term.waitFor(
          (s) => !s.includes(DEMO.apiPods[0]) && s.includes(DEMO.apiPods[1]),
          "one row left",
        );
        await term.keys("Enter");
        const code = await term.exitCode();
        const s = await term.screen();
        assertEquals(code, 0, s);
        assertStringIncludes(s, DEMO.apiPods[1]);
      } finally {
        await term.stop();
      }
    });

    await t.step("picker --pick --multi: Tab Tab Enter fans out to both", async () => {
      const term = await Term.start(kodama(c, "exec -n prod -m api --pick --multi -- hostname"), {
        width: 120,
        height: 30,
      });
      try {
        await term.waitFor((s) => DEMO.apiPods.every((p) => s.includes(p)), "both api pods in the picker");
        await term.keys("Tab", "Tab", "Enter");
        const code = await term.exitCode();
        assertEquals(code, 0, await term.screen());
        const s = await term.waitFor((x) => x.includes("2 pods: 2 ok"), "the fan-out summary");
        for (const p of DEMO.apiPods) assertStringIncludes(s, `${p} | ${p}`);
      } finally {
        await term.stop();
      }
    });
  },
);
