/**
 * The host API scripts call over postMessage. Every call is scoped to the workflow's targets:
 * a script can list the pods of a declared target, exec in / read logs of pods that belong to one,
 * and nothing else. Credentials never leave this side.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { RunHandle } from "./types.ts";
import { podView } from "./types.ts";
import { memorySink } from "../ui/sink.ts";

export function hostApi(
  run: RunHandle,
  signal: AbortSignal,
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

  /** a pod reference must name a pod of one of the workflow's targets */
  const findPod = async (ref: unknown): Promise<{ pod: V1Pod; container?: string }> => {
    const r = ref as { name?: string; namespace?: string } | string;
    const [ns, name] = typeof r === "string"
      ? (r.includes("/") ? r.split("/", 2) : [undefined, r])
      : [r?.namespace, r?.name];
    for (const t of targetNames) {
      const rt = await run.target(t).catch(() => undefined);
      const pod = rt?.pods.find((p) => p.metadata?.name === name && (!ns || p.metadata?.namespace === ns));
      if (pod) return { pod, container: rt!.container };
    }
    throw new Error(`pod ${JSON.stringify(name)} is not in any target of this workflow`);
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
    const { fanout } = await import("../pods/fanout.ts");
    const kube = await run.kube();
    const r = await fanout(kube, pods, {
      command: command as string[],
      container: (o.container as string) ?? container,
      maxParallel: (o.parallel as number) ?? 16,
      timeoutMs: o.timeoutMs as number | undefined,
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
