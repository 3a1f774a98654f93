/**
 * `kodama agent attach NAME`: the live run, rendered as `agent logs -f` renders it, with a one-line footer;
 * `t` takes it over (the headless run is stopped as `agent stop` stops it, its outcome saying `taken over`,
 * and the agent's own interactive CLI opens on the same conversation inside the pod's tmux session
 * `kodama-agent`, attached through exec's TTY machinery), Ctrl-C just detaches. A live `kodama-agent` tmux
 * is attached to straight away. The pod side is pod/takeover.sh.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { Kube } from "../../kube/client.ts";
import type { KubeReachEvents, KubeSessions } from "../../kube/seam.ts";
import { ExitCode, KodamaError, usageError } from "../../base/errors.ts";
import type { Sink } from "../../base/sink.ts";
import type { Config } from "../../config/schema.ts";
import { CONTAINER, specOf } from "../../session/spec/spec.ts";
import { execCapture, runningPod } from "../../session/access/podexec.ts";
import { parseRuns, PROLOGUE, STATUS_SCRIPT, STOP_SCRIPT } from "./agent.ts";
import { agentLogs } from "./agentrun.ts";
import { interactiveArgv, sessionAgentOf } from "../presets/presets.ts";
import { markClaudeFirstRun } from "./claudestate.ts";
import AGENT_TMUX_SH from "../pod/agenttmux.sh" with { type: "text" };
import TAKEOVER_SH from "../pod/takeover.sh" with { type: "text" };

/** `sh -c TAKEOVER kodama-takeover MODE …` (pod/takeover.sh). */
export const TAKEOVER_SCRIPT = [...PROLOGUE, AGENT_TMUX_SH, TAKEOVER_SH].join("\n");
/** takeover.sh's exit code when the image has no tmux. */
export const NO_TMUX_EXIT = 64;

export function takeoverArgv(mode: "probe" | "open", rest: string[] = []): string[] {
  return ["sh", "-c", TAKEOVER_SCRIPT, "kodama-takeover", mode, ...rest];
}

/** What `takeover.sh probe` printed: is there tmux, is `kodama-agent` live. */
export function parseProbe(text: string): { tmux: boolean; live: boolean } {
  return { tmux: /\btmux=1\b/.test(text), live: /\blive=1\b/.test(text) };
}

/** The footer under the live run. */
export const FOOTER = "── t: take over (the agent's own interface, in tmux in the pod) · Ctrl-C: detach ──";

/** The key a byte chunk from a raw terminal means: take over, detach, or nothing. */
export function keyOf(chunk: Uint8Array): "take" | "detach" | undefined {
  for (const b of chunk) {
    if (b === 0x74 || b === 0x54) return "take"; // t, T
    if (b === 0x03 || b === 0x04) return "detach"; // Ctrl-C, Ctrl-D
  }
  return undefined;
}

/** A terminal in raw mode does not turn `\n` into a new line at column 0: this sink does. */
export function rawSink(s: Sink): Sink {
  const dec = new TextDecoder();
  return {
    write: (c) =>
      s.write((typeof c === "string" ? c : dec.decode(c, { stream: true })).replace(/\r?\n/g, "\r\n")),
  };
}

/** Is there tmux, and a live interactive agent in it? (`agent run` refuses one in its start: pod/start.sh.) */
export async function probeTakeover(kube: Kube, pod: V1Pod): Promise<{ tmux: boolean; live: boolean }> {
  const r = await execCapture(kube, pod, takeoverArgv("probe"));
  return r.code === 0 ? parseProbe(r.stdout) : { tmux: false, live: false };
}

export interface AgentAttachOptions {
  cfg: Config;
  out: Sink;
  err: Sink;
  /** the local terminal (tests give their own) */
  terminal: {
    isTerminal: boolean;
    term: string;
    setRaw(mode: boolean): void;
    read(buf: Uint8Array): Promise<number | null>;
  };
}

/** Wait for `t` or Ctrl-C; reads nothing after it (the exec's TTY reads the terminal next). */
async function waitKey(t: AgentAttachOptions["terminal"]): Promise<"take" | "detach"> {
  const buf = new Uint8Array(64);
  for (;;) {
    const n = await t.read(buf);
    if (n === null) return "detach";
    const k = keyOf(buf.subarray(0, n));
    if (k) return k;
  }
}

