/**
 * The session tools: list, status, start, stop, resume, delete, fetch, agent runs and their logs, sync
 * status. Each calls the session feature's own functions (src/session/), with sinks that keep what they
 * print for the text, and reads the session back (describeSession) for the structured result.
 */
import { z } from "zod";
import type { Kube } from "../kube/client.ts";
import type { KubeIdentity, KubeObjects, KubeSessions } from "../kube/seam.ts";
import type { Config } from "../config/schema.ts";
import { AGENT_CHOICES } from "../config/agentnames.ts";
import { ExitCode, KodamaError, usageError } from "../base/errors.ts";
import type { Sink } from "../base/sink.ts";
import type { Call } from "./env.ts";
import {
  anyObject,
  capture,
  contextArg,
  namespaceArg,
  READS_CLUSTER,
  tool,
  type ToolAnnotations,
} from "./tool.ts";

const sessionName = z.string().min(1).describe("the session's name");
/** A tool's session: its name, the context and the namespace. */
const sessionArgs = { name: sessionName, context: contextArg, namespace: namespaceArg };

/** A tool that changes the cluster and can be called again to the same end (stop, resume, fetch). */
const WRITES: ToolAnnotations = {
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: true,
};
/** One that makes something new each time (start, agent run). */
const CREATES: ToolAnnotations = { ...WRITES, idempotentHint: false };
const cwdArg = z.string().min(1).optional().describe(
  "the local directory whose repository and .kodama.yaml apply (default: where the server was started)",
);

/** The client of the call's context, and the namespace: the call's, else the context's. */
export async function kubeFor(
  call: Call,
  a: { context?: string; namespace?: string },
): Promise<[Kube, string]> {
  const kube = await call.env.kube(a.context);
  if (a.namespace !== undefined) {
    const { validateTarget } = await import("../pods/target.ts");
    validateTarget({ namespace: a.namespace });
  }
  return [kube, a.namespace ?? kube.namespace];
}

/** The call's `cwd`, through the server's door (src/config/doors.ts): the project or a granted path. */
export async function cwdOf(call: Call, a: { cwd?: string }): Promise<string> {
  return await call.env.o.door.cwd(a.cwd);
}

/**
 * The call's `cwd` for a tool that writes into its git repository (session_fetch, session_land, adopt): the
 * repository git finds from there must pass the door too — its work tree (a dotfiles repository at ~ would
 * be the home), its git directory (a `.git` file may name ~/.password-store/.git), a linked work tree's main
 * repository, its objects and the links in `.git` (src/base/fs/gitpaths.ts).
 */
export async function repoCwdOf(call: Call, a: { cwd?: string }): Promise<string> {
  const cwd = await cwdOf(call, a);
  const { repoThroughDoor } = await import("../session/git/gitrun.ts");
  await repoThroughDoor(call.env.o.door, cwd, "the repository at cwd");
  return cwd;
}

/** The settings (~/.kodama/config.yaml and the repository's .kodama.yaml at `cwd`), defaults applied. */
export async function settings(cwd: string): Promise<Config> {
  const { loadConfig } = await import("../config/load.ts");
  return (await loadConfig({ cwd })).values;
}

/** A feature function's exit code that is not 0, as the tool error it is. */
function check(code: number, what: string, text: string): void {
  if (code === 0) return;
  const last = text.trim().split("\n").at(-1) ?? "";
  throw new KodamaError(`${what} failed${last ? `: ${last}` : ""}`, code);
}

/**
 * A session feature run with what it prints kept (`out` its stdout, `text` both); an exit code that is
 * not 0 is the tool's error, with the feature's last line of stderr.
 */
async function captured(
  what: string,
  fn: (io: { out: Sink; err: Sink }) => Promise<number>,
): Promise<{ out: string; text: string }> {
  const out = capture(), err = capture();
  check(await fn({ out, err }), what, err.text());
  return { out: out.text(), text: out.text() + err.text() };
}

