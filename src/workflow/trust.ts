/**
 * Trust: a repo workflow that asks for permissions — itself or any workflow it calls — runs local
 * code with them, so the person running it confirms it once. Trust is pinned to the sha256 of
 * everything that can run: the workflow file, every module in the checked graph of every script
 * step, and every child workflow reachable through `workflow` steps (the same, recursively), in
 * `$KODAMA_HOME/trust.yaml`; any edit asks again. The prompt (and the refusal without a TTY) shows
 * the union of the permissions of everything reachable. Built-in and home workflows are trusted
 * (you installed them); a run that reaches no permissions needs no trust (it only uses steps kodama
 * implements).
 */
import { join } from "../fspath.ts";
import { displayPath, kodamaHome } from "../config/paths.ts";
import { acquireLock, atomicWrite } from "../config/atomic.ts";
import { ExitCode, KodamaError } from "../errors.ts";
import type { LoadedWorkflow } from "./file.ts";
import { hasPermissions, type Permissions, permSummary } from "./model.ts";
import { preparedOf, prepareWorkflow, reachable, shownPath } from "./prepare.ts";

export interface TrustEntry {
  sha256: string;
  trustedAt: string;
  permissions: string;
}

export function trustFile(): string {
  return join(kodamaHome(), "trust.yaml");
}

function asksForPermissions(lw: LoadedWorkflow): boolean {
  return (lw.source === "repo" || lw.source === "file") && hasPermissions(lw.workflow.permissions);
}

/** The workflows of a run that ask for permissions and are not trusted by where they come from. */
function asking(lw: LoadedWorkflow): LoadedWorkflow[] {
  return (preparedOf(lw) ? reachable(lw) : [lw]).filter(asksForPermissions);
}

/** Does running `lw` need trust? (call prepareWorkflow first to include what it calls) */
export function needsTrust(lw: LoadedWorkflow): boolean {
  return asking(lw).length > 0;
}

/** The union of the permissions of everything reachable that asks for some. */
export function unionPermissions(lw: LoadedWorkflow): Permissions {
  const out: Record<string, string[]> = {};
  for (const w of asking(lw)) {
    for (const [k, v] of Object.entries(w.workflow.permissions ?? {})) {
      for (const x of v ?? []) if (!(out[k] ??= []).includes(x)) out[k].push(x);
    }
  }
  return out as Permissions;
}

/**
 * sha256 over everything that can run: the workflow text, the checked graph of each of its scripts
 * (every module's path and content), and each workflow it calls, recursively.
 */
