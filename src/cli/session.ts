/**
 * Sessions: `kodama session start|list|get|attach|stop|resume|delete|prune` (`session` alone lists),
 * and the contract's top-level forms `kodama start|list|ls|attach|stop|resume|delete`. Each verb's
 * flags and help are declared once and attached to both places; every action calls one function.
 */
import { type Command, Option } from "@commander-js/extra-typings";
import { setExitCode } from "./exit.ts";
import { type AnyCommand, collect, connectFromOpts, globalsOf } from "./flags.ts";
import { type Example, help } from "./help.ts";

/** Declare one verb under `parent` (the root or `session`). */
type Verb = (parent: AnyCommand, name: string) => AnyCommand;

const LIST_FORMATS = ["table", "wide", "json", "yaml", "name"];

const settings = () => import("./settings.ts").then((m) => m.effectiveConfig());
const commands = () => import("../session/commands.ts");

/** Help is declared as for the top-level form; under `session` its examples say `kodama session VERB`. */
function verb(
  parent: AnyCommand,
  name: string,
  spec: { summary: string; examples: Example[]; notes?: string; usage?: string; long?: string },
) {
  const path = parent.parent ? `kodama ${parent.name()} ${name}` : `kodama ${name}`;
  const examples = spec.examples.map(([comment, line]) =>
    [comment, line.replace(new RegExp(`^kodama ${name}\\b`), path)] as Example
  );
  return help(parent.command(name), { ...(parent.parent ? {} : { group: "Sessions" }), ...spec, examples });
}

const start: Verb = (parent, name) =>
  verb(parent, name, {
    summary: "Start a session: workspace and home volumes, an env Secret, and a pod",
    long:
      `Creates PVCs kodama-workspace-NAME (mounted at session.workdir, /workspace) and kodama-claude-home-NAME
(HOME, /home/kodama), Secret kodama-env-NAME (the env files' variables), ConfigMap kodama-editor-config-NAME
(when the repo has .kodama/configs/), and pod kodama-NAME, then waits until the pod is ready. Every object
carries the labels app.kubernetes.io/managed-by=kodama and kodama.dev/session=NAME and the session's
settings, so list, attach and resume work from any machine.`,
    examples: [
      ["Start a session with the defaults of ~/.kodama/config.yaml", "kodama start my-work"],
      [
        "Sync the current directory into the workspace, then keep syncing it in the background",
        "kodama start my-work --sync .",
      ],
      [
        "Another image and resources (fractional CPUs are fine)",
        "kodama start my-work --image busybox:1.36 --cpu 0.5 --memory 1Gi",
      ],
      [
        "Inject variables from env files (the last file wins), leaving one out",
        "kodama start api-dev --env-file .env --env-file .env.local --env-exclude DEBUG",
      ],
      [
        "A bigger workspace on another StorageClass, waiting up to 10 minutes",
        "kodama start big --storage 50Gi --storage-class fast-ssd --timeout 10m",
      ],
      [
        "Clone a repository onto a new branch kodama/api-fix-<UTC time> (token from GITHUB_TOKEN)",
        "kodama start api-fix --repo https://github.com/acme/api.git --env-file .env",
      ],
      ["Clone this repository's origin on the branch checked out here", "kodama start review --repo ."],
      [
        "Clone, then start the coding agent on a task (follow it with kodama session logs fix -f)",
        "kodama start fix --repo . --prompt-file task.txt",
      ],
      [
        "An existing branch, or a new one created from develop when the remote lacks it",
        "kodama start feat --repo git@github.com:acme/api.git --branch feat/login --base-branch develop",
      ],
      [
        "See what would be created, checked by the API server, creating nothing",
        "kodama start my-work --dry-run -o yaml | kubectl apply --dry-run=server -f -",
      ],
    ],
    notes:
      `With --repo, an init container (image git.image, default the session image) clones the repository into the
workspace when it is empty (resume never clones again), checks out --branch or creates
<defaults.branchPrefix>NAME-<UTC time> (git.autoBranch), and sets git.userName/userEmail. An https token comes
from git.tokenEnv (GITHUB_TOKEN: the environment or the env files) and is kept in Secret kodama-git-NAME only,
read by a credential helper; ssh uses the key in Secret git.secretName. A failed clone prints git's own error.
Ctrl-C while it waits removes what it created except the PVCs (a new start of the name reuses them).
Exit codes: 1 the pod cannot start (the reason and recent events are printed), 2 bad input or the session
exists, 5 timeout, 130 Ctrl-C.`,
  })
    .argument("<name>", "session name (lowercase letters, digits, '-'; at most 42 characters)")
    .option("--image <image>", "container image (default: defaults.image)")
    .option("--cpu <cpu>", "CPU limit, e.g. 2, 0.5, 500m (default: defaults.resources.cpu)")
    .option("--memory <size>", "memory limit, e.g. 4Gi (default: defaults.resources.memory)")
    .option("--storage <size>", "workspace volume size, e.g. 20Gi (default: defaults.storage.workspace)")
    .option(
      "--storage-class <class>",
      "StorageClass of the volumes (default: defaults.storage.storageClass, else the cluster's default)",
    )
    .option(
      "--env-file <path>",
      "inject the variables of a dotenv file (repeatable; the last file wins)",
      collect,
      [] as string[],
    )
    .option("--env-exclude <name>", "leave this variable out (repeatable)", collect, [] as string[])
    .option(
      "--sync [path]",
      "sync this local directory (default: the current one) into the workspace, then keep syncing in the background",
    )
    .option("--no-sync", "do not sync a local directory")
    .option(
      "--repo <url>",
      "clone this repository into the workspace (only when it is empty); . is this repository's origin and current branch",
    )
    .option(
      "--branch <branch>",
      "check out this branch (with --base-branch: created from it when the remote lacks it)",
    )
    .option(
      "--base-branch <branch>",
      "the branch a new branch starts from (default: the remote's default branch)",
    )
    .option("--prompt <text>", "once ready, start a coding-agent run with this prompt (see kodama agent)")
    .option("--prompt-file <file>", "once ready, start a coding-agent run with the prompt in this file")
    .option(
      "--timeout <duration>",
      "how long to wait for the pod to be ready (default: session.readyTimeout, 5m)",
    )
    .option("--no-wait", "return once the objects are created")
    .option("--dry-run", "print the objects (Secret values redacted) and create nothing")
    .addOption(new Option("-o, --output <format>", "with --dry-run: yaml or json").choices(["yaml", "json"]))
    .action(async (session, opts, c) => {
      const [{ startCommand }, kube, cfg] = await Promise.all([
        commands(),
        connectFromOpts(globalsOf(c)),
        settings(),
      ]);
      setExitCode(await startCommand(kube, session, opts, cfg));
    });

