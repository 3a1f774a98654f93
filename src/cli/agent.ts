/**
 * `kodama agent run|status|logs|attach|stop|say|interrupt|wait|presets|check|keys`: coding-agent runs in a
 * session (the session's agent preset, detached in the session's pod, each with an id, its prompt and output
 * under ~/.kodama/runs in the pod).
 */
import { command, type GlobalValues, opt } from "./opttypes.ts";
import { setExitCode } from "./exit.ts";
import { connectFromOpts } from "./connect.ts";
import type { HelpSpec } from "./help.ts";
import { arg, type CommandSpec } from "./spec.ts";
import { SETTINGS_OPTIONS, settingsFlagsOf } from "./agentflags.ts";
import { collect } from "./optspec.ts";

const settings = () => import("./settings.ts").then((m) => m.effectiveConfig());
const commands = () => import("../agent/runs/agentcmd.ts");
const connect = (inv: { opts: GlobalValues }) => connectFromOpts(inv.opts);
const SESSION = arg("<name>", "session name");
const RUN = arg("[run]", "run id (default: the latest)");

export const names = ["agent"];

export const help: HelpSpec = {
  group: "Sessions",
  summary:
    "Coding-agent runs in a session: run, status, logs, attach, stop; say, interrupt, wait; the agent presets; keys and models checked (check, keys)",
  usage: "[command] [flags]",
  long:
    `Each run starts the session's coding agent (a preset: claude, the default, codex, gemini, opencode, pi or qwen; or a custom
agent.command) headless in the session's pod, with its permission prompts off: the pod is the sandbox.
It is detached from kodama (closing the laptop does not stop it). The prompt is written to
~/.kodama/runs/RUN/prompt on the home volume, outside the workspace (never in the agent's commits), and given
to the agent on stdin; the output goes to ~/.kodama/runs/RUN/log. Its credentials come from the env Secret.
See docs/agents.md and \`kodama agent presets\`.`,
  examples: [
    [
      "Start a run with a prompt [demo project]",
      'kodama agent run my-work --prompt "Add tests for the parser"',
    ],
    ["Runs and their state", "kodama agent status my-work"],
    ["Follow the latest run until it ends [demo project]", "kodama agent logs my-work -f"],
    ["Stop run 2 [demo project]", "kodama agent stop my-work 2"],
    ["What each preset runs", "kodama agent presets"],
    [
      "Is the key good and the model there? [demo project]",
      "kodama agent check --agent claude",
    ],
    [
      "Keep the Anthropic key in the OS keychain (read from stdin) [not in the demo: a keychain]",
      "kodama agent keys set anthropic",
    ],
  ],
};

const keysDeps = () => import("../agent/credentials/keys.ts").then((m) => m.defaultDeps());
const OUTPUT = opt({
  flags: "-o, --output <format>",
  description: "output format",
  choices: ["table", "json"],
  default: "table",
});