async function sessionDetail(
  kube: KubeObjects & KubeIdentity,
  ns: string,
  name: string,
): Promise<Record<string, unknown>> {
  const { describeSession, detailObject } = await import("../session/state/get.ts");
  return detailObject(await describeSession(kube, ns, name));
}

const sessionOut = {
  session: anyObject.describe("the Session object, as `kodama session get -o json` gives it"),
};

export const sessionsList = tool({
  name: "sessions_list",
  title: "List sessions",
  description:
    "The coding-agent sessions in a namespace (or all): phase, sync state, branch, pod and volumes.",
  tier: "read",
  annotations: READS_CLUSTER,
  input: {
    context: contextArg,
    namespace: namespaceArg,
    allNamespaces: z.boolean().optional().describe("sessions in every namespace"),
  },
  output: { sessions: z.array(anyObject), count: z.number() },
  async run(a, call) {
    const [kube, ns] = await kubeFor(call, a);
    const [{ listSessions }, { sessionObject, renderSessions }] = await Promise.all([
      import("../session/state/cluster.ts"),
      import("../session/state/list.ts"),
    ]);
    const { sessions } = await listSessions(kube, a.allNamespaces ? undefined : ns);
    // the gateway's figures (status.gateway, the USAGE column): one read of its log per namespace
    const { fillGatewayFigures, fillGatewayWaits } = await import("../agent/gateway/figures.ts");
    await fillGatewayFigures(kube, sessions).catch(() => {});
    fillGatewayWaits(sessions);
    return {
      data: { sessions: sessions.map((v) => sessionObject(v)), count: sessions.length },
      text: sessions.length ? renderSessions(sessions, "table") : "No sessions found.\n",
    };
  },
});

export const sessionStatus = tool({
  name: "session_status",
  title: "Show a session",
  description:
    "One session in detail (`kodama session get`): settings, objects, pod conditions, recent events, and its agent runs when it is running.",
  tier: "read",
  annotations: READS_CLUSTER,
  input: sessionArgs,
  output: { ...sessionOut, agentRuns: z.array(anyObject).optional() },
  async run(a, call) {
    const [kube, ns] = await kubeFor(call, a);
    const { describeSession, detailObject, renderDetail } = await import("../session/state/get.ts");
    const d = await describeSession(kube, ns, a.name);
    // the gateway's figures and budget left (status.gateway); null without one or when it cannot be read
    const { fillGatewayFigures } = await import("../agent/gateway/figures.ts");
    await fillGatewayFigures(kube, [d.view]).catch(() => {});
    let runs: Record<string, unknown>[] | undefined;
    let runsText = d.view.gatewayFigures
      ? `\n${(await import("../agent/gateway/figures.ts")).gatewayLine(d.view.gatewayFigures)}\n`
      : "";
    if (d.view.pod && d.view.status === "Running") {
      const { listRuns, renderRuns } = await import("../agent/runs/agentrun.ts");
      const { runForOutput } = await import("../agent/outcome/runtruth.ts");
      const list = await listRuns(kube, d.view.pod).catch(() => undefined);
      if (list) {
        // each with its outcome (`succeeded (no changes)`), notes (`denied: 3 tool uses`) and truth
        runs = list.map(runForOutput) as unknown as Record<string, unknown>[];
        if (list.length) runsText += `\nAgent runs:\n${renderRuns(list)}`;
      }
    }
    return {
      data: { session: detailObject(d), ...(runs ? { agentRuns: runs } : {}) },
      text: renderDetail(d) + runsText,
    };
  },
});