const list: Verb = (parent, name) =>
  verb(parent, name, {
    summary: "List sessions (read from the cluster: works from any machine)",
    examples: [
      ["Sessions in the current namespace: NAME NAMESPACE STATUS SYNC AGE", "kodama list"],
      ["Every namespace, with IMAGE CPU MEMORY NODE", "kodama list -A -o wide"],
      ["Session objects (status.phase: Pending, Starting, Running, Stopped, Failed)", "kodama list -o json"],
      ["The list, then a row per change until Ctrl-C", "kodama list -w"],
    ],
  })
    .option("-A, --all-namespaces", "sessions in every namespace")
    .addOption(new Option("-o, --output <format>", "output format").choices(LIST_FORMATS).default("table"))
    .option("-w, --watch", "after listing, print a row for every change (like kodama pods -w); Ctrl-C ends")
    .action(async (opts, c) => {
      const [{ listCommand }, kube] = await Promise.all([commands(), connectFromOpts(globalsOf(c))]);
      setExitCode(await listCommand(kube, opts));
    });

const get: Verb = (parent, name) =>
  verb(parent, name, {
    summary: "Show a session: settings, objects and their state, pod conditions, recent events",
    examples: [
      ["Describe a session", "kodama session get my-work"],
      ["The same as a Session object", "kodama session get my-work -o yaml"],
    ],
  })
    .argument("<name>", "session name")
    .addOption(
      new Option("-o, --output <format>", "output format").choices(["describe", "yaml", "json"]).default(
        "describe",
      ),
    )
    .action(async (session, opts, c) => {
      const [{ getCommand }, kube] = await Promise.all([commands(), connectFromOpts(globalsOf(c))]);
      setExitCode(await getCommand(kube, session, opts.output));
    });