const CHECK_COMMAND = command({
  names: ["check"],
  help: {
    summary:
      "Check an agent's key and model with the smallest real request: key accepted, model found, time to first token, tokens/s, rate-limit headroom",
    examples: [
      ["The configured agent, from this machine [demo project]", "kodama agent check"],
      [
        "Codex with another model and an env file [demo project]",
        "kodama agent check --agent codex --model gpt-5 --env-file .env",
      ],
      ["From a session's pod, with its own key [demo project]", "kodama agent check my-work"],
      ["As JSON [demo project]", "kodama agent check -o json"],
    ],
    notes:
      `The request is what the session's agent would send: the same variables (the env files, this environment, then
kodama agent keys), base URL (ANTHROPIC_BASE_URL, OPENAI_BASE_URL, GOOGLE_GEMINI_BASE_URL) and model. With
SESSION it is sent from the session's pod (node), so the pod's key never leaves it.
Exit codes: 0 ok; 4 the key is missing, refused or another provider's; 3 the model was not found;
1 overloaded, rate limited (429/529) or unreachable; 5 no answer within --timeout.`,
  },
  args: [arg("[session]", "check from this session's pod, with its variables")],
  options: [
    {
      flags: "--agent <preset>",
      description:
        "the preset to check: claude, codex, gemini, opencode, pi, qwen (default: the session's, else agent.preset)",
    },
    {
      flags: "--model <model>",
      description: "the model (default: the session's, else agent.models' first, else the preset's usual)",
    },
    {
      flags: "--env-file <path>",
      description: "read the variables from this dotenv file first (repeatable; from this machine only)",
      parse: collect,
      default: [],
    },
    { flags: "--tokens <n>", description: "output tokens to ask for (default 1; more measures tokens/s)" },
    { flags: "--timeout <duration>", description: "how long to wait for the answer (default 30s)" },
    OUTPUT,
  ],
  run: async (inv) => {
    const [{ agentCheckCommand }, cfg, keys] = await Promise.all([
      import("../agent/credentials/checkrun.ts"),
      settings(),
      keysDeps(),
    ]);
    const { stdoutSink, stderrSink } = await import("../base/sink.ts");
    const o = inv.opts;
    setExitCode(
      await agentCheckCommand(
        {
          agent: o.agent,
          model: o.model,
          envFiles: o.envFile,
          session: inv.args[0],
          output: o.output,
          tokens: o.tokens,
          timeout: o.timeout,
        },
        cfg,
        { out: stdoutSink, err: stderrSink, keys, kube: () => connect(inv) },
      ),
    );
  },
});

const PROVIDER = arg("<provider>", "anthropic, openai, gemini or github");

const KEYS_COMMAND = command({
  names: ["keys"],
  help: {
    summary: "Keep the model APIs' keys in the OS keychain (else a 0600 file): set, list, test, rm, rotate",
    long:
      `A stored key is read like a local variable of its name (ANTHROPIC_API_KEY, OPENAI_API_KEY, GEMINI_API_KEY,
GITHUB_TOKEN) when the env files and this environment have none: start puts it into the session's env Secret.
The macOS Keychain, the Secret Service (secret-tool) on Linux, the Windows Credential Manager; else
~/.kodama/keys.json, mode 0600 (KODAMA_KEYS_STORE=file chooses it). Never config.yaml.`,
    examples: [
      [
        "Store the Anthropic key (typed, not shown) [not in the demo: a keychain]",
        "kodama agent keys set anthropic",
      ],
      [
        "From a password manager, on stdin [not in the demo: a keychain]",
        "op read op://dev/openai/key | kodama agent keys set openai",
      ],
      ["What is stored (masked)", "kodama agent keys list"],
      [
        "Check the stored key against its API [demo project]",
        "kodama agent keys test anthropic",
      ],
    ],
  },
  subcommands: [
    command({
      names: ["set"],
      help: {
        summary: "Store a provider's key, read from stdin (a hidden prompt on a terminal), never an argument",
        examples: [["Store the Gemini key [not in the demo: a keychain]", "kodama agent keys set gemini"]],
      },
      args: [PROVIDER],
      run: async (inv) => {
        const [{ keysSetCommand }, d, { stdoutSink, stderrSink }] = await Promise.all([
          import("../agent/credentials/keyscmd.ts"),
          keysDeps(),
          import("../base/sink.ts"),
        ]);
        setExitCode(await keysSetCommand(d, inv.args[0], { out: stdoutSink, err: stderrSink }));
      },
    }),
    command({
      names: ["list", "ls"],
      help: {
        summary: "The stored keys: provider, variable, the last four characters, where",
        examples: [["The stored keys", "kodama agent keys list"]],
      },
      options: [OUTPUT],
      run: async (inv) => {
        const [{ keysListCommand }, d, { stdoutSink }] = await Promise.all([
          import("../agent/credentials/keyscmd.ts"),
          keysDeps(),
          import("../base/sink.ts"),
        ]);
        setExitCode(await keysListCommand(d, inv.opts.output, stdoutSink));
      },
    }),
    command({
      names: ["test"],
      help: {
        summary: "Check the stored key alone with agent check (exit 4 when it is refused)",
        examples: [[
          "Is the stored OpenAI key good? [demo project]",
          "kodama agent keys test openai",
        ]],
      },
      args: [PROVIDER],
      options: [{ flags: "--model <model>", description: "the model to ask" }, OUTPUT],
      run: async (inv) => {
        const [{ keysTestCommand }, d, cfg, { stdoutSink, stderrSink }] = await Promise.all([
          import("../agent/credentials/keyscmd.ts"),
          keysDeps(),
          settings(),
          import("../base/sink.ts"),
        ]);
        setExitCode(
          await keysTestCommand(d, inv.args[0], cfg, {
            model: inv.opts.model,
            output: inv.opts.output,
          }, { out: stdoutSink, err: stderrSink }),
        );
      },
    }),
    command({
      names: ["rotate"],
      help: {
        summary:
          "Replace a session's agent key in place with this machine's (the environment's, else the stored one): the next run uses it",
        examples: [[
          "After kodama agent keys set anthropic [not in the demo: an agent key]",
          "kodama agent keys rotate my-work",
        ]],
        notes:
          `The session's env Secret gets the new value (a recreated pod's), and a running pod gets it on its home
volume (~/.kodama/env/NAME, mode 0600), which each run puts over the container's environment. Nothing else
about the session changes: no restart, the workspace and conversations stay.`,
      },
      args: [SESSION],
      options: [{
        flags: "--variable <name>",
        description: "the variable to replace (default: the session's agent's key variable)",
      }],
      run: async (inv) => {
        const [{ keysRotateCommand }, d, kube, { stdoutSink, stderrSink }] = await Promise.all([
          import("../agent/credentials/rotate.ts"),
          keysDeps(),
          connect(inv),
          import("../base/sink.ts"),
        ]);
        setExitCode(
          await keysRotateCommand(kube, kube.namespace, inv.args[0], {
            variable: inv.opts.variable,
            keys: d,
            out: stdoutSink,
            err: stderrSink,
          }),
        );
      },
    }),
    command({
      names: ["rm"],
      help: {
        summary: "Remove a provider's stored key",
        examples: [["Forget the Gemini key [not in the demo: a keychain]", "kodama agent keys rm gemini"]],
      },
      args: [PROVIDER],
      run: async (inv) => {
        const [{ keysRmCommand }, d, { stdoutSink }] = await Promise.all([
          import("../agent/credentials/keyscmd.ts"),
          keysDeps(),
          import("../base/sink.ts"),
        ]);
        setExitCode(await keysRmCommand(d, inv.args[0], stdoutSink));
      },
    }),
  ],
});

