/**
 * Sessions: `kodama session start|list|get|attach|stop|resume|delete|prune|logs|fetch|land` (`session` alone
 * lists), and the contract's top-level forms `kodama start|list|ls|attach|stop|resume|delete`. Each verb's
 * table (flags, help, run) is declared once and appears in both places; every run calls one function.
 */
import { command, type GlobalValues } from "./opttypes.ts";
import { setExitCode } from "./exit.ts";
import { connectFromOpts } from "./connect.ts";
import type { Example, HelpSpec } from "./help.ts";
import { collect } from "./optspec.ts";
import { arg, type CommandSpec } from "./spec.ts";
import { parseReplicas } from "../agent/group/replicas.ts";
import { SETTINGS_OPTIONS, settingsFlagsOf } from "./agentflags.ts";

const LIST_FORMATS = ["table", "wide", "json", "yaml", "name"];

const settings = () => import("./settings.ts").then((m) => m.effectiveConfig());
const impl = () => import("../session/commands.ts");
const agentImpl = () => import("../agent/runs/agentcmd.ts");
const connect = (inv: { opts: GlobalValues }) => connectFromOpts(inv.opts);
const NAME = arg("<name>", "session name");

/** A verb, as declared for the top-level form (`kodama start`): its help's examples say `kodama start`. */
type Verb = Omit<CommandSpec, "help"> & { help: Omit<HelpSpec, "group"> };

/** The verb under `kodama session`: the same table, its examples saying `kodama session VERB`. */
function underSession(v: Verb): CommandSpec {
  const name = v.names[0];
  const examples = v.help.examples.map(([comment, line]) =>
    [comment, line.replace(new RegExp(`^kodama ${name}\\b`), `kodama session ${name}`)] as Example
  );
  return { ...v, help: { ...v.help, examples } };
}

/** The verb at the top level (`kodama start`), listed under Sessions in `kodama --help`. */
function topLevel(v: Verb): CommandSpec {
  return { ...v, help: { group: "Sessions", ...v.help } };
}