export const sessionStart = tool({
  name: "session_start",
  title: "Start a session",
  description:
    "Start a coding-agent session in a pod (`kodama start`): volumes for the workspace and home, an optional " +
    "repository cloned on a new branch, an optional prompt run by the agent once it is ready. Progress is reported " +
    "as it goes; a cancelled call cleans up what it created.",
  tier: "write",
  annotations: CREATES,
  input: {
    ...sessionArgs,
    template: z.string().optional().describe(
      "start from this template (`kodama template list`); a value given here wins over the template's",
    ),
    image: z.string().optional().describe("container image (default: defaults.image)"),
    cpu: z.string().optional().describe("CPU limit, e.g. 2, 500m"),
    memory: z.string().optional().describe("memory limit, e.g. 4Gi"),
    storage: z.string().optional().describe("workspace volume size, e.g. 10Gi"),
    storageClass: z.string().optional().describe("storage class of the volumes"),
    idleStop: z.string().optional().describe(
      "stop by itself after this long without activity, e.g. 30m; at least 10s, 0 never (default: defaults.idleStop)",
    ),
    ttl: z.string().optional().describe(
      "record an expiry, e.g. 8h, 2d or 2026-12-01T18:00:00Z: `kodama gc` deletes it after (default: defaults.ttl)",
    ),
    envFile: z.array(z.string()).optional().describe(
      "dotenv files (relative to cwd) whose variables the session gets, in a Secret",
    ),
    envExclude: z.array(z.string()).optional().describe("variables never sent"),
    sync: z.string().optional().describe(
      "a local directory synced into the workspace (default: cwd when it is a project)",
    ),
    noSync: z.boolean().optional().describe("do not sync a local directory"),
    syncMode: z.enum(["two-way", "one-way-local", "one-way-pod"]).optional(),
    repo: z.string().optional().describe(
      "a repository to clone into the workspace (`.`: the local repository's origin)",
    ),
    repos: z.array(
      z.object({
        path: z.string().min(1).describe(
          "a repository on this machine (relative to cwd), or a URL when readOnly",
        ),
        name: z.string().min(1).optional().describe(
          "its directory under the workspace (default: the path's last segment)",
        ),
        readOnly: z.boolean().optional().describe("cloned for reading only: never fetched or landed"),
      }).strict(),
    ).min(2).max(32).optional().describe(
      "several repositories, each cloned into /workspace/NAME on its own branch (`start --repo` given more than once); not with repo",
    ),
    branch: z.string().optional().describe("the branch the session works on (default: kodama/NAME-…)"),
    baseBranch: z.string().optional().describe("the branch to start from"),
    prompt: z.string().optional().describe("a prompt the agent runs once the session is ready"),
    timeout: z.string().optional().describe("how long to wait for the pod to be ready, e.g. 5m"),
    noWait: z.boolean().optional().describe(
      "return once the objects are created (and a local repository sent: its clone waits for it)",
    ),
    replace: z.boolean().optional().describe(
      "a Failed session of the name is deleted first (its volumes kept and taken over)",
    ),
    keepOnFailure: z.boolean().optional().describe("a failed start keeps the volumes it created"),
    check: z.string().optional().describe(
      "with a prompt: a shell command run in the workspace when the agent has ended (e.g. npm test), recorded with the run",
    ),
    replicas: z.number().int().min(1).max(16).optional().describe(
      "best of N: start sessions NAME-1 … NAME-N in parallel on the same task (then compare, adopt)",
    ),
    agent: z.enum(AGENT_CHOICES).optional().describe(
      "the session's coding agent preset (default: the config's agent.preset, else claude); it never widens which local variables are sent",
    ),
    agentVariant: z.array(z.string()).optional().describe(
      'with replicas: replica i runs another agent: a preset and extra args, e.g. 2=codex, 3="claude --model opus", or a command',
    ),
    cwd: cwdArg,
  },
  output: {
    session: anyObject.optional().describe("the Session object, as `kodama session get -o json` gives it"),
    replicas: z.array(anyObject).optional().describe("with replicas: each replica's Session object"),
    agentRun: z.string().optional().describe("the id of the agent run the prompt started"),
  },
  async run(a, call) {
    const [kube, ns] = await kubeFor(call, a);
    const cwd = await cwdOf(call, a);
    const cfg = await settings(cwd);
    const { findRepo } = await import("../config/paths.ts");
    const { dirname } = await import("../base/fs/fspath.ts");
    const repo = await findRepo(cwd);
    const repoRoot = repo.gitRoot ?? (repo.configFile ? dirname(repo.configFile) : undefined);
    const out = capture(), err = capture();
    let step = 0;
    const progressErr = {
      write(c: Uint8Array | string) {
        err.write(c);
        const line = (typeof c === "string" ? c : new TextDecoder().decode(c)).trim().split("\n").at(-1);
        if (line) call.progress(++step, undefined, line);
      },
    };
    const { startWithAgent } = await import("../agent/runs/launch.ts");
    const opts = {
      name: a.name,
      namespace: ns,
      template: a.template,
      image: a.image,
      idleStop: a.idleStop,
      ttl: a.ttl,
      cpu: a.cpu,
      memory: a.memory,
      storage: a.storage,
      storageClass: a.storageClass,
      envFiles: a.envFile ?? [],
      envExclude: a.envExclude ?? [],
      sync: a.sync,
      noSync: a.noSync,
      syncMode: a.syncMode,
      repo: a.repo,
      ...(a.repos ? { repos: await repoFlagsOf(a.repos, a.repo, cwd) } : {}),
      branch: a.branch,
      baseBranch: a.baseBranch,
      prompt: a.prompt,
      timeout: a.timeout,
      noWait: a.noWait,
      replace: a.replace,
      keepOnFailure: a.keepOnFailure,
      check: a.check,
      agentName: a.agent,
    };
    const io = {
      out,
      err: progressErr,
      tty: false,
      cwd,
      repoRoot,
      signal: call.signal,
      door: call.env.o.door,
    };
    if (a.replicas !== undefined) {
      const { startGroup, groupMembers } = await import("../agent/group/group.ts");
      const code = await startGroup(
        kube,
        { ...opts, replicas: a.replicas, variants: a.agentVariant ?? [] },
        cfg,
        io,
      );
      check(code, `session_start ${a.name} (replicas)`, err.text());
      const { sessionObject } = await import("../session/state/list.ts");
      const members = await groupMembers(kube, ns, a.name);
      return { data: { replicas: members.map((v) => sessionObject(v)) }, text: out.text() + err.text() };
    }
    if (a.agentVariant?.length) throw usageError("agentVariant needs replicas");
    const code = await startWithAgent(kube, opts, cfg, io);
    check(code, `session_start ${a.name}`, err.text());
    const run = a.prompt !== undefined ? /^(\d+)$/m.exec(out.text())?.[1] : undefined;
    return {
      data: { session: await sessionDetail(kube, ns, a.name), ...(run ? { agentRun: run } : {}) },
      text: out.text() + err.text(),
    };
  },
});

