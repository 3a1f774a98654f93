/**
 * `kodama agent run|status|logs|stop` and `session logs`: the agent's runs in a session's pod, driven
 * over exec with the scripts of `agent.ts`. The prompt goes to the pod on the exec's stdin, never in a
 * process's arguments, here or there.
 */
import type { CoreV1Event, V1Pod } from "@kubernetes/client-node";
import { LABEL_SESSION } from "../../session/spec/names.ts";
import { refineResumes } from "./resumecause.ts";
import type { KubeObjects, KubeReachEvents, KubeSessions, KubeStreams } from "../../kube/seam.ts";
import { ExitCode, KodamaError, usageError } from "../../base/errors.ts";
import { withInterrupt } from "../../base/proc/proc.ts";
import type { Sink } from "../../base/sink.ts";
import { formatDuration } from "../../base/duration.ts";
import { formatAge, renderTable } from "../../ui/table.ts";
import {
  type AgentRun,
  checkRunId,
  INSTALL_FAILED_EXIT,
  LOGS_SCRIPT,
  NO_AGENT_EXIT,
  parseRuns,
  podRunId,
  type Resume,
  RUNS_DIR,
  startArgv,
  STATUS_SCRIPT,
  STEERED_EXIT,
  STOP_SCRIPT,
  TAKEN_OVER_EXIT,
  type TakeoverPolicy,
} from "./agent.ts";
import { execCapture, runningPod } from "../../session/access/podexec.ts";
import { type LogFormat, logSink } from "../outcome/render.ts";
import { runForOutput, runNotes, runOutcome, withTruth } from "../outcome/runtruth.ts";
import { formatRepoFacts, formatTokens } from "../outcome/truth.ts";
import { stallSeconds } from "./watch.ts";
import { durationValueMs } from "../../base/duration.ts";
import { safeLine } from "../../ui/color.ts";
import { type AnnounceOptions, announceRunEnd, noteOfRun, settleAnnounce } from "../notify/notify.ts";

export { execCapture, runningPod };
import { namesOf, type SessionAgent, type SessionSpec, specOf } from "../../session/spec/spec.ts";
import { reposPromptLine } from "../../session/git/repos.ts";
import type { Config } from "../../config/schema.ts";
import { isPresetName, PRESETS, runArgv, sessionAgentOf } from "../presets/presets.ts";
import { ANNOTATION_AGENT_RUN } from "../../session/state/status.ts";
import type { GatewayFigures } from "../../session/spec/gateway.ts";
import { type SettingsLayer, withSettings } from "../presets/settings.ts";

export interface RunOptions {
  /** the session's pod, read by the caller once it was ready (start): not looked up again */
  pod?: V1Pod;
  /** the prompt's text */
  prompt: string;
  /** the agent to run (`--agent`, a replica's variant); default the session's own (presets.ts) */
  agent?: SessionAgent;
  /** the config: the agent of a session that recorded none */
  cfg: Config;
  /** this run's models, retry and budgets (`agent run --model …`), over the session's settings */
  settings?: SettingsLayer;
  /** a check command run in the workspace when the agent has ended (`--check`, agent.check) */
  check?: string;
  /** continue the latest run's conversation (the agent's continue arguments); recorded with the run */
  continues?: boolean;
  /** agent.stallTimeout: a run that prints nothing for this long is ended (0: never) */
  stallTimeout?: string | number;
  /** `--notify` / `--no-notify`: this run's webhook from the pod (default: when the session has one) */
  notify?: boolean;
  /** an interactive agent taken over with `agent attach` live in the pod's tmux: refuse, or (--force) end it */
  takeover?: TakeoverPolicy;
  out: Sink;
  err: Sink;
}

/** The webhook of this run: off with --no-notify; --notify in a session started without one is exit 2. */
function noNotifyOf(name: string, spec: ReturnType<typeof specOf>, notify?: boolean): boolean {
  if (notify === true && spec && !spec.notify) {
    throw usageError(
      `session ${name} was started without a webhook: it has no notify.webhook to send to`,
      `set notify.webhook, then start a session (kodama start NAME --notify); or follow the run: kodama agent logs ${name} -f`,
    );
  }
  return notify === false;
}