const start = command({
  names: ["start"],
  help: {
    summary: "Start a session: workspace and home volumes, an env Secret, and a pod",
    long:
      `Creates PVCs kodama-workspace-NAME (mounted at session.workdir, /workspace) and kodama-claude-home-NAME
(HOME, /home/kodama), Secret kodama-env-NAME (the env files' variables), ConfigMap kodama-editor-config-NAME
(default Helix + Zellij configs; the repo's .kodama/configs/ override them), and Job kodama-NAME, whose pod
(kodama-NAME-x7k2p) the cluster brings back when it moves it, then waits until the pod is ready. Every object
carries the labels app.kubernetes.io/managed-by=kodama and kodama.dev/session=NAME and the session's
settings, so list, attach and resume work from any machine.`,
    examples: [
      ["Start a session with the defaults of ~/.kodama/config.yaml", "kodama start my-work"],
      [
        "Sync the current directory into the workspace, then keep syncing it in the background",
        "kodama start my-work --sync .",
      ],
      [
        "Start without sync (without --sync, a project directory — .git, .kodama.yaml or .kodamaignore — is synced)",
        "kodama start my-work --no-sync",
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
        "A bigger workspace on another StorageClass, waiting up to 10 minutes [not in the demo: no class fast-ssd]",
        "kodama start big --storage 50Gi --storage-class fast-ssd --timeout 10m",
      ],
      [
        "Clone a repository onto a new branch kodama/api-fix-<UTC time> (token from GITHUB_TOKEN) [not in the demo: a remote]",
        "kodama start api-fix --repo https://github.com/acme/api.git --env-file .env",
      ],
      [
        "Send this repository (every branch and tag) into the pod, on a new branch off the one checked out here",
        "kodama start review --repo . --sync .",
      ],
      [
        "Clone, then start the coding agent on a task (follow it with kodama session logs fix -f) [demo project]",
        "kodama start fix --repo . --prompt-file task.txt",
      ],
      [
        "An existing branch, or a new one created from develop when the remote lacks it [not in the demo: a remote]",
        "kodama start feat --repo git@github.com:acme/api.git --branch feat/login --base-branch develop",
      ],
      [
        "Several repositories side by side in /workspace/api, /workspace/web and /workspace/docs (read-only) [not in the demo: repositories of your own]",
        "kodama start mr1 --repo ../api --repo ../web --repo ../docs:ro --prompt-file task.txt",
      ],
      [
        "Stop by itself after 30 minutes without use (attach --resume brings it back), and expire in 2 days",
        "kodama start my-work --idle-stop 30m --ttl 2d",
      ],
      [
        "From a template (kodama template list), with a flag over one of its values",
        "kodama start web --template node --memory 8Gi",
      ],
      [
        "A database beside the session (attach -c db, logs -c db and pf reach it) [not in the demo: no postgres image]",
        "kodama start api --sidecar db=postgres:16,port=5432",
      ],
      [
        "See what a new session would create, checked by the API server, creating nothing (a Job's pod template cannot change: not over a session that exists)",
        "kodama start try-out --dry-run -o yaml | kubectl apply --dry-run=server -f -",
      ],
      [
        "Best of 3: three sessions fix-1..fix-3 on their own branches, the same task, the tests run when each ends [demo project]",
        'kodama start fix --repo . --prompt-file task.txt --replicas 3 --check "npm test"',
      ],
      [
        "Compare agents: replica 2 runs Codex, replica 3 Claude Code with another model [demo project]",
        'kodama start fix --repo . --prompt-file task.txt --replicas 3 --agent-variant 2=codex --agent-variant 3="claude --model opus"',
      ],
      [
        "Run Codex instead of Claude Code (OPENAI_API_KEY from this environment goes into the env Secret) [demo project]",
        "kodama start fix --repo . --prompt-file task.txt --agent codex",
      ],
    ],
    notes:
      `With --repo, an init container (image git.image, default the session image) clones the repository into the
workspace when it is empty (resume never clones again), checks out --branch or creates
<defaults.branchPrefix>NAME-<UTC time> (git.autoBranch), and sets git.userName/userEmail. An https token comes
from git.tokenEnv (GITHUB_TOKEN: the environment or the env files) and is kept in Secret kodama-git-NAME only,
read by a credential helper; ssh uses the key in Secret git.secretName. A repository on this machine (--repo .,
a path, file://) is sent to the pod as a git bundle over exec (every branch, tag and remote-tracking branch);
its upstream URL becomes the pod's origin when it is one a pod can reach. A failed clone prints git's own error
and fails once (no restart loop). A start that fails removes what it created, its PVCs too unless
--keep-on-failure. A repo's .kodama.yaml is untrusted: its paths must stay inside the repository (after
symlinks), it cannot choose which local variables leave the machine (agent.forwardEnv, agent.authEnv,
git.tokenEnv), and start
prints every setting it made and the variable names each env file adds (docs/security.md).
Ctrl-C while it waits removes what it created except the PVCs (a new start of the name reuses them).
--replicas N (at most 16) starts sessions NAME-1 … NAME-N in parallel, each with every option given, the
label kodama.dev/group=NAME and its own branch kodama/NAME-i-<UTC time>; a replica that fails is reported
and the others go on (exit 1 when one failed). Then: kodama compare NAME, kodama adopt NAME-i,
kodama delete NAME --group. --judge PRESET[:MODEL] then waits for them and has a reviewer agent rank the
replicas that passed (session NAME-judge; stdout's last line is rank 1; exit as compare --judge). --check (or agent.check) runs in the workspace when the agent has ended.
The agent is a preset (--agent; claude by default, its permission prompts off: the pod is the sandbox), its
credential and proxy variables go into the env Secret, names listed by --dry-run (docs/agents.md).
Exit codes: 1 the pod cannot start (the reason and recent events are printed), 2 bad input or the session
exists (or --sync PATH is not a directory), 3 --sync PATH does not exist (both checked before anything is
created), 4 a repository file leads outside the repository, 5 timeout, 130 Ctrl-C.`,
  },
  args: [arg("<name>", "session name (lowercase letters, digits, '-'; at most 42 characters)")],
  options: [
    {
      flags: "--template <name>",
      description: "start from this template (kodama template list); a flag given here wins over its value",
    },
    {
      flags: "--sidecar <name=image>",
      description:
        "add a container beside the session's, e.g. db=postgres:16,port=5432 (repeatable; replaces a template's of the name)",
      parse: collect,
      default: [],
    },
    {
      flags: "--from-snapshot <snap>",
      description: "the new volumes start with this snapshot's workspace and home (kodama snapshot list)",
    },
    { flags: "--image <image>", description: "container image (default: defaults.image)" },
    {
      flags: "--service-account <name>",
      description:
        "run the pod as this ServiceAccount (default: defaults.serviceAccount); its token only with --mount-sa-token",
    },
    { flags: "--cpu <cpu>", description: "CPU limit, e.g. 2, 0.5, 500m (default: defaults.resources.cpu)" },
    { flags: "--memory <size>", description: "memory limit, e.g. 4Gi (default: defaults.resources.memory)" },
    {
      flags: "--storage <size>",
      description: "workspace volume size, e.g. 20Gi (default: defaults.storage.workspace)",
    },
    {
      flags: "--storage-class <class>",
      description:
        "StorageClass of the volumes (default: defaults.storage.storageClass, else the cluster's default)",
    },
    {
      flags: "--mount-sa-token",
      description:
        "mount the ServiceAccount's token in the pod (workload identity, cloud APIs); default: no token (session.serviceAccountToken)",
    },
    {
      flags: "--cpu-request <cpu>",
      description:
        "CPU request, at most the limit (default: defaults.resources.cpuRequest, else a quarter of --cpu)",
    },
    {
      flags: "--memory-request <size>",
      description:
        "memory request, at most the limit (default: defaults.resources.memoryRequest, else a quarter of --memory)",
    },
    { flags: "--gpu <n>", description: "nvidia.com/gpu devices (default: defaults.scheduling.gpu)" },
    {
      flags: "--resource <name=qty>",
      description: "an extended resource in whole units, e.g. amd.com/gpu=1 (repeatable)",
      parse: collect,
      default: [],
    },
    {
      flags: "--node-selector <key=value>",
      description:
        "run only on nodes with this label, e.g. pool=gpu (repeatable; adds to defaults.scheduling.nodeSelector)",
      parse: collect,
      default: [],
    },
    {
      flags: "--toleration <key[=value]:effect>",
      description:
        "tolerate a taint: gpu=true:NoSchedule, or spot:NoExecute for any value; effects NoSchedule, PreferNoSchedule, NoExecute (repeatable)",
      parse: collect,
      default: [],
    },
    {
      flags: "--image-pull-secret <name>",
      description:
        "pull the images with this Secret of the namespace (a private registry; repeatable; adds to defaults.scheduling.imagePullSecrets)",
      parse: collect,
      default: [],
    },
    {
      flags: "--annotation <key=value>",
      description: "an annotation on the session pod (repeatable; not kodama.dev/*)",
      parse: collect,
      default: [],
    },
    {
      flags: "--priority-class <name>",
      description: "the pod's PriorityClass (default: defaults.scheduling.priorityClass)",
    },
    {
      flags: "--idle-stop <duration>",
      description:
        "stop by itself after this long without activity (a process started through exec, a write under the workspace), e.g. 30m; a connected background sync flushes both ways first; at least 10s, 0 never (default: defaults.idleStop)",
    },
    {
      flags: "--ttl <duration|time>",
      description:
        "record an expiry, e.g. 8h, 2d or 2026-12-01T18:00:00Z: list warns once it passes, kodama gc deletes (default: defaults.ttl)",
    },
    {
      flags: "--env-file <path>",
      description: "inject the variables of a dotenv file (repeatable; the last file wins)",
      parse: collect,
      default: [],
    },
    {
      flags: "--env-exclude <name>",
      description: "leave this variable out (repeatable)",
      parse: collect,
      default: [],
    },
    {
      flags: "--sync [path]",
      description:
        "sync this local directory (default: the current one) into the workspace, then keep syncing in the background",
    },
    { flags: "--no-sync", description: "do not sync a local directory" },
    {
      flags: "--no-gateway",
      description:
        "do not go through the namespace's gateway (kodama gateway) even when it has one: the agent's keys go into the session as without one (default: session.gateway)",
    },
    {
      flags: "--no-pool",
      description:
        "make new volumes even when the warm pool (kodama pool ensure) has a matching pair (default: defaults.storage.pool)",
    },
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
    {
      flags: "--repo <url>",
      description:
        "clone this repository into the workspace (only when it is empty); . or a path: this machine's repository, sent to the pod (every branch and tag), its upstream as origin. Repeatable: each into /workspace/<its directory name> on its own branch, PATH=NAME to choose the name, PATH:ro to clone one for reading only (never fetched or landed); each one written is a path on this machine",
      parse: collect,
      default: [],
    },
    {
      flags: "--branch <branch>",
      description: "check out this branch (with --base-branch: created from it when the remote lacks it)",
    },
    {
      flags: "--base-branch <branch>",
      description: "the branch a new branch starts from (default: the remote's default branch)",
    },
    {
      flags: "-p, --prompt <text>",
      description: "once ready, start a coding-agent run with this prompt (see kodama agent)",
    },
    {
      flags: "--prompt-file <file>",
      description: "once ready, start a coding-agent run with the prompt in this file",
    },
    {
      flags: "--check <cmd>",
      description:
        "with a prompt: run this shell command in the workspace when the agent has ended (e.g. npm test); its exit code and output are recorded with the run (default: agent.check)",
    },
    {
      flags: "--agent <preset>",
      description:
        'the session\'s coding agent: claude (default), codex, gemini, opencode, pi, qwen, or custom (agent.command), with extra arguments if any ("claude --fallback-model X"); see kodama agent presets',
    },
    {
      flags: "--replicas <n>",
      description:
        "start N sessions NAME-1 … NAME-N (at most 16) in parallel, each on its own branch: best of N (see kodama compare)",
      // its own words (1 … 16), before the generic whole-number check of a <n> flag
      parse: (v: string) => (parseReplicas(v), v),
    },
    {
      flags: "--agent-variant <i=spec>",
      description:
        'with --replicas: replica i runs another agent, for all its runs: a preset and extra args (2=codex, 3="claude --model opus") or a command (repeatable)',
      parse: collect,
      default: [],
    },
    ...SETTINGS_OPTIONS,
    {
      flags: "--notify",
      description:
        "a signed event goes to notify.webhook when a run ends or waits on you: relayed by the gateway, else sent by kodama on your machine when it sees the end (the default once notify.webhook is set)",
    },
    {
      flags: "--no-notify",
      description: "no webhook for this session's runs, although notify.webhook is set",
    },
    {
      flags: "--no-preflight",
      description:
        "with a prompt: start even when the agent has none of its credential variables (see kodama agent check)",
    },
    {
      flags: "--budget <usd>",
      description:
        "with --replicas N: the group's total cost in US dollars, split evenly (each replica's --max-cost is USD/N)",
    },
    {
      flags: "--judge <preset[:model]>",
      description:
        "with --replicas N and a prompt: once every replica has ended, a reviewer agent of this preset ranks those that passed, in a pod of its own (see kodama compare --judge)",
    },
    {
      flags: "--timeout <duration>",
      description: "how long to wait for the pod to be ready (default: session.readyTimeout, 5m)",
    },
    {
      flags: "--no-wait",
      description: "return once the objects are created (and a local --repo sent: its clone waits for it)",
    },
    {
      flags: "--replace",
      description:
        "a session of this name (a Failed one) is deleted first; its volumes are kept and reused, and its recorded repo, branch, sync, image, limits and agent are kept unless a flag changes one",
    },
    {
      flags: "--keep-on-failure",
      description: "a start that fails keeps the PVCs it made (a new start reuses them); all else is removed",
    },
    {
      flags: "--dry-run",
      description:
        "print the objects (Secret values redacted) and create nothing; through the namespace's gateway when it has one, as start",
    },
    {
      flags: "-o, --output <format>",
      description: "with --dry-run: yaml or json",
      choices: ["yaml", "json"],
    },
  ],
  run: async (inv) => {
    const [{ startCommand }, kube, cfg] = await Promise.all([agentImpl(), connect(inv), settings()]);
    const o = inv.opts;
    // the flags, once, as the session's start options (src/session/lifecycle/start.ts resolves them over the config)
    setExitCode(
      await startCommand(kube, {
        name: inv.args[0],
        template: o.template,
        fromSnapshot: o.fromSnapshot,
        sidecars: o.sidecar,
        image: o.image,
        serviceAccount: o.serviceAccount,
        cpu: o.cpu,
        memory: o.memory,
        storage: o.storage,
        storageClass: o.storageClass,
        mountSaToken: o.mountSaToken,
        scheduling: {
          cpuRequest: o.cpuRequest,
          memoryRequest: o.memoryRequest,
          gpu: o.gpu,
          resources: o.resource,
          nodeSelector: o.nodeSelector,
          tolerations: o.toleration,
          imagePullSecrets: o.imagePullSecret,
          annotations: o.annotation,
          priorityClass: o.priorityClass,
        },
        idleStop: o.idleStop,
        ttl: o.ttl,
        envFiles: o.envFile,
        envExclude: o.envExclude,
        sync: typeof o.sync === "string" ? o.sync : o.sync === true ? "." : undefined,
        noSync: o.sync === false,
        noPool: o.pool === false,
        noGateway: o.gateway === false,
        allowOverlap: o.allowOverlap,
        // the prompt file is the agent's task: never synced into its workspace (nor into its commits)
        neverSync: typeof o.promptFile === "string" && o.promptFile !== "-" ? [o.promptFile] : [],
        syncMode: o.syncMode,
        // once: the repository cloned into the workspace, as always; more: each into its own directory
        repo: o.repo.length === 1 ? o.repo[0] : undefined,
        ...(o.repo.length > 1 ? { repos: o.repo } : {}),
        branch: o.branch,
        baseBranch: o.baseBranch,
        prompt: o.prompt,
        promptFile: o.promptFile,
        check: o.check,
        replicas: o.replicas,
        variants: o.agentVariant,
        agentName: o.agent,
        settings: settingsFlagsOf(o),
        noPreflight: o.preflight === false,
        ...(o.notify !== undefined ? { notify: o.notify } : {}),
        budget: o.budget,
        ...(o.judge !== undefined ? { judge: o.judge } : {}),
        timeout: o.timeout,
        noWait: o.wait === false,
        keepOnFailure: o.keepOnFailure,
        replace: o.replace,
        dryRun: o.dryRun,
        output: o.output,
      }, cfg),
    );
  },
});

