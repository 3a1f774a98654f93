/** Pure builders for pod/container status objects (shapes as the kubelet reports them). */
import { createHash } from "node:crypto";
import { parseImage } from "./images.ts";

export type ContainerState =
  | { waiting: { reason: string; message?: string } }
  | { running: { startedAt: string } }
  | {
    terminated: {
      exitCode: number;
      signal?: number;
      reason: string;
      message?: string;
      startedAt?: string | null;
      finishedAt?: string | null;
      containerID?: string;
    };
  };

export interface ContainerView {
  name: string;
  image: string;
  state: ContainerState;
  lastState?: ContainerState;
  ready: boolean;
  started: boolean;
  restartCount: number;
  containerID?: string;
}

/** containerd's image ID: the full repository and a digest (docker.io/library/busybox@sha256:…). */
export function imageID(image: string): string {
  const repo = parseImage(image)?.repo ?? image.split("@")[0].replace(/:[^/:]+$/, "");
  const digest = createHash("sha256").update(image).digest("hex");
  return `${repo}@sha256:${digest}`;
}

export function newContainerID(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return "kodama://" + [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export function containerStatus(c: ContainerView): Record<string, unknown> {
  const s: Record<string, unknown> = {
    name: c.name,
    state: c.state,
    lastState: c.lastState ?? {},
    ready: c.ready,
    restartCount: c.restartCount,
    image: c.image,
    imageID: c.containerID ? imageID(c.image) : "",
    started: c.started,
  };
  if (c.containerID) s.containerID = c.containerID;
  return s;
}

export type Phase = "Pending" | "Running" | "Succeeded" | "Failed";

export interface ConditionInput {
  type: string;
  status: boolean;
  reason?: string;
  message?: string;
}

/** Keeps lastTransitionTime stable until a condition's status actually changes. */
export class Conditions {
  private times = new Map<string, { status: string; time: string }>();

  build(list: ConditionInput[], now: string): Record<string, unknown>[] {
    return list.map((c) => {
      const status = c.status ? "True" : "False";
      let t = this.times.get(c.type);
      if (!t || t.status !== status) {
        t = { status, time: now };
        this.times.set(c.type, t);
      }
      const out: Record<string, unknown> = {
        type: c.type,
        status,
        lastProbeTime: null,
        lastTransitionTime: t.time,
      };
      if (c.reason) out.reason = c.reason;
      if (c.message) out.message = c.message;
      return out;
    });
  }
}

/** Pod phase from container outcomes once nothing will be restarted any more. */
export function finalPhase(exitCodes: number[]): Phase {
  return exitCodes.every((c) => c === 0) ? "Succeeded" : "Failed";
}

/** Exponential restart back-off in ms: 1s, 2s, 4s, ... capped at 10s. */
export function backoffMs(attempt: number): number {
  return Math.min(10_000, 1000 * 2 ** Math.max(0, attempt));
}