/** The agent a run of this session runs: the one asked for, else the session's (recorded at start). */
export function agentOfRun(pod: V1Pod, o: Pick<RunOptions, "agent" | "cfg">): SessionAgent {
  return o.agent ?? sessionAgentOf(specOf(pod), o.cfg);
}

/**
 * How the pod's Node runner continues a preset's run after a transient end or a pod's end (agent.ts: Resume):
 * the same command with the preset's continue arguments; a custom command with continue arguments only after
 * a pod's end; none for a custom command without (run once, by sh).
 */
export function resumeOf(agent: SessionAgent, resumeLimit?: number): Resume | undefined {
  if (!agent.continueArgs.length) return undefined;
  const { argv } = runArgv(agent, true);
  // a custom command with continue arguments: resumed after a pod's end (issue 80), never continued after
  // a transient end (its output is not a preset's, whose errors the runner knows)
  if (!isPresetName(agent.preset)) {
    return {
      argv,
      modelAt: argv.length,
      switchModels: false,
      resumeOnly: true,
      ...(resumeLimit !== undefined ? { resumeLimit } : {}),
    };
  }
  return {
    argv,
    modelAt: argv.length - (agent.promptArgs?.length ?? 0),
    // Claude Code falls back to another model by itself (--fallback-model)
    switchModels: agent.preset !== "claude",
    ...(resumeLimit !== undefined ? { resumeLimit } : {}),
  };
}

/** The start program's `refused:` or `note:` line (before the run id), safe for a terminal; undefined if none. */
export function projectConfigLine(stdout: string): string | undefined {
  const line = stdout.split("\n").find((l) => /^(refused|note): /.test(l));
  return line === undefined ? undefined : safeLine(line).slice(0, 400);
}

/**
 * A session with several repositories: every run's prompt starts with the one line saying where each is and
 * which are only read (src/session/git/repos.ts reposPromptLine), once (a retry's prompt has it already).
 */
export function withReposPreface(prompt: string, spec: Pick<SessionSpec, "repos" | "workdir"> | undefined) {
  if (!spec?.repos?.length) return prompt;
  const line = reposPromptLine(spec.repos, spec.workdir);
  return prompt.startsWith(line) ? prompt : `${line}\n\n${prompt}`;
}