const attach: Verb = (parent, name) =>
  verb(parent, name, {
    summary: "Open a shell in a session's workspace, or run one command there",
    long: `The shell is session.shell when the image has it, else bash, else sh, started in the workspace with
HOME on the session's home volume. With session.shell set to zellij (and zellij in the image) attach joins the
session's zellij session, so detaching keeps it running. --command runs with sh -c and exits with the command's
exit code; it gets a terminal when stdin and stdout are terminals.`,
    examples: [
      ["A shell in the session", "kodama attach my-work"],
      ["Pick a running session", "kodama attach"],
      ["Run one command", 'kodama attach my-work --command "ls -la /workspace"'],
      ["Use the exit code", 'kodama attach my-work --command "npm test" && echo passed'],
    ],
  })
    .argument("[name]", "session name (default: pick one)")
    .option("--command <cmd>", "run this (with sh -c) instead of a shell; exits with its exit code")
    .option("--no-tty", "never allocate a terminal (default: when stdin and stdout are terminals)")
    .action(async (session, opts, c) => {
      const [{ attachCommand }, kube, cfg] = await Promise.all([
        commands(),
        connectFromOpts(globalsOf(c)),
        settings(),
      ]);
      setExitCode(await attachCommand(kube, session, { command: opts.command, tty: opts.tty }, cfg));
    });

const stop: Verb = (parent, name) =>
  verb(parent, name, {
    summary: "Stop a session: delete its pod, keep its volumes, Secret and settings",
    examples: [
      ["Stop a session (resume brings back the same volumes in a new pod)", "kodama stop my-work"],
      ["Return without waiting for the pod to be gone", "kodama stop my-work --no-wait"],
    ],
  })
    .argument("<name>", "session name")
    .option("--no-wait", "return without waiting for the pod to be gone")
    .action(async (session, opts, c) => {
      const [{ stopCommand }, kube] = await Promise.all([commands(), connectFromOpts(globalsOf(c))]);
      setExitCode(await stopCommand(kube, session, { wait: opts.wait !== false }));
    });

const resume: Verb = (parent, name) =>
  verb(parent, name, {
    summary: "Resume a stopped session: a new pod from the recorded settings, waited for as start does",
    examples: [
      ["Resume a session", "kodama resume my-work"],
      ["In another namespace, waiting up to 10 minutes", "kodama resume my-work -n team --timeout 10m"],
    ],
  })
    .argument("<name>", "session name")
    .option(
      "--timeout <duration>",
      "how long to wait for the pod to be ready (default: session.readyTimeout)",
    )
    .option("--no-wait", "return once the pod is created")
    .action(async (session, opts, c) => {
      const [{ resumeCommand }, kube, cfg] = await Promise.all([
        commands(),
        connectFromOpts(globalsOf(c)),
        settings(),
      ]);
      setExitCode(
        await resumeCommand(kube, session, { timeout: opts.timeout, noWait: opts.wait === false }, cfg),
      );
    });

const del: Verb = (parent, name) =>
  verb(parent, name, {
    summary: "Delete a session: pod, Secret, ConfigMap and local state; the volumes are kept unless --purge",
    examples: [
      [
        "Delete after a question; the PVCs are kept (a later start of my-work reuses them)",
        "kodama delete my-work",
      ],
      ["No question, and the workspace and home volumes go too", "kodama delete my-work --force --purge"],
      ["Keep the local state file", "kodama delete old -n testing -f --keep-config"],
    ],
    notes: "Without a terminal, --force is required (exit 2 otherwise). It returns once the pod is gone\n" +
      "(and, with --purge, the volumes), as kubectl delete does: a start of the same name can follow at once.",
  })
    .argument("<name>", "session name")
    .option("-f, --force", "do not ask (required without a terminal)")
    .option("--purge", "also delete the volumes (workspace and home): their data is lost")
    .option("--keep-config", "keep the local state file (~/.kodama/sessions/NAME.yaml)")
    .action(async (session, opts, c) => {
      const [{ deleteCommand }, kube] = await Promise.all([commands(), connectFromOpts(globalsOf(c))]);
      setExitCode(await deleteCommand(kube, session, opts));
    });

