/**
 * `kodama sync push|start|stop|status|pull NAME`: file sync between a local directory and a session's
 * workspace. Each verb declares its flags and calls one function in `src/session/sync/commands.ts`.
 */
import { command, type GlobalValues } from "./opttypes.ts";
import { setExitCode } from "./exit.ts";
import { connectFromOpts } from "./connect.ts";
import type { HelpSpec } from "./help.ts";
import { arg, type CommandSpec } from "./spec.ts";

const commands = () => import("../session/sync/commands.ts");
const settings = () => import("./settings.ts").then((m) => m.effectiveConfig());
const connect = (inv: { opts: GlobalValues }) => connectFromOpts(inv.opts);
/** The sync commands, the cluster and the settings, loaded together. */
const withSettings = (inv: { opts: GlobalValues }) => Promise.all([commands(), connect(inv), settings()]);
const NAME = arg("<name>", "session name");
const DIR = arg("[path]", "local directory (default: the recorded one, else the current directory)");
/** A session with several repositories syncs each on its own (docs/sessions.md "Several repositories"). */
const REPO = {
  flags: "--repo <name>",
  description:
    "one repository of a session with several (its directory in /workspace); default: each it writes",
} as const;
/** The sync a verb acts on: the session's, or one repository's (`--repo`). */
const target = async (inv: { args: string[]; opts: { repo?: string } }) =>
  (await commands()).syncTarget(inv.args[0], inv.opts.repo);

export const names = ["sync"];

export const help: HelpSpec = {
  group: "Sessions",
  summary: "Sync a local directory with a session's workspace (push, background sync, pull)",
  long:
    `kodama start --sync PATH sends PATH into the session's workspace and keeps it in sync in the background;
these verbs do the same for a running session and report on it. Left out: what .gitignore files ignore (at
every level, as git does; sync.useGitignore: false turns that off), .kodamaignore files (same syntax),
sync.excludePatterns, the .kodama/ directory, and .git/ unless sync.git says so. Sync is per machine: its
state is in $KODAMA_HOME/sync/NAME/ (settings, manifest, status, log). A session with several repositories
syncs each one it writes on its own, from the directory given to start --repo to /workspace/REPO
(--repo REPO names one; a read-only one is never synced).`,
  usage: "COMMAND NAME [flags]",
  examples: [
    ["Send the current directory to session my-work once", "kodama sync push my-work ."],
    ["Keep syncing it in the background", "kodama sync start my-work"],
    ["How the background sync is doing", "kodama sync status my-work"],
    ["See what changed in the pod, then bring it back", "kodama sync pull my-work --dry-run"],
  ],
};

