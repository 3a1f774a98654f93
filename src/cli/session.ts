/**
 * Sessions: `kodama session start|list|get|attach|stop|resume|delete|prune` (`session` alone lists),
 * and the contract's top-level forms `kodama start|list|ls|attach|stop|resume|delete`. Each verb's
 * flags are declared once and attached to both places; every action calls one function.
 */
import { type Command, Option } from "@commander-js/extra-typings";
import { setExitCode } from "./exit.ts";
import { type AnyCommand, collect, connectFromOpts, globalsOf } from "./flags.ts";

type Verb = (parent: AnyCommand, name: string) => AnyCommand;

const LIST_FORMATS = ["table", "wide", "json", "yaml", "name"];

const start: Verb = (parent, name) =>
  parent.command(name).description("start a session: workspace and home volumes, env Secret, and a pod")
    .argument("<name>", "session name (lowercase letters, digits, '-'; at most 42 characters)")
    .option("--image <image>", "container image (default: defaults.image)")
    .option("--cpu <cpu>", "CPU limit, e.g. 2, 0.5, 500m (default: defaults.resources.cpu)")
    .option("--memory <size>", "memory limit, e.g. 4Gi (default: defaults.resources.memory)")
    .option("--storage <size>", "workspace volume size, e.g. 20Gi (default: defaults.storage.workspace)")
    .option("--storage-class <class>", "StorageClass of the volumes (default: the cluster's default)")
    .option(
      "--env-file <path>",
      "inject the variables of a dotenv file (repeatable; the last file wins)",
      collect,
      [] as string[],
    )
    .option("--env-exclude <name>", "leave this variable out (repeatable)", collect, [] as string[])
    .option("--sync <path>", "local directory to sync into the workspace (not available yet: ignored)")
    .option("--no-sync", "do not sync a local directory")
    .option(
      "--timeout <duration>",
      "how long to wait for the pod to be ready (default: session.readyTimeout, 5m)",
    )
    .option("--no-wait", "return once the objects are created")
    .option("--dry-run", "print the objects (Secret values redacted) and create nothing")
    .addOption(new Option("-o, --output <format>", "with --dry-run: yaml or json").choices(["yaml", "json"]))
    .addHelpText(
      "after",
      `
Examples:
  kodama start my-work                                   defaults from ~/.kodama/config.yaml
  kodama start my-work --image busybox:1.36 --cpu 0.5 --memory 1Gi
  kodama start api-dev --env-file .env --env-file .env.local --env-exclude DEBUG
  kodama start big --storage 50Gi --storage-class fast-ssd --timeout 10m
  kodama start my-work --dry-run -o yaml | kubectl apply --dry-run=server -f -

Creates PVCs kodama-workspace-NAME (mounted at session.workdir, /workspace) and kodama-claude-home-NAME
(HOME, /home/kodama), Secret kodama-env-NAME (the env files' variables), ConfigMap kodama-editor-config-NAME
(when the repo has .kodama/configs/), and pod kodama-NAME. Ctrl-C while it waits removes what it created
except the PVCs. Exit codes: 1 the pod cannot start, 2 bad input or the session exists, 5 timeout, 130 Ctrl-C.`,
    )
    .action(async (session, opts, c) => {
      const [{ startCommand }, kube, cfg] = await Promise.all([
        import("../session/commands.ts"),
        connectFromOpts(globalsOf(c)),
        import("./settings.ts").then((m) => m.effectiveConfig()),
      ]);
      setExitCode(await startCommand(kube, session, opts, cfg));
    });

const list: Verb = (parent, name) =>
  parent.command(name).description("list sessions (from the cluster: works from any machine)")
    .option("-A, --all-namespaces", "sessions in every namespace")
    .addOption(new Option("-o, --output <format>", "output format").choices(LIST_FORMATS).default("table"))
    .option("-w, --watch", "after listing, print a row for every change (like kodama pods -w); Ctrl-C ends")
    .addHelpText(
      "after",
      `
Examples:
  kodama list                      NAME NAMESPACE STATUS SYNC AGE
  kodama list -A -o wide           every namespace, with IMAGE CPU MEMORY NODE
  kodama list -o json              Session objects (status.phase: Pending, Starting, Running, Stopped, Failed)
  kodama list -w                   the list, then a row per change`,
    )
    .action(async (opts, c) => {
      const [{ listCommand }, kube] = await Promise.all([
        import("../session/commands.ts"),
        connectFromOpts(globalsOf(c)),
      ]);
      setExitCode(await listCommand(kube, opts));
    });

const get: Verb = (parent, name) =>
  parent.command(name).description("show a session: settings, objects and their state, conditions, events")
    .argument("<name>", "session name")
    .addOption(
      new Option("-o, --output <format>", "output format").choices(["describe", "yaml", "json"]).default(
        "describe",
      ),
    )
    .addHelpText(
      "after",
      `
Examples:
  kodama session get my-work
  kodama session get my-work -o yaml`,
    )
    .action(async (session, opts, c) => {
      const [{ getCommand }, kube] = await Promise.all([
        import("../session/get.ts"),
        connectFromOpts(globalsOf(c)),
      ]);
      const { stdoutSink } = await import("../ui/sink.ts");
      setExitCode(await getCommand(kube, kube.namespace, session, opts.output, stdoutSink));
    });

