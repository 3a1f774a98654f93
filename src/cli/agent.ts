/**
 * `kodama agent run|status|logs|stop`: coding-agent runs in a session (agent.command, detached in the
 * session's pod, each with an id, its prompt in a file and its output under the workspace's .kodama/).
 */
import { type Command, Option } from "@commander-js/extra-typings";
import { setExitCode } from "./exit.ts";
import { type AnyCommand, connectFromOpts, globalsOf } from "./flags.ts";
import { help } from "./help.ts";

const settings = () => import("./settings.ts").then((m) => m.effectiveConfig());
const commands = () => import("../session/agentcmd.ts");

export function register(program: Command) {
  const agent = help((program as unknown as AnyCommand).command("agent"), {
    group: "Sessions",
    summary: "Coding-agent runs in a session: run, status, logs, stop",
    usage: "[command] [flags]",
    long:
      `Each run starts agent.command (default: claude -p, Claude Code's non-interactive mode) in the session's pod,
detached from kodama (closing the laptop does not stop it). The prompt is written to
.kodama/runs/RUN/prompt in the workspace and given to the agent on stdin (its path is in KODAMA_PROMPT_FILE);
the output goes to .kodama/runs/RUN/log. The agent's credentials (agent.authEnv) come from the env Secret.`,
    examples: [
      ["Start a run with a prompt", 'kodama agent run my-work --prompt "Add tests for the parser"'],
      ["Runs and their state", "kodama agent status my-work"],
      ["Follow the latest run until it ends", "kodama agent logs my-work -f"],
      ["Stop run 2", "kodama agent stop my-work 2"],
    ],
  });

  help(agent.command("run"), {
    summary: "Start a coding-agent run in a session (detached); prints the run id",
    examples: [
      ["A prompt on the command line", 'kodama agent run my-work --prompt "Fix the failing test in api/"'],
      [
        "A prompt from a file (it never shows in a process list)",
        "kodama agent run my-work --prompt-file task.txt",
      ],
    ],
    notes:
      `When agent.command is claude and the image lacks it but has npm, Claude Code is installed once into the
home volume (npm install --prefix ~/.local @anthropic-ai/claude-code), with npm's progress shown.`,
  })
    .argument("<name>", "session name")
    .option("--prompt <text>", "the prompt")
    .option("--prompt-file <file>", "read the prompt from a file (- for stdin)")
    .action(async (session, opts, c) => {
      const [m, kube, cfg] = await Promise.all([commands(), connectFromOpts(globalsOf(c)), settings()]);
      setExitCode(await m.runCommand(kube, session, opts, cfg));
    });

  help(agent.command("status"), {
    summary:
      "List a session's agent runs: state (running, succeeded, failed, stopped), exit code, start, duration",
    examples: [
      ["The runs as a table", "kodama agent status my-work"],
      ["As JSON", "kodama agent status my-work -o json"],
    ],
  })
    .argument("<name>", "session name")
    .addOption(
      new Option("-o, --output <format>", "output format").choices(["table", "json", "yaml"]).default(
        "table",
      ),
    )
    .action(async (session, opts, c) => {
      const [m, kube] = await Promise.all([commands(), connectFromOpts(globalsOf(c))]);
      setExitCode(await m.statusCommand(kube, session, opts.output));
    });

  help(agent.command("logs"), {
    summary: "Print a run's output (default: the latest run); -f follows it until the run ends",
    examples: [
      ["The latest run's output", "kodama agent logs my-work"],
      ["Follow run 3 until it ends", "kodama agent logs my-work 3 -f"],
    ],
  })
    .argument("<name>", "session name")
    .argument("[run]", "run id (default: the latest)")
    .option("-f, --follow", "keep printing until the run ends")
    .action(async (session, run, opts, c) => {
      const [m, kube] = await Promise.all([commands(), connectFromOpts(globalsOf(c))]);
      setExitCode(await m.logsCommand(kube, session, run, !!opts.follow));
    });

  help(agent.command("stop"), {
    summary: "Stop a run (default: the latest): its whole process group gets SIGTERM, then SIGKILL",
    examples: [
      ["Stop the latest run", "kodama agent stop my-work"],
      ["Stop run 2", "kodama agent stop my-work 2"],
    ],
  })
    .argument("<name>", "session name")
    .argument("[run]", "run id (default: the latest)")
    .action(async (session, run, _opts, c) => {
      const [m, kube] = await Promise.all([commands(), connectFromOpts(globalsOf(c))]);
      setExitCode(await m.stopCommand(kube, session, run));
    });
}
