/**
 * `kodama agent attach NAME` takes a run over, black-box, with the real Claude Code against the stand-in
 * (tests/agents/_standin.ts): a run held open (its first turn's tool call waits in the pod), `agent attach` in a
 * laptop-side terminal (a tmux of the test's own, driven with send-keys and capture-pane), `t` stops the run
 * and opens `claude --continue` in the pod's tmux session `kodama-agent`; a prompt typed there reaches the
 * model; detaching leaves it running and `agent run` refuses to start beside it; `agent run --continue
 * --force` ends it and continues headless, with the interactive turn in the conversation's history.
 * Skipped on a real cluster and without the CLI or tmux.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { purge, withSessionWorld } from "./_session.ts";
import { startStandIn } from "../agents/_standin.ts";
import { CLAUDE, missing } from "../agents/_clis.ts";
import { CONFIG, MAIN } from "./_run.ts";
import { shellQuote } from "../../src/base/text/escape.ts";

const KEY = "sk-ant-standin-6502";
const noTmux = new Deno.Command("sh", { args: ["-c", "command -v tmux"] }).outputSync().code !== 0;
const dec = new TextDecoder();

/** Poll `read` until `pred` holds; fail with the last text after `ms`. */
async function until(read: () => Promise<string>, pred: (s: string) => boolean, what: string, ms = 60_000) {
  const end = Date.now() + ms;
  let last = "";
  while (Date.now() < end) {
    last = await read();
    if (pred(last)) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}; last screen:\n${last}`);
}

withSessionWorld(
  "agent attach: t takes the run over into claude in the pod's tmux; a headless --continue has its turn",
  { ignore: onRealCluster || noTmux || missing("claude", CLAUDE), timeoutMs: 8 * 60_000 },
  async (t, w) => {
    const api = await startStandIn([
      [{ text: "Starting the long task." }, { shell: 'node -e "setTimeout(() => {}, 300000)"' }],
      [{ text: "Kiwi, from the interactive turn." }],
      [{ text: "Back headless." }],
    ]);
    const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url };
    const sock = `kodama-test-${crypto.randomUUID().slice(0, 8)}`;
    const tmux = (...a: string[]) =>
      new Deno.Command("tmux", { args: ["-L", sock, ...a], stdout: "piped", stderr: "piped" }).output();
    const laptop = async () => dec.decode((await tmux("capture-pane", "-p", "-t", "laptop")).stdout);
    const pod = async () =>
      (await w.k([
        "attach",
        "t1",
        "--command",
        'tmux -S "${TMPDIR:-/tmp}/kodama-agent-$KODAMA_POD_UID" capture-pane -p -t kodama-agent',
      ])).stdout;
    try {
      await Deno.writeTextFile(
        join(w.home, "config.yaml"),
        `agent:\n  authEnv: [ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL]\n`,
      );
      await t.step("a run held open (its tool call waits)", async () => {
        const r = await w.k(["start", "t1", "--no-sync", "--prompt", "Start the long task."], { env });
        assertEquals(r.code, 0, r.stderr);
        await api.waitFor(() => api.mainRequests().length >= 1, 120_000);
        const runs = JSON.parse((await w.k(["agent", "status", "t1", "-o", "json"])).stdout).items;
        assertEquals(runs[0].state, "running");
      });

      await t.step("agent attach in a terminal: the run and the footer; t opens claude in tmux", async () => {
        const script = join(w.cwd, "attach.sh");
        const vars = {
          KODAMA_HOME: w.home,
          NO_COLOR: "1",
          DENO_NO_UPDATE_CHECK: "1",
          GIT_CONFIG_GLOBAL: "/dev/null",
          TERM: "xterm-256color",
          ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
        };
        const q = (s: string) => shellQuote(s, { always: true });
        await Deno.writeTextFile(
          script,
          [
            ...Object.entries(vars).map(([k, v]) => `export ${k}=${q(v)}`),
            `${q(Deno.execPath())} run -A --no-prompt --config ${q(CONFIG)} ${q(MAIN)} --kubeconfig ${
              q(w.c.kubeconfig)
            } --context dev agent attach t1`,
            `echo "EXIT=$?"`,
            `sleep 600`,
          ].join("\n"),
        );
        const s = await tmux("new-session", "-d", "-s", "laptop", "-x", "160", "-y", "45", "sh", script);
        assertEquals(s.code, 0, dec.decode(s.stderr));
        await until(
          laptop,
          (x) => x.includes("t: take over") && /Starting the long task\./.test(x),
          "the footer and the run",
        );
        await tmux("send-keys", "-t", "laptop", "t");
        // claude asks once whether to use the key in its environment: the user's answer, typed as they would
        await until(
          pod,
          (x) => x.includes("Do you want to use this API key?"),
          "claude's key question",
          90_000,
        );
        await tmux("send-keys", "-t", "laptop", "Up");
        await tmux("send-keys", "-t", "laptop", "Enter");
        // and once whether to accept its bypass-permissions mode (the session's posture): the user says yes
        await until(pod, (x) => x.includes("Yes, I accept"), "claude's bypass-permissions question", 60_000);
        await tmux("send-keys", "-t", "laptop", "Down");
        await tmux("send-keys", "-t", "laptop", "Enter");
        // claude's own interface, in the pod's tmux (and on the laptop's terminal through it)
        await until(
          pod,
          (x) => /for shortcuts|bypass permissions on/i.test(x),
          "claude's interface",
          90_000,
        ).catch(async (e) => {
          throw new Error(`${e.message}\nthe laptop's terminal:\n${await laptop()}\npod:\n${await pod()}`);
        });
        const runs = JSON.parse((await w.k(["agent", "status", "t1", "-o", "json"])).stdout).items;
        assertEquals(runs[0].state, "stopped");
        assertStringIncludes(JSON.stringify(runs[0]), "taken over");
      });

      await t.step("a prompt typed into it reaches the model, in the same conversation", async () => {
        const before = api.mainRequests().length;
        await tmux("send-keys", "-t", "laptop", "-l", "Please say kiwi.");
        await until(pod, (x) => x.includes("Please say kiwi."), "the typed prompt");
        await tmux("send-keys", "-t", "laptop", "Enter");
        await api.waitFor(() =>
          api.mainRequests().slice(before).some((r) => r.text.includes("Please say kiwi."))
        );
        const req = api.mainRequests().slice(before).find((r) => r.text.includes("Please say kiwi."))!;
        assertStringIncludes(req.text, "Start the long task.");
        await until(pod, (x) => x.includes("Kiwi, from the interactive turn."), "the answer");
      });

      await t.step("C-b d detaches; the interactive agent keeps running; agent run refuses", async () => {
        await tmux("send-keys", "-t", "laptop", "C-b", "d");
        await until(laptop, (x) => x.includes("EXIT=0"), "the detach");
        assertStringIncludes(await pod(), "Kiwi, from the interactive turn.");
        const r = await w.k(["agent", "run", "t1", "--continue", "--prompt", "Go on."], { env });
        assertEquals(r.code, 2, r.stderr);
        assertMatch(r.stderr, /an interactive agent is running in tmux; end it or pass --force/);
      });

      await t.step(
        "agent run --continue --force: headless again, the interactive turn in its history",
        async () => {
          const before = api.mainRequests().length;
          const r = await w.k(
            ["agent", "run", "t1", "--continue", "--force", "--prompt", "Go on headless."],
            {
              env,
            },
          );
          assertEquals(r.code, 0, r.stderr);
          const f = await w.spawn(["agent", "logs", "t1", r.stdout.trim(), "-f"], { env }).output();
          assertEquals(f.code, 0, dec.decode(f.stdout) + dec.decode(f.stderr));
          const req = api.mainRequests().slice(before).find((x) => x.text.includes("Go on headless."));
          assert(req, "the headless run asked the model");
          assertStringIncludes(req.text, "Please say kiwi.");
          assertStringIncludes(req.text, "Kiwi, from the interactive turn.");
          assertEquals(await pod(), "", "the interactive tmux was ended");
        },
      );
    } finally {
      await tmux("kill-server");
      await purge(w, "t1");
      await api.close();
    }
  },
);