/** Start a run; returns its id. */
export async function startRun(
  kube: KubeSessions,
  namespace: string,
  name: string,
  o: RunOptions,
): Promise<string> {
  if (!o.prompt.trim()) throw usageError("the prompt is empty");
  const pod = o.pod ?? await runningPod(kube, namespace, name);
  // the session's command (a template's, a replica's variant, the preset at start), continue arguments and all
  const agent = withSettings(agentOfRun(pod, o), o.settings);
  const { argv, continues } = runArgv(agent, o.continues === true);
  const spec = specOf(pod);
  const noNotify = noNotifyOf(name, spec, o.notify);
  // another preset for this run (--agent): its credentials went into the env Secret only if it was the
  // session's at start
  if (o.agent && isPresetName(agent.preset) && spec && spec.agent?.preset !== agent.preset) {
    const names = PRESETS[agent.preset].authEnv;
    if (!names.some((n) => spec.envVars.includes(n))) {
      o.err.write(
        `note: session ${name}'s env Secret has none of ${names.join(", ")} (it was started for ${
          spec.agent?.preset ?? "another agent"
        }): ${agent.preset} may not reach its API; start a session with --agent ${agent.preset}\n`,
      );
    }
  }
  if (o.continues && !continues) {
    o.err.write(
      `note: the ${agent.preset} agent has no continue arguments (agent.continueArgs): this run starts a new conversation\n`,
    );
  }
  const enc = new TextEncoder();
  const prompt = enc.encode(withReposPreface(o.prompt, spec));
  const check = enc.encode(o.check?.trim() ? o.check.trim() + "\n" : "");
  const stdin = new Uint8Array(check.length + prompt.length);
  stdin.set(check);
  stdin.set(prompt, check.length);
  const stall = stallSeconds(durationValueMs(o.stallTimeout ?? "10m", "agent.stallTimeout"));
  const r = await execCapture(
    kube,
    pod,
    startArgv(
      argv,
      prompt.length,
      check.length,
      continues,
      agent.preset,
      stall,
      resumeOf(agent, o.cfg.agent?.resumeLimit),
      noNotify,
      o.takeover,
      spec?.gateway !== undefined,
    ),
    { stdin, err: o.err },
  );
  // what the start program said of a repository's agent-CLI config (pod/projcheck.js): a pod's words, made safe
  const said = projectConfigLine(r.stdout);
  const what = agent.preset === "custom"
    ? `the command ${JSON.stringify(agent.command)}`
    : `the ${agent.preset} preset`;
  const program = isPresetName(agent.preset) ? PRESETS[agent.preset].install.bin : agent.command[0];
  // never two agents at once: the start program refused (nothing started)
  if (r.code === TAKEN_OVER_EXIT && o.takeover === "refuse") {
    throw new KodamaError(
      `session ${name}: an interactive agent is running in tmux; end it or pass --force`,
      ExitCode.USAGE,
      `go back to it: kodama agent attach ${name}   (then exit the agent, or C-b d to leave it running)`,
    );
  }
  if (r.code === STEERED_EXIT) {
    throw new KodamaError(
      `session ${name}: ${said ?? "refused: a project config file sets a variable only you choose"}`,
      ExitCode.FORBIDDEN,
    );
  }
  if (said) o.err.write(`session ${name}: ${said}\n`);
  if (r.code === INSTALL_FAILED_EXIT) {
    throw new KodamaError(
      `cannot start the agent in session ${name}: installing ${program} for ${what} failed (the reason is above)`,
      ExitCode.FAILED,
      spec?.gateway
        // seen on the real cluster: npm's 403 is the gateway refusing the registry's host
        ? `session ${name} reaches the internet only through the gateway: add registry.npmjs.org to session.egress.hosts in ~/.kodama/config.yaml (kodama gateway log ${name} shows what it refused), or use an image with ${program}`
        : `the pod needs to reach the npm registry (its CA: NODE_EXTRA_CA_CERTS or the image's npm config) and a Node the CLI runs on; or use an image with ${program}`,
    );
  }
  if (r.code === NO_AGENT_EXIT) {
    throw new KodamaError(
      `cannot start the agent in session ${name}: ${program} is not in the image (${what}${
        agent.preset === "custom" ? "" : "; no npm to install it"
      })`,
      ExitCode.FAILED,
      agent.preset === "custom"
        ? `set agent.command to a command the image has, or choose a preset (kodama agent presets)`
        : `use an image with ${program} or with npm (kodama agent presets shows what each preset installs)`,
    );
  }
  const id = r.stdout.trim().split("\n").at(-1) ?? "";
  if (r.code !== 0 || !/^\d+$/.test(id)) {
    throw new KodamaError(
      `could not start the agent in session ${name} (exit code ${r.code})`,
      ExitCode.FAILED,
    );
  }
  // recorded on the workspace volume, so a watch of the session (`kodama ui`'s list) learns of a run started
  // anywhere without reading the runs in a loop; a hint only: the runs themselves stay in the workspace
  await kube.patchObject(
    "persistentvolumeclaims",
    namespace,
    namesOf(specOf(pod) ?? { name }).workspacePVC,
    { metadata: { annotations: { [ANNOTATION_AGENT_RUN]: id } } },
  ).catch(() => {});
  // --no-notify where this machine relays the webhook: the run is marked as told (notifyrelay.ts)
  if (noNotify && spec?.notify?.relay === "laptop") {
    await (await import("../notify/notifyrelay.ts")).markSent(namespace, name, spec.notify.gen, id);
  }
  await (await import("../../session/lifecycle/protect.ts")).protectRun(
    kube,
    namespace,
    name,
    o.cfg,
    id,
    o.err,
  );
  return id;
}