const attach: Verb = (parent, name) =>
  parent.command(name).description("open a shell in a session's workspace, or run one command there")
    .argument("[name]", "session name (default: pick one)")
    .option("--command <cmd>", "run this (with sh -c) instead of a shell; exits with its exit code")
    .option("--no-tty", "never allocate a terminal (default: when stdin and stdout are terminals)")
    .addHelpText(
      "after",
      `
Examples:
  kodama attach my-work                                 session.shell if the image has it, else bash, else sh
  kodama attach                                         pick a running session
  kodama attach my-work --command "ls -la /workspace"
  kodama attach my-work --command "npm test" && echo passed

The shell starts in the workspace; HOME is the session's home volume. With session.shell set to zellij
(and zellij in the image) attach joins the session's zellij session, so detaching keeps it running.`,
    )
    .action(async (session, opts, c) => {
      const [{ attachCommand }, kube, cfg] = await Promise.all([
        import("../session/commands.ts"),
        connectFromOpts(globalsOf(c)),
        import("./settings.ts").then((m) => m.effectiveConfig()),
      ]);
      setExitCode(await attachCommand(kube, session, { command: opts.command, tty: opts.tty }, cfg));
    });

const stop: Verb = (parent, name) =>
  parent.command(name).description("stop a session: delete its pod, keep its volumes, Secret and settings")
    .argument("<name>", "session name")
    .option("--no-wait", "return without waiting for the pod to be gone")
    .addHelpText(
      "after",
      "\nExamples:\n  kodama stop my-work\n  kodama resume my-work           later: the same volumes, a new pod",
    )
    .action(async (session, opts, c) => {
      const [{ stopCommand }, kube] = await Promise.all([
        import("../session/commands.ts"),
        connectFromOpts(globalsOf(c)),
      ]);
      setExitCode(await stopCommand(kube, session, { wait: opts.wait !== false }));
    });

const resume: Verb = (parent, name) =>
  parent.command(name).description("resume a stopped session: recreate its pod from the recorded settings")
    .argument("<name>", "session name")
    .option(
      "--timeout <duration>",
      "how long to wait for the pod to be ready (default: session.readyTimeout)",
    )
    .option("--no-wait", "return once the pod is created")
    .addHelpText(
      "after",
      "\nExamples:\n  kodama resume my-work\n  kodama resume my-work -n team --timeout 10m",
    )
    .action(async (session, opts, c) => {
      const [{ resumeCommand }, kube, cfg] = await Promise.all([
        import("../session/commands.ts"),
        connectFromOpts(globalsOf(c)),
        import("./settings.ts").then((m) => m.effectiveConfig()),
      ]);
      setExitCode(
        await resumeCommand(kube, session, { timeout: opts.timeout, noWait: opts.wait === false }, cfg),
      );
    });

const del: Verb = (parent, name) =>
  parent.command(name).description(
    "delete a session: pod, Secret, ConfigMap and local state (volumes kept unless --purge)",
  )
    .argument("<name>", "session name")
    .option("-f, --force", "do not ask (required without a terminal)")
    .option("--purge", "also delete the volumes (workspace and home): their data is lost")
    .option("--keep-config", "keep the local state file (~/.kodama/sessions/NAME.yaml)")
    .addHelpText(
      "after",
      `
Examples:
  kodama delete my-work                     asks first; keeps the PVCs (a later start of my-work reuses them)
  kodama delete my-work --force --purge     no question; the workspace and home volumes go too
  kodama delete old -n testing -f --keep-config`,
    )
    .action(async (session, opts, c) => {
      const [{ deleteCommand }, kube] = await Promise.all([
        import("../session/commands.ts"),
        connectFromOpts(globalsOf(c)),
      ]);
      setExitCode(await deleteCommand(kube, session, opts));
    });

const prune: Verb = (parent, name) =>
  parent.command(name).description(
    "remove local state files (~/.kodama/sessions) whose session no longer exists",
  )
    .option("--dry-run", "only say what would be removed")
    .addHelpText("after", "\nExamples:\n  kodama session prune --dry-run\n  kodama session prune")
    .action(async (opts, c) => {
      const { pruneCommand } = await import("../session/commands.ts");
      const g = globalsOf(c);
      setExitCode(
        await pruneCommand((context) => connectFromOpts({ ...g, context }), { dryRun: !!opts.dryRun }),
      );
    });

export function register(program: Command) {
  const group = program.command("session").description(
    "coding-agent dev sessions in pods (also: start, list, attach, …)",
  )
    .addHelpText(
      "after",
      `
Examples:
  kodama session start my-work --env-file .env
  kodama session                            same as: kodama session list
  kodama session get my-work
  kodama session prune`,
    ) as unknown as AnyCommand;
  for (
    const [verb, name] of [
      [start, "start"],
      [list, "list"],
      [get, "get"],
      [attach, "attach"],
      [stop, "stop"],
      [resume, "resume"],
      [del, "delete"],
      [prune, "prune"],
    ] as const
  ) verb(group, name);
  (group.commands.find((c) => c.name() === "list") as AnyCommand).alias("ls");
  // `kodama session` alone lists
  group.action(async (...args: unknown[]) => {
    const c = args.at(-1) as AnyCommand;
    const [{ listCommand }, kube] = await Promise.all([
      import("../session/commands.ts"),
      connectFromOpts(globalsOf(c)),
    ]);
    setExitCode(await listCommand(kube, { output: "table" }));
  });
  const root = program as unknown as AnyCommand;
  start(root, "start");
  list(root, "list").alias("ls");
  attach(root, "attach");
  stop(root, "stop");
  resume(root, "resume");
  del(root, "delete");
}