export async function contentHash(lw: LoadedWorkflow): Promise<string> {
  const p = await prepareWorkflow(lw);
  const parts: string[] = [];
  for (const w of reachable(lw)) {
    parts.push(`workflow\0${w.file}\0${w.text}`);
    const graphs = [...(preparedOf(w)?.graphs ?? p.graphs).entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
    for (const [path, g] of graphs) parts.push(`script\0${path}\0${g.root}\0${g.hash}`);
  }
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(parts.join("\n")));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function readTrust(): Promise<Record<string, TrustEntry>> {
  try {
    const text = await Deno.readTextFile(trustFile());
    const { default: YAML } = await import("yaml"); // only when there is a trust file to read
    const data = YAML.parse(text);
    return (data?.workflows ?? {}) as Record<string, TrustEntry>;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return {};
    throw new KodamaError(
      `cannot read ${trustFile()}: ${(e as Error).message}`,
      ExitCode.FAILED,
      "fix or delete the file",
    );
  }
}

/** Read-modify-write under the state lock, so concurrent trusts (parallel `workflow` steps) all land. */
export async function recordTrust(lw: LoadedWorkflow, sha256: string): Promise<void> {
  await Deno.mkdir(kodamaHome(), { recursive: true });
  const release = await acquireLock(trustFile());
  try {
    const all = await readTrust();
    all[lw.file] = {
      sha256,
      trustedAt: new Date().toISOString(),
      permissions: permSummary(unionPermissions(lw)),
    };
    const { default: YAML } = await import("yaml");
    const text =
      "# workflows you trusted: path -> sha256 of the file and its scripts (kodama run --trust)\n" +
      YAML.stringify({ workflows: all });
    await atomicWrite(trustFile(), text);
  } finally {
    await release();
  }
}

export async function isTrusted(lw: LoadedWorkflow): Promise<boolean> {
  const entry = (await readTrust())[lw.file];
  return !!entry && entry.sha256 === (await contentHash(lw));
}

export interface TrustOptions {
  /** --trust given */
  trust?: boolean;
  interactive: boolean;
  /** asks the person; resolves true to trust */
  confirm?: (message: string) => Promise<boolean>;
  /** where to show the permissions before asking */
  note?: (line: string) => void;
}

/** What a workflow and the workflows it calls ask for, one line each (prompt and --trust). */
function describeAsks(lw: LoadedWorkflow): string[] {
  const lines: string[] = [];
  for (const w of asking(lw)) {
    const who = w === lw
      ? `workflow ${w.name} (${shownPath(w.file)})`
      : `  called: ${w.name} (${shownPath(w.file)})`;
    lines.push(`${who}: ${permSummary(w.workflow.permissions ?? {})}`);
  }
  return lines;
}

/** Make sure the workflow may run; throws exit 2 naming --trust when it may not. */
export async function ensureTrusted(lw: LoadedWorkflow, o: TrustOptions): Promise<void> {
  await prepareWorkflow(lw);
  if (!needsTrust(lw)) return;
  const sha = await contentHash(lw);
  const entry = (await readTrust())[lw.file];
  if (entry?.sha256 === sha) return;
  const perms = permSummary(unionPermissions(lw));
  const changed = entry ? " (changed since you trusted it)" : "";
  const scripts = reachable(lw).reduce((n, w) => n + (preparedOf(w)?.graphs.size ?? 0), 0);
  const modules = reachable(lw).reduce(
    (n, w) => n + [...(preparedOf(w)?.graphs.values() ?? [])].reduce((m, g) => m + g.modules.length, 0),
    0,
  );
  const pinned = `${reachable(lw).length} workflow file(s), ${scripts} script(s), ${modules} module(s)`;
  if (o.trust) {
    await recordTrust(lw, sha);
    // --trust without a terminal says what it trusted: nothing is trusted silently
    o.note?.(`trusted ${lw.name}${changed}: ${perms} (pinned: ${pinned}, sha256 ${sha.slice(0, 12)})`);
    for (const l of describeAsks(lw)) o.note?.(`  ${l}`);
    return;
  }
  if (o.interactive && o.confirm) {
    o.note?.(`workflow ${lw.name} (${lw.file})${changed} asks for permissions:`);
    for (const [k, v] of Object.entries(unionPermissions(lw))) {
      if (v?.length) o.note?.(`  ${k}: ${v.join(", ")}`);
    }
    for (const l of describeAsks(lw)) o.note?.(`  ${l}`);
    o.note?.(`  (pins ${pinned})`);
    if (await o.confirm(`Trust this version of ${lw.name} and run it?`)) {
      await recordTrust(lw, sha);
      return;
    }
    throw new KodamaError(`workflow ${lw.name} not trusted; nothing was run`, ExitCode.USAGE);
  }
  throw new KodamaError(
    `workflow ${lw.name} (${lw.file}) is not trusted${changed}; it asks for permissions: ${perms}${
      asking(lw).some((w) => w !== lw)
        ? ` (with ${asking(lw).filter((w) => w !== lw).map((w) => w.name).join(", ")}, which it calls)`
        : ""
    }`,
    ExitCode.USAGE,
    `read it, then run again with --trust to trust this version (pinned by content hash in ${
      displayPath(trustFile())
    })`,
  );
}