/** `agent run` / `start --prompt`: start and say how to follow it. */
export async function agentRun(
  kube: KubeSessions,
  namespace: string,
  name: string,
  o: RunOptions,
): Promise<number> {
  const id = await startRun(kube, namespace, name, o);
  o.out.write(`${id}\n`);
  o.err.write(
    `agent run ${id} started in session ${name} (output: ~/${RUNS_DIR}/${id}/log in the pod); follow it with: kodama agent logs ${name} ${id} -f\n`,
  );
  return ExitCode.OK;
}

export async function listRuns(kube: KubeObjects & KubeStreams, pod: V1Pod): Promise<AgentRun[]> {
  const r = await execCapture(kube, pod, ["sh", "-c", STATUS_SCRIPT, "kodama-status"]);
  if (r.code !== 0) {
    throw new KodamaError(`cannot read the agent runs: ${r.stderr.trim() || `exit code ${r.code}`}`);
  }
  // each ended run's truth, read from its log once (runtruth.ts)
  return await withTruth(kube, pod, parseRuns(r.stdout));
}

/** A run's check as one word: `passed`, `failed (2)`, `running`, `-` when it has none. */
export function checkWord(c: AgentRun["check"]): string {
  if (!c) return "-";
  return c.state === "failed" ? `failed (${c.exitCode})` : c.state;
}

export function renderRuns(runs: AgentRun[], now = Date.now()): string {
  const checks = runs.some((r) => r.check);
  // CONTINUES once some run continued another (`agent run --continue`)
  const continued = runs.some((r) => r.continues);
  // what the agents did, once some run's structured output (stream-json, --json) was read
  const facts = runs.some((r) => r.truth?.agent);
  const notes = runs.map(runNotes);
  const anyNotes = notes.some((n) => n.length);
  // a session with several repositories: each one's commits and files changed
  const repos = runs.some((r) => r.truth?.repositories?.length);
  const n = (v: number | undefined) => (v === undefined ? "-" : String(v));
  return renderTable(
    [
      "RUN",
      "STATE",
      "EXIT",
      "STARTED",
      "DURATION",
      ...(facts ? ["TURNS", "TOOLS", "DENIED", "COMMITS", "TOKENS"] : []),
      ...(repos ? ["REPOSITORIES"] : []),
      ...(checks ? ["CHECK"] : []),
      ...(continued ? ["CONTINUES"] : []),
      ...(anyNotes ? ["NOTE"] : []),
    ],
    runs.map((r, i) => [
      r.id,
      safeLine(runOutcome(r)), // its words can hold the agent's (an error it printed)
      r.exitCode !== undefined ? String(r.exitCode) : "-",
      r.startedAt ? `${formatAge(r.startedAt, now)} ago` : "-",
      r.durationSeconds !== undefined ? formatDuration(r.durationSeconds * 1000) : "-",
      ...(facts
        ? [
          n(r.truth?.turns),
          r.truth?.fromLog ? n(r.truth.toolCalls) : "-",
          r.truth?.fromLog ? n(r.truth.denied) : "-",
          n(r.truth?.commits),
          formatTokens(r.truth),
        ]
        : []),
      ...(repos ? [formatRepoFacts(r.truth?.repositories)] : []),
      ...(checks ? [checkWord(r.check)] : []),
      ...(continued ? [r.continues ? `run ${r.continues}` : "-"] : []),
      ...(anyNotes ? [notes[i].map(safeLine).join("; ").slice(0, 120) || "-"] : []),
    ]),
  );
}

