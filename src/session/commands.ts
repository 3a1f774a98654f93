/**
 * The session verbs as the CLI calls them: each takes the connected client and the parsed flags, sets
 * up the terminal facts and sinks, and runs one feature function. Returns the exit code.
 */
import type { CloneOptions } from "./volumes/clone.ts";
import type { ListOptions } from "./state/list.ts";
import type { Config } from "../config/schema.ts";
import type { Kube } from "../kube/client.ts";
import type { KubeIdentity, KubeObjects, KubePods, KubeReach, KubeSessions } from "../kube/seam.ts";
import { isTerminal } from "../ui/color.ts";
import { type Sink, stderrSink, stdoutSink } from "../base/sink.ts";
import { usageError } from "../base/errors.ts";
import type { StartIO } from "./lifecycle/start.ts";
import { quote } from "../base/text/escape.ts";

// each verb loads its own feature (a `resume` never loads `start`'s planning, nor `attach` or `list`)
const lifecycle = () => import("./lifecycle/lifecycle.ts");

/** The IO of a start or resume: the repository around `cwd` (default the current directory) and the sinks. */
export async function startIO(
  cwd?: string,
  out: Sink = stdoutSink,
  err: Sink = stderrSink,
): Promise<StartIO> {
  const { findRepo } = await import("../config/paths.ts");
  const repo = await findRepo(cwd);
  // the repository's files (env.dotenvFiles, editor.configDir) resolve, and must stay, under its root:
  // the git root, else the directory of its .kodama.yaml
  const { dirname } = await import("../base/fs/fspath.ts");
  const repoRoot = repo.gitRoot ?? (repo.configFile ? dirname(repo.configFile) : undefined);
  return {
    out,
    err,
    tty: out === stdoutSink && isTerminal("stderr"),
    repoRoot,
    ...(cwd !== undefined ? { cwd } : {}),
  };
}

export async function listCommand(
  kube: KubeObjects & KubeIdentity,
  f: { allNamespaces?: boolean; output?: string; watch?: boolean; complete?: ListOptions["complete"] },
): Promise<number> {
  return await (await import("./state/list.ts")).listCommand(
    kube,
    f.allNamespaces ? undefined : kube.namespace,
    f.output ?? "table",
    {
      watch: f.watch,
      complete: f.complete,
      out: stdoutSink,
      err: stderrSink,
    },
  );
}

export async function attachCommand(
  kube: Kube,
  name: string | undefined,
  f: { command?: string; tty?: boolean; resume?: boolean; container?: string },
  cfg: Config,
): Promise<number> {
  const [{ attachSession }, { resumeSession }] = await Promise.all([
    import("./access/attach.ts"),
    lifecycle(),
  ]);
  return await attachSession(kube, kube.namespace, name, {
    command: f.command,
    ...(f.container !== undefined ? { container: f.container } : {}),
    tty: f.tty === false ? false : undefined,
    shell: cfg.session.shell,
    out: stdoutSink,
    err: stderrSink,
    stdinIsTerminal: isTerminal("stdin"),
    stdoutIsTerminal: isTerminal("stdout"),
    resume: f.resume,
    interactive: isTerminal("stdin") && isTerminal("stderr"),
    confirm: (message) => ask(message, true),
    // the session comes back on stderr (its phases), stdout stays the command's
    bringBack: async (n) =>
      await resumeSession(kube, kube.namespace, n, {}, cfg, { ...await startIO(), out: stderrSink }),
  });
}

async function ask(message: string, dflt: boolean): Promise<boolean> {
  const [{ confirm }, { default: process }] = await Promise.all([
    import("@inquirer/prompts"),
    import("node:process"),
  ]);
  return await confirm({ message, default: dflt }, { output: process.stderr });
}

export async function stopCommand(
  kube: KubeSessions & KubePods & KubeReach,
  name: string,
  f: { wait: boolean },
): Promise<number> {
  return await (await lifecycle()).stopSession(kube, kube.namespace, name, {
    wait: f.wait,
    out: stdoutSink,
    err: stderrSink,
  });
}

export async function resumeCommand(
  kube: Kube,
  name: string,
  f: { timeout?: string; noWait?: boolean },
  cfg: Config,
): Promise<number> {
  return await (await lifecycle()).resumeSession(kube, kube.namespace, name, f, cfg, await startIO());
}

/** The confirm/interactive/sinks of a delete, shared with a group's delete (src/agent/runs/agentcmd.ts). */
export function deleteIO() {
  return {
    interactive: isTerminal("stdin") && isTerminal("stderr"),
    confirm: async (message: string) => {
      const [{ confirm }, { default: process }] = await Promise.all([
        import("@inquirer/prompts"),
        import("node:process"),
      ]);
      return await confirm({ message, default: false }, { output: process.stderr });
    },
    out: stdoutSink,
    err: stderrSink,
  };
}

