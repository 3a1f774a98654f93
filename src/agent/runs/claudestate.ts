/**
 * Claude Code's first-run state for `agent attach`'s interactive CLI (issue 84): its first interactive
 * start is its onboarding (a theme, a check that api.anthropic.com answers, which fails behind a gateway or
 * a base URL) and a question whether to trust the workspace. The session's runs already hold the key and
 * work there (the pod is the sandbox), so both are marked done in the session's home before the CLI
 * starts, once: a file that has them is not written again. The file is read and written by
 * pod/claudestate.sh under envload.sh, so it is the one the CLI reads (CLAUDE_CONFIG_DIR where the
 * container or `session env set` sets it, else HOME), and the merge is done here: no node in the pod (an
 * image with Claude Code's native program may have none; pod/takeover.sh needed node, and without it both
 * dialogs opened). Only those two keys change; a file that is not a JSON object is left alone.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { KubeStreams } from "../../kube/seam.ts";
import { execCapture } from "../../session/access/podexec.ts";
import { PROLOGUE } from "./agent.ts";
import { ENVLOAD_ARGV } from "../presets/presets.ts";
import CLAUDE_STATE_SH from "../pod/claudestate.sh" with { type: "text" };

const SCRIPT = [...PROLOGUE, CLAUDE_STATE_SH].join("\n");

/** `sh -c ENVLOAD kodama-env sh -c CLAUDESTATE kodama-claude-state MODE` (pod/claudestate.sh). */
export function claudeStateArgv(mode: "read" | "write"): string[] {
  return [...ENVLOAD_ARGV, "sh", "-c", SCRIPT, "kodama-claude-state", mode];
}

/** What `claudestate.sh read` printed: the file, the workspace, and the file's text (none when absent). */
export interface ClaudeStateRead {
  file: string;
  workspace: string;
  kind: "none" | "file" | "other";
  text: string;
}

export function parseStateRead(out: string): ClaudeStateRead | undefined {
  const m = /^([^\n]*)\n([^\n]*)\n(none|file|other)\n?/.exec(out);
  if (!m || !m[1] || !m[2]) return undefined;
  return { file: m[1], workspace: m[2], kind: m[3] as ClaudeStateRead["kind"], text: out.slice(m[0].length) };
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The config file's new text with the onboarding done and `workspace` trusted; undefined when both are so
 * already (nothing to write: once) or the text is not a JSON object (not ours to rewrite).
 */
export function withFirstRunDone(text: string | undefined, workspace: string): string | undefined {
  let s: Obj = {};
  if (text !== undefined && text.trim() !== "") {
    try {
      const v = JSON.parse(text);
      if (!isObj(v)) return undefined;
      s = v;
    } catch {
      return undefined;
    }
  }
  const projects = isObj(s.projects) ? s.projects : {};
  const here = isObj(projects[workspace]) ? projects[workspace] as Obj : {};
  if (s.hasCompletedOnboarding === true && here.hasTrustDialogAccepted === true) return undefined;
  const next: Obj = {
    ...s,
    hasCompletedOnboarding: true,
    projects: { ...projects, [workspace]: { ...here, hasTrustDialogAccepted: true } },
  };
  return JSON.stringify(next, null, 2) + "\n";
}

/** Mark Claude Code's first run done in the pod's session home (best effort: the CLI asks if it fails). */
export async function markClaudeFirstRun(kube: KubeStreams, pod: V1Pod): Promise<void> {
  const r = await execCapture(kube, pod, claudeStateArgv("read")).catch(() => undefined);
  const read = r?.code === 0 ? parseStateRead(r.stdout) : undefined;
  if (!read || read.kind === "other") return;
  const next = withFirstRunDone(read.kind === "file" ? read.text : undefined, read.workspace);
  if (next === undefined) return;
  await execCapture(kube, pod, claudeStateArgv("write"), { stdin: new TextEncoder().encode(next) })
    .catch(() => undefined);
}