export const subcommands: CommandSpec[] = [
  command({
    names: ["run"],
    help: {
      summary: "Start a coding-agent run in a session (detached); prints the run id",
      examples: [
        [
          "A prompt on the command line [demo project]",
          'kodama agent run my-work --prompt "Fix the failing test in api/"',
        ],
        [
          "A prompt from a file (it never shows in a process list) [demo project]",
          "kodama agent run my-work --prompt-file task.txt",
        ],
        [
          "Run the tests in the workspace when the agent has ended (kodama agent status shows the result) [demo project]",
          'kodama agent run my-work --prompt-file task.txt --check "npm test"',
        ],
        [
          "After the pod ended mid-run (agent status: interrupted), pick up the last conversation [demo project]",
          "kodama agent run my-work --continue",
        ],
        [
          "Continue with the review comments and failed checks of the session's pull request, in its local clone [not in the demo: a forge]",
          "kodama agent run my-work --continue --from-pr",
        ],
        [
          "The same prompt in every running replica of a best-of-N group (prints NAME<TAB>RUN per replica) [demo project]",
          'kodama agent run fix --prompt "Now add a test for it"',
        ],
        [
          "Continue every replica of a best-of-N group whose latest run failed [demo project]",
          "kodama agent run fix --continue",
        ],
      ],
      notes:
        `The session's agent is the one it was started with (--agent, a template's, a replica's variant, agent.preset);
--continue adds that agent's continue arguments. Given a best-of-N group's name, the prompt runs in every
running replica (each with its own agent), and --continue continues each replica whose latest run failed. A preset's run that ends overloaded, rate-limited or unreachable is waited out and continued
in the pod by itself (KODAMA_RETRY_ATTEMPTS, KODAMA_RETRY_MAX_WAIT; docs/agents.md). A preset's CLI missing from
the image is installed once per session into the home volume with npm (a pinned version; kodama agent presets),
with one progress line (npm's log: ~/.kodama/install/ in the pod).
--from-pr (run it in the session's local clone; it implies --continue) finds the session's open pull/merge
request as session pr does (the push remote, forge.hosts, the token from GH_TOKEN or GITHUB_TOKEN, GITLAB_TOKEN,
GITEA_TOKEN) and continues with its unresolved review threads (file, line, comments), the reviews requesting
changes and the tail of each failed check's log, quoted as untrusted text, within --from-pr-budget; a --prompt
goes after them. A later session pr replies on each thread whose file a newer commit changed
(docs/sessions.md). A session with several repositories: every written repository's request (from the clones
start recorded, run it anywhere), in one prompt, each file under its repository's directory (api/src/a.ts). Its exit codes: 0 nothing to act on (no run started); 2 no remote, a host that is not a
forge, no token, a bad --from-pr-budget; 3 no such session, no open request of kodama/NAME; 4 the forge refused
the token (no run started); 5 the forge did not answer.`,
    },
    args: [SESSION],
    options: [
      { flags: "--prompt <text>", description: "the prompt" },
      { flags: "--prompt-file <file>", description: "read the prompt from a file (- for stdin)" },
      {
        flags: "--agent <preset>",
        description:
          'run this preset (claude, codex, gemini, opencode, pi, qwen, custom; with extra arguments: "claude --fallback-model X") instead of the session\'s agent, this run only',
      },
      {
        flags: "--continue",
        description:
          "continue the agent's last conversation (the agent's continue arguments: claude --continue, codex resume --last); the prompt is optional",
      },
      {
        flags: "--check <cmd>",
        description:
          "run this shell command in the workspace when the agent has ended; its exit code and output are recorded with the run (default: agent.check; with --continue, the check of the run it continues)",
      },
      {
        flags: "--from-pr",
        description:
          "continue with the feedback of the session's pull/merge request: unresolved review comments, change requests, failed checks' logs (implies --continue; run it in the session's local clone)",
      },
      {
        flags: "--from-pr-budget <bytes>",
        description: "the most bytes of feedback --from-pr gives the agent (default 32KiB; 4KiB to 1MiB)",
      },
      {
        flags: "--notify",
        description:
          "this run's end goes to notify.webhook, through the gateway or from kodama on your machine (the default in a session started with the webhook; exit 2 in one without)",
      },
      { flags: "--no-notify", description: "no webhook for this run" },
      {
        flags: "--force",
        description:
          "end an interactive agent still running in the pod's tmux (agent attach) instead of refusing the run",
      },
      ...SETTINGS_OPTIONS,
    ],
    run: async (inv) => {
      const [m, kube, cfg] = await Promise.all([commands(), connect(inv), settings()]);
      const f = {
        prompt: inv.opts.prompt,
        promptFile: inv.opts.promptFile,
        check: inv.opts.check,
        continue: inv.opts.continue,
        agent: inv.opts.agent,
        settings: settingsFlagsOf(inv.opts),
        ...(inv.opts.notify !== undefined ? { notify: inv.opts.notify } : {}),
        force: inv.opts.force === true,
        ...(inv.opts.fromPr ? { fromPr: true } : {}),
        ...(inv.opts.fromPrBudget !== undefined ? { fromPrBudget: inv.opts.fromPrBudget } : {}),
      };
      setExitCode(await m.runCommand(kube, inv.args[0], f, cfg));
    },
  }),
  command({
    names: ["status"],
    help: {
      summary:
        "List a session's agent runs: state (running, succeeded, failed, stopped, interrupted), exit code, start, duration, the run it continues",
      examples: [
        ["The runs as a table", "kodama agent status my-work"],
        ["As JSON", "kodama agent status my-work -o json"],
      ],
      notes:
        `The STATE column says the outcome in words: failed: overloaded (retryable), failed: invalid API key,
succeeded (after 2 overloads), running (429, retry 3/10 in 15s) while the agent waits on its model API.
-o json has each run's outcome {class, retryable, retryAt, message, text}, waiting, apiRetries,
continuations and models (docs/agents.md).`,
    },
    args: [SESSION],
    options: [
      {
        flags: "-o, --output <format>",
        description: "output format",
        choices: ["table", "json", "yaml"],
        default: "table",
      },
    ],
    run: async (inv) => {
      const [m, kube] = await Promise.all([commands(), connect(inv)]);
      setExitCode(await m.statusCommand(kube, inv.args[0], inv.opts.output));
    },
  }),
  command({
    names: ["logs"],
    help: {
      summary:
        "Print a run's output, one line per message and tool call (default: the latest run); -f follows it and exits with the run's outcome",
      examples: [
        ["The latest run, as it happens [demo project]", "kodama agent logs my-work -f"],
        [
          "Run 3's stream exactly as the agent wrote it [demo project]",
          "kodama agent logs my-work 3 --raw",
        ],
        ["One JSON event per line [demo project]", "kodama agent logs my-work -o json"],
      ],
      notes:
        "With -f the exit code is the run's: 0 when it succeeded (and its check passed), 1 when it failed, was stopped or its check failed. On a terminal, -f announces the end (a terminal notification and the bell; a desktop notification unless notify.desktop is false; notify.on chooses the events).",
    },
    args: [SESSION, RUN],
    options: [
      {
        flags: "-f, --follow",
        description:
          "keep printing until the run ends, going on where it was after a cut stream; exit with its outcome",
      },
      { flags: "--raw", description: "the agent's output itself (its stream-json / --json lines)" },
      {
        flags: "-o, --output <format>",
        description: "output format",
        choices: ["text", "json"],
        default: "text",
      },
    ],
    run: async (inv) => {
      const [m, kube, cfg] = await Promise.all([
        commands(),
        connect(inv),
        inv.opts.follow ? settings() : undefined,
      ]);
      const format = inv.opts.raw ? "raw" : inv.opts.output === "json" ? "json" : "text";
      setExitCode(
        await m.logsCommand(kube, inv.args[0], inv.args[1], !!inv.opts.follow, format, cfg?.notify),
      );
    },
  }),
  command({
    names: ["attach"],
    help: {
      summary:
        "Watch the live run and take it over: t stops it and opens the agent's own interface in tmux in the pod, on the same conversation",
      examples: [
        [
          "Watch the latest run; t takes over, Ctrl-C detaches [demo project]",
          "kodama agent attach my-work",
        ],
        [
          "Come back to an agent taken over earlier [demo project]",
          "kodama agent attach my-work -n team",
        ],
      ],
      notes:
        `The run is shown as agent logs -f shows it, with a footer. t stops the headless run (agent status: taken over)
and opens claude --continue, codex resume --last, gemini --resume latest, opencode --continue or pi --continue in the tmux session kodama-agent in the
pod; C-b d (or closing the terminal) leaves it running, and agent attach comes straight back to it. agent run
refuses to start while it runs (--force ends it); agent run NAME --continue hands back to a headless run on the same
conversation. Exit codes: 2 the image has no tmux, a custom agent command, or
no terminal; 3 the session has no agent run.`,
    },
    args: [SESSION],
    run: async (inv) => {
      const [m, kube, cfg] = await Promise.all([commands(), connect(inv), settings()]);
      setExitCode(await m.attachCommand(kube, inv.args[0], cfg));
    },
  }),
  command({
    names: ["stop"],
    help: {
      summary: "Stop a run (default: the latest): its whole process group gets SIGTERM, then SIGKILL",
      examples: [
        ["Stop the latest run [demo project]", "kodama agent stop my-work"],
        ["Stop run 2 [demo project]", "kodama agent stop my-work 2"],
      ],
    },
    args: [SESSION, RUN],
    run: async (inv) => {
      const [m, kube] = await Promise.all([commands(), connect(inv)]);
      setExitCode(await m.stopCommand(kube, inv.args[0], inv.args[1]));
    },
  }),
  command({
    names: ["say"],
    help: {
      summary:
        "Say something to a session's running agent (or every running replica of a group): delivered in the live conversation, else queued for its next turn or run",
      examples: [
        [
          "Add to the running conversation [demo project]",
          'kodama agent say my-work "also cover the error path"',
        ],
        [
          "A longer message from a file [demo project]",
          "kodama agent say my-work --file notes.md",
        ],
        ["From stdin [demo project]", "git diff | kodama agent say my-work -"],
      ],
      notes:
        `A message is never lost: say prints whether it was delivered or queued. Claude Code takes it live (its
stream-json input): "delivered in the running conversation" once Claude Code echoed it back; while it
waits on an answer it takes the message only at its next turn: "queued: not in the conversation yet"
(agent status shows it; what it never takes is the next turn's prompt, or the next run's). Codex and
Gemini take no input while they run: the message is queued and the pod's runner starts the next turn of
the same conversation with it when the current one ends ("queued for the next turn"). When the latest
run has ended, the message starts a --continue run. At most 64 KiB. Exit 3 when the session has no run
yet.`,
    },
    args: [SESSION, arg("[message]", "the message (- reads stdin)")],
    options: [{ flags: "--file <file>", description: "read the message from a file (- for stdin)" }],
    run: async (inv) => {
      const [m, kube, cfg] = await Promise.all([commands(), connect(inv), settings()]);
      setExitCode(
        await m.sayCommand(kube, inv.args[0], {
          text: inv.args[1],
          file: inv.opts.file,
        }, cfg),
      );
    },
  }),
  command({
    names: ["interrupt"],
    help: {
      summary:
        "Stop the current turn of a session's running agent (or of every running replica of a group), keeping its conversation",
      examples: [
        ["Stop the current turn [demo project]", "kodama agent interrupt my-work"],
        ["Every running replica of a group [demo project]", "kodama agent interrupt fix"],
      ],
      notes:
        `The run ends as interrupted (agent status); the next agent say or agent run --continue goes on in the same
conversation (then steer: kodama agent say my-work "do X instead"). Claude Code gets its interrupt request; Codex
and Gemini are ended as a stop ends them.`,
    },
    args: [SESSION],
    run: async (inv) => {
      const [m, kube] = await Promise.all([commands(), connect(inv)]);
      setExitCode(await m.interruptCommand(kube, inv.args[0]));
    },
  }),
  command({
    names: ["wait"],
    help: {
      summary:
        "Wait until a session's latest run (every replica's, for a group) has ended; exit with its outcome",
      examples: [
        ["Block until the run is done [demo project]", "kodama agent wait my-work"],
        [
          "A group, at most 30 minutes, as JSON [demo project]",
          "kodama agent wait fix --timeout 30m -o json",
        ],
      ],
      notes:
        `Exit codes: 0 every run succeeded (and its check passed); 1 one failed, was stopped or interrupted;
3 no such session or run; 5 --timeout passed (the runs go on); 130 Ctrl-C. On a terminal each run's end is announced as agent logs -f does (notify.*).`,
    },
    args: [SESSION],
    options: [
      { flags: "--timeout <duration>", description: "give up after this long (exit 5), e.g. 30m" },
      {
        flags: "-o, --output <format>",
        description: "output format",
        choices: ["text", "json"],
        default: "text",
      },
    ],
    run: async (inv) => {
      const [m, kube, cfg] = await Promise.all([commands(), connect(inv), settings()]);
      setExitCode(
        await m.waitCommand(kube, inv.args[0], {
          timeout: inv.opts.timeout,
          output: inv.opts.output,
        }, cfg.notify),
      );
    },
  }),
  command({
    names: ["presets"],
    help: {
      summary:
        "List the agent presets: what each runs, how it continues, its credential variables, its install",
      examples: [
        ["The presets as a table", "kodama agent presets"],
        ["As JSON", "kodama agent presets -o json"],
      ],
    },
    options: [
      {
        flags: "-o, --output <format>",
        description: "output format",
        choices: ["table", "json", "yaml"],
        default: "table",
      },
    ],
    run: async (inv) => {
      const [m, cfg] = await Promise.all([commands(), settings()]);
      setExitCode(await m.presetsCommand(cfg, inv.opts.output));
    },
  }),
  CHECK_COMMAND,
  KEYS_COMMAND,
];
