/**
 * Trust: a repo workflow whose `permissions` are non-empty runs local code with those permissions,
 * so the person running it confirms it once. Trust is pinned to the sha256 of the workflow file
 * plus every script module it names, in `$KODAMA_HOME/trust.yaml`; any edit asks again.
 * Built-in and home workflows are trusted (you installed them); workflows without permissions
 * need no trust (they reach the cluster only through steps kodama implements).
 */
import YAML from "yaml";
import { join } from "node:path";
import { kodamaHome } from "../config/paths.ts";
import { acquireLock, atomicWrite } from "../config/atomic.ts";
import { ExitCode, KodamaError } from "../errors.ts";
import type { LoadedWorkflow } from "./load.ts";
import { flattenSteps } from "./load.ts";
import { hasPermissions } from "./schema.ts";
import { permSummary, scriptPath } from "./steps/script.ts";

export interface TrustEntry {
  sha256: string;
  trustedAt: string;
  permissions: string;
}

export function trustFile(): string {
  return join(kodamaHome(), "trust.yaml");
}

export function needsTrust(lw: LoadedWorkflow): boolean {
  return (lw.source === "repo" || lw.source === "file") && hasPermissions(lw.workflow.permissions);
}

/** sha256 over the workflow text and each script module (path + content). */
export async function contentHash(lw: LoadedWorkflow): Promise<string> {
  const parts: string[] = [lw.text];
  for (const { step, kind } of flattenSteps(lw.workflow.steps)) {
    if (kind !== "script") continue;
    const path = scriptPath(lw.file, (step.script as { module: string }).module);
    let content = "";
    try {
      content = await Deno.readTextFile(path);
    } catch { /* a missing module fails at run time; hash what exists */ }
    parts.push(`\0${path}\0${content}`);
  }
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(parts.join("")));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function readTrust(): Promise<Record<string, TrustEntry>> {
  try {
    const data = YAML.parse(await Deno.readTextFile(trustFile()));
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
      permissions: permSummary(lw.workflow.permissions ?? {}),
    };
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

/** Make sure the workflow may run; throws exit 2 naming --trust when it may not. */
export async function ensureTrusted(lw: LoadedWorkflow, o: TrustOptions): Promise<void> {
  if (!needsTrust(lw)) return;
  const sha = await contentHash(lw);
  const entry = (await readTrust())[lw.file];
  if (entry?.sha256 === sha) return;
  const perms = permSummary(lw.workflow.permissions ?? {});
  const changed = entry ? " (changed since you trusted it)" : "";
  if (o.trust) {
    await recordTrust(lw, sha);
    return;
  }
  if (o.interactive && o.confirm) {
    o.note?.(`workflow ${lw.name} (${lw.file})${changed} asks for permissions:`);
    for (const [k, v] of Object.entries(lw.workflow.permissions ?? {})) {
      if (v?.length) o.note?.(`  ${k}: ${v.join(", ")}`);
    }
    if (await o.confirm(`Trust this version of ${lw.name} and run it?`)) {
      await recordTrust(lw, sha);
      return;
    }
    throw new KodamaError(`workflow ${lw.name} not trusted; nothing was run`, ExitCode.USAGE);
  }
  throw new KodamaError(
    `workflow ${lw.name} (${lw.file}) is not trusted${changed}; it asks for permissions: ${perms}`,
    ExitCode.USAGE,
    "read it, then run again with --trust to trust this version (pinned by content hash in ~/.kodama/trust.yaml)",
  );
}
