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
its output. Replicas with several repositories (start --repo ./api --repo ./web): COMMITS is the total, FILES
and +/- the total and each repository's ("3 (api 2, web 1)", "+9/-2 (api +8/-1, web +1/-1)"), -o json each
item's repositories[].`,
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
      [
        "Have a Codex reviewer rank the replicas that passed [not in the demo]",
        "kodama compare fix --judge codex",
      ],
    ],
    notes:
      `--judge PRESET[:MODEL]: once every agent and check has ended, a reviewer agent of that preset (session
GROUP-judge, a pod of its own, read access to the judged replicas' branches only) ranks the replicas that
passed; the table then has RANK and REASON (-o json: items[].rank, items[].reason, judgement), and a footer
with the judge's cost (a group with several repositories is not judged yet: exit 2). The judgement is kept with
the group: compare shows it later, adopt GROUP --best and session pr GROUP take rank 1.
Exit codes: 0 shown (with --judge: ranked), 1 (--wait/-w) a replica's agent or check failed, (--judge) no
replica passed, the judge's run failed or its answer was not a ranking (the table is still printed), 2 bad
flags or GROUP-judge exists, 3 no such group, 4 (--judge) the judge's agent has no credentials, 5
--wait/-w/--judge ran past --timeout, 130 Ctrl-C.`,
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
      flags: "--judge <preset[:model]>",
      description:
        "wait for every agent and check, then a reviewer agent of this preset ranks the replicas that passed (RANK, REASON)",
    },
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
      o.wait || o.watch || o.judge !== undefined
        ? import("./settings.ts").then((m) => m.effectiveConfig())
        : undefined,
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
        ...(o.judge !== undefined ? { judge: o.judge, cfg } : {}),
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
Run it inside a clone of the repository. A replica with several repositories: each written one's branch into
the local repository recorded at its start, all or none.`,
    examples: [
      [
        "Keep replica 2 of group fix as branch kodama/fix [demo project]",
        "kodama adopt fix-2",
      ],
      [
        "Into another branch [demo project]",
        "kodama adopt fix-2 --branch feature/parser",
      ],
      [
        "Keep the replica the judge ranked first (compare fix --judge codex) [not in the demo]",
        "kodama adopt fix --best",
      ],
    ],
    notes: `Then remove the other replicas: kodama delete fix --group --keep fix-2.
--best: the argument is the group, and the replica its judge ranked first is adopted (compare GROUP --judge
PRESET makes the ranking); one that moved since it was judged is refused.
Exit codes: 0 adopted, 1 (--best) rank 1 has moved since it was judged, 2 not a replica, the branch has other
commits or is checked out, 3 no such session, or (--best) no judgement: run compare GROUP --judge PRESET first.`,
  },
  args: [arg("<replica>", "the replica's session name, e.g. fix-2 (with --best: the group)")],
  complete: ["sessions"],
  options: [
    { flags: "--branch <local>", description: "the local branch to point at it (default: kodama/GROUP)" },
    { flags: "-f, --force", description: "move the branch even when it has commits the replica lacks" },
    { flags: "--best", description: "the argument is a group: adopt the replica its judge ranked first" },
  ],
  run: async (inv) => {
    const [{ adoptCommand }, kube] = await Promise.all([impl(), connect(inv)]);
    setExitCode(
      await adoptCommand(kube, inv.args[0], {
        branch: inv.opts.branch,
        force: inv.opts.force,
        best: inv.opts.best,
      }),
    );
  },
});

export const commands: CommandSpec[] = [compare, adopt];
