/**
 * The thin terminal driver: a custom `@inquirer/core` prompt that feeds key presses to the pure state machine
 * (`state.ts`) and draws `render.ts`'s lines on stderr, so stdout stays clean for data.
 *
 * inquirer owns the terminal: raw mode, the readline key decoder, redraws, Ctrl-C and restoring the
 * terminal on every way out (Enter, Esc, Ctrl-C, errors thrown while drawing; outside signals abort it
 * through its AbortSignal). Resize redraws (SIGWINCH).
 *
 * readline also edits its own line buffer on every key (before our handler runs); ours wins: after each key we
 * set readline's line and cursor to the query on screen and its caret, which is how inquirer knows where to put
 * the terminal cursor (on the caret). With colour the caret is drawn as a reverse-video cell and the terminal
 * cursor is hidden (a block cursor on a reversed cell would cancel it out); inquirer shows it again on exit.
 */
import process from "node:process";
import readline from "node:readline";
import { createPrompt, useEffect, useKeypress, useRef, useState } from "@inquirer/core";
import { ExitCode, KodamaError } from "../base/errors.ts";
import { queryView, render } from "./render.ts";
import {
  acceptedItems,
  type Action,
  addItems,
  type Key,
  onKey,
  type PickerItem,
  type PickerState,
  removeItems,
  setViewport,
} from "./state.ts";

/** Live updates while the picker is open. */
export type LiveEvent<T> = { type: "upsert"; items: PickerItem<T>[] } | { type: "remove"; ids: string[] };

export interface DriveOptions<T> {
  preview?: (item: PickerItem<T>) => string[];
  color?: boolean;
  /** subscribe to live updates; return an unsubscribe function */
  live?: (push: (e: LiveEvent<T>) => void) => () => void;
  /** rows the picker may use at most (default: the terminal height - 1) */
  maxHeight?: number;
  /** called once after the first draw (used to warm up the matcher) */
  onIdle?: () => void;
}

interface ReadlineKey {
  name?: string;
  sequence?: string;
  ctrl?: boolean;
  meta?: boolean;
  shift?: boolean;
}

/**
 * Map a readline key event to the state machine's keys. node:readline's decoder (which @inquirer/core's
 * useKeypress hands us) names the sequences: CSI D/C and SS3 D/C -> left/right; CSI 1;5D/C (xterm) and
 * SS3 d/c (rxvt) -> left/right with ctrl; CSI 1;3D/C -> with meta; CSI 1;2D/C -> with shift; ESC b/f ->
 * b/f with meta; CSI 3~ -> delete; ESC DEL -> backspace with meta; control bytes -> the letter with ctrl.
 */
export function toKey(k: ReadlineKey): Key | undefined {
  const name = k.name ?? "";
  if (k.ctrl) {
    switch (name) {
      case "c":
        return "ctrl-c";
      case "u":
        return "ctrl-u";
      case "w":
        return "ctrl-w";
      case "a":
        return "ctrl-a";
      case "n":
        return "ctrl-n";
      case "p":
        return "ctrl-p";
      case "b":
        return "ctrl-b";
      case "f":
        return "ctrl-f";
      case "e":
        return "ctrl-e";
      case "k":
        return "ctrl-k";
      case "d":
        return "ctrl-d";
      case "h":
        return "backspace";
      case "j":
      case "m":
        return "enter";
      case "left":
        return "ctrl-left";
      case "right":
        return "ctrl-right";
    }
  }
  if (k.meta) {
    switch (name) {
      case "b":
        return "alt-b";
      case "f":
        return "alt-f";
      case "backspace":
        return "alt-backspace";
    }
  }
  switch (name) {
    case "left":
    case "right":
      // Alt-Left/Right and Shift-Left/Right move by word (fzf binds shift-left/right to backward/forward-word)
      if (k.meta || k.shift) return name === "left" ? "alt-b" : "alt-f";
      return name;
    case "delete":
      return "delete";
    case "return":
    case "enter":
      return "enter";
    case "escape":
      return "escape";
    case "backspace":
      return "backspace";
    case "up":
    case "down":
    case "pageup":
    case "pagedown":
    case "home":
    case "end":
      return name;
    case "tab":
      return k.shift ? "shift-tab" : "tab";
  }
  const seq = k.sequence ?? "";
  if (seq === "\x1f") return "ctrl-/";
  if (seq === "\x1b[H" || seq === "\x1bOH" || seq === "\x1b[1~") return "home";
  if (seq === "\x1b[F" || seq === "\x1bOF" || seq === "\x1b[4~") return "end";
  if (k.ctrl || k.meta || !seq || seq.startsWith("\x1b")) return undefined;
  // deno-lint-ignore no-control-regex
  const text = seq.replace(/[\x00-\x1f\x7f]/g, "");
  return text ? { text } : undefined;
}

