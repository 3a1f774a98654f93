/**
 * The I/O side of a session's git: the local repository behind `--repo .`, the clone init
 * container's log (git's own error lines for a failed start; the branch and commit it reports), and
 * recording that branch and commit on the workspace volume, where `list` and `get` read them.
 */
import { isAbsolute, resolve } from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import type { Kube } from "../kube/client.ts";
import { usageError } from "../errors.ts";
import { spawnTool } from "../proc.ts";
import type { Sink } from "../base/sink.ts";
import {
  ANNOTATION_BRANCH,
  ANNOTATION_COMMIT,
  cloneErrorLines,
  GIT_CONTAINER,
  parseCloneReport,
} from "./git.ts";
import { namesOf, type SessionSpec } from "./spec.ts";

/** Run git locally; stdout trimmed, or undefined when it fails. Never given a secret. */
export async function localGit(
  args: string[],
  cwd: string,
): Promise<{ ok: boolean; out: string; err: string }> {
  const r = await spawnTool("git", args, "--repo . and session fetch need it: install git", {
    cwd,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { ok: r.success, out: dec.decode(r.stdout).trim(), err: dec.decode(r.stderr).trim() };
}

/**
 * `--repo .`: the local repository's `origin` URL (a relative path made absolute) and its current
 * branch. Exit 2 outside a repository, without an origin, or on a detached HEAD without --branch.
 */
export async function localRepo(cwd: string): Promise<{ url: string; branch?: string; root: string }> {
  const top = await localGit(["rev-parse", "--show-toplevel"], cwd);
  if (!top.ok) throw usageError("--repo . needs a git repository here", `${cwd} is not inside one`);
  const origin = await localGit(["remote", "get-url", "origin"], top.out);
  if (!origin.ok || !origin.out) {
    throw usageError(
      `--repo .: the repository ${top.out} has no remote "origin"`,
      "add one (git remote add origin URL) or give the URL: --repo URL",
    );
  }
  let url = origin.out;
  // a local path origin (/srv/repo.git, ../repo.git) is taken as seen from here
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !/^[^/:]+:/.test(url) && !isAbsolute(url)) {
    url = resolve(top.out, url);
  }
  const branch = await localGit(["symbolic-ref", "--short", "-q", "HEAD"], top.out);
  return { url, ...(branch.ok && branch.out ? { branch: branch.out } : {}), root: top.out };
}

/** The clone container's log (the last run's when it is restarting); "" when it cannot be read. */
export async function cloneLog(kube: Kube, pod: V1Pod, tailLines = 200): Promise<string> {
  const ns = pod.metadata?.namespace ?? kube.namespace;
  const name = pod.metadata?.name ?? "";
  const { streamLog } = await import("../kube/logs.ts");
  const read = async (previous: boolean) => {
    const chunks: Uint8Array[] = [];
    await streamLog(kube, ns, name, GIT_CONTAINER, { tailLines, previous }, (c) => {
      chunks.push(c);
    });
    return new TextDecoder().decode(await new Blob(chunks as BlobPart[]).arrayBuffer());
  };
  try {
    const text = await read(false);
    if (text.trim()) return text;
  } catch { /* a container waiting to restart: its previous run has the log */ }
  try {
    return await read(true);
  } catch {
    return "";
  }
}

/** Is the pod failing because the clone failed? Then its exit code. */
export function cloneFailed(pod: V1Pod | undefined): number | undefined {
  const st = pod?.status?.initContainerStatuses?.find((c) => c.name === GIT_CONTAINER);
  const t = st?.state?.terminated ?? st?.lastState?.terminated;
  return t && t.exitCode !== 0 ? t.exitCode : undefined;
}

/** The error text for a failed clone: git's own lines from the init container's log. */
export async function cloneFailure(kube: Kube, spec: SessionSpec, pod: V1Pod): Promise<string | undefined> {
  const code = cloneFailed(pod);
  if (code === undefined || !spec.git) return undefined;
  const lines = cloneErrorLines(await cloneLog(kube, pod, 50));
  return `the clone of ${spec.git.repo} failed (container ${GIT_CONTAINER}, exit code ${code})${
    lines.length ? `:\n${lines.map((l) => `  ${l}`).join("\n")}` : ""
  }`;
}

/**
 * After the pod is ready: read what the clone container reported (branch and commit, or that the
 * clone was skipped) and record it on the workspace volume. Failures to record are warnings.
 */
export async function recordClone(
  kube: Kube,
  spec: SessionSpec,
  io: { err: Sink },
): Promise<{ branch?: string; commit?: string } | undefined> {
  if (!spec.git) return undefined;
  const n = namesOf(spec);
  let pod: V1Pod;
  try {
    pod = await kube.getObject<V1Pod>("pods", spec.namespace, n.pod);
  } catch {
    return undefined;
  }
  const log = await cloneLog(kube, pod);
  const rep = parseCloneReport(log);
  const skipped = /clone skipped/.test(log);
  if (rep) {
    io.err.write(
      skipped
        ? `workspace kept (no new clone): branch ${rep.branch ?? "(detached)"} at ${
          rep.commit?.slice(0, 12) ?? "?"
        }\n`
        : `cloned ${spec.git.repo}: branch ${rep.branch ?? "(detached)"} at ${
          rep.commit?.slice(0, 12) ?? "(empty)"
        }\n`,
    );
    try {
      await kube.patchObject("persistentvolumeclaims", spec.namespace, n.workspacePVC, {
        metadata: {
          annotations: {
            [ANNOTATION_BRANCH]: rep.branch ?? null,
            [ANNOTATION_COMMIT]: rep.commit ?? null,
          },
        },
      });
    } catch (e) {
      io.err.write(`warning: could not record the branch on ${n.workspacePVC}: ${(e as Error).message}\n`);
    }
  } else if (skipped) {
    io.err.write(`workspace kept: it was not empty, so nothing was cloned\n`);
  }
  return rep;
}