export async function agentStatus(
  kube: KubeSessions,
  namespace: string,
  name: string,
  o: { output: string; out: Sink; err: Sink },
): Promise<number> {
  const pod = await runningPod(kube, namespace, name);
  // through the gateway: its figures of the session and the last host it refused (one read of its log,
  // beside the read of the runs)
  const [read, gw] = await Promise.all([listRuns(kube, pod), gatewayOf(kube, pod, name)]);
  const runs = await withResumeCauses(kube, namespace, name, read);
  const denied = gw?.lastDenied;
  // a running run with no wait of its own whose request waits in the gateway: the gateway's wait is its
  for (const r of runs) if (r.state === "running" && !r.waiting && gw?.waiting) r.waiting = gw.waiting;
  // its own retry of the gateway's 502 for an upstream the gateway cannot reach: named so
  if (gw?.unreachable) {
    const { namedWait } = await import("../gateway/figures.ts");
    for (const r of runs) if (r.state === "running") r.waiting = namedWait(r.waiting, gw);
  }
  if (o.output === "json" || o.output === "yaml") {
    const doc = {
      apiVersion: "kodama.dev/v1",
      kind: "AgentRunList",
      metadata: {
        session: name,
        namespace,
        ...(denied ? { gatewayDenied: denied } : {}),
        // the gateway's count (null: through a gateway that could not be read)
        ...(gw !== undefined ? { gateway: gw } : {}),
      },
      items: runs.map(runForOutput),
    };
    o.out.write(
      o.output === "json" ? JSON.stringify(doc, null, 2) + "\n" : (await import("yaml")).stringify(doc),
    );
    return ExitCode.OK;
  }
  if (!runs.length) {
    o.err.write(`no agent runs in session ${name} yet: kodama agent run ${name} --prompt "…"\n`);
    return ExitCode.OK;
  }
  o.out.write(renderRuns(runs));
  if (gw) o.err.write(`${(await import("../gateway/figures.ts")).gatewayLine(gw)}\n`);
  if (denied) {
    o.err.write(
      `gateway: denied ${denied} (not in the session's egress allow-list: session.egress.hosts; kodama gateway log ${name})\n`,
    );
  }
  return ExitCode.OK;
}

/**
 * The runs with the causes of their resumes refined from what the cluster said about the pods that ended
 * (the session's pods and the namespace's events: resumecause.ts); as the pod guessed when neither can be
 * read.
 */
export async function withResumeCauses(
  kube: Pick<KubeObjects, "listObjects">,
  namespace: string,
  name: string,
  runs: AgentRun[],
): Promise<AgentRun[]> {
  if (!runs.some((r) => r.resumes?.length)) return runs;
  const [pods, events] = await Promise.all([
    kube.listObjects<V1Pod>("pods", namespace, { labelSelector: `${LABEL_SESSION}=${name}` })
      .then((l) => l.items).catch(() => [] as V1Pod[]),
    kube.listObjects<CoreV1Event>("events", namespace, { fieldSelector: "involvedObject.kind=Pod" })
      .then((l) => l.items).catch(() => [] as CoreV1Event[]),
  ]);
  return runs.map((r) => r.resumes?.length ? { ...r, resumes: refineResumes(r.resumes, pods, events) } : r);
}

/**
 * The gateway's figures of the session (with the last host it refused), when its pod goes through one:
 * undefined without a gateway, null when the gateway's log could not be read.
 */
async function gatewayOf(
  kube: KubeStreams,
  pod: V1Pod,
  name: string,
): Promise<GatewayFigures | null | undefined> {
  const spec = specOf(pod);
  if (!spec?.gateway) return undefined;
  const { gatewayFigures } = await import("../gateway/figures.ts");
  const all = await gatewayFigures(kube, pod.metadata!.namespace!, [
    { name, budgetUsd: spec.agent?.settings?.maxCostUsd },
  ]);
  return all?.get(name) ?? null;
}

