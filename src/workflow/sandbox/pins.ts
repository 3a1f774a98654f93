/**
 * What a grant names, pinned (issue 26 class 2). Trust is given to what the prompt showed, so the
 * trust hash covers not only the workflow's text but what its grants and commands resolve to:
 *
 * - every `read`/`write` grant as the real path it lands on (symlinks at the path or any parent
 *   resolved): a committed `docs -> ~/.ssh` shows as `./docs → /home/you/.ssh`, and re-pointing the
 *   link after trust changes the hash (a new prompt);
 * - every repo file a `local` step or a `run` grant executes — a `run: [./build.sh]` entry, or a
 *   command argument that is a file of the repository (`sh ./build.sh`, `python3 tool.py`) — by its
 *   real path and sha256: an edited script is a new prompt; a path of the repository that is a link to
 *   a program outside it (`./tool -> /bin/echo`) by where it lands: re-pointing it is a new prompt.
 *
 * The pins are taken again right before each `local` and `script` step: anything re-targeted or
 * edited since the run was trusted (by an earlier step, or by anyone) stops the step.
 */
import { relative } from "node:path";
import { ExitCode, KodamaError } from "../../errors.ts";
import type { LoadedWorkflow } from "../file.ts";
import { flattenSteps } from "../model.ts";
import { inside, landing } from "./confine.ts";
import { expandPath, looksLikePath } from "./permissions.ts";

export interface Pin {
  /** what kind of thing is pinned: a grant, or a file that runs */
  kind: "read" | "write" | "run" | "file";
  /** as written in the workflow */
  written: string;
  /** the real path it lands on */
  real: string;
  /** sha256 of the file (files that run) */
  sha256?: string;
}

async function sha256File(path: string): Promise<string | undefined> {
  try {
    const st = await Deno.stat(path);
    if (!st.isFile || st.size > 64 << 20) {
      return st.isFile ? `size:${st.size}:${st.mtime?.getTime()}` : undefined;
    }
    const d = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
    return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
  } catch {
    return undefined;
  }
}

/** Programs that run the file named by their first operand (`sh build.sh`, `python3 tool.py`). */
const INTERPRETER =
  /^(sh|bash|dash|zsh|ksh|fish|busybox|python[0-9.]*|node|nodejs|deno|bun|ruby|perl|php|lua|tclsh|pwsh|powershell|cmd|env|xargs|make|gmake|just|task)(\.exe)?$/i;

/**
 * The words of a `local` command that name code that runs: the program itself (when written as a path),
 * and an interpreter's script — its first operand, unless code is given inline (`-c`, `-e`) — and, for
 * `env`/`xargs`, whatever program follows.
 */
export function programsIn(argv: string[]): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const prog = argv[i];
    if (looksLikePath(prog) || i > 0) out.push(prog);
    const base = prog.replace(/^.*[\\/]/, "");
    if (!INTERPRETER.test(base)) break;
    i++;
    // options of the interpreter; inline code means no script file
    let inline = false;
    while (i < argv.length && argv[i].startsWith("-")) {
      if (/^-(c|e|-eval|-command|Command)$/i.test(argv[i])) inline = true;
      if (/^-(f|-file|-makefile)$/i.test(argv[i]) && i + 1 < argv.length) out.push(argv[i + 1]);
      i++;
    }
    if (inline || i >= argv.length) break;
    // env VAR=x prog …: skip assignments
    while (i < argv.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(argv[i])) i++;
  }
  return out;
}

/** The pins of one workflow: its grants' real paths and the repo files its commands run. */
export async function pinsOf(lw: LoadedWorkflow, root: string): Promise<Pin[]> {
  const out: Pin[] = [];
  const p = lw.workflow.permissions ?? {};
  for (const kind of ["read", "write"] as const) {
    for (const written of p[kind] ?? []) {
      out.push({ kind, written, real: await landing(expandPath(written, lw.baseDir)) });
    }
  }
  const rootReal = await landing(root);
  const runFile = async (kind: "run" | "file", written: string, base: string) => {
    if (written.includes("${{")) return;
    const abs = expandPath(written, base);
    const real = await landing(abs);
    if (inside(real, rootReal)) {
      const sha256 = await sha256File(real);
      if (sha256 !== undefined) out.push({ kind, written, real, sha256 });
    } else if (real !== abs && (inside(abs, root) || inside(abs, rootReal))) {
      // a link of the repository to a program outside it (`./tool -> /bin/sh`): the link is the repo's to
      // re-point, so where it lands is pinned; the program itself is the person's (an upgrade changes nothing)
      out.push({ kind, written, real });
    } // the person's own programs (`/usr/bin/curl`, `~/bin/x`) are not the repo's to change
  };
  for (const r of p.run ?? []) if (looksLikePath(r)) await runFile("run", r, lw.baseDir);
  for (const { step, kind } of flattenSteps(lw.workflow.steps)) {
    if (kind !== "local") continue;
    const spec = step.local as { command?: unknown[]; cwd?: string };
    const cwd = typeof spec.cwd === "string" && !spec.cwd.includes("${{")
      ? expandPath(spec.cwd, lw.baseDir)
      : lw.baseDir;
    const argv = (spec.command ?? []).filter((a): a is string => typeof a === "string");
    for (const a of programsIn(argv)) await runFile("file", a, cwd);
  }
  return out;
}

export function pinText(pins: Pin[]): string {
  return pins.map((x) => `${x.kind}\0${x.written}\0${x.real}\0${x.sha256 ?? ""}`).sort().join("\n");
}

/** A grant for the trust prompt: `./docs → /home/you/.ssh` when it lands elsewhere than it reads. */
export function shownGrant(pin: Pin, baseDir: string): string {
  const abs = expandPath(pin.written, baseDir);
  return abs === pin.real ? pin.written : `${pin.written} → ${pin.real}`;
}

/** The pins a run was trusted with, by workflow (set when trust is checked). */
const trustedPins = new WeakMap<LoadedWorkflow, { root: string; text: string; pins: Pin[] }>();

export function rememberPins(lw: LoadedWorkflow, root: string, pins: Pin[]): void {
  trustedPins.set(lw, { root, text: pinText(pins), pins });
}

/**
 * Right before a `local` or `script` step: the grants and files the run was trusted with must still
 * be what they were (exit 4 naming what changed).
 */
export async function checkPins(lw: LoadedWorkflow): Promise<void> {
  const was = trustedPins.get(lw);
  if (!was) return;
  const now = await pinsOf(lw, was.root);
  if (pinText(now) === was.text) return;
  // what was pinned must be unchanged; a file that did not exist then (a build's output) is new, not changed
  const current = new Map(now.map((x) => [`${x.kind}\0${x.written}`, x]));
  const i = was.pins.findIndex((b) => {
    const x = current.get(`${b.kind}\0${b.written}`);
    return !x || x.real !== b.real || x.sha256 !== b.sha256;
  });
  if (i < 0) return;
  const b = was.pins[i], moved = current.get(`${b.kind}\0${b.written}`) ?? { ...b, real: "(gone)" };
  const what = b.kind === "read" || b.kind === "write"
    ? `permissions.${b.kind} "${b.written}" now lands on ${moved.real}`
    : b.sha256 === undefined || moved.real !== b.real
    ? `"${b.written}" now lands on ${moved.real} (it landed on ${b.real})`
    : `"${b.written}" (${relative(was.root, b.real) || b.real}) was changed`;
  throw new KodamaError(
    `workflow ${lw.name}: ${what} since the run was trusted; nothing more runs`,
    ExitCode.FORBIDDEN,
    "run it again to see (and trust) what it names now",
  );
}
