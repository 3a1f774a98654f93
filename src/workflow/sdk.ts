/**
 * The script-step SDK. A script is a module whose default export is an async function receiving a
 * `StepContext` and returning the step's outputs:
 *
 * ```ts
 * // .kodama/scripts/count.ts
 * import { defineStep } from "./sdk.ts"; // or copy the types: the import is optional
 * export default defineStep(async ({ host, params }) => {
 *   const pods = await host.listPods("drive");
 *   return { count: pods.length };
 * });
 * ```
 *
 * Scripts run in a Worker holding only the workflow's `permissions`. The cluster is reachable only
 * through `host`, scoped to the workflow's targets; the kubeconfig is never visible to a script.
 * This module is types plus two tiny helpers: it imports nothing and needs no permissions.
 */

export interface Pod {
  name: string;
  namespace: string;
  container?: string;
  phase?: string;
  ip?: string;
  node?: string;
  labels: Record<string, string>;
}

export interface ExecResult {
  pod: string;
  namespace: string;
  stdout: string;
  stderr: string;
  exitCode: number | null;
  error?: string;
}

export interface Host {
  /** pods of one of the workflow's targets */
  listPods(target: string): Promise<Pod[]>;
  /** run argv in one pod (a pod of one of the workflow's targets: name, "ns/name" or a Pod) */
  exec(
    pod: string | Pod,
    command: string[],
    /** timeoutMs: a whole number of milliseconds from 1 (anything else is refused) */
    opts?: { container?: string; stdin?: string; timeoutMs?: number },
  ): Promise<ExecResult>;
  /** run argv in every pod of a target */
  execAll(
    target: string,
    command: string[],
    /** parallel: pods at once, 1 to 1000 (default 16); timeoutMs: per pod, from 1 */
    opts?: { container?: string; parallel?: number; timeoutMs?: number; stdin?: string },
  ): Promise<ExecResult[]>;
  /** recent log lines of a pod of one of the workflow's targets */
  logs(pod: string | Pod, opts?: { tail?: number; container?: string }): Promise<string>;
  /** a progress line on stderr */
  log(...args: unknown[]): void;
}

export interface StepContext<P = Record<string, unknown>, W = Record<string, unknown>> {
  host: Host;
  /** the workflow's params, typed and defaulted */
  params: P;
  /** the step's `with:` values, expressions resolved */
  inputs: W;
  /** workflow + step `env` (not the process environment: read that with Deno.env and permissions.env) */
  env: Record<string, string>;
  /** targets resolved so far: `targets.drive.pods` */
  targets: Record<string, { pods: Pod[] }>;
  step: { id: string; workflow: string };
}

export type Outputs = Record<string, unknown> | void | undefined;

/** Identity helper that gives a script's function its types. */
export function defineStep<P = Record<string, unknown>, W = Record<string, unknown>>(
  fn: (ctx: StepContext<P, W>) => Promise<Outputs> | Outputs,
): (ctx: StepContext<P, W>) => Promise<Outputs> | Outputs {
  return fn;
}

/** Throw this to fail the step with a one-line message (no stack). */
export class StepError extends Error {
  override name = "StepError";
}