const list = command({
  names: ["list"],
  help: {
    summary: "List sessions (read from the cluster: works from any machine)",
    long: `Notes on stderr name expired sessions (kodama gc), local session files with no session left
(kodama session prune), and deleted sessions whose volumes were kept (kodama delete NAME --purge).
AGENT: the latest agent run's outcome (a run nobody read yet is read from its pod: up to 8 sessions).
USAGE (sessions through a gateway): the tokens and cost the gateway metered, from one read of its log;
-o json|yaml: status.gateway (null when the gateway cannot be read).`,
    examples: [
      ["Sessions in the current namespace: NAME NAMESPACE STATUS SYNC BRANCH READY OWNER AGE", "kodama list"],
      ["Every namespace, with EXPIRES IMAGE CPU MEMORY NODE", "kodama list -A -o wide"],
      ["Session objects (status.phase: Pending, Starting, Running, Stopped, Failed)", "kodama list -o json"],
      ["The list, then a row per change until Ctrl-C", "kodama list -w"],
    ],
  },
  options: [
    { flags: "-A, --all-namespaces", description: "sessions in every namespace" },
    { flags: "-o, --output <format>", description: "output format", choices: LIST_FORMATS, default: "table" },
    {
      flags: "-w, --watch",
      description: "after listing, print a row for every change (like kodama pods -w); Ctrl-C ends",
    },
  ],
  run: async (inv) => {
    const [{ listCommand }, { fillRunOutcomes }, { fillGatewayFigures, fillGatewayWaits }, kube] =
      await Promise.all([
        impl(),
        import("../agent/outcome/listoutcome.ts"),
        import("../agent/gateway/figures.ts"),
        connect(inv),
      ]);
    const o = inv.opts;
    setExitCode(
      await listCommand(kube, {
        allNamespaces: o.allNamespaces,
        output: o.output,
        watch: o.watch,
        // the runs nobody read yet, and the gateway's figures (one log read per namespace), at once
        complete: async (views) => {
          await Promise.allSettled([fillRunOutcomes(kube, views), fillGatewayFigures(kube, views)]);
          // a running run whose request waits in the gateway says so, as its own waits do
          fillGatewayWaits(views);
        },
      }),
    );
  },
});