/**
 * session_start's `repos`, as `start --repo PATH=NAME[:ro]` values: the name always explicit (a path holding
 * `=` or ending `:ro` stays the path), checked as the CLI's (checkRepoName). Each path then passes the door
 * in start, as `repo` does (gitrun.ts localSource: the repository and every place git keeps it).
 */
async function repoFlagsOf(
  repos: { path: string; name?: string; readOnly?: boolean }[],
  repo: string | undefined,
  cwd: string,
): Promise<string[]> {
  if (repo !== undefined) throw usageError("session_start takes repo or repos, not both");
  const [{ checkRepoName, defaultRepoName }, { parseRepoUrl }, { resolve }] = await Promise.all([
    import("../session/git/repos.ts"),
    import("../session/git/git.ts"),
    import("../base/fs/fspath.ts"),
  ]);
  return repos.map((r, i) => {
    const name = r.name ??
      defaultRepoName(parseRepoUrl(r.path).kind === "path" ? resolve(cwd, r.path) : r.path);
    checkRepoName(
      name,
      r.name !== undefined ? `repos[${i}].name` : `from repos[${i}].path ${JSON.stringify(r.path)}`,
    );
    return `${r.path}=${name}${r.readOnly ? ":ro" : ""}`;
  });
}

export const sessionStop = tool({
  name: "session_stop",
  title: "Stop a session",
  description:
    "Stop a session (`kodama stop`): its pod is deleted, its volumes — the workspace and home — are kept; session_resume starts it again. A running agent run ends.",
  tier: "write",
  annotations: WRITES,
  input: sessionArgs,
  output: sessionOut,
  async run(a, call) {
    const [kube, ns] = await kubeFor(call, a);
    const { stopSession } = await import("../session/lifecycle/lifecycle.ts");
    const { text } = await captured(
      "session_stop",
      (io) => stopSession(kube, ns, a.name, { wait: true, ...io }),
    );
    return { data: { session: await sessionDetail(kube, ns, a.name) }, text };
  },
});