/** `agent logs NAME [RUN] [-f]`, `session logs NAME [-f]` (the latest run). */
export async function agentLogs(
  kube: KubeSessions & KubeReachEvents,
  namespace: string,
  name: string,
  o: {
    run?: string;
    follow?: boolean;
    format?: LogFormat;
    out: Sink;
    err: Sink;
    signal?: AbortSignal;
    /** with follow: announce the run's end (notify.ts: the terminal's notification, the desktop's) */
    announce?: AnnounceOptions;
  },
): Promise<number> {
  const id = checkRunId(o.run);
  const first = await runningPod(kube, namespace, name);
  // the stream rendered as it comes (render.ts); `raw` is the agent's output itself
  const view = logSink(o.format ?? "raw", o.out);
  // a caller's signal (the web UI) replaces Ctrl-C
  return await withInterrupt(async (signal) => {
    // a follow goes on after a cut stream where it was, and reads the outcome after it the same way
    // (follow.ts); a plain read is one read
    const follow = o.follow ? await import("./follow.ts") : undefined;
    const r = follow
      ? await follow.followRunLog(kube, namespace, name, first, id, { out: view.sink, err: o.err, signal })
      : {
        ...await execCapture(kube, first, ["sh", "-c", LOGS_SCRIPT, "kodama-logs", id, "0"], {
          out: view.sink,
          signal,
        }),
        pod: first,
        run: id,
      };
    view.end();
    if (r.code === 3) {
      throw new KodamaError(
        id === "latest" ? `no agent runs in session ${name} yet` : `no agent run ${id} in session ${name}`,
        ExitCode.NOT_FOUND,
        `list them with: kodama agent status ${name}`,
      );
    }
    if (r.code !== 0) {
      throw new KodamaError(`cannot read the run's log: ${r.stderr.trim() || `exit code ${r.code}`}`);
    }
    if (!follow) return ExitCode.OK;
    // followed to its end: the run's outcome is the exit code (0 only when it succeeded and its check passed)
    const runs = await follow.againOnCut("the read of the run's outcome", () => listRuns(kube, r.pod), {
      err: o.err,
      signal,
      reach: kube.reach,
    });
    const run = r.run === "latest" ? runs.at(-1) : runs.find((x) => x.id === r.run);
    if (!run) return ExitCode.OK;
    const notes = runNotes(run);
    const note = o.announce && noteOfRun(name, run);
    if (note) announceRunEnd(note, o.announce!);
    await settleAnnounce(o.announce);
    o.err.write(
      `agent run ${run.id} ${safeLine(runOutcome(run))}${run.check ? `, check ${checkWord(run.check)}` : ""}${
        notes.length ? `; ${notes.map(safeLine).join("; ")}` : ""
      }\n`,
    );
    return run.state === "succeeded" && run.check?.state !== "failed" ? ExitCode.OK : ExitCode.FAILED;
  }, { signal: o.signal, signals: o.signal ? [] : ["SIGINT"] });
}

export async function agentStop(
  kube: KubeSessions,
  namespace: string,
  name: string,
  o: { run?: string; out: Sink; err: Sink },
): Promise<number> {
  const id = checkRunId(o.run);
  const pod = await runningPod(kube, namespace, name);
  const r = await execCapture(kube, pod, ["sh", "-c", STOP_SCRIPT, "kodama-stop", id]);
  if (r.code === 3) {
    throw new KodamaError(
      id === "latest" ? `no agent runs in session ${name} yet` : `no agent run ${id} in session ${name}`,
      ExitCode.NOT_FOUND,
      `list them with: kodama agent status ${name}`,
    );
  }
  if (r.code !== 0) throw new KodamaError(`cannot stop the run: ${r.stderr.trim() || `exit code ${r.code}`}`);
  const stopped = podRunId(r.stdout.trim().split("\n").at(-1), "cannot stop the run");
  if (r.stderr.includes("already ended")) {
    // a run of an earlier pod was cut off by that pod's end: never signalled here
    o.err.write(
      `agent run ${stopped} had already ended${r.stderr.includes("(interrupted)") ? " (interrupted)" : ""}\n`,
    );
  } else o.out.write(`agent run ${stopped} stopped\n`);
  return ExitCode.OK;
}