const get = command({
  names: ["get"],
  help: {
    summary: "Show a session: settings, objects and their state, pod conditions, recent events",
    examples: [
      ["Describe a session", "kodama session get my-work"],
      ["The same as a Session object", "kodama session get my-work -o yaml"],
    ],
  },
  args: [NAME],
  options: [
    {
      flags: "-o, --output <format>",
      description: "output format",
      choices: ["describe", "yaml", "json"],
      default: "describe",
    },
  ],
  run: async (inv) => {
    const [{ getCommand }, kube] = await Promise.all([impl(), connect(inv)]);
    setExitCode(await getCommand(kube, inv.args[0], inv.opts.output));
  },
});

const attach = command({
  names: ["attach"],
  help: {
    summary: "Open a shell in a session's workspace, or run one command there",
    long: `The shell is session.shell when the image has it, else bash, else sh, started in the workspace with
HOME on the session's home volume. With session.shell set to zellij (and zellij in the image) attach joins the
session's zellij session, so detaching keeps it running. --command runs with sh -c and exits with the command's
exit code; it gets a terminal when stdin and stdout are terminals. A shell or command cut by the pod's end (the
cluster evicting, preempting or deleting it; its Job brings a new one) says so in one line and exits 1: attach
again once the session runs.`,
    examples: [
      ["A shell in the session [interactive]", "kodama attach my-work"],
      ["Pick a running session [interactive]", "kodama attach"],
      ["Run one command", 'kodama attach my-work --command "ls -la /workspace"'],
      [
        "Use the exit code [not in the demo: a Node project]",
        'kodama attach my-work --command "npm test" && echo passed',
      ],
      [
        "Resume a session that stopped itself (idle stop), then open the shell",
        "kodama attach my-work --resume",
      ],
      ["A shell in the session's sidecar db [interactive]", "kodama attach my-work -c db"],
    ],
  },
  args: [arg("[name]", "session name (default: pick one)")],
  options: [
    {
      flags: "--command <cmd>",
      description: "run this (with sh -c) instead of a shell; exits with its exit code",
    },
    {
      flags: "--no-tty",
      description: "never allocate a terminal (default: when stdin and stdout are terminals)",
    },
    {
      flags: "--resume",
      description: "resume a stopped session first, without asking (on a terminal attach asks)",
    },
    {
      flags: "-c, --container <name>",
      description: "a sidecar of the session instead of its session container",
    },
  ],
  run: async (inv) => {
    const [{ attachCommand }, kube, cfg] = await Promise.all([impl(), connect(inv), settings()]);
    const o = inv.opts;
    setExitCode(
      await attachCommand(kube, inv.args[0], {
        container: o.container,
        command: o.command,
        tty: o.tty,
        resume: o.resume,
      }, cfg),
    );
  },
});

