/**
 * Where the `workflows.paths` setting points: from a repo's `.kodama.yaml` against its repository's root,
 * from yours (`~/.kodama/config.yaml`) against `~/.kodama`. Shared by workflow discovery (which reads them)
 * and sync (which never writes a workflow there locally). Pure: no file system.
 */
import { dirname, resolve } from "../base/fs/fspath.ts";
import { expandHome, hostPlatform } from "../base/platform.ts";
import type { ResolvedConfig } from "./load.ts";

export interface WorkflowPathDirs {
  /** absolute, in the order the setting lists them */
  dirs: string[];
  /** a repo's config named them (their workflows are repo workflows, and must lie inside `root`) */
  fromRepo: boolean;
  /** the repository's root (its git root, else the config file's directory, else `cwd`) */
  root: string;
}

export function workflowPathDirs(cfg: ResolvedConfig, cwd: string): WorkflowPathDirs {
  const fromRepo = Object.entries(cfg.sources).some(([k, v]) =>
    k.startsWith("workflows.paths") && v === "repo"
  );
  const root = cfg.files.gitRoot ?? (cfg.files.repo ? dirname(cfg.files.repo) : cwd);
  const base = fromRepo ? root : dirname(cfg.files.global);
  const p = hostPlatform();
  return {
    dirs: (cfg.values.workflows?.paths ?? []).map((d) => resolve(base, expandHome(d, p))),
    fromRepo,
    root,
  };
}