export const sessionResume = tool({
  name: "session_resume",
  title: "Resume a session",
  description:
    "Start a stopped session's pod again on its kept volumes (`kodama resume`), and wait until it is ready.",
  tier: "write",
  annotations: WRITES,
  input: {
    ...sessionArgs,
    timeout: z.string().optional().describe("how long to wait for the pod to be ready, e.g. 5m"),
    noWait: z.boolean().optional().describe("return once the pod is created"),
    cwd: cwdArg,
  },
  output: sessionOut,
  async run(a, call) {
    const [kube, ns] = await kubeFor(call, a);
    const cwd = await cwdOf(call, a);
    const cfg = await settings(cwd);
    const { resumeSession } = await import("../session/lifecycle/lifecycle.ts");
    const { text } = await captured(
      "session_resume",
      (io) =>
        resumeSession(kube, ns, a.name, { timeout: a.timeout, noWait: a.noWait }, cfg, {
          ...io,
          tty: false,
          cwd,
          signal: call.signal,
        }),
    );
    return { data: { session: await sessionDetail(kube, ns, a.name) }, text };
  },
});

export const sessionDelete = tool({
  name: "session_delete",
  title: "Delete a session",
  description:
    "Delete a session (`kodama delete --force`): its pod, Secret and config; its volumes are kept unless purge is " +
    "given — then the workspace and home are deleted and their data is lost.",
  tier: "destructive",
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  input: {
    ...sessionArgs,
    purge: z.boolean().optional().describe(
      "also delete the volumes (workspace and home): their data is lost",
    ),
    keepConfig: z.boolean().optional().describe("keep the local state file"),
  },
  output: { deleted: z.string(), purged: z.boolean() },
  async run(a, call) {
    const [kube, ns] = await kubeFor(call, a);
    const { deleteSession } = await import("../session/lifecycle/lifecycle.ts");
    const { text } = await captured("session_delete", (io) =>
      deleteSession(kube, ns, a.name, {
        force: true,
        purge: a.purge,
        keepConfig: a.keepConfig,
        interactive: false,
        confirm: () => Promise.resolve(false),
        ...io,
      }));
    return { data: { deleted: a.name, purged: !!a.purge }, text };
  },
});