function terminalSize(maxHeight?: number): { width: number; height: number } {
  return liveTerminalSize(maxHeight) ?? { width: 79, height: Math.max(4, Math.min(maxHeight ?? 23, 23)) };
}

/** The picker's size for the terminal as it is now; undefined when there is no terminal to ask. */
function liveTerminalSize(maxHeight?: number): { width: number; height: number } | undefined {
  let size;
  try {
    size = Deno.consoleSize();
  } catch {
    return undefined;
  }
  const height = Math.max(4, Math.min(maxHeight ?? size.rows - 1, size.rows - 1));
  // one column less than the terminal: writing into the last column makes some terminals wrap
  return { width: Math.max(20, size.columns - 1), height };
}

interface Config<T> {
  initial: PickerState<T>;
  opts: DriveOptions<T>;
}

type Answer<T> = { items: PickerItem<T>[] } | { aborted: true };

const prompt = createPrompt(<T>(config: Config<T>, done: (v: Answer<T>) => void): [string, string] => {
  let [state, setState] = useState<PickerState<T>>(config.initial);
  const [finished, setFinished] = useState(false);
  const latest = useRef(state);
  latest.current = state;
  const rlRef = useRef<ReadlineLine | undefined>(undefined);

  // resize: redraw for the new size
  useEffect(() => {
    const onResize = () => {
      const { width, height } = terminalSize(config.opts.maxHeight);
      // the terminal has re-wrapped the old frame for the new width (a 120-column row is two at 70), so
      // it no longer spans the rows inquirer erases before the next frame: the rest stayed on screen. Clear
      // the screen and draw the frame from the top, as a full-screen fzf does.
      process.stderr.write("\x1b[2J\x1b[H");
      setState(setViewport(latest.current, width, height));
    };
    try {
      Deno.addSignalListener("SIGWINCH", onResize);
    } catch {
      return;
    }
    return () => Deno.removeSignalListener("SIGWINCH", onResize);
  }, []);

  // live list: batch events and apply them to the latest state
  useEffect(() => {
    if (!config.opts.live) return;
    let queue: LiveEvent<T>[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      timer = undefined;
      let s = latest.current;
      // one addItems per run of upserts (each re-matches the query), one removeItems per run of removals
      for (let k = 0; k < queue.length;) {
        const type = queue[k].type;
        const items: PickerItem<T>[] = [];
        const ids: string[] = [];
        for (; k < queue.length && queue[k].type === type; k++) {
          const e = queue[k];
          if (e.type === "upsert") items.push(...e.items);
          else ids.push(...e.ids);
        }
        s = type === "upsert" ? addItems(s, items) : removeItems(s, ids);
      }
      queue = [];
      if (s !== latest.current) setState(s);
    };
    const unsubscribe = config.opts.live((e) => {
      queue.push(e);
      timer ??= setTimeout(flush, 30);
    });
    return () => {
      if (timer !== undefined) clearTimeout(timer);
      unsubscribe();
    };
  }, []);

  useEffect(() => {
    if (config.opts.onIdle) setTimeout(config.opts.onIdle, 0);
  }, []);

  // readline closes itself on Ctrl-D with an empty line (EOF), which would leave the prompt hanging; the
  // state machine decides what Ctrl-D does, so readline gets to see a line with something to delete
  // (this listener runs before readline's own).
  useEffect((rl) => {
    const r = rl as unknown as ReadlineLine;
    // from now on every draw syncs readline's line first; the first draw happened without it
    rlRef.current = r;
    if (syncLine(r, latest.current, !!config.opts.color)) setState({ ...latest.current });
    const guard = (_s: unknown, k: ReadlineKey | undefined) => {
      if (k?.ctrl && k.name === "d" && r.line === "") {
        r.line = " ";
        r.cursor = 0;
      }
    };
    rl.input.prependListener("keypress", guard);
    return () => {
      rl.input.removeListener("keypress", guard);
    };
  }, []);

  useKeypress((event, rl) => {
    const key = toKey(event as ReadlineKey);
    const r = rl as unknown as ReadlineLine;
    const color = !!config.opts.color;
    let next = latest.current;
    let action: Action = "none";
    if (key) ({ state: next, action } = onKey(latest.current, key));
    // put readline's buffer back to our query: it is what inquirer places the terminal cursor by
    const moved = syncLine(r, next, color);
    if (action === "abort") {
      setFinished(true);
      done({ aborted: true });
      return;
    }
    if (action === "accept") {
      setFinished(true);
      done({ items: acceptedItems(next) });
      return;
    }
    // readline moved the terminal cursor on its own (a key we ignore, or a caret already at the edge):
    // redraw, which puts it back on the caret
    setState(next === latest.current && moved ? { ...next } : next);
  });

  if (finished) return ["", ""];
  // every frame is laid out for the terminal's size now, whatever triggered it: a frame for the old size
  // drawn between a shrink and its SIGWINCH (a live-list update, a key) would wrap and leave rows behind
  const now = liveTerminalSize(config.opts.maxHeight);
  if (now && (now.width !== state.width || now.height !== state.height)) {
    state = setViewport(state, now.width, now.height);
    latest.current = state;
  }
  const color = !!config.opts.color;
  // inquirer reads readline's line right after this function returns, to place the terminal cursor
  if (rlRef.current) syncLine(rlRef.current, state, color);
  const lines = render(state, { color, preview: config.opts.preview });
  // plain text has its trailing blanks cut; inquirer needs them (a query ending in a space, the prompt's
  // own trailing space) to put the cursor after them
  const full = state.prompt + queryView(state).text;
  const first = color ? HIDE_CURSOR + lines[0] : full.startsWith(lines[0]) ? full : lines[0];
  return [first, lines.slice(1).join("\n")];
});

