/** `cp`: copy files between this machine and the pod(s) of a target. `pod:/path` names a path in the pod. */
import type { StepKind } from "../types.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import { sep } from "node:path";
import { describePods, podNames } from "./common.ts";
import { isDotGit } from "../../base/platform.ts";

export interface CpSpec {
  target: string;
  from: string;
  to: string;
}

const inPod = (p: string) => p.startsWith("pod:");

export const cp: StepKind<CpSpec> = {
  name: "cp",
  summary: "copy files to or from a target's pods; write pod:/path for the pod side",
  spec: ({ z }) =>
    z.object({
      target: z.string().describe("a key of `targets`"),
      from: z.string().describe("source: a local path, or pod:/path"),
      to: z.string().describe("destination: a local path, or pod:/path"),
    }).strict(),
  targets: (s) => [s.target],
  check(s) {
    return inPod(s.from) === inPod(s.to)
      ? [{ message: "exactly one of `from` and `to` must be a pod path (pod:/path)" }]
      : [];
  },
  async plan(s, ctx) {
    const t = await ctx.run.target(s.target);
    return `cp ${s.from} -> ${s.to} (${describePods(t)})`;
  },
  async run(s, ctx) {
    const t = await ctx.run.target(s.target);
    if (inPod(s.from) === inPod(s.to)) {
      throw new KodamaError("cp: exactly one side must be pod:/path", ExitCode.USAGE);
    }
    const kube = await ctx.run.kube();
    const { copy } = await import("../../pods/cp.ts");
    const pod = t.pods[0];
    const namespace = pod.metadata?.namespace ?? kube.namespace;
    const remote = (p: string) => `${namespace}/${pod.metadata?.name}:${p.slice(4)}`;
    const upload = inPod(s.to);
    // the grants still land where they did when the run was trusted (sandbox/pins.ts)
    await ctx.run.checkPins();
    // the local side: inside the repository or a granted path, after symlinks (sandbox/confine.ts);
    // what is sent to a pod is read, what comes back is written
    const localPath = await ctx.run.confine(
      upload ? s.from : s.to,
      upload ? "read" : "write",
      `cp ${upload ? "from" : "to"}`,
    );
    // used as the real path it was checked as: a link planted on the way after the check (say by a `cp`
    // step running alongside) is refused at the time of use (CopyOptions.resolved), never followed
    const { realLanding } = await import("../../base/fs/realpath.ts");
    const checked = await realLanding(localPath);
    const local = (_p: string) => checked;
    // a pod's archive never lands in a .git directory (hooks and config there run code locally)
    const refuse = (target: string) =>
      target.split(sep).some(isDotGit) ? "a workflow never writes into .git" : undefined;
    if (upload && t.pods.length > 1) {
      // into every pod of the target
      const r = await copy(kube, local(s.from), s.to.slice(4), {
        container: t.container,
        namespace,
        pods: t.pods,
        signal: ctx.signal,
        err: ctx.err,
        resolved: true,
      });
      const bad = r?.results.filter((x) => x.exitCode !== 0) ?? [];
      return {
        ok: bad.length === 0,
        error: bad.length
          ? `${bad.length} of ${t.pods.length} pods failed: ${bad[0].pod}: ${bad[0].error}`
          : undefined,
        outputs: { from: local(s.from), to: s.to, pods: podNames(t.pods) },
      };
    }
    // downloads (and single-pod uploads) use the target's first pod
    const src = upload ? local(s.from) : remote(s.from);
    const dst = upload ? remote(s.to) : local(s.to);
    await copy(kube, src, dst, {
      container: t.container,
      namespace,
      signal: ctx.signal,
      err: ctx.err,
      refuse,
      resolved: true,
    });
    // outputs name the sides as written (pod:/path), local paths absolute, and the pod(s) used
    return {
      ok: true,
      outputs: { from: upload ? src : s.from, to: upload ? s.to : dst, pods: podNames(t.pods.slice(0, 1)) },
    };
  },
};