const stop = command({
  names: ["stop"],
  help: {
    summary:
      "Stop a session: delete its Job and pod (a run it cuts off is not resumed), keep its volumes, Secret and settings",
    examples: [
      ["Stop a session (resume brings back the same volumes in a new pod)", "kodama stop my-work"],
      ["Return without waiting for the pod to be gone", "kodama stop my-work --no-wait"],
    ],
  },
  args: [NAME],
  options: [{ flags: "--no-wait", description: "return without waiting for the pod to be gone" }],
  run: async (inv) => {
    const [{ stopCommand }, kube] = await Promise.all([impl(), connect(inv)]);
    setExitCode(await stopCommand(kube, inv.args[0], { wait: inv.opts.wait !== false }));
  },
});

const resume = command({
  names: ["resume"],
  help: {
    summary:
      "Resume a stopped session: its Job and a new pod from the recorded settings, waited for as start does",
    examples: [
      ["Resume a session", "kodama resume my-work"],
      [
        "In another namespace, waiting up to 10 minutes [not in the demo: no namespace team]",
        "kodama resume my-work -n team --timeout 10m",
      ],
    ],
  },
  args: [NAME],
  options: [
    {
      flags: "--timeout <duration>",
      description: "how long to wait for the pod to be ready (default: session.readyTimeout)",
    },
    { flags: "--no-wait", description: "return once the pod is created" },
  ],
  run: async (inv) => {
    const [{ resumeCommand }, kube, cfg] = await Promise.all([impl(), connect(inv), settings()]);
    const o = inv.opts;
    setExitCode(
      await resumeCommand(kube, inv.args[0], {
        timeout: o.timeout,
        noWait: o.wait === false,
      }, cfg),
    );
  },
});

const del = command({
  names: ["delete"],
  help: {
    summary:
      "Delete a session: Job and pod, Secret, ConfigMap and local state; the volumes are kept unless --purge",
    examples: [
      [
        "Delete after a question; the PVCs are kept (a later start of my-work reuses them) [interactive]",
        "kodama delete my-work",
      ],
      ["No question, and the workspace and home volumes go too", "kodama delete my-work --force --purge"],
      [
        "Keep the local state file [not in the demo: no namespace testing]",
        "kodama delete old -n testing -f --keep-config",
      ],
      [
        "Best of N: keep fix-2, discard the other replicas and their volumes (no question) [demo project]",
        "kodama delete fix --group --keep fix-2 --purge",
      ],
    ],
    notes: "Without a terminal, --force is required (exit 2 otherwise). It returns once the pod is gone\n" +
      "(and, with --purge, the volumes), as kubectl delete does: a start of the same name can follow at once.\n" +
      "--group: NAME is a group (start --replicas); one question covers every replica. With --keep the others\n" +
      "are discarded without a question; their volumes go only with --purge, as for every delete.",
  },
  args: [NAME],
  options: [
    { flags: "-f, --force", description: "do not ask (required without a terminal)" },
    { flags: "--group", description: "NAME is a group (start --replicas): delete its replicas" },
    {
      flags: "--keep <replica>",
      description: "with --group: spare this replica, e.g. --keep fix-2 (repeatable)",
      parse: collect,
      default: [],
    },
    { flags: "--purge", description: "also delete the volumes (workspace and home): their data is lost" },
    { flags: "--keep-config", description: "keep the local state file (~/.kodama/sessions/NAME.yaml)" },
  ],
  run: async (inv) => {
    const o = inv.opts;
    const [{ deleteCommand }, { deleteGroupCommand }, kube] = await Promise.all([
      impl(),
      o.group || o.keep.length ? agentImpl() : { deleteGroupCommand: undefined },
      connect(inv),
    ]);
    setExitCode(
      await (deleteGroupCommand ?? deleteCommand)(kube, inv.args[0], {
        force: o.force,
        purge: o.purge,
        keepConfig: o.keepConfig,
        group: o.group,
        keep: o.keep,
      }),
    );
  },
});

