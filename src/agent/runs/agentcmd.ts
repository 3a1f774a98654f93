/** The agent verbs as the CLI calls them: flags in, one feature function, an exit code out. */
import { resolve } from "../../base/fs/fspath.ts";
import type { Config } from "../../config/schema.ts";
import type { Kube } from "../../kube/client.ts";
import type { KubeReachEvents, KubeSessions } from "../../kube/seam.ts";
import { ExitCode, KodamaError, notFound, usageError } from "../../base/errors.ts";
import { localFsError } from "../../base/fs/localfs.ts";
import { formatLimit, READ_LIMITS, readTextBounded } from "../../base/fs/boundedread.ts";

/** `--prompt-file -`: stdin, refused once it passes the prompt limit. */
async function readStdinBounded(): Promise<string> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const c of Deno.stdin.readable) {
    size += c.length;
    if (size > READ_LIMITS.prompt) {
      throw usageError(
        `cannot read --prompt-file -: stdin is larger than ${
          formatLimit(READ_LIMITS.prompt)
        }, the most kodama reads as a prompt`,
      );
    }
    parts.push(c);
  }
  return await new Blob(parts as BlobPart[]).text();
}
import { stderrSink, stdoutSink } from "../../base/sink.ts";
import { isTerminal, safeLine } from "../../ui/color.ts";
import { terminalJson } from "../../base/text/escape.ts";
import type { AgentStartOptions } from "./launch.ts";
import { agentChoiceOf, presetRows, resolveAgent } from "../presets/presets.ts";
import { CONTINUE_PROMPT } from "./prompts.ts";
import { flagLayer, type SettingsFlags } from "../presets/settings.ts";
import { agentLogs, agentRun, agentStatus, agentStop } from "./agentrun.ts";
import type { LogFormat } from "../outcome/render.ts";
import { type AnnounceOptions, announceRunEnd, noteOfRun, settleAnnounce } from "../notify/notify.ts";

