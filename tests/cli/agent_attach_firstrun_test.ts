/**
 * `agent attach` then `t` opens Claude Code without its first-run dialogs (issue 84 point 7), black-box with
 * the real CLI against the stand-in, in a laptop-side tmux as agent_attach_real_test.ts drives it. Its
 * onboarding (a theme, a check that api.anthropic.com answers) and the question whether to trust the
 * workspace were answered by a node program in the pod, in the file the container's environment named: an
 * image without node, or a CLAUDE_CONFIG_DIR the CLI gets from `session env set` (the home volume's
 * rotated variables, which every run and the interactive CLI take) left both dialogs to the user. Here the
 * CLI's config directory is one `session env set` chose: the first screen after `t` is the key question,
 * the user's own, and no first-run text shows on the way to Claude Code's interface; the state was written
 * in the session's home, into the file the CLI reads. Skipped on a real cluster and without the CLI or tmux.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
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

/** What Claude Code's first-run screens say (its onboarding's connection check and theme, the trust question). */
const FIRST_RUN = [
  /Choose the text style/i,
  /Unable to connect to Anthropic services/i,
  /trust this folder/i,
  /Is this a project you created/i,
  /Do you trust the files/i,
];

withSessionWorld(
  "agent attach: t opens claude without its first-run dialogs, its config dir one session env set chose",
  { ignore: onRealCluster || noTmux || missing("claude", CLAUDE), timeoutMs: 8 * 60_000 },
  async (t, w) => {
    const api = await startStandIn([
      [{ text: "Starting the long task." }, { shell: 'node -e "setTimeout(() => {}, 300000)"' }],
      [{ text: "Kiwi, from the interactive turn." }],
    ]);
    const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url };
    const sock = `kodama-test-${crypto.randomUUID().slice(0, 8)}`;
    const tmux = (...a: string[]) =>
      new Deno.Command("tmux", { args: ["-L", sock, ...a], stdout: "piped", stderr: "piped" }).output();
    const laptop = async () => dec.decode((await tmux("capture-pane", "-p", "-t", "laptop")).stdout);
    const pod = async () =>
      (await w.k([
        "attach",
        "t2",
        "--command",
        'tmux -S "${TMPDIR:-/tmp}/kodama-agent-$KODAMA_POD_UID" capture-pane -p -t kodama-agent',
      ])).stdout;
    // every screen of the pod's tmux read on the way: none may be a first-run dialog
    const seen: string[] = [];
    const podSeen = async () => {
      const s = await pod();
      seen.push(s);
      const bad = FIRST_RUN.find((re) => re.test(s));
      if (bad) throw new Error(`a first-run dialog opened (${bad}):\n${s}`);
      return s;
    };
    try {
      await Deno.writeTextFile(
        join(w.home, "config.yaml"),
        `agent:\n  authEnv: [ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL]\n`,
      );
      let cfg = "";
      await t.step("a session whose CLI config dir is set later; a run held open", async () => {
        const r = await w.k(["start", "t2", "--no-sync"], { env });
        assertEquals(r.code, 0, r.stderr);
        const home = (await w.sh("t2", 'printf %s "$HOME"')).stdout;
        assert(home.startsWith("/"), home);
        cfg = `${home}/claude-config`;
        const set = await w.k(["session", "env", "set", "t2", `CLAUDE_CONFIG_DIR=${cfg}`], { env });
        assertEquals(set.code, 0, set.stderr);
        const run = await w.k(["agent", "run", "t2", "--prompt", "Start the long task."], { env });
        assertEquals(run.code, 0, run.stderr);
        await api.waitFor(() => api.mainRequests().length >= 1, 120_000);
      });

      await t.step("t opens claude: the key question first, no first-run dialog on the way", async () => {
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
            } --context dev agent attach t2`,
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
        // the key in its environment: the user's own question, answered as they would
        await until(
          podSeen,
          (x) => x.includes("Do you want to use this API key?"),
          "claude's key question",
          90_000,
        )
          .catch(async (e) => {
            throw new Error(`${e.message}\nthe laptop's terminal:\n${await laptop()}`);
          });
        await tmux("send-keys", "-t", "laptop", "Up");
        await tmux("send-keys", "-t", "laptop", "Enter");
        await until(
          podSeen,
          (x) => x.includes("Yes, I accept"),
          "claude's bypass-permissions question",
          60_000,
        );
        await tmux("send-keys", "-t", "laptop", "Down");
        await tmux("send-keys", "-t", "laptop", "Enter");
        await until(
          podSeen,
          (x) => /for shortcuts|bypass permissions on/i.test(x),
          "claude's interface",
          90_000,
        );
        assert(seen.length > 0);
        // the marks are in the file the CLI reads (the chosen config dir, in the session's home)
        const f = JSON.parse((await w.sh("t2", `cat '${cfg}/.claude.json'`)).stdout);
        assertEquals(f.hasCompletedOnboarding, true);
        assert(
          Object.values(f.projects ?? {}).some((p) =>
            (p as { hasTrustDialogAccepted?: boolean }).hasTrustDialogAccepted
          ),
          JSON.stringify(f.projects),
        );
      });

      await t.step("a prompt typed into it reaches the model", async () => {
        const before = api.mainRequests().length;
        await tmux("send-keys", "-t", "laptop", "-l", "Please say kiwi.");
        await until(podSeen, (x) => x.includes("Please say kiwi."), "the typed prompt");
        await tmux("send-keys", "-t", "laptop", "Enter");
        await api.waitFor(() =>
          api.mainRequests().slice(before).some((r) => r.text.includes("Please say kiwi."))
        );
        await until(podSeen, (x) => x.includes("Kiwi, from the interactive turn."), "the answer");
        const req = api.mainRequests().slice(before).find((r) => r.text.includes("Please say kiwi."))!;
        assertStringIncludes(req.text, "Start the long task.");
      });
    } finally {
      await tmux("kill-server");
      await purge(w, "t2");
      await api.close();
    }
  },
);