export async function deleteCommand(
  kube: Kube,
  name: string,
  f: { force?: boolean; purge?: boolean; keepConfig?: boolean },
): Promise<number> {
  return await (await lifecycle()).deleteSession(kube, kube.namespace, name, { ...f, ...deleteIO() });
}

export async function gcCommand(
  kube: Kube,
  f: { allNamespaces?: boolean; dryRun?: boolean; force?: boolean; purge?: boolean },
): Promise<number> {
  const { gcSessions } = await import("./lifecycle/gc.ts");
  return await gcSessions(kube, f.allNamespaces ? undefined : kube.namespace, {
    ...f,
    interactive: isTerminal("stdin") && isTerminal("stderr"),
    confirm: (message) => ask(message, false),
    out: stdoutSink,
    err: stderrSink,
  });
}

export async function pruneCommand(
  connect: (context: string) => Promise<Kube>,
  f: { dryRun: boolean },
): Promise<number> {
  return await (await lifecycle()).pruneStates(connect, {
    dryRun: f.dryRun,
    out: stdoutSink,
    err: stderrSink,
  });
}

export async function getCommand(
  kube: KubeObjects & KubeIdentity,
  name: string,
  format: string,
): Promise<number> {
  return await (await import("./state/get.ts")).getCommand(kube, kube.namespace, name, format, stdoutSink);
}

export async function fetchCommand(
  kube: Kube,
  name: string,
  f: { branch?: string; diff?: boolean; force?: boolean },
): Promise<number> {
  const [{ fetchSession }, { doorGitIfAsked }] = await Promise.all([
    import("./git/fetch.ts"),
    import("./git/doorgit.ts"),
  ]);
  return await doorGitIfAsked(Deno.cwd(), () =>
    fetchSession(kube, kube.namespace, name, {
      ...f,
      // the person at the keyboard: --force also moves a branch that has commits the session lacks
      overwrite: f.force,
      cwd: Deno.cwd(),
      out: stdoutSink,
      err: stderrSink,
    }));
}

const confirmOnStderr = async (message: string) => {
  const [{ confirm }, { default: process }] = await Promise.all([
    import("@inquirer/prompts"),
    import("node:process"),
  ]);
  return await confirm({ message, default: false }, { output: process.stderr });
};

async function copyTimeout(cfg: Config, timeout?: string): Promise<number> {
  const { durationValueMs, parseDuration } = await import("../base/duration.ts");
  return timeout !== undefined
    ? parseDuration(timeout, "--timeout")
    : durationValueMs(cfg.session.readyTimeout, "session.readyTimeout");
}

/** `snapshot create NAME [SNAP] [--to-file FILE] [--force]`. */
export async function snapshotCreateCommand(
  kube: Kube,
  name: string,
  snap: string | undefined,
  f: { toFile?: string; force?: boolean; timeout?: string; portable?: boolean },
  cfg: Config,
): Promise<number> {
  const { createSnapshot } = await import("./volumes/snapshot.ts");
  return await createSnapshot(kube, kube.namespace, name, {
    ...(snap !== undefined ? { snapshot: snap } : {}),
    ...f,
    timeoutMs: await copyTimeout(cfg, f.timeout),
    out: stdoutSink,
    err: stderrSink,
  });
}

export async function snapshotListCommand(
  kube: KubeObjects,
  f: { allNamespaces?: boolean; output: string; session?: string },
): Promise<number> {
  const { listSnapshots } = await import("./volumes/snapshot.ts");
  return await listSnapshots(kube, f.allNamespaces ? undefined : kube.namespace, {
    output: f.output,
    ...(f.session ? { session: f.session } : {}),
    out: stdoutSink,
    err: stderrSink,
  });
}

export async function snapshotDeleteCommand(kube: KubeObjects, snaps: string[]): Promise<number> {
  const { deleteSnapshots } = await import("./volumes/snapshot.ts");
  return await deleteSnapshots(kube, kube.namespace, snaps, { out: stdoutSink });
}