export const sessionFetch = tool({
  name: "session_fetch",
  title: "Fetch a session's work",
  description:
    "Bring a session's commits back into the local repository at cwd as a branch (`kodama session fetch`; default " +
    "kodama/NAME), never touching a branch checked out in any work tree, nor the working tree: the branch is " +
    "created, or moved only forward. A checked-out branch, or one with commits the session lacks, is refused " +
    "(exit 2; give another branch; only the user can force it, in a terminal). diff adds the change against the base.",
  tier: "write",
  annotations: WRITES,
  input: {
    ...sessionArgs,
    branch: z.string().optional().describe(
      "local branch to create or move forward (default: kodama/NAME); never one checked out in a work tree",
    ),
    diff: z.boolean().optional().describe("also show the diff against the branch the session started from"),
    cwd: cwdArg,
  },
  output: { branch: z.string().optional(), output: z.string(), truncated: z.boolean() },
  async run(a, call) {
    const [kube, ns] = await kubeFor(call, a);
    const [{ fetchSession }, { withDoorGit }] = await Promise.all([
      import("../session/git/fetch.ts"),
      import("../session/git/doorgit.ts"),
    ]);
    const cwd = await repoCwdOf(call, a);
    call.progress(0, undefined, `fetching session ${a.name}`);
    const all = await captured(
      "session_fetch",
      // door git: the repository's config, hooks and includes are never read (src/session/git/doorgit.ts)
      (io) =>
        withDoorGit(
          cwd,
          () =>
            fetchSession(kube, ns, a.name, {
              branch: a.branch,
              diff: a.diff,
              cwd,
              ...io,
              door: call.env.o.door,
            }),
        ),
    );
    const { text, truncated } = cap(all.text, call.env.o.maxOutput);
    const branch = a.branch ?? /\b(kodama\/[^\s:]+)/.exec(text)?.[1];
    return { data: { ...(branch ? { branch } : {}), output: text, truncated }, text };
  },
});

export const sessionLand = tool({
  name: "session_land",
  title: "Land a session's work on the current branch",
  description:
    "The session's commits onto the checked-out branch of the local repository at cwd (`kodama session land`): the " +
    "sync is paused after a last cycle, the branch fast-forwards (or merges; rebase: rebases), files the sync already " +
    "brought stay as they are, and a merge is sent back to the pod. Refuses, changing nothing, when a local change " +
    "would be overwritten or an agent run is active; a merge or rebase that conflicts changes nothing and names the paths.",
  tier: "write",
  annotations: WRITES,
  input: {
    ...sessionArgs,
    rebase: z.boolean().optional().describe("rebase the current branch onto the session's when both moved"),
    dryRun: z.boolean().optional().describe("only say what it would do (it still fetches into kodama/NAME)"),
    cwd: cwdArg,
  },
  output: {
    kind: z.string().optional(),
    branch: z.string().optional(),
    to: z.string().optional(),
    output: z.string(),
    truncated: z.boolean(),
  },
  async run(a, call) {
    const [kube, ns] = await kubeFor(call, a);
    const [{ landCommand }, { withDoorGit }] = await Promise.all([
      import("../agent/runs/land.ts"),
      import("../session/git/doorgit.ts"),
    ]);
    // land writes into the repository at cwd: its git root must pass the door too
    const cwd = await repoCwdOf(call, a);
    call.progress(0, undefined, `landing session ${a.name}`);
    const all = await captured(
      "session_land",
      (io) =>
        withDoorGit(
          cwd,
          () =>
            landCommand(
              kube,
              a.name,
              { rebase: a.rebase, dryRun: a.dryRun, json: true, door: call.env.o.door },
              io,
              cwd,
              ns,
            ),
        ),
    );
    const { text, truncated } = cap(all.text, call.env.o.maxOutput);
    let r: { kind?: string; branch?: string; to?: string } = {};
    try {
      r = JSON.parse(all.text.slice(all.text.indexOf("{"), all.text.lastIndexOf("}") + 1));
    } catch { /* an error's text only */ }
    return { data: { kind: r.kind, branch: r.branch, to: r.to, output: text, truncated }, text };
  },
});

/** The first `max` bytes of a text, marked when cut. */
export function cap(
  text: string,
  max: number,
  keep: "head" | "tail" = "head",
): { text: string; truncated: boolean } {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= max) return { text, truncated: false };
  const dec = new TextDecoder();
  const left = bytes.length - max;
  return keep === "head"
    ? { text: dec.decode(bytes.slice(0, max)) + `\n[… ${left} more bytes left out]\n`, truncated: true }
    : { text: `[… ${left} earlier bytes left out]\n` + dec.decode(bytes.slice(left)), truncated: true };
}