const logs: Verb = (parent, name) =>
  verb(parent, name, {
    summary: "Print the latest coding-agent run's output; -f follows it until the run ends",
    examples: [
      ["The latest run's output", "kodama session logs my-work"],
      ["Follow it until it ends", "kodama session logs my-work -f"],
    ],
    notes: "Other runs: kodama agent logs NAME RUN; the list: kodama agent status NAME.",
  })
    .argument("<name>", "session name")
    .option("-f, --follow", "keep printing until the run ends")
    .action(async (session, opts, c) => {
      const [{ logsCommand }, kube] = await Promise.all([commands(), connectFromOpts(globalsOf(c))]);
      setExitCode(await logsCommand(kube, session, { follow: !!opts.follow }));
    });

const fetch: Verb = (parent, name) =>
  verb(parent, name, {
    summary: "Bring a session's branch (the agent's commits) into this repository as kodama/NAME, over exec",
    long: `Run it inside the local clone of the session's repository. The pod makes a git bundle of what this
repository lacks and streams it over the exec stream: no remote, no push rights, no port-forward (pods/exec is
the only permission it needs). The branch is updated to the session's commit (forced: it mirrors the session).`,
    examples: [
      ["Fetch the session's branch into kodama/my-work", "kodama session fetch my-work"],
      [
        "Into another local branch, then merge it",
        "kodama session fetch my-work --branch review && git merge review",
      ],
      ["The session's changes since it was cloned, as a diff", "kodama session fetch my-work --diff"],
    ],
  })
    .argument("<name>", "session name")
    .option("--branch <local>", "local branch to create or update (default: kodama/NAME)")
    .option("--diff", "print the diff of the session's branch against the commit it was cloned at instead")
    .action(async (session, opts, c) => {
      const [{ fetchCommand }, kube] = await Promise.all([commands(), connectFromOpts(globalsOf(c))]);
      setExitCode(await fetchCommand(kube, session, opts));
    });

const prune: Verb = (parent, name) =>
  verb(parent, name, {
    summary: "Remove local state files (~/.kodama/sessions) whose session no longer exists",
    examples: [
      ["See what would go", "kodama session prune --dry-run"],
      ["Remove them", "kodama session prune"],
    ],
  })
    .option("--dry-run", "only say what would be removed")
    .action(async (opts, c) => {
      const { pruneCommand } = await commands();
      const g = globalsOf(c);
      setExitCode(
        await pruneCommand((context) => connectFromOpts({ ...g, context }), { dryRun: !!opts.dryRun }),
      );
    });

export function register(program: Command) {
  const root = program as unknown as AnyCommand;
  const group = verb(root, "session", {
    summary: "Coding-agent dev sessions in pods (start, list, attach, stop, resume, delete, …)",
    usage: "[command] [flags]",
    examples: [
      ["Start a session with the variables of .env", "kodama session start my-work --env-file .env"],
      ["The same as kodama session list", "kodama session"],
      ["Describe a session", "kodama session get my-work"],
      ["Forget local state of sessions that are gone", "kodama session prune"],
    ],
  });
  for (
    const [v, name] of [
      [start, "start"],
      [list, "list"],
      [get, "get"],
      [attach, "attach"],
      [stop, "stop"],
      [resume, "resume"],
      [del, "delete"],
      [prune, "prune"],
      [logs, "logs"],
      [fetch, "fetch"],
    ] as const
  ) v(group, name);
  (group.commands.find((c) => c.name() === "list") as AnyCommand).alias("ls");
  // `kodama session` alone lists
  group.action(async (...args: unknown[]) => {
    const c = args.at(-1) as AnyCommand;
    const [{ listCommand }, kube] = await Promise.all([commands(), connectFromOpts(globalsOf(c))]);
    setExitCode(await listCommand(kube, { output: "table" }));
  });
  start(root, "start");
  list(root, "list").alias("ls");
  attach(root, "attach");
  stop(root, "stop");
  resume(root, "resume");
  del(root, "delete");
}
