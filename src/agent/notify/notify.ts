/**
 * Being told a run ended: the event a run's end is (`done`, `failed`, `needs-input`), its one-line summary,
 * and the laptop's two ways of saying it — a terminal notification (OSC 9, OSC 777 and the bell, only on a
 * TTY) and a desktop notification (src/base/platform.ts's desktopNotifyCommand: osascript, notify-send, a
 * PowerShell balloon; none where there is no desktop). `agent logs -f`, `compare --wait` and `agent wait`
 * call announceRunEnd when they see a run (or a whole group) end; for a session whose webhook no gateway
 * relays, that is also when its webhook is sent, from here (AnnounceOptions.relay: notifyrelay.ts).
 *
 * Everything shown came partly from the agent (its outcome's words): it goes through terminalText, its
 * whitespace folded to one line, so no control character of the agent's reaches a terminal or a notifier.
 */
import { terminalText } from "../../base/text/escape.ts";
import {
  desktopNotifyCommand,
  hostPlatform,
  type NotifyCommand,
  type Platform,
} from "../../base/platform.ts";
import type { Sink } from "../../base/sink.ts";
import { type NeedsInput, needsInput, type Outcome, outcomeText } from "../outcome/outcome.ts";
import { outcomeOf, type RunLike } from "../outcome/runtruth.ts";

export const NOTIFY_EVENTS = ["done", "failed", "needs-input"] as const;
export type NotifyEvent = typeof NOTIFY_EVENTS[number];

/** What is said about one ended run (or a group whose replicas all ended: `run` is then undefined). */
export interface RunEndNote {
  event: NotifyEvent;
  session: string;
  group?: string;
  run?: string;
  /** the outcome's words (`failed: invalid API key`) */
  outcome: string;
  /** why it waits on you (`denied`, `budget`, `question`), or the failure's message */
  reason?: string;
  filesChanged?: number;
  commits?: number;
}

/**
 * The event of a run's end: `needs-input` when it waits on the user (needsInput: denied tool uses, a
 * budget, a question as its last words), `done` when it succeeded, `failed` otherwise; undefined for a
 * run the user stopped (they know).
 */
export function eventOf(o: Outcome, needs?: NeedsInput): NotifyEvent | undefined {
  if (o.class === "running") return undefined;
  if (o.class === "interrupted" && o.message.startsWith("stopped")) return undefined;
  if (needs) return "needs-input";
  return o.class === "succeeded" || o.class === "no-changes" ? "done" : "failed";
}

/**
 * The note of an ended run as the laptop reads it (agent status, compare): its outcome, whether it waits on
 * the user (the classifier's needsInput on its final message and denied uses), what it changed. Undefined
 * for a run that is still going or that the user stopped.
 */
export function noteOfRun(
  session: string,
  r: RunLike & { id: string },
  group?: string,
): RunEndNote | undefined {
  const o = outcomeOf(r);
  const t = r.truth;
  const needs = needsInput({ lastMessage: t?.final }, o, { state: r.state, denied: t?.denied });
  const event = eventOf(o, needs);
  if (!event) return undefined;
  return {
    event,
    session,
    ...(group ? { group } : {}),
    run: r.id,
    outcome: outcomeText(o, t ?? {}),
    ...(needs ? { reason: needs } : o.class !== "succeeded" ? { reason: o.message } : {}),
    ...(t?.filesChanged !== undefined ? { filesChanged: t.filesChanged } : {}),
    ...(t?.commits !== undefined ? { commits: t.commits } : {}),
  };
}

/** Text from the agent as one safe line: controls gone, whitespace folded, at most `max` characters. */
export function oneSafeLine(s: string, max = 200): string {
  const t = terminalText(s).replace(/\s+/g, " ").trim();
  return t.length > max ? t.slice(0, max - 1) + "…" : t;
}

const NEEDS_WORDS: Record<string, string> = {
  denied: "its tool uses were denied",
  budget: "its budget is spent",
  question: "it asks you something",
};

/** The title of a notification: `kodama: my-work run 3` (`kodama: group best` for a group). */
export function noteTitle(n: RunEndNote): string {
  const who = n.run !== undefined ? `${n.session} run ${n.run}` : `group ${n.group ?? n.session}`;
  return oneSafeLine(`kodama: ${who}`, 120);
}

/**
 * The one-line summary: `my-work run 3 needs input: it asks you something (succeeded; 2 files, 1 commit)`,
 * `my-work run 4 failed: invalid API key`. Plain text; the webhook escapes it for Slack.
 */
