/**
 * Trust: a repo workflow that asks for permissions — itself or any workflow it calls — runs local
 * code with them, so the person running it confirms it once. Trust is pinned to the sha256 of
 * everything that can run: the workflow file, every module in the checked graph of every script
 * step, and every child workflow reachable through `workflow` steps (the same, recursively), in
 * `$KODAMA_HOME/trust.yaml`; any edit asks again. The prompt (and the refusal without a TTY) shows
 * the union of the permissions of everything reachable. Built-in and home workflows are trusted
 * (you installed them) — unless an untrusted workflow calls them: a call runs with the caller's
 * trust, so a home workflow's permissions reached from a repo workflow are asked for like the
 * repo's own. A repo workflow that takes the name of a built-in or home workflow needs trust whatever
 * it asks for. A run that reaches no permissions needs no trust (it only uses steps kodama
 * implements, confined to the repository: sandbox/confine.ts).
 */
import { join } from "../base/fs/fspath.ts";
import { displayPath, kodamaHome } from "../config/paths.ts";
import { ExitCode, KodamaError } from "../base/errors.ts";
import { escapeControl } from "../base/text/escape.ts";

/** One field from a workflow or the repo, as one line: its own newline cannot start a forged line. */
const esc = (s: string) => escapeControl(s);
import type { LoadedWorkflow } from "./file.ts";
import { hasPermissions, type Permissions, permSummary, stemOf, untrustedSource } from "./model.ts";
import { type Prepared, reachable, shownPath } from "./prepare.ts";

export interface TrustEntry {
  sha256: string;
  trustedAt: string;
  permissions: string;
}

export function trustFile(): string {
  return join(kodamaHome(), "trust.yaml");
}

/** One workflow of a run that needs the person's trust, and why. */
interface Ask {
  /** the workflow as checked (its file, its repository root) */
  p: Prepared;
  /** a repo workflow taking the name of a built-in or home workflow: which one */
  shadows?: string;
}

/**
 * The name a repo (or file) workflow takes from a workflow the person trusts: a built-in, or a
 * workflow in their home. `kodama run NAME` then runs the repo's file instead.
 */
export async function shadowed(w: LoadedWorkflow): Promise<string | undefined> {
  if (!untrustedSource(w)) return undefined;
  const { BUILTINS } = await import("./discovery.ts");
  for (const name of new Set([w.name, stemOf(w.file)])) {
    if ((BUILTINS as readonly string[]).includes(name)) return `the built-in ${name}`;
    for (const ext of ["yaml", "yml"]) {
      const f = join(kodamaHome(), "workflows", `${name}.${ext}`);
      try {
        if ((await Deno.stat(f)).isFile) return `your home workflow ${name} (${displayPath(f)})`;
      } catch { /* not there */ }
    }
  }
  return undefined;
}

/**
 * The workflows of a run that need trust: those that ask for permissions and are not trusted by
 * where they come from — a repo or file workflow, and any home or built-in workflow called (directly
 * or not) from one: a call from untrusted code runs with the caller's trust, never the callee's —
 * and a repo workflow that shadows a built-in or home workflow (whatever it asks for).
 */
async function askingOf(root: Prepared): Promise<Ask[]> {
  const out: Ask[] = [];
  const seen = new Map<Prepared, boolean>();
  const visit = async (p: Prepared, untrustedAbove: boolean) => {
    const w = p.lw;
    const untrusted = untrustedAbove || untrustedSource(w);
    const before = seen.get(p);
    if (before === true || (before === false && !untrusted)) return;
    seen.set(p, untrusted);
    const shadows = await shadowed(w);
    if (!out.some((a) => a.p === p) && (shadows || (untrusted && hasPermissions(w.workflow.permissions)))) {
      out.push({ p, shadows });
    }
    for (const c of p.children.values()) await visit(c, untrusted);
  };
  await visit(root, false);
  return out;
}

/** Does running the checked workflow `p` (prepareWorkflow) need trust, for itself or what it calls? */
export async function needsTrust(p: Prepared): Promise<boolean> {
  return (await askingOf(p)).length > 0;
}

