/**
 * The host API scripts call over postMessage. Every call is scoped to the workflow's targets:
 * a script can list the pods of a declared target, exec in / read logs of pods that belong to one,
 * and nothing else. Credentials never leave this side.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { RunHandle } from "./types.ts";
import { podView } from "./types.ts";
import { memorySink } from "../base/sink.ts";

export function hostApi(
  run: RunHandle,
  signal: AbortSignal,
  resolvedTargets: () => string[],
): (method: string, args: unknown[]) => Promise<unknown> {
  const targetNames = Object.keys(run.workflow.targets ?? {});

  const checkTarget = (name: unknown): string => {
    if (typeof name !== "string" || !targetNames.includes(name)) {
      throw new Error(
        `unknown target ${JSON.stringify(name)}: this workflow declares ${
          targetNames.join(", ") || "no targets"
        }`,
      );
    }
    return name;
  };

  /**
   * A pod reference must name a pod of a target that is already resolved (by an earlier step, an
   * expression, or this script's listPods/execAll). Only those are looked at: resolving the others
   * here would run pickers and API lists for targets the script never asked about.
   */
  const findPod = async (ref: unknown): Promise<{ pod: V1Pod; container?: string }> => {
    const r = ref as { name?: string; namespace?: string } | string;
    const [ns, name] = typeof r === "string"
      ? (r.includes("/") ? r.split("/", 2) : [undefined, r])
      : [r?.namespace, r?.name];
    if (typeof name !== "string" || !name) {
      throw new Error(`not a pod: ${JSON.stringify(ref)} (pass a pod from listPods, or its name)`);
    }
    const resolved = new Set(resolvedTargets());
    const names = targetNames.filter((t) => resolved.has(t));
    for (const t of names) {
      const rt = await run.target(t); // resolved already: the engine's cached result, no new request
      const pod = rt.pods.find((p) => p.metadata?.name === name && (!ns || p.metadata?.namespace === ns));
      if (pod) return { pod, container: rt.container };
    }
    const pending = targetNames.filter((t) => !resolved.has(t));
    throw new Error(
      `pod ${JSON.stringify(ns ? `${ns}/${name}` : name)} is not in a resolved target of this workflow (${
        names.length ? `resolved: ${names.join(", ")}` : "no target is resolved yet"
      })${
        pending.length ? `; call listPods(${JSON.stringify(pending[0])}) first to use another target` : ""
      }`,
    );
  };

  /**
   * An option that must be a whole number from `min` up (undefined when not given): a negative or zero
   * `timeoutMs` would fire at once (Node warns on stderr), a zero `parallel` would run nothing.
   */
  const whole = (o: Record<string, unknown>, key: string, min: number, max: number): number | undefined => {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      throw new Error(`exec: ${key} must be a whole number from ${min} to ${max} (got ${JSON.stringify(v)})`);
    }
    return v;
  };

  const execIn = async (
    pods: V1Pod[],
    container: string | undefined,
    command: unknown,
    o: Record<string, unknown> = {},
  ) => {
    if (!Array.isArray(command) || command.some((c) => typeof c !== "string") || command.length === 0) {
      throw new Error("exec: command must be a non-empty array of strings");
    }
    if (o === null || typeof o !== "object" || Array.isArray(o)) {
      throw new Error("exec: options must be an object ({ timeoutMs, parallel, container, stdin })");
    }
    const parallel = whole(o, "parallel", 1, 1000);
    const timeoutMs = whole(o, "timeoutMs", 1, 2_147_483_647);
    if (o.container !== undefined && typeof o.container !== "string") {
      throw new Error("exec: container must be a string");
    }
    const { fanout } = await import("../pods/fanout.ts");
    const kube = await run.kube();
    const r = await fanout(kube, pods, {
      command: command as string[],
      container: (o.container as string) ?? container,
      maxParallel: parallel ?? 16,
      timeoutMs,
      stdin: typeof o.stdin === "string" ? new TextEncoder().encode(o.stdin) : undefined,
      out: memorySink(),
      err: memorySink(),
      capture: true,
      summary: false,
      prefix: false,
      signal,
    });
    return r.results.map((p) => ({
      pod: p.pod,
      namespace: p.namespace,
      stdout: p.stdout ?? "",
      stderr: p.stderr ?? "",
      exitCode: p.exitCode,
      error: p.error,
    }));
  };

  return async (method, args) => {
    switch (method) {
      case "listPods": {
        const t = await run.target(checkTarget(args[0]));
        return t.pods.map((p) => podView(p, t.container));
      }
      case "exec": {
        const { pod, container } = await findPod(args[0]);
        return (await execIn([pod], container, args[1], (args[2] ?? {}) as Record<string, unknown>))[0];
      }
      case "execAll": {
        const t = await run.target(checkTarget(args[0]));
        return await execIn(t.pods, t.container, args[1], (args[2] ?? {}) as Record<string, unknown>);
      }
      case "logs": {
        const { pod, container } = await findPod(args[0]);
        const o = (args[1] ?? {}) as { tail?: number; container?: string };
        if (o.tail !== undefined && (typeof o.tail !== "number" || !Number.isInteger(o.tail) || o.tail < 0)) {
          throw new Error(`logs: tail must be a whole number from 0 (got ${JSON.stringify(o.tail)})`);
        }
        const { streamLogs } = await import("../pods/logs.ts");
        const out = memorySink();
        await streamLogs(await run.kube(), [pod], {
          container: o.container ?? container,
          tail: o.tail ?? 100,
          out,
          signal,
          prefix: false,
        });
        return out.text();
      }
      default:
        throw new Error(`unknown host API method ${JSON.stringify(method)}`);
    }
  };
}