export function summaryLine(n: RunEndNote): string {
  const who = n.run !== undefined ? `${n.session} run ${n.run}` : `group ${n.group ?? n.session}`;
  const work: string[] = [];
  if (n.filesChanged !== undefined) work.push(`${n.filesChanged} file${n.filesChanged === 1 ? "" : "s"}`);
  if (n.commits !== undefined) work.push(`${n.commits} commit${n.commits === 1 ? "" : "s"}`);
  const what = n.event === "needs-input"
    ? `needs input: ${NEEDS_WORDS[n.reason ?? ""] ?? n.reason ?? "it waits on you"} (${n.outcome}${
      work.length ? `; ${work.join(", ")}` : ""
    })`
    : `${n.outcome}${n.outcome === "failed" && n.reason ? `: ${n.reason}` : ""}${
      work.length ? ` (${work.join(", ")})` : ""
    }`;
  return oneSafeLine(`${who} ${what}`, 300);
}

/**
 * The terminal's notification: OSC 9 (iTerm2, Windows Terminal, kitty …), OSC 777 `notify;TITLE;BODY`
 * (rxvt, foot, VTE terminals) and the bell for the rest. Title and body are made safe here: no control
 * character (an ESC or BEL would end the sequence early), and no `;` in the title (777's separator).
 */
export function terminalNotification(title: string, body: string): string {
  const t = oneSafeLine(title, 120).replaceAll(";", ",");
  const b = oneSafeLine(body, 300);
  return `\x1b]9;${t}: ${b}\x07\x1b]777;notify;${t};${b}\x07\x07`;
}

export interface AnnounceOptions {
  /** the terminal to notify: written to only when `tty` is true (a pipe or a file never gets escapes) */
  terminal?: { sink: Sink; tty: boolean };
  /** show a desktop notification (notify.desktop) */
  desktop?: boolean;
  /** which events are said (notify.on); default: every one */
  on?: readonly string[];
  platform?: Platform;
  /** tests: how a notifier command is started (default: spawned, not waited for) */
  spawn?: (c: NotifyCommand) => void;
  /**
   * the webhook of a run whose session no gateway relays for: sent from this machine (notifyrelay.ts);
   * what it sends is awaited by settleAnnounce before the command exits
   */
  relay?: (n: RunEndNote) => Promise<unknown>;
  /** the relay's sends under way */
  pending?: Promise<unknown>[];
}

/** Start sending a run's webhook from this machine, when it is this machine's to send (o.relay decides). */
export function relayRunEnd(n: RunEndNote, o: AnnounceOptions): void {
  if (o.relay && n.run !== undefined) (o.pending ??= []).push(o.relay(n).catch(() => undefined));
}

/** Wait for the webhooks this command started sending (each bounded: two 10 s attempts at most). */
export async function settleAnnounce(o: AnnounceOptions | undefined): Promise<void> {
  if (o?.pending) await Promise.allSettled(o.pending);
}

/** Start a notifier and let kodama exit without it; a missing one (no notify-send) is no notification. */
function spawnNotifier(c: NotifyCommand): void {
  try {
    const child = new Deno.Command(c.argv[0], {
      args: c.argv.slice(1),
      env: c.env,
      stdin: c.stdin ? "piped" : "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    if (c.stdin) {
      const w = child.stdin.getWriter();
      w.write(new TextEncoder().encode(c.stdin)).then(() => w.close()).catch(() => {});
    }
    child.status.catch(() => {});
    child.unref();
  } catch {
    // no notifier on this machine: the terminal's notification (if any) is all there is
  }
}

/**
 * Say that a run (or a group) ended, on the terminal (when it is a TTY) and the desktop (when asked and
 * there is one). Returns what was said, or undefined when the event is not one of `on`.
 */
export function announceRunEnd(n: RunEndNote, o: AnnounceOptions): string | undefined {
  // the webhook follows the session's own notify.on (its spec), not this machine's
  relayRunEnd(n, o);
  if (o.on && !o.on.includes(n.event)) return undefined;
  const title = noteTitle(n), text = summaryLine(n);
  if (o.terminal?.tty) o.terminal.sink.write(terminalNotification(title, text));
  if (o.desktop) {
    const c = desktopNotifyCommand(o.platform ?? hostPlatform(), title, text);
    if (c) (o.spawn ?? spawnNotifier)(c);
  }
  return text;
}