const logs = command({
  names: ["logs"],
  help: {
    summary: "Print the latest coding-agent run's output; -f follows it until the run ends",
    examples: [
      ["The latest run's output [demo project]", "kodama session logs my-work"],
      ["Follow it until it ends [demo project]", "kodama session logs my-work -f"],
    ],
    notes: "Other runs: kodama agent logs NAME RUN; the list: kodama agent status NAME.",
  },
  args: [NAME],
  options: [{
    flags: "-f, --follow",
    description: "keep printing until the run ends, going on where it was after a cut stream",
  }],
  run: async (inv) => {
    const [{ sessionLogsCommand }, kube] = await Promise.all([agentImpl(), connect(inv)]);
    setExitCode(await sessionLogsCommand(kube, inv.args[0], { follow: !!inv.opts.follow }));
  },
});

const fetch = command({
  names: ["fetch"],
  help: {
    summary: "Bring a session's branch (the agent's commits) into this repository as kodama/NAME, over exec",
    long: `Run it inside the local clone of the session's repository. The pod makes a git bundle of what this
repository lacks and streams it over the exec stream: no remote, no push rights, no port-forward (pods/exec is
the only permission it needs). The branch is created at the session's commit, or moved forward to it. A
branch checked out in any work tree is never moved, and one with commits the session lacks (yours, or an
agent's rewritten history) only with --force; a refusal is exit 2, and no local branch moves.`,
    examples: [
      ["Fetch the session's branch into kodama/my-work", "kodama session fetch my-work"],
      [
        "Into another local branch, then merge it",
        "kodama session fetch my-work --branch review && git merge review",
      ],
      ["The session's changes since it was cloned, as a diff", "kodama session fetch my-work --diff"],
    ],
  },
  args: [NAME],
  options: [
    { flags: "--branch <local>", description: "local branch to create or update (default: kodama/NAME)" },
    {
      flags: "--diff",
      description: "print the diff of the session's branch against the commit it was cloned at instead",
    },
    {
      flags: "--force",
      description:
        "fetch into a repository that shares no commit with the session, and move a branch that has commits the session lacks (they stay in its reflog; never a checked-out branch)",
    },
  ],
  run: async (inv) => {
    const [{ fetchCommand }, kube] = await Promise.all([impl(), connect(inv)]);
    const o = inv.opts;
    setExitCode(
      await fetchCommand(kube, inv.args[0], {
        branch: o.branch,
        diff: o.diff,
        force: o.force,
      }),
    );
  },
});