export const agentRunTool = tool({
  name: "agent_run",
  title: "Run the coding agent in a session",
  description:
    "Start a run of the session's coding agent with a prompt (`kodama agent run`); it runs in the pod in the " +
    "background. Returns its id: read it with agent_logs, see it in session_status. continue: the agent's " +
    "last conversation goes on (the prompt is optional). With a best-of-N group's name, the prompt runs in every " +
    "running replica (`started`: each replica and its run), and with continue every replica whose latest run " +
    "failed is continued (`kodama agent run GROUP --continue`). fromPr: continue with the feedback of the " +
    "session's pull/merge request (`agent run --continue --from-pr`: its unresolved review comments and failed " +
    "checks' logs, quoted; the prompt goes after them), found from the repository at cwd with the user's own " +
    "forge config and token; no run when there is nothing to act on.",
  tier: "write",
  annotations: CREATES,
  input: {
    ...sessionArgs,
    prompt: z.string().min(1).optional().describe("the prompt (optional with continue)"),
    continue: z.boolean().optional().describe("continue the last conversation; a group's failed replicas"),
    fromPr: z.boolean().optional().describe(
      "continue with the session's pull/merge request's review comments and failed checks (implies continue)",
    ),
    cwd: cwdArg,
  },
  output: {
    run: z.string().optional(),
    session: z.string(),
    continued: z.array(z.object({ name: z.string(), run: z.string(), after: z.string() })).optional(),
    skipped: z.array(z.object({ name: z.string(), why: z.string() })).optional(),
    started: z.array(z.object({ name: z.string(), run: z.string() })).optional(),
  },
  async run(a, call) {
    const [kube, ns] = await kubeFor(call, a);
    if (a.fromPr) return await agentRunFromPr(a, call, kube, ns);
    if (a.prompt !== undefined && !a.prompt.trim()) throw usageError("the prompt is empty");
    if (a.prompt === undefined && !a.continue) throw usageError("a prompt is required (or continue: true)");
    const cfg = await settings(await cwdOf(call, a));
    const err = capture();
    const [{ startRun }, { CONTINUE_PROMPT }] = await Promise.all([
      import("../agent/runs/agentrun.ts"),
      import("../agent/runs/prompts.ts"),
    ]);
    const prompt = a.prompt ?? CONTINUE_PROMPT;
    if (a.continue) {
      const g = await import("../agent/group/groupcontinue.ts");
      if (await g.isGroupOnly(kube, ns, a.name)) {
        const r = await g.continueGroup(kube, ns, a.name, { prompt, cfg, out: capture(), err });
        const text = [
          ...r.continued.map((c) => `${c.name}: continued as run ${c.run} (after ${c.after})`),
          ...r.skipped.map((s) => `${s.name}: left alone (${s.why})`),
        ].join("\n") + "\n";
        return { data: { session: a.name, continued: r.continued, skipped: r.skipped }, text };
      }
    }
    const o = {
      prompt,
      cfg,
      continues: a.continue === true,
      stallTimeout: cfg.agent.stallTimeout,
      out: capture(),
      err,
    };
    let id: string;
    try {
      id = await startRun(kube, ns, a.name, o);
    } catch (e) {
      // a group's name: the prompt in every running replica (`kodama agent run GROUP`)
      if (!(e instanceof KodamaError) || e.code !== ExitCode.NOT_FOUND) throw e;
      if (!await (await import("../agent/group/groupcontinue.ts")).isGroupOnly(kube, ns, a.name)) throw e;
      const g = await import("../agent/group/grouprun.ts");
      const r = await g.runInGroup(kube, ns, a.name, o);
      const lines = capture();
      check(g.reportGroupRun(a.name, r, capture(), lines), `agent_run in group ${a.name}`, lines.text());
      return { data: { session: a.name, started: r.started, skipped: r.skipped }, text: lines.text() };
    }
    return {
      data: { run: id, session: a.name },
      text:
        `agent run ${id} started in session ${a.name}; read it with agent_logs {"name": "${a.name}", "run": "${id}"}\n`,
    };
  },
});

