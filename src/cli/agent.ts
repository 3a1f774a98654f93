/**
 * `kodama agent run|status|logs|stop|presets`: coding-agent runs in a session (the session's agent preset,
 * detached in the session's pod, each with an id, its prompt and output under ~/.kodama/runs in the pod).
 */
import { setExitCode } from "./exit.ts";
import { connectFromOpts, type GlobalOptions } from "./connect.ts";
import type { HelpSpec } from "./help.ts";
import type { Invocation } from "./optspec.ts";
import { arg, type CommandSpec } from "./spec.ts";

const settings = () => import("./settings.ts").then((m) => m.effectiveConfig());
const commands = () => import("../agent/agentcmd.ts");
const connect = (inv: Invocation) => connectFromOpts(inv.opts as GlobalOptions);
const SESSION = arg("<name>", "session name");
const RUN = arg("[run]", "run id (default: the latest)");

export const names = ["agent"];

export const help: HelpSpec = {
  group: "Sessions",
  summary: "Coding-agent runs in a session: run, status, logs, stop; the agent presets",
  usage: "[command] [flags]",
  long:
    `Each run starts the session's coding agent (a preset: claude, the default, codex or gemini; or a custom
agent.command) headless in the session's pod, with its permission prompts off: the pod is the sandbox.
It is detached from kodama (closing the laptop does not stop it). The prompt is written to
~/.kodama/runs/RUN/prompt on the home volume, outside the workspace (never in the agent's commits), and given
to the agent on stdin; the output goes to ~/.kodama/runs/RUN/log. Its credentials come from the env Secret.
See docs/agents.md and \`kodama agent presets\`.`,
  examples: [
    [
      "Start a run with a prompt [not in the demo: an agent]",
      'kodama agent run my-work --prompt "Add tests for the parser"',
    ],
    ["Runs and their state", "kodama agent status my-work"],
    ["Follow the latest run until it ends [not in the demo: an agent]", "kodama agent logs my-work -f"],
    ["Stop run 2 [not in the demo: an agent]", "kodama agent stop my-work 2"],
    ["What each preset runs", "kodama agent presets"],
  ],
};

export const subcommands: CommandSpec[] = [
  {
    names: ["run"],
    help: {
      summary: "Start a coding-agent run in a session (detached); prints the run id",
      examples: [
        [
          "A prompt on the command line [not in the demo: an agent]",
          'kodama agent run my-work --prompt "Fix the failing test in api/"',
        ],
        [
          "A prompt from a file (it never shows in a process list) [not in the demo: an agent]",
          "kodama agent run my-work --prompt-file task.txt",
        ],
        [
          "Run the tests in the workspace when the agent has ended (kodama agent status shows the result) [not in the demo: an agent]",
          'kodama agent run my-work --prompt-file task.txt --check "npm test"',
        ],
        [
          "After the pod ended mid-run (agent status: interrupted), pick up the last conversation [not in the demo: an agent]",
          "kodama agent run my-work --continue",
        ],
        [
          "Continue every replica of a best-of-N group whose latest run failed [not in the demo: an agent]",
          "kodama agent run fix --continue",
        ],
      ],
      notes:
        `The session's agent is the one it was started with (--agent, a template's, a replica's variant, agent.preset);
--continue adds that agent's continue arguments; given a group's name, --continue continues each replica whose
latest run failed. A preset's run that ends overloaded, rate-limited or unreachable is waited out and continued
in the pod by itself (KODAMA_RETRY_ATTEMPTS, KODAMA_RETRY_MAX_WAIT; docs/agents.md). A preset's CLI missing from
the image is installed once into the home volume with npm (a pinned version; kodama agent presets).`,
    },
    args: [SESSION],
    options: [
      { flags: "--prompt <text>", description: "the prompt" },
      { flags: "--prompt-file <file>", description: "read the prompt from a file (- for stdin)" },
      {
        flags: "--agent <preset>",
        description:
          "run this preset (claude, codex, gemini, custom) instead of the session's agent, this run only",
      },
      {
        flags: "--continue",
        description:
          "continue the agent's last conversation (the agent's continue arguments: claude --continue, codex resume --last); the prompt is optional",
      },
      {
        flags: "--check <cmd>",
        description:
          "run this shell command in the workspace when the agent has ended; its exit code and output are recorded with the run (default: agent.check)",
      },
    ],
    run: async (inv) => {
      const [m, kube, cfg] = await Promise.all([commands(), connect(inv), settings()]);
      const f = {
        prompt: inv.opts.prompt as string | undefined,
        promptFile: inv.opts.promptFile as string | undefined,
        check: inv.opts.check as string | undefined,
        continue: inv.opts.continue as boolean | undefined,
        agent: inv.opts.agent as string | undefined,
      };
      setExitCode(await m.runCommand(kube, inv.args[0], f, cfg));
    },
  },
  {
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
      setExitCode(await m.statusCommand(kube, inv.args[0], inv.opts.output as "table" | "json" | "yaml"));
    },
  },
  {
    names: ["logs"],
    help: {
      summary:
        "Print a run's output, one line per message and tool call (default: the latest run); -f follows it and exits with the run's outcome",
      examples: [
        ["The latest run, as it happens [not in the demo: an agent]", "kodama agent logs my-work -f"],
        [
          "Run 3's stream exactly as the agent wrote it [not in the demo: an agent]",
          "kodama agent logs my-work 3 --raw",
        ],
        ["One JSON event per line [not in the demo: an agent]", "kodama agent logs my-work -o json"],
      ],
      notes:
        "With -f the exit code is the run's: 0 when it succeeded (and its check passed), 1 when it failed, was stopped or its check failed.",
    },
    args: [SESSION, RUN],
    options: [
      { flags: "-f, --follow", description: "keep printing until the run ends; exit with its outcome" },
      { flags: "--raw", description: "the agent's output itself (its stream-json / --json lines)" },
      {
        flags: "-o, --output <format>",
        description: "output format",
        choices: ["text", "json"],
        default: "text",
      },
    ],
    run: async (inv) => {
      const [m, kube] = await Promise.all([commands(), connect(inv)]);
      const format = inv.opts.raw ? "raw" : inv.opts.output === "json" ? "json" : "text";
      setExitCode(await m.logsCommand(kube, inv.args[0], inv.args[1], !!inv.opts.follow, format));
    },
  },
  {
    names: ["stop"],
    help: {
      summary: "Stop a run (default: the latest): its whole process group gets SIGTERM, then SIGKILL",
      examples: [
        ["Stop the latest run [not in the demo: an agent]", "kodama agent stop my-work"],
        ["Stop run 2 [not in the demo: an agent]", "kodama agent stop my-work 2"],
      ],
    },
    args: [SESSION, RUN],
    run: async (inv) => {
      const [m, kube] = await Promise.all([commands(), connect(inv)]);
      setExitCode(await m.stopCommand(kube, inv.args[0], inv.args[1]));
    },
  },
  {
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
      setExitCode(await m.presetsCommand(cfg, inv.opts.output as string));
    },
  },
];
