/** Small helpers shared by the integration tests. */
import type { V1Pod } from "@kubernetes/client-node";

/**
 * A one-container busybox pod running `command` (default `sleep 3600`), gone 1 s after a delete;
 * `neverReady` gives it a readiness probe on port 9, where nothing in the pod listens.
 */
export function busyboxPod(
  name: string,
  o: { labels?: Record<string, string>; command?: string[]; neverReady?: boolean } = {},
): V1Pod {
  return {
    metadata: { name, labels: o.labels ?? {} },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [{
        name: "main",
        image: "busybox:1.36",
        command: o.command ?? ["sleep", "3600"],
        ...(o.neverReady
          ? { readinessProbe: { tcpSocket: { port: 9 as unknown as never }, periodSeconds: 1 } }
          : {}),
      }],
    },
  };
}

/** `tmux -L sock ...args` against a private tmux server; its stdout (a failure is not an error: callers poll). */
export async function tmux(sock: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("tmux", {
    args: ["-L", sock, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout);
}