export const subcommands: CommandSpec[] = [
  command({
    names: ["push"],
    help: {
      summary:
        "Send the local directory to the session now (what changed since the last sync; all the first time)",
      examples: [
        [
          "Send the current directory (it becomes the session's sync directory)",
          "kodama sync push my-work .",
        ],
        ["Send again what changed in the recorded directory", "kodama sync push my-work"],
        ["Send everything, ignoring what was sent before", "kodama sync push my-work --full"],
      ],
      notes: `A running background sync pauses for the push and goes on after it (from PATH, if given).
            Exit codes: 1 the pod refused the batch or is not running, 3 no such session or directory.`,
    },
    args: [NAME, DIR],
    options: [
      REPO,
      { flags: "--full", description: "send every file, not only what changed since the last sync" },
    ],
    run: async (inv) => {
      const [{ pushCommand }, kube, cfg] = await withSettings(inv);
      setExitCode(await pushCommand(kube, await target(inv), inv.args[1], { full: !!inv.opts.full }, cfg));
    },
  }),
  command({
    names: ["start"],
    help: {
      summary: "Sync in the background: every local change reaches the pod within a moment",
      long:
        `Starts a background process (it outlives this command; stop, delete and sync stop end it). It syncs both
ways (sync.mode two-way): the local directory is watched, the pod's workspace is watched by a small POSIX sh
loop in the pod (find -newer), and each cycle compares both sides with the state they last agreed on (the
common ancestor). A change on one side goes to the other; a path changed differently on both sides is a
conflict, left alone on both sides and listed by sync status. If the stream drops or the pod restarts it
reconnects with back-off and reconciles what changed meanwhile. .git is never synced after start.`,
      examples: [
        ["Sync the current directory into session my-work in the background", "kodama sync start my-work ."],
        ["Restart the background sync of the recorded directory", "kodama sync start my-work"],
      ],
    },
    args: [NAME, DIR],
    options: [
      REPO,
      {
        flags: "--sync-mode <mode>",
        description:
          "two-way (default: sync.mode), one-way-local (the pod follows) or one-way-pod (this tree follows)",
        choices: ["two-way", "one-way-local", "one-way-pod"],
      },
      {
        flags: "--allow-overlap",
        description:
          "sync two-way even though another live session syncs this directory (or a parent or child of it) two-way",
      },
    ],
    run: async (inv) => {
      const [{ startCommand }, kube, cfg] = await withSettings(inv);
      setExitCode(
        await startCommand(
          kube,
          await target(inv),
          inv.args[1],
          cfg,
          inv.opts.syncMode,
          inv.opts.allowOverlap,
        ),
      );
    },
  }),
  command({
    names: ["stop"],
    help: {
      summary: "Stop the background sync of a session (what was sent is remembered)",
      examples: [["Stop syncing my-work", "kodama sync stop my-work"]],
    },
    args: [NAME],
    options: [REPO],
    run: async (inv) => {
      const { stopCommand } = await commands();
      setExitCode(await stopCommand(await target(inv)));
    },
  }),
  command({
    names: ["status"],
    help: {
      summary:
        "Show the background sync: state, last sync, files and bytes sent, pending, reconnects, last error",
      examples: [
        ["State of the sync of my-work", "kodama sync status my-work"],
        ["The same as JSON", "kodama sync status my-work -o json"],
      ],
      notes:
        `States: starting, watching, syncing, error (retrying with back-off), stopped. Also: the mode, the
            last change's direction, what is pending each way, and each conflict with both versions' size and
            time. Exit codes: 0 no conflict, 1 conflicts remain (like git diff --exit-code), 3 not synced from here.`,
    },
    args: [NAME],
    options: [
      REPO,
      {
        flags: "-o, --output <format>",
        description: "output format",
        choices: ["text", "json"],
        default: "text",
      },
    ],
    run: async (inv) => {
      const { statusCommand } = await commands();
      setExitCode(await statusCommand(await target(inv), { output: inv.opts.output }));
    },
  }),
  command({
    names: ["pull"],
    help: {
      summary: "Bring files changed in the pod since the last sync back to the local directory",
      long:
        `Lists the pod's workspace, compares it with what was last synced, and copies back new and changed files
(and removes local files deleted in the pod). A file changed on both sides is a conflict: reported, and
left alone unless --force (the pod's version wins). Ignored paths are never pulled. What the pod sends is
untrusted: nothing is ever written inside .git, names that climb out (..), are absolute or go through a local
symlink are refused, setuid/setgid/sticky and world-write bits are dropped, and a local directory the pod
replaced with a file stays unless --force (and even then its ignored files, and so the directory, stay).`,
      examples: [
        ["What would come back", "kodama sync pull my-work --dry-run"],
        ["Bring back the changes under src/", "kodama sync pull my-work src"],
        ["Take the pod's version of conflicting files too", "kodama sync pull my-work --force"],
      ],
      notes: "Exit codes: 0 done (or nothing to do), 1 conflicts were left alone, 3 not synced from here.",
    },
    args: [NAME, arg("[path]", "only this file or directory (relative to the sync directory)")],
    options: [
      REPO,
      { flags: "--dry-run", description: "list what would change locally, change nothing" },
      { flags: "--force", description: "overwrite local changes with the pod's version (conflicts)" },
    ],
    run: async (inv) => {
      const [{ pullCommand }, kube] = await Promise.all([commands(), connect(inv)]);
      const f = {
        dryRun: inv.opts.dryRun,
        force: inv.opts.force,
      };
      setExitCode(await pullCommand(kube, await target(inv), inv.args[1], f));
    },
  }),
  command({
    names: ["resolve"],
    help: {
      summary: "Settle conflicts: keep the local or the pod's version of each named path (or --all)",
      long:
        `A conflict is a path changed differently on both sides since they last agreed: the two-way sync leaves both
versions where they are. resolve takes one side for the named paths (a directory covers what is below it) and
copies it over the other, then the background sync goes on.`,
      examples: [
        [
          "Keep the local version of src/a.ts [not in the demo: it needs a conflict]",
          "kodama sync resolve my-work src/a.ts --keep local",
        ],
        [
          "Take the pod's version of every conflict [not in the demo: it needs a conflict]",
          "kodama sync resolve my-work --all --keep pod",
        ],
      ],
      notes:
        "Exit codes: 0 resolved, 1 conflicts remain (--all), 2 no --keep or no path, 3 not synced from here.",
    },
    args: [NAME, arg("[paths...]", "conflicting paths (relative to the sync directory)")],
    options: [
      REPO,
      { flags: "--keep <side>", description: "which version wins: local or pod", choices: ["local", "pod"] },
      { flags: "--all", description: "every conflict" },
    ],
    run: async (inv) => {
      const [{ resolveCommand }, kube] = await Promise.all([commands(), connect(inv)]);
      const rest = inv.args.slice(1);
      setExitCode(
        await resolveCommand(kube, await target(inv), rest, {
          keep: inv.opts.keep,
          all: !!inv.opts.all,
        }),
      );
    },
  }),
  command({
    names: ["diff"],
    help: {
      summary: "Show how the local version of a file differs from the pod's (a unified diff)",
      examples: [["What the pod changed in src/a.ts", "kodama sync diff my-work src/a.ts"]],
      notes: "Exit codes: 0 the same, 1 they differ, 3 the path is on neither side or not synced from here.",
    },
    args: [NAME, arg("<path>", "a file, relative to the sync directory")],
    options: [REPO],
    run: async (inv) => {
      const [{ diffCommand }, kube] = await Promise.all([commands(), connect(inv)]);
      setExitCode(await diffCommand(kube, await target(inv), inv.args[1]));
    },
  }),
  command({
    names: ["__daemon"],
    help: { summary: "the background sync process", examples: [], internal: true },
    args: [NAME],
    run: async (inv) => {
      const [{ daemonCommand }, kube] = await Promise.all([commands(), connect(inv)]);
      setExitCode(await daemonCommand(kube, inv.args[0]));
    },
  }),
];