/** Attach the terminal to the pod's tmux (created with the interactive CLI when none is live). */
async function openTmux(
  kube: Kube,
  pod: V1Pod,
  o: AgentAttachOptions,
  argv: string[],
): Promise<number> {
  const { execOne } = await import("../../pods/exec.ts");
  const code = await execOne(kube, pod, {
    command: takeoverArgv("open", [o.terminal.term, ...argv]),
    container: CONTAINER,
    stdin: true,
    tty: true,
    out: o.out,
    err: o.err,
  });
  if (code === NO_TMUX_EXIT) throw noTmux(pod.metadata?.labels?.["kodama.dev/session"] ?? "");
  return code;
}

function noTmux(name: string): KodamaError {
  return new KodamaError(
    `session ${name}'s image has no tmux: agent attach runs the agent's interface in tmux in the pod`,
    ExitCode.USAGE,
    `open a shell in the pod instead: kodama attach ${name}`,
  );
}

export async function agentAttach(
  kube: Kube,
  namespace: string,
  name: string,
  o: AgentAttachOptions,
): Promise<number> {
  const pod = await runningPod(kube, namespace, name);
  const probe = await probeTakeover(kube, pod);
  if (probe.live) {
    if (!o.terminal.isTerminal) throw usageError("agent attach needs a terminal (stdin is not one)");
    return await openTmux(kube, pod, o, []);
  }
  const st = await execCapture(kube, pod, ["sh", "-c", STATUS_SCRIPT, "kodama-status"]);
  const latest = parseRuns(st.stdout).at(-1);
  if (!latest) {
    throw new KodamaError(
      `session ${name} has no agent run to attach to`,
      ExitCode.NOT_FOUND,
      `start one: kodama agent run ${name} --prompt "…"`,
    );
  }
  if (!probe.tmux) throw noTmux(name);
  const agent = sessionAgentOf(specOf(pod), o.cfg);
  // the conversation the run had: the session id in its stream's first event (Claude Code's init)
  const head = await execCapture(kube, pod, [
    "sh",
    "-c",
    [...PROLOGUE, 'head -c 8192 "$runs/$1/log"'].join("\n"),
    "kodama-head",
    latest.id,
  ]);
  const argv = interactiveArgv(agent, name, /"session_id"\s*:\s*"([0-9a-f-]{36})"/.exec(head.stdout)?.[1]);
  if (!o.terminal.isTerminal) throw usageError("agent attach needs a terminal (stdin is not one)");
  const key = await watchRun(kube, namespace, name, latest.id, o);
  if (key === "detach") return ExitCode.OK;
  const stop = await execCapture(kube, pod, [
    "sh",
    "-c",
    STOP_SCRIPT,
    "kodama-stop",
    latest.id,
    "taken-over",
  ]);
  if (stop.code === 0 && !stop.stderr.includes("already ended")) {
    o.err.write(`agent run ${latest.id} stopped: taken over\n`);
  }
  // Claude Code's onboarding and trust questions answered in the session's home, once (claudestate.ts)
  if (agent.preset === "claude") await markClaudeFirstRun(kube, pod);
  return await openTmux(kube, pod, o, argv);
}

/** The run as `agent logs -f` shows it, the footer under it, until a key. */
async function watchRun(
  kube: KubeSessions & KubeReachEvents,
  namespace: string,
  name: string,
  id: string,
  o: AgentAttachOptions,
): Promise<"take" | "detach"> {
  const stop = new AbortController();
  const out = rawSink(o.out), err = rawSink(o.err);
  o.terminal.setRaw(true);
  try {
    err.write(`${FOOTER}\n`);
    const logs = agentLogs(kube, namespace, name, {
      run: id,
      follow: true,
      format: "text",
      out,
      err,
      signal: stop.signal,
    })
      .then(() => stop.signal.aborted || err.write(`${FOOTER}\n`), () => {});
    const key = await waitKey(o.terminal);
    stop.abort();
    await logs;
    return key;
  } finally {
    o.terminal.setRaw(false);
  }
}