/** The union of the permissions of everything that needs trust. */
function unionOf(asks: Ask[]): Permissions {
  const out: Record<string, string[]> = {};
  for (const { p: { lw: w } } of asks) {
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
export async function contentHash(p: Prepared): Promise<string> {
  const { pinsOf, pinText, rememberPins } = await import("./sandbox/pins.ts");
  const parts: string[] = [];
  for (const { lw: w, root, graphs: checked } of reachable(p)) {
    parts.push(`workflow\0${w.file}\0${w.text}`);
    // what its grants land on and the repo files its commands run (sandbox/pins.ts)
    const pins = await pinsOf(w, root);
    rememberPins(w, root, pins);
    parts.push(`pins\0${w.file}\0${pinText(pins)}`);
    const graphs = [...checked.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
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
export async function recordTrust(lw: LoadedWorkflow, sha256: string, permissions: string): Promise<void> {
  await Deno.mkdir(kodamaHome(), { recursive: true });
  const { acquireLock, atomicWrite } = await import("../config/atomic.ts"); // only when trust is given
  const release = await acquireLock(trustFile());
  try {
    const all = await readTrust();
    all[lw.file] = {
      sha256,
      trustedAt: new Date().toISOString(),
      permissions,
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

export async function isTrusted(p: Prepared): Promise<boolean> {
  const entry = (await readTrust())[p.lw.file];
  return !!entry && entry.sha256 === (await contentHash(p));
}

export interface TrustOptions {
  /** --trust given */
  trust?: boolean;
  /** --trust-hash: trust only this version (its sha256 as trustStatus gave it); any other is refused */
  trustHash?: string;
  interactive: boolean;
  /** asks the person; resolves true to trust */
  confirm?: (message: string) => Promise<boolean>;
  /** where to show the permissions before asking */
  note?: (line: string) => void;
}

/**
 * The grants that land somewhere else than they read (through a symlink) and the repo files that
 * run, as the prompt shows them: trust is given to these real paths and contents.
 */
async function pinLinesOf(asks: Ask[]): Promise<string[]> {
  const { pinsOf, shownGrant } = await import("./sandbox/pins.ts");
  const { inside } = await import("./sandbox/confine.ts");
  const { realLanding } = await import("../base/fs/realpath.ts");
  const lines: string[] = [];
  for (const { p: { lw: w, root } } of asks) {
    const rootReal = await realLanding(root);
    for (const pin of await pinsOf(w, root)) {
      if (pin.kind === "read" || pin.kind === "write") {
        const shown = shownGrant(pin, w.baseDir);
        const out = !inside(pin.real, rootReal);
        // a grant that leaves the repository is said so, however it leaves: a symlink, `..`, an absolute path
        if (shown !== pin.written || out) {
          const how = shown !== pin.written ? ", through a symlink" : "";
          lines.push(`${pin.kind}: ${esc(shown)}${out ? ` (outside the repository${how})` : ""}`);
        }
      } else if (pin.kind === "tree") {
        lines.push(
          `code it can reach: ${esc(pin.written)} (${pin.files} entries, sha256 ${pin.sha256?.slice(0, 12)})`,
        );
      } else if (pin.sha256 === undefined) {
        lines.push(`runs ${esc(pin.written)} → ${esc(pin.real)} (outside the repository, through a symlink)`);
      } else lines.push(`runs ${esc(pin.written)} (${esc(pin.real)}, sha256 ${pin.sha256.slice(0, 12)})`);
    }
  }
  return [...new Set(lines)];
}

/** What a workflow and the workflows it calls ask for, one line each (prompt and --trust). */
function describeAsks(lw: LoadedWorkflow, asks: Ask[]): string[] {
  return asks.map(({ p: { lw: w }, shadows }) => {
    const who = w === lw
      ? `workflow ${esc(w.name)} (${esc(shownPath(w.file))})`
      : `  called: ${esc(w.name)} (${untrustedSource(w) ? "" : `${w.source}: `}${esc(shownPath(w.file))})`;
    return `${who}: ${permSummary(w.workflow.permissions ?? {})}${
      shadows ? `; it replaces ${esc(shadows)}` : ""
    }`;
  });
}

/** What `workflow show -o json` tells a front end (the VS Code extension's modal dialog) about trust. */
export interface TrustStatus {
  /** running it needs the person's trust (it or a workflow it calls asks for permissions) */
  needed: boolean;
  /** this version is trusted already (pinned by content hash) */
  trusted: boolean;
  /** it was trusted, and has changed since */
  changed: boolean;
  /** the union of the permissions asked for, by kind (run, read, write, net, env) */
  permissions: Record<string, string[]>;
  /** the same lines the terminal prompt shows: each workflow, what it asks for, the pinned files */
  lines: string[];
  /** the content hash to pass to `run --trust-hash` (trust exactly the version shown) */
  sha256?: string;
}

/** The trust question for a run of `lw`, as data; records nothing. */
export async function trustStatus(p: Prepared): Promise<TrustStatus> {
  const lw = p.lw;
  const asks = await askingOf(p);
  if (!asks.length) return { needed: false, trusted: true, changed: false, permissions: {}, lines: [] };
  const sha = await contentHash(p);
  const entry = (await readTrust())[lw.file];
  const union = unionOf(asks) as Record<string, string[]>;
  return {
    needed: true,
    trusted: entry?.sha256 === sha,
    changed: !!entry && entry.sha256 !== sha,
    permissions: Object.fromEntries(Object.entries(union).filter(([, v]) => v?.length)),
    lines: [...describeAsks(lw, asks), ...(await pinLinesOf(asks))],
    sha256: sha,
  };
}

/** Make sure the workflow may run; throws exit 2 naming --trust when it may not. */
export async function ensureTrusted(p: Prepared, o: TrustOptions): Promise<void> {
  const lw = p.lw;
  const asks = await askingOf(p);
  if (!asks.length) return;
  const sha = await contentHash(p);
  const entry = (await readTrust())[lw.file];
  if (entry?.sha256 === sha) return;
  const union = unionOf(asks);
  const perms = permSummary(union);
  const changed = entry ? " (changed since you trusted it)" : "";
  const all = reachable(p);
  const scripts = all.reduce((n, w) => n + w.graphs.size, 0);
  const modules = all.reduce(
    (n, w) => n + [...w.graphs.values()].reduce((m, g) => m + g.modules.length, 0),
    0,
  );
  const pinned = `${all.length} workflow file(s), ${scripts} script(s), ${modules} module(s)`;
  const pinLines = await pinLinesOf(asks);
  if (o.trustHash !== undefined && o.trustHash.toLowerCase() !== sha) {
    throw new KodamaError(
      `workflow ${lw.name} (${lw.file}) is not the version shown to you: its content hash is now ${
        sha.slice(0, 12)
      }, not ${o.trustHash.slice(0, 12)}; nothing was run`,
      ExitCode.USAGE,
      "it (or a file it runs) changed since it was shown to you: read it again, then trust the new version",
    );
  }
  if (o.trust || o.trustHash !== undefined) {
    await recordTrust(lw, sha, perms);
    // --trust without a terminal says what it trusted: nothing is trusted silently
    o.note?.(`trusted ${esc(lw.name)}${changed}: ${perms} (pinned: ${pinned}, sha256 ${sha.slice(0, 12)})`);
    for (const l of describeAsks(lw, asks)) o.note?.(`  ${l}`);
    for (const l of pinLines) o.note?.(`  ${l}`);
    return;
  }
  if (o.interactive && o.confirm) {
    o.note?.(
      `workflow ${esc(lw.name)} (${esc(lw.file)})${changed} asks for ${
        asks.some((a) => a.shadows) ? "trust" : "permissions"
      }:`,
    );
    // each workflow's line names what it asks for; the union is said only when several ask (else twice)
    if (asks.length > 1) {
      for (const [k, v] of Object.entries(union)) {
        if (v?.length) o.note?.(`  ${k}: ${v.map(esc).join(", ")}`);
      }
    }
    for (const l of describeAsks(lw, asks)) o.note?.(`  ${l}`);
    for (const l of pinLines) o.note?.(`  ${l}`);
    o.note?.(`  (pins ${pinned})`);
    if (await o.confirm(`Trust this version of ${escapeControl(lw.name)} and run it?`)) {
      await recordTrust(lw, sha, perms);
      return;
    }
    throw new KodamaError(`workflow ${esc(lw.name)} not trusted; nothing was run`, ExitCode.USAGE);
  }
  const others = asks.filter((a) => a.p !== p).map((a) => esc(a.p.lw.name));
  const shadow = asks.find((a) => a.p === p)?.shadows;
  throw new KodamaError(
    `workflow ${esc(lw.name)} (${esc(lw.file)}) is not trusted${changed}; ${
      shadow ? `it replaces ${esc(shadow)}; ` : ""
    }it asks for permissions: ${perms}${others.length ? ` (with ${others.join(", ")}, which it calls)` : ""}${
      pinLines.length ? `\n  ${pinLines.join("\n  ")}` : ""
    }`,
    ExitCode.USAGE,
    `read it, then run again with --trust to trust this version (pinned by content hash in ${
      displayPath(trustFile())
    })`,
  );
}