const pr = command({
  names: ["pr"],
  help: {
    summary: "Push the session's branch to the forge and open (or update) its pull/merge request",
    long: `Run it inside the local clone of the session's repository. The session's branch is fetched into
kodama/NAME (as session fetch does), pushed to the same name on the repository's push remote with your own git
credentials (door git: no hook, no program the repository's config names), and a pull request (GitHub,
GitHub Enterprise Server, Gitea, Forgejo) or merge request (GitLab) is opened from it, or the open one of that
branch updated. Its description tells a reviewer the latest agent run: the prompt, the outcome, turns and cost,
the check and its result, the agent's final message; for a replica, its group's comparison. The forge and the
repository come from the remote's URL (forge.hosts in ~/.kodama/config.yaml for other hosts); the token from
GH_TOKEN or GITHUB_TOKEN (or agent keys' github), GITLAB_TOKEN, GITEA_TOKEN. The token is checked before
anything is pushed. After agent run --from-pr, it replies "Addressed in SHA: …" on each review thread that run
was given whose file a newer commit changed (--resolve: GitHub and GitLab resolve the thread too).

A session with several repositories (start --repo A --repo B) opens one request per repository it writes, each
from that repository's clone (where start found it; run it anywhere), on its own forge with its own token; every
token is checked before anything is pushed. Each description lists the session's other requests, and a request
opened later updates the earlier ones' lists. --repo NAME does that one only (its list still names the others).`,
    examples: [
      ["Open a pull request of the session's work [not in the demo: a forge]", "kodama session pr my-work"],
      [
        "As a draft into the release branch [not in the demo: a forge]",
        "kodama session pr my-work --base release --draft",
      ],
      ["Its URL and number, for a script [not in the demo: a forge]", "kodama session pr my-work -o json"],
      [
        "A session with several repositories: the api repository's request only [not in the demo: a forge]",
        "kodama session pr my-work --repo api",
      ],
      [
        "A best-of-N group's name: the replica its judge ranked first (compare fix --judge PRESET) [not in the demo: a forge]",
        "kodama session pr fix",
      ],
    ],
    notes: "Exit codes: 2 no remote, a host that is not a forge, no token (the variable to set is named), " +
      "--draft with --ready, a --repo the session does not write; 3 no such session or repository; 4 the forge refused the token (nothing pushed) or the " +
      "remote refused your git credentials; 1 the remote's branch has commits the session's lacks (--force), the " +
      "forge refused the request, the session is stopped (kodama resume NAME first), a repository failed after " +
      "others' requests were written (they are said); 5 the forge did not answer. " +
      "From CI (an issue, a failed pipeline): examples/ci/.",
  },
  args: [NAME],
  options: [
    {
      flags: "--base <branch>",
      description: "the branch to merge into (default: the forge's default branch)",
    },
    { flags: "--draft", description: "open it as a draft" },
    {
      flags: "--ready",
      description: "open it ready for review (the default), or mark a draft ready (GitLab, Gitea)",
    },
    {
      flags: "--title <title>",
      description: "its title (default: the prompt's first line); given, it updates one",
    },
    {
      flags: "--force",
      description:
        "move kodama/NAME and the remote's branch even when they have commits the session's lacks (a rewritten history; never a checked-out branch)",
    },
    {
      flags: "--resolve",
      description:
        "GitHub, GitLab: resolve each thread it replies on as addressed (after agent run --from-pr; docs/sessions.md)",
    },
    {
      flags: "--repo <name>",
      description:
        "a session with several repositories: this one's request only (its directory name; the others' are listed in it)",
    },
    {
      flags: "-o, --output <format>",
      description:
        "text, or json: {url, number, action} (several repositories: an array of {repository, url, number, action})",
      choices: ["text", "json"],
      default: "text",
    },
  ],
  run: async (inv) => {
    const [{ prCommand }, kube, { loadConfig }, { stdoutSink, stderrSink }, keys] = await Promise.all([
      import("../agent/forge/pr.ts"),
      connect(inv),
      import("../config/load.ts"),
      import("../base/sink.ts"),
      import("../agent/credentials/keys.ts"),
    ]);
    const o = inv.opts;
    const cfg = (await loadConfig()).values;
    setExitCode(
      await prCommand(kube, inv.args[0], {
        base: o.base,
        draft: o.draft,
        ready: o.ready,
        title: o.title,
        force: o.force,
        ...(o.resolve ? { resolve: true } : {}),
        ...(o.repo !== undefined ? { repo: o.repo } : {}),
        output: o.output,
        cwd: Deno.cwd(),
        out: stdoutSink,
        err: stderrSink,
        hosts: cfg.forge.hosts,
        storedGithub: async () => await keys.getKey(await keys.defaultDeps(), "github"),
      }),
    );
  },
});

const envVerb = (op: "set" | "unset"): CommandSpec => (command({
  names: [op],
  help: {
    summary: op === "set"
      ? "Set variables in a session's env Secret in place (VAR=VALUE, or VAR for this environment's value)"
      : "Remove variables from a session's env Secret in place",
    examples: [
      op === "set"
        ? ["Give the session this shell's API_TOKEN", "kodama session env set my-work API_TOKEN"]
        : ["Take DEBUG away", "kodama session env unset my-work DEBUG"],
    ],
    notes:
      `No replace, no restart: the Secret changes (a recreated pod's environment) and a running pod's home volume
gets the change (~/.kodama/env), which each agent run puts over the container's environment; a shell that is
already open keeps what it had. A value is never printed back; prefer VAR (the value from this environment)
over VAR=VALUE, which is in this command's arguments.`,
  },
  args: [NAME, arg("<vars...>", op === "set" ? "VAR=VALUE or VAR" : "variable names")],
  run: async (inv) => {
    const [{ sessionEnv }, kube, { stdoutSink }] = await Promise.all([
      import("../agent/credentials/sessionenv.ts"),
      connect(inv),
      import("../base/sink.ts"),
    ]);
    const [name, ...vars] = inv.args as string[];
    setExitCode(await sessionEnv(kube, kube.namespace, name, op, vars, { out: stdoutSink }));
  },
}));

const env = command({
  names: ["env"],
  help: {
    summary: "Change a session's env Secret without a replace: set, unset",
    examples: [["Set one variable from this environment", "kodama session env set my-work API_TOKEN"]],
  },
  subcommands: [envVerb("set"), envVerb("unset")],
});