/** `restore NAME SNAP|FILE [--force]`: stops a running session for the copy and resumes it after. */
export async function restoreCommand(
  kube: Kube,
  name: string,
  from: string,
  f: { force?: boolean; timeout?: string },
  cfg: Config,
): Promise<number> {
  const { restoreSnapshot } = await import("./volumes/snapshot.ts");
  return await restoreSnapshot(
    kube,
    kube.namespace,
    name,
    from,
    {
      force: f.force,
      interactive: isTerminal("stdin") && isTerminal("stderr"),
      confirm: confirmOnStderr,
      timeoutMs: await copyTimeout(cfg, f.timeout),
      out: stdoutSink,
      err: stderrSink,
    },
    async () => await (await lifecycle()).resumeSession(kube, kube.namespace, name, f, cfg, await startIO()),
    async () =>
      await (await lifecycle()).stopSession(kube, kube.namespace, name, {
        wait: true,
        out: stderrSink,
        err: stderrSink,
        // restore resumes it once the copy is done
        resumeHint: false,
      }),
  );
}

/**
 * `clone SRC DST [--branch B]`: a new session DST with a copy of SRC's volumes (the storage driver's clone,
 * else through a portable snapshot) and SRC's settings, on its own new branch.
 */
export async function cloneCommand(
  kube: Kube,
  src: string,
  dst: string,
  f: {
    branch?: string;
    timeout?: string;
    keepSnapshot?: boolean;
    portable?: boolean;
    forwardEnv?: CloneOptions["forwardEnv"];
  },
  cfg: Config,
): Promise<number> {
  const { cloneSession } = await import("./volumes/clone.ts");
  return await cloneSession(kube, kube.namespace, src, dst, {
    ...f,
    timeoutMs: await copyTimeout(cfg, f.timeout),
    cfg,
    io: await startIO(),
  });
}

export async function poolEnsureCommand(
  kube: KubeObjects,
  f: {
    size?: string;
    workspaceSize?: string;
    homeSize?: string;
    storageClass?: string;
    image?: string;
    timeout?: string;
    noWait?: boolean;
  },
  cfg: Config,
): Promise<number> {
  const { checkedPoolSize, checkedShape, poolEnsure } = await import("./volumes/pool.ts");
  const { durationValueMs, parseDuration } = await import("../base/duration.ts");
  const size = checkedPoolSize(f.size);
  const shape = checkedShape({
    workspace: f.workspaceSize ?? cfg.defaults.storage.workspace,
    home: f.homeSize ?? cfg.defaults.storage.claudeHome,
    storageClass: f.storageClass ?? cfg.defaults.storage.storageClass,
  });
  const image = (f.image ?? cfg.defaults.image).trim();
  if (!image || /\s/.test(image)) throw usageError(`invalid --image ${quote(f.image ?? cfg.defaults.image)}`);
  const timeoutMs = f.timeout !== undefined
    ? parseDuration(f.timeout, "--timeout")
    : durationValueMs(cfg.session.readyTimeout, "session.readyTimeout");
  const { withInterrupt } = await import("../base/proc/proc.ts");
  // the binder pods pull and land as the config's sessions do
  const { podPlacement } = await import("./spec/scheduling.ts");
  const { resolveScheduling } = await import("./spec/placement.ts");
  const limits = { cpu: cfg.defaults.resources.cpu, memory: cfg.defaults.resources.memory };
  const placement = podPlacement(resolveScheduling({}, cfg, limits).scheduling);
  return await withInterrupt((signal) =>
    poolEnsure(kube, kube.namespace, {
      size,
      shape,
      image,
      placement,
      timeoutMs,
      noWait: f.noWait,
      signal,
      out: stdoutSink,
      err: stderrSink,
    })
  );
}

export async function poolListCommand(
  kube: KubeObjects,
  f: { allNamespaces?: boolean; output?: string },
): Promise<number> {
  const { poolList } = await import("./volumes/pool.ts");
  return await poolList(kube, f.allNamespaces ? undefined : kube.namespace, {
    output: f.output ?? "table",
    out: stdoutSink,
    err: stderrSink,
  });
}

/** `pool drain`: asks on a terminal, as `delete` does; without one it needs --yes. */
export async function poolDrainCommand(kube: KubeObjects, yes = false): Promise<number> {
  const { poolDrain } = await import("./volumes/pool.ts");
  const interactive = isTerminal("stdin") && isTerminal("stderr");
  if (!yes && !interactive) {
    throw usageError("not draining the pool without confirmation: no terminal to ask on", "add --yes (-y)");
  }
  return await poolDrain(kube, kube.namespace, {
    out: stdoutSink,
    err: stderrSink,
    ...(yes ? {} : {
      confirm: async (message: string) => {
        const [{ confirm }, { default: process }] = await Promise.all([
          import("@inquirer/prompts"),
          import("node:process"),
        ]);
        return await confirm({ message, default: false }, { output: process.stderr });
      },
    }),
  });
}
