/**
 * Best of N (`start NAME --replicas N`): `kodama compare NAME` shows the group's replicas side by side,
 * `kodama adopt NAME-i` takes the chosen replica's branch into the local repository.
 */
import { command, type GlobalValues } from "./opttypes.ts";
import { setExitCode } from "./exit.ts";
import { connectFromOpts } from "./connect.ts";
import { arg, type CommandSpec } from "./spec.ts";

const impl = () => import("../agent/runs/agentcmd.ts");
const connect = (inv: { opts: GlobalValues }) => connectFromOpts(inv.opts);

const compare = command({
  names: ["compare"],
  help: {
    group: "Sessions",
    summary: "Compare a group's replicas (start --replicas): agent state, commits, diffstat, check, summary",
    long:
      `One row per replica: the latest agent run's state and duration, the commits since the clone, the diffstat
(files, +/-) of the branch against the commit it was cloned at, the check's result (start --check, agent.check)
and a short summary: the agent's final message when it wrote one to $KODAMA_SUMMARY_FILE, else the last lines of
its output.`,
    examples: [
      [
        "The group's replicas side by side [demo project]",
        "kodama compare fix",
      ],
      [
        "Refresh while the agents run; ends when every agent and check has ended [demo project]",
        "kodama compare fix -w",
      ],
      [
        "Every replica's diff, one after another [demo project]",
        "kodama compare fix --diff",
      ],
      [
        "Where two replicas' changes differ [demo project]",
        "kodama compare fix --diff fix-1 fix-3",
      ],
      [
        "Wait for every agent, then keep the one whose check passed (check.tail: its last lines) [demo project]",
        "kodama compare fix --wait -o json",
      ],
      [
        "Stop the other replicas once one passes its check [demo project]",
        "kodama compare fix --wait --stop-others-when-passed",
      ],
    ],
    notes:
      `Exit codes: 0 shown, 1 (--wait/-w) a replica's agent or check failed, 3 no such group, 5 --wait/-w ran past --timeout, 130 Ctrl-C.`,
  },
  args: [
    arg("<group>", "the group's name (start NAME --replicas N)"),
    arg("[replicas...]", "with --diff: two replicas"),
  ],
  complete: ["sessions", "sessions"],
  options: [
    {
      flags: "-o, --output <format>",
      description: "a table, or json/yaml for machines (with the check's last lines and the changed paths)",
      choices: ["table", "json", "yaml"],
      default: "table",
    },
    {
      flags: "--diff",
      description: "print each replica's diff; with two replicas, where their changes differ",
    },
    {
      flags: "-w, --watch",
      description: "reprint on each change, until all agents and checks end",
    },
    { flags: "--wait", description: "print once every agent (and its check) has ended" },
    { flags: "--timeout <duration>", description: "with -w or --wait: give up after this long (exit 5)" },
    {
      flags: "--stop-others-when-passed",
      description:
        "with -w or --wait: once one replica's agent succeeded and its check passed, stop the runs still going in the others",
    },
  ],
  run: async (inv) => {
    const o = inv.opts;
    const [{ compareCommand }, kube, cfg] = await Promise.all([
      impl(),
      connect(inv),
      o.wait || o.watch ? import("./settings.ts").then((m) => m.effectiveConfig()) : undefined,
    ]);
    const extra = inv.args.slice(1);
    if (extra.length && !o.diff) {
      const { usageError } = await import("../base/errors.ts");
      throw usageError(
        `unexpected argument${extra.length === 1 ? "" : "s"} ${
          extra.join(" ")
        }: replicas are named with --diff A B`,
      );
    }
    setExitCode(
      await compareCommand(kube, inv.args[0], {
        output: o.output,
        ...(o.diff ? { diff: extra } : {}),
        watch: o.watch,
        wait: o.wait,
        timeout: o.timeout,
        stopOthersWhenPassed: o.stopOthersWhenPassed,
        notify: cfg?.notify,
      }),
    );
  },
});

const adopt = command({
  names: ["adopt"],
  help: {
    group: "Sessions",
    summary: "Keep a replica: fetch its branch into the local repository as kodama/GROUP (session fetch)",
    long:
      `The replica's commits come over exec as a git bundle (as kodama session fetch does) into kodama/NAME-i, and the
local branch kodama/GROUP (or --branch) is pointed at them. A branch with commits the replica lacks is not moved
unless --force (its old commit stays in git's reflog); a branch checked out in any work tree is never moved.
Run it inside a clone of the repository.`,
    examples: [
      [
        "Keep replica 2 of group fix as branch kodama/fix [demo project]",
        "kodama adopt fix-2",
      ],
      [
        "Into another branch [demo project]",
        "kodama adopt fix-2 --branch feature/parser",
      ],
    ],
    notes: `Then remove the other replicas: kodama delete fix --group --keep fix-2.
Exit codes: 0 adopted, 2 not a replica, the branch has other commits or is checked out, 3 no such session.`,
  },
  args: [arg("<replica>", "the replica's session name, e.g. fix-2")],
  complete: ["sessions"],
  options: [
    { flags: "--branch <local>", description: "the local branch to point at it (default: kodama/GROUP)" },
    { flags: "-f, --force", description: "move the branch even when it has commits the replica lacks" },
  ],
  run: async (inv) => {
    const [{ adoptCommand }, kube] = await Promise.all([impl(), connect(inv)]);
    setExitCode(
      await adoptCommand(kube, inv.args[0], {
        branch: inv.opts.branch,
        force: inv.opts.force,
      }),
    );
  },
});

export const commands: CommandSpec[] = [compare, adopt];