/**
 * agent_run with fromPr: the same feature function as `agent run --continue --from-pr` (frompr.ts), from the
 * repository at cwd (through the server's door) with the user's config and token; the caller gives none of it.
 */
async function agentRunFromPr(
  a: { name: string; prompt?: string; cwd?: string },
  call: Call,
  kube: KubeSessions,
  ns: string,
) {
  if (a.prompt !== undefined && !a.prompt.trim()) throw usageError("the prompt is empty");
  const cwd = await repoCwdOf(call, a);
  const cfg = await settings(cwd);
  const [fp, { startRun }] = await Promise.all([
    import("../agent/forge/frompr.ts"),
    import("../agent/runs/agentrun.ts"),
  ]);
  const r = await fp.prepareFromPr(kube, a.name, {
    cwd,
    namespace: ns,
    ...(a.prompt !== undefined ? { userPrompt: a.prompt } : {}),
    ...fp.userForgeOptions(cfg),
  });
  if (!r.prompt) return { data: { session: a.name }, text: `${fp.nothingToDo(a.name, r)}\n` };
  const id = await startRun(kube, ns, a.name, {
    prompt: r.prompt,
    cfg,
    continues: true,
    stallTimeout: cfg.agent.stallTimeout,
    out: capture(),
    err: capture(),
  });
  await r.record();
  return {
    data: { run: id, session: a.name },
    text:
      `${
        fp.outsideNote(r)
      }agent run ${id} started in session ${a.name} with ${r.request}'s feedback (${r.threads} review ` +
      `thread${r.threads === 1 ? "" : "s"}, ${r.checks} failed check${r.checks === 1 ? "" : "s"})\n`,
  };
}

export const agentLogsTool = tool({
  name: "agent_logs",
  title: "Read an agent run's output",
  description:
    "The output of an agent run in a session (`kodama agent logs`: one line per message and tool call; default the latest run), up to the server's cap (the newest part).",
  tier: "read",
  annotations: READS_CLUSTER,
  input: {
    ...sessionArgs,
    run: z.string().regex(/^(\d+|latest)$/, { message: "a run id (a number) or latest" }).optional()
      .describe("the run's id (default: the latest)"),
  },
  output: { run: z.string(), output: z.string(), truncated: z.boolean() },
  async run(a, call) {
    const [kube, ns] = await kubeFor(call, a);
    const { agentLogs } = await import("../agent/runs/agentrun.ts");
    const { out } = await captured(
      "agent_logs",
      (io) => agentLogs(kube, ns, a.name, { run: a.run, format: "text", ...io }),
    );
    const { text, truncated } = cap(out, call.env.o.maxOutput, "tail");
    return { data: { run: a.run ?? "latest", output: text, truncated }, text: text || "(no output yet)\n" };
  },
});

export const syncStatus = tool({
  name: "sync_status",
  title: "Show a session's file sync",
  description:
    "The background file sync of a session from this machine (`kodama sync status`): state, last sync, pending " +
    "changes each way and conflicts.",
  tier: "read",
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: { name: sessionName },
  output: { status: anyObject, conflicts: z.number() },
  async run(a) {
    const json = capture(), text = capture();
    const { statusCommand } = await import("../session/sync/commands.ts");
    await statusCommand(a.name, { output: "json" }, json);
    await statusCommand(a.name, {}, text);
    const status = JSON.parse(json.text()) as Record<string, unknown>;
    const conflicts = Array.isArray(status.conflicts) ? status.conflicts.length : 0;
    return { data: { status, conflicts }, text: text.text() };
  },
});

export const SESSION_TOOLS = [
  sessionsList,
  sessionStatus,
  sessionStart,
  sessionStop,
  sessionResume,
  sessionDelete,
  sessionFetch,
  sessionLand,
  agentRunTool,
  agentLogsTool,
  syncStatus,
];
