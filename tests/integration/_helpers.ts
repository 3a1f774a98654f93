/** Small helpers shared by the integration tests. */
import type { V1Pod } from "@kubernetes/client-node";
import { KODAMA_TEST_IMAGE } from "../cluster/harness.ts";

/**
 * A one-container pod of the test image (busybox) running `command` (default `sleep 3600`), gone 1 s after a delete;
 * `neverReady` gives it a readiness probe on port 9, where nothing in the pod listens.
 */
export function busyboxPod(
  name: string,
  o: {
    labels?: Record<string, string>;
    command?: string[];
    neverReady?: boolean;
    /** mount an emptyDir here (a pod's own directory: never the shared host /tmp of the test server) */
    dir?: string;
  } = {},
): V1Pod {
  return {
    metadata: { name, labels: o.labels ?? {} },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [{
        name: "main",
        image: KODAMA_TEST_IMAGE,
        command: o.command ?? ["sleep", "3600"],
        ...(o.neverReady
          ? { readinessProbe: { tcpSocket: { port: 9 as unknown as never }, periodSeconds: 1 } }
          : {}),
        ...(o.dir ? { volumeMounts: [{ name: "data", mountPath: o.dir }] } : {}),
      }],
      ...(o.dir ? { volumes: [{ name: "data", emptyDir: {} }] } : {}),
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

/**
 * A pod serving HTTP on port 8080 (named `http`) with busybox `httpd`, every GET of `/` answered with
 * the pod's name — as the demo world's api pods, on the test server and on a real cluster alike.
 */
export function httpPod(name: string, labels: Record<string, string> = {}): V1Pod {
  return {
    metadata: { name, labels },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [{
        name: "web",
        image: KODAMA_TEST_IMAGE,
        command: ["sh", "-c", 'echo "$POD_NAME" > /www/index.html && exec httpd -f -p 8080 -h /www'],
        env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
        ports: [{ name: "http", containerPort: 8080 }],
        readinessProbe: { tcpSocket: { port: "http" as unknown as never }, periodSeconds: 1 },
        volumeMounts: [{ name: "www", mountPath: "/www" }],
      }],
      volumes: [{ name: "www", emptyDir: {} }],
    },
  };
}