/** The prompt from --prompt or --prompt-file (exactly one; `-` reads stdin). Checked before any request. */
export async function readPrompt(
  f: { prompt?: string; promptFile?: string },
  cwd = Deno.cwd(),
): Promise<string | undefined> {
  if (f.prompt !== undefined && f.promptFile !== undefined) {
    throw usageError("give either --prompt or --prompt-file, not both");
  }
  let text: string | undefined = f.prompt;
  if (f.promptFile !== undefined) {
    const o = { what: "--prompt-file", kind: "prompt" as const, display: f.promptFile };
    try {
      text = f.promptFile === "-"
        ? await readStdinBounded()
        : await readTextBounded(resolve(cwd, f.promptFile), o);
    } catch (e) {
      if (e instanceof KodamaError) throw e;
      const what = `--prompt-file ${f.promptFile}`;
      if (e instanceof Deno.errors.NotFound) throw notFound(`cannot read ${what}: no such file`);
      throw localFsError(e, what) ??
        usageError(`cannot read ${what}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  if (text !== undefined && !text.trim()) throw usageError("the prompt is empty");
  return text;
}

export async function runCommand(
  kube: Kube,
  name: string,
  f: {
    prompt?: string;
    promptFile?: string;
    check?: string;
    continue?: boolean;
    agent?: string;
    settings?: SettingsFlags;
    notify?: boolean;
    /** end a live interactive agent (agent attach's tmux) instead of refusing the run */
    force?: boolean;
    /** continue with the feedback of the session's pull/merge request (src/agent/forge/frompr.ts) */
    fromPr?: boolean;
    fromPrBudget?: string;
  },
  cfg: Config,
): Promise<number> {
  // `--agent NAME [ARGS]`: this run runs that preset (custom: agent.command) instead of the session's own
  const agent = f.agent === undefined ? undefined : resolveAgent([agentChoiceOf(f.agent)], cfg);
  // --model, --max-turns, …: this run's, over the session's recorded settings
  const settings = flagLayer(f.settings ?? {});
  if (f.fromPrBudget !== undefined && !f.fromPr) throw usageError("--from-pr-budget goes with --from-pr");
  // --from-pr: a continuation whose prompt is the request's feedback, the user's prompt after it
  const fromPr = f.fromPr ? await fromPrOf(kube, name, f, cfg) : undefined;
  if (fromPr && !fromPr.prompt) {
    stderrSink.write(`${(await import("../forge/frompr.ts")).nothingToDo(name, fromPr)}\n`);
    return ExitCode.OK;
  }
  const cont = f.continue === true || fromPr !== undefined;
  const prompt = fromPr?.prompt ?? (await readPrompt(f)) ?? (cont ? CONTINUE_PROMPT : undefined);
  if (prompt === undefined) {
    throw usageError("a prompt is required: --prompt TEXT or --prompt-file FILE (or --continue)");
  }
  // `agent run GROUP --continue`: every replica of the group whose latest run failed
  if (cont && !agent && !fromPr) {
    const g = await import("../group/groupcontinue.ts");
    if (await g.isGroupOnly(kube, kube.namespace, name)) {
      const r = await g.continueGroup(kube, kube.namespace, name, {
        prompt,
        cfg,
        // without --check, each replica's continuation runs its previous run's check again (pod/start.sh)
        ...(f.check !== undefined ? { check: f.check } : {}),
        out: stdoutSink,
        err: stderrSink,
      });
      return g.reportGroupContinue(name, r, stdoutSink, stderrSink);
    }
  }
  const o = {
    prompt,
    // the session's own agent (recorded at start: a template's, a replica's variant) unless --agent; its
    // continue arguments go after that command (Claude Code's --continue, codex's resume --last)
    ...(agent ? { agent } : {}),
    settings,
    cfg,
    continues: cont,
    // a continuation without --check runs the check of the run it continues (pod/start.sh), not agent.check
    check: f.check ?? (cont ? undefined : cfg.agent.check),
    stallTimeout: cfg.agent.stallTimeout,
    ...(f.notify !== undefined ? { notify: f.notify } : {}),
    out: stdoutSink,
    err: stderrSink,
  };
  try {
    // an interactive agent taken over with agent attach still runs in the pod's tmux: never two at once (the
    // start program refuses it, or with --force ends it first: one exec)
    const { runningPod } = await import("../../session/access/podexec.ts");
    const pod = await runningPod(kube, kube.namespace, name);
    const takeover = f.force === true ? "end" as const : "refuse" as const;
    const code = await agentRun(kube, kube.namespace, name, { ...o, pod, takeover });
    if (fromPr && code === ExitCode.OK) await fromPr.record();
    // NAME is a session and a group's name too: this ran in the session; say how to reach the replicas
    const replicas = await (await import("../group/groupcontinue.ts")).alsoGroup(kube, kube.namespace, name)
      .catch(() => []);
    if (replicas.length) {
      stderrSink.write(
        `note: ${name} is also a group (${
          replicas.join(", ")
        }): this ran in session ${name} only; address a replica by its name (kodama agent run ${
          replicas[0]
        } …)\n`,
      );
    }
    return code;
  } catch (e) {
    // `agent run GROUP`: no session of that name, a group of it: the prompt in every running replica
    if (!(e instanceof KodamaError) || e.code !== ExitCode.NOT_FOUND) throw e;
    if (!await (await import("../group/groupcontinue.ts")).isGroupOnly(kube, kube.namespace, name)) throw e;
    const g = await import("../group/grouprun.ts");
    return g.reportGroupRun(name, await g.runInGroup(kube, kube.namespace, name, o), stdoutSink, stderrSink);
  }
}

/** `--from-pr`: the request's feedback as the prompt, from the user's clone (the cwd) and their config. */
async function fromPrOf(
  kube: KubeSessions,
  name: string,
  f: { prompt?: string; promptFile?: string; fromPrBudget?: string },
  cfg: Config,
) {
  const fp = await import("../forge/frompr.ts");
  const budget = fp.parseBudget(f.fromPrBudget);
  const userPrompt = await readPrompt(f);
  const r = await fp.prepareFromPr(kube, name, {
    cwd: Deno.cwd(),
    budget,
    ...(userPrompt !== undefined ? { userPrompt } : {}),
    ...fp.userForgeOptions(cfg),
  });
  stderrSink.write(fp.outsideNote(r));
  if (r.prompt) {
    stderrSink.write(
      `continuing with ${r.request}'s ${r.threads} review thread${
        r.threads === 1 ? "" : "s"
      } and ${r.checks} ` +
        `failed check${r.checks === 1 ? "" : "s"}\n`,
    );
  }
  return r;
}

/** `kodama agent presets`: what each preset runs (a table, or -o json|yaml). */
export async function presetsCommand(cfg: Config, output: string): Promise<number> {
  const rows = presetRows(cfg);
  if (output === "json" || output === "yaml") {
    const doc = { apiVersion: "kodama.dev/v1", kind: "AgentPresetList", items: rows };
    stdoutSink.write(
      output === "json" ? JSON.stringify(doc, null, 2) + "\n" : (await import("yaml")).stringify(doc),
    );
    return 0;
  }
  const { renderTable } = await import("../../ui/table.ts");
  stdoutSink.write(renderTable(
    ["PRESET", "RUNS", "CONTINUE", "CREDENTIALS", "INSTALL"],
    rows.map((r) => [r.name, r.runs, r.continue || "-", r.env.join(",") || "-", r.install]),
  ));
  return 0;
}

export async function statusCommand(kube: Kube, name: string, output: string): Promise<number> {
  return await agentStatus(kube, kube.namespace, name, { output, out: stdoutSink, err: stderrSink });
}

export async function logsCommand(
  kube: Kube,
  name: string,
  run: string | undefined,
  follow: boolean,
  format: LogFormat = "text",
  notify?: Config["notify"],
) {
  return await agentLogs(kube, kube.namespace, name, {
    run,
    follow,
    format,
    out: stdoutSink,
    err: stderrSink,
    ...(follow && notify ? { announce: announceOptions(notify, kube) } : {}),
  });
}

/**
 * How a command that watches runs end on this terminal announces them (notify.*): the terminal's own
 * notification when stdout is one, a desktop notification when kodama runs on a terminal at all (a script
 * or a CI job is not told on a desktop).
 */
export function announceOptions(notify: Config["notify"], kube?: Kube): AnnounceOptions {
  const tty = isTerminal("stdout");
  return {
    terminal: { sink: stdoutSink, tty },
    desktop: notify.desktop && (tty || isTerminal("stderr")),
    on: notify.on,
    // the webhooks of sessions no gateway relays for: sent from here (notifyrelay.ts)
    ...(kube && notify.webhook
      ? {
        relay: async (n) =>
          (await import("../notify/notifyrelay.ts")).laptopRelay(kube, kube.namespace, notify)(n),
      }
      : {}),
  };
}

/** `agent attach NAME`: the live run, then (on `t`) the agent's own interface in tmux in the pod. */
export async function attachCommand(kube: Kube, name: string, cfg: Config): Promise<number> {
  const { agentAttach } = await import("./attach.ts");
  return await agentAttach(kube, kube.namespace, name, {
    cfg,
    out: stdoutSink,
    err: stderrSink,
    terminal: {
      isTerminal: Deno.stdin.isTerminal(),
      term: Deno.env.get("TERM") ?? "xterm-256color",
      setRaw: (mode) => Deno.stdin.setRaw(mode),
      read: (buf) => Deno.stdin.read(buf),
    },
  });
}

export async function stopCommand(kube: KubeSessions, name: string, run: string | undefined) {
  return await agentStop(kube, kube.namespace, name, { run, out: stdoutSink, err: stderrSink });
}

/**
 * `kodama start`: the flags come as the start options themselves (src/cli/session.ts maps them once);
 * the namespace is the client's, and a --prompt-file is read here.
 */
export async function startCommand(
  kube: Kube,
  o: Omit<AgentStartOptions, "namespace"> & {
    promptFile?: string;
    replicas?: string;
    variants?: string[];
    budget?: string;
    /** `--judge PRESET[:MODEL]`: once the replicas have ended, a reviewer agent ranks them (judge.ts) */
    judge?: string;
  },
  cfg: Config,
): Promise<number> {
  const { promptFile: _, replicas, variants = [], budget, judge, ...rest } = o;
  const opts = {
    ...rest,
    namespace: kube.namespace,
    prompt: o.prompt === undefined && o.promptFile === undefined ? undefined : await readPrompt(o),
  };
  const { startIO } = await import("../../session/commands.ts");
  if (budget !== undefined) {
    if (replicas === undefined) {
      throw usageError("--budget is a group's total: it needs --replicas (else --max-cost)");
    }
    if (o.settings?.maxCost !== undefined) {
      throw usageError("give either --budget (the group's) or --max-cost (each replica's)");
    }
    const { parseReplicas } = await import("../group/group.ts");
    const { parseUsd, formatUsd } = await import("../presets/settings.ts");
    // split evenly: each replica's runner and CLI stop at its share (no central meter to outlive a laptop)
    opts.settings = {
      ...o.settings,
      maxCost: formatUsd(parseUsd(budget, "--budget") / parseReplicas(replicas)),
    };
  }
  if (replicas === undefined) {
    if (variants.length) throw usageError("--agent-variant needs --replicas");
    if (judge !== undefined) {
      throw usageError("--judge ranks a group's replicas: it needs --replicas N (N > 1)");
    }
    const { startWithAgent } = await import("./launch.ts");
    return await startWithAgent(kube, opts, cfg, await startIO());
  }
  const { startGroup, parseReplicas } = await import("../group/group.ts");
  const n = parseReplicas(replicas);
  if (judge !== undefined) {
    // the judge reads one repository's diff per replica
    if (o.repos?.length) {
      const { multiRepoRefusal } = await import("../../session/git/repos.ts");
      throw multiRepoRefusal("--judge of replicas", "start them without --judge and compare them");
    }
    return await (await import("../group/judgecmd.ts")).startJudged(
      kube,
      { ...opts, replicas: n, variants },
      judge,
      cfg,
    );
  }
  return await startGroup(kube, { ...opts, replicas: n, variants }, cfg, await startIO());
}

/** `kodama delete NAME --group [--keep I]`: every replica of a group (src/cli/session.ts's delete). */
export async function deleteGroupCommand(
  kube: Kube,
  name: string,
  f: {
    force?: boolean;
    purge?: boolean;
    keepConfig?: boolean;
    group?: boolean;
    keep?: string[];
  },
): Promise<number> {
  const { group, keep = [], ...rest } = f;
  if (keep.length && !group) throw usageError("--keep needs --group: it spares a replica of the group");
  const [{ deleteGroup }, { deleteIO }] = await Promise.all([
    import("../group/group.ts"),
    import("../../session/commands.ts"),
  ]);
  return await deleteGroup(kube, kube.namespace, name, { ...rest, ...deleteIO(), keep });
}

export async function compareCommand(
  kube: Kube,
  group: string,
  f: {
    output?: string;
    diff?: string[];
    watch?: boolean;
    wait?: boolean;
    timeout?: string;
    stopOthersWhenPassed?: boolean;
    notify?: Config["notify"];
    /** `--judge PRESET[:MODEL]` (judge.ts), with the config it starts the judge's session with */
    judge?: string;
    cfg?: Config;
  },
): Promise<number> {
  const { notify, judge, cfg, ...rest } = f;
  const [{ compareGroup }, { parseDuration }, jc] = await Promise.all([
    import("../group/compare.ts"),
    import("../../base/duration.ts"),
    judge !== undefined ? import("../group/judgecmd.ts") : undefined,
  ]);
  const choice = jc?.checkCompareJudge(judge, f);
  const timeoutMs = f.timeout !== undefined ? parseDuration(f.timeout, "--timeout") : undefined;
  return await compareGroup(kube, kube.namespace, group, {
    ...rest,
    ...(jc && choice && cfg
      ? {
        judge: jc.judgeHook(kube, group, choice, {
          cfg,
          io: await (await import("../../session/commands.ts")).startIO(),
          ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        }),
      }
      : {}),
    ...(notify && (f.wait || f.watch) ? { announce: announceOptions(notify, kube) } : {}),
    ...(f.timeout !== undefined ? { timeoutMs: parseDuration(f.timeout, "--timeout") } : {}),
    tty: isTerminal("stdout"),
    out: stdoutSink,
    err: stderrSink,
  });
}

export async function adoptCommand(
  kube: Kube,
  name: string,
  f: { branch?: string; force?: boolean; best?: boolean },
): Promise<number> {
  const { adoptReplica } = await import("../group/group.ts");
  // --best: NAME is the group, and the judge's rank 1 is adopted (judgestore.ts)
  if (f.best) {
    name = await (await import("../group/judgecmd.ts")).adoptBestName(kube, kube.namespace, name, stderrSink);
  }
  return await adoptReplica(kube, kube.namespace, name, {
    ...f,
    cwd: Deno.cwd(),
    out: stdoutSink,
    err: stderrSink,
  });
}

/** `session logs NAME [-f]`: the latest run's log. */
export async function sessionLogsCommand(
  kube: KubeSessions & KubeReachEvents,
  name: string,
  f: { follow?: boolean },
): Promise<number> {
  return await agentLogs(kube, kube.namespace, name, {
    follow: f.follow,
    format: "text",
    out: stdoutSink,
    err: stderrSink,
  });
}

/** `agent say NAME [TEXT] [--file F]`: TEXT, the file, or stdin (`-`), bounded. */
export async function sayCommand(
  kube: KubeSessions,
  name: string,
  f: { text?: string; file?: string },
  cfg: Config,
): Promise<number> {
  if (f.text !== undefined && f.file !== undefined) {
    throw usageError("give either the message or --file, not both");
  }
  if (f.text === undefined && f.file === undefined) {
    throw usageError("no message: give it as an argument, or --file F (- for stdin)");
  }
  const text = f.text === "-" || f.file !== undefined
    ? await readPrompt({ promptFile: f.file ?? "-" }).catch((e) => {
      throw e instanceof KodamaError
        ? new KodamaError(
          e.message.replaceAll("--prompt-file", "--file").replace(
            "the prompt is empty",
            "the message is empty",
          ),
          e.code,
          e.hint,
        )
        : e;
    })
    : f.text!;
  const { agentSay, checkMessage } = await import("./say.ts");
  checkMessage(text);
  const rs = await agentSay(kube, kube.namespace, name, text!, { cfg, err: stderrSink });
  // what came from the pod (the run, its outcome) is shown as terminal-safe text, one line each
  for (const r of rs) {
    stdoutSink.write(`${safeLine(`${rs.length > 1 ? `${r.session}: ` : ""}${r.message}`)}\n`);
  }
  return 0;
}

/** `agent interrupt NAME|GROUP`. */
export async function interruptCommand(kube: KubeSessions, name: string): Promise<number> {
  const { agentInterrupt } = await import("./say.ts");
  for (const r of await agentInterrupt(kube, kube.namespace, name)) {
    if (r.interrupted) {
      stdoutSink.write(
        `${
          safeLine(
            `${r.session}: run ${r.run} interrupted (its conversation is kept: kodama agent say ${r.session} "…" goes on)`,
          )
        }\n`,
      );
    } else {stderrSink.write(
        `${safeLine(`${r.session}: run ${r.run} had already ended: nothing to interrupt`)}\n`,
      );}
  }
  return 0;
}

/** `agent wait NAME|GROUP [--timeout D] [-o json]`: exits with the outcome. */
export async function waitCommand(
  kube: Kube,
  name: string,
  f: { timeout?: string; output?: string },
  notify?: Config["notify"],
): Promise<number> {
  const { agentWait, waitExitCode } = await import("./say.ts");
  const announce = notify && announceOptions(notify, kube);
  const { durationValueMs } = await import("../../base/duration.ts");
  const { withInterrupt } = await import("../../base/proc/proc.ts");
  const timeoutMs = f.timeout === undefined ? 0 : durationValueMs(f.timeout, "--timeout", { timer: true });
  return await withInterrupt(async (signal) => {
    const rs = await agentWait(kube, kube.namespace, name, {
      timeoutMs,
      signal,
      // each run's end is announced as it happens (a terminal and desktop notification: notify.*)
      ...(announce
        ? {
          onEnded: (r, run) => {
            const note = noteOfRun(r.session, run);
            if (note) announceRunEnd(note, announce);
          },
        }
        : {}),
    });
    await settleAnnounce(announce);
    // a pod the cluster replaced while waiting: said once on stderr (the wait went on on the new pod)
    for (const r of rs) if (r.replaced) stderrSink.write(`kodama: ${safeLine(r.replaced)}\n`);
    if (f.output === "json") stdoutSink.write(terminalJson(JSON.stringify({ items: rs }, null, 2)) + "\n");
    else {for (const r of rs) {
        stdoutSink.write(`${safeLine(r.session)}\trun ${safeLine(r.run)}\t${safeLine(r.text)}\n`);
      }}
    return waitExitCode(rs);
  }, { signals: ["SIGINT"] });
}