const land = command({
  names: ["land"],
  help: {
    summary: "The session's commits onto the current branch: pause the sync, fetch, fast-forward or merge",
    long: `Run it in the local clone of the session's repository. The background sync is paused after a last
cycle (both sides agree), the session's HEAD is fetched (as session fetch), and the current branch
fast-forwards to it, or merges it (--rebase: rebases onto it) when both moved. Files the sync already brought
stay as they are: git status ends clean, and local edits that are not in the session stay uncommitted. It
refuses, changing nothing, when a local change would be overwritten, during a merge or rebase, on a
detached HEAD, while an agent run is active, and when the session's commits hold a symlink leading out of
the tree or into .git. A merge that conflicts stops the git way, with the sync paused until it is
finished; a merge or rebase is sent to the pod, whose branch moves to it. docs/sync.md says more.
A session with several repositories lands every one it writes or none (docs/sessions.md, "Several
repositories"): each is prepared first, and a conflict, a local change in the way or a write that fails
leaves every branch, index and file as it was; the error names the repository (--rebase: each rebase is
computed aside first). --only NAME lands one.`,
    examples: [
      ["Land the agent's commits on the current branch", "kodama session land my-work"],
      ["See what it would do", "kodama session land my-work --dry-run"],
      ["Rebase local commits onto the session's instead of merging", "kodama session land my-work --rebase"],
      [
        "A session of several repositories: one of them only (without --only: every one, or none) [not in the demo: repositories of your own]",
        "kodama session land mr1 --only api",
      ],
    ],
    notes:
      "Exit codes: 1 a merge or rebase conflicts (nothing changed; the paths named), an agent run is active, a " +
      "refused symlink, the pod sent more than session fetch takes; 2 a local " +
      "change would be overwritten, not a clone of the session's source, git mid-merge, detached HEAD.",
  },
  args: [NAME],
  options: [
    { flags: "--rebase", description: "rebase the current branch onto the session's when both moved" },
    { flags: "--dry-run", description: "fetch and say what it would do; change nothing else" },
    { flags: "--force", description: "land into a repository that shares no commit with the session" },
    {
      flags: "--only <repo>",
      description: "a session with several repositories: land this one only (its directory name)",
    },
    {
      flags: "-o, --output <format>",
      description: "text, or json: the result as one object (web UI, editors)",
      choices: ["text", "json"],
      default: "text",
    },
  ],
  run: async (inv) => {
    const [{ landCommand }, { doorGitIfAsked }, kube] = await Promise.all([
      import("../agent/runs/land.ts"),
      import("../session/git/doorgit.ts"),
      connect(inv),
    ]);
    const o = inv.opts;
    // KODAMA_DOOR_GIT=1 (the VS Code extension): door git, the repository's config and hooks never read
    setExitCode(
      await doorGitIfAsked(Deno.cwd(), () =>
        landCommand(kube, inv.args[0], {
          rebase: o.rebase,
          dryRun: o.dryRun,
          force: o.force,
          json: o.output === "json",
          ...(o.only !== undefined ? { only: o.only } : {}),
        })),
    );
  },
});

const prune = command({
  names: ["prune"],
  help: {
    summary: "Remove local state files (~/.kodama/sessions) whose session no longer exists",
    examples: [
      ["See what would go", "kodama session prune --dry-run"],
      ["Remove them", "kodama session prune"],
    ],
  },
  options: [{ flags: "--dry-run", description: "only say what would be removed" }],
  run: async (inv) => {
    const { pruneCommand } = await impl();
    const g = inv.opts;
    setExitCode(
      await pruneCommand((context) => connectFromOpts({ ...g, context }), { dryRun: !!inv.opts.dryRun }),
    );
  },
});

const gc = command({
  names: ["gc"],
  help: {
    summary:
      "Delete the sessions whose --ttl has passed (volumes kept unless --purge), and expired protect budgets",
    examples: [
      ["See which sessions have expired, changing nothing", "kodama gc --dry-run"],
      ["Delete them without a question (volumes kept)", "kodama gc --force"],
      ["In every namespace, with their volumes", "kodama gc -A --force --purge"],
    ],
    notes: "On a terminal it lists them and asks; without one, --force is required (exit 2 otherwise).\n" +
      "Exit codes: 1 a deletion failed, 2 no terminal and no --force, 4 the namespace cannot be listed.",
  },
  options: [
    { flags: "-A, --all-namespaces", description: "expired sessions in every namespace" },
    { flags: "--dry-run", description: "only list the expired sessions" },
    { flags: "-f, --force", description: "do not ask (required without a terminal)" },
    { flags: "--purge", description: "also delete their volumes (workspace and home): the data is lost" },
  ],
  run: async (inv) => {
    const [{ gcCommand }, kube] = await Promise.all([impl(), connect(inv)]);
    const o = inv.opts;
    setExitCode(
      await gcCommand(kube, {
        allNamespaces: o.allNamespaces,
        dryRun: o.dryRun,
        force: o.force,
        purge: o.purge,
      }),
    );
  },
});

const session = command({
  names: ["session"],
  help: {
    group: "Sessions",
    ...{
      summary: "Coding-agent dev sessions in pods (start, list, attach, stop, resume, delete, …)",
      usage: "[command] [flags]",
      examples: [
        ["Start a session with the variables of .env", "kodama session start my-work --env-file .env"],
        ["The same as kodama session list", "kodama session"],
        ["Describe a session", "kodama session get my-work"],
        ["Forget local state of sessions that are gone", "kodama session prune"],
      ],
    },
  },
  subcommands: [
    start,
    command({ ...list, names: ["list", "ls"] }),
    get,
    attach,
    stop,
    resume,
    del,
    prune,
    gc,
    logs,
    fetch,
    land,
    pr,
  ].map(underSession).concat([env]),
  // `kodama session` alone lists
  run: async (inv) => {
    const [{ listCommand }, kube] = await Promise.all([impl(), connect(inv)]);
    setExitCode(await listCommand(kube, { output: "table" }));
  },
});

export const commands: CommandSpec[] = [
  session,
  topLevel(start),
  topLevel(command({ ...list, names: ["list", "ls"] })),
  topLevel(attach),
  topLevel(stop),
  topLevel(resume),
  topLevel(del),
  topLevel(gc),
];