const HIDE_CURSOR = "\x1b[?25l";

export interface ReadlineLine {
  line: string;
  cursor: number;
}

/**
 * Make readline's line the query text on screen (plus the caret cell drawn after it with colour) and its
 * cursor the caret (UTF-16 units, as readline counts). inquirer subtracts the line from the prompt line to
 * find the prompt, then puts the terminal cursor at prompt + line[0, cursor). True when anything changed.
 */
export function syncLine(r: ReadlineLine, s: PickerState<unknown>, color: boolean): boolean {
  const { text, caret } = queryView(s);
  const chars = [...text];
  const line = text + (color && caret >= chars.length ? " " : "");
  const cursor = chars.slice(0, caret).join("").length;
  const changed = r.line !== line || r.cursor !== cursor;
  r.line = line;
  r.cursor = cursor;
  return changed;
}

/**
 * Run the picker on the terminal (stdin keys, stderr drawing). Resolves with the accepted items;
 * throws KodamaError(exit 130) on Esc / Ctrl-C.
 */
export async function drive<T>(
  initial: PickerState<T>,
  opts: DriveOptions<T> = {},
): Promise<PickerItem<T>[]> {
  const { width, height } = terminalSize(opts.maxHeight);
  const start = setViewport(initial, width, height);
  // readline waits 500 ms after a lone ESC for the rest of an escape sequence; terminals send sequences in
  // one write, so 50 ms is plenty and makes Esc feel instant. The first keypress decoder installed on stdin
  // wins (inquirer's readline reuses it), and Deno's readline only reads this timeout at install time.
  readline.emitKeypressEvents(process.stdin, { escapeCodeTimeout: 50 } as unknown as readline.Interface);
  // A signal from outside (kill -INT/-TERM, a closed terminal) cancels the prompt through its AbortSignal, so
  // inquirer restores the terminal before we exit (by default Deno would die with the terminal still raw).
  // Through node:process, not Deno.addSignalListener: inquirer's signal-exit re-raises a signal that has no
  // other `process` listener (its own count), and the process then died of it (exit 143 for SIGTERM) when that
  // won the race with our abort — one whole run in a few under load.
  const ac = new AbortController();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  const onSignal = () => ac.abort();
  for (const sig of signals) {
    try {
      process.on(sig, onSignal);
    } catch { /* not supported here */ }
  }
  try {
    const answer = await prompt({ initial: start, opts } as Config<unknown>, {
      output: process.stderr,
      clearPromptOnDone: true,
      signal: ac.signal,
    });
    const a = answer as Answer<T>;
    if ("aborted" in a) throw new KodamaError("picker aborted", ExitCode.INTERRUPTED);
    return a.items;
  } catch (e) {
    if (e instanceof KodamaError) throw e;
    const name = (e as Error)?.name;
    if (name === "ExitPromptError" || name === "AbortPromptError" || name === "CancelPromptError") {
      throw new KodamaError("picker aborted", ExitCode.INTERRUPTED);
    }
    throw e;
  } finally {
    for (const sig of signals) {
      try {
        process.off(sig, onSignal);
      } catch { /* not registered */ }
    }
  }
}
