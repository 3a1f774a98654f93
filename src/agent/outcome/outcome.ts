/**
 * A run's outcome, in one vocabulary for every preset: the classifier is `pod/outcome.js`, the same file
 * the pod's runner (pod/runner.js) decides its retries with, so the laptop and the pod always agree.
 * This module gives it types and the words tables show.
 */
import * as js from "../pod/outcome.js";

export const OUTCOME_CLASSES = [
  "succeeded",
  "no-changes",
  "denied",
  "overloaded",
  "rate-limited",
  "quota",
  "auth",
  "model",
  "budget",
  "stalled",
  "unreachable",
  "interrupted",
  "failed",
] as const;
export type OutcomeClass = typeof OUTCOME_CLASSES[number] | "running";

export interface Outcome {
  class: OutcomeClass;
  /** kodama continues the run after it (overloaded, rate-limited, unreachable) */
  retryable: boolean;
  /** when the API said it would take requests again */
  retryAt?: string;
  message: string;
}

/** A run waiting on its model API: the agent's own retry, or kodama's wait before a continuation. */
export interface Waiting {
  /** `429`, `529`, `network`, or the class kodama waits out (`overloaded`) */
  reason: string;
  /** what it waits on, said instead of `reason`: `gateway cannot reach api.example.com (ECONNREFUSED)` */
  via?: string;
  until?: string;
  attempt?: number;
  of?: number;
}

/** What the classifier gathers from a log (pod/outcome.js's newFacts). */
export interface Facts {
  agent?: string;
  models: string[];
  apiRetries: number;
  netRetries: number;
  overloads: number;
  rateLimits: number;
  continuations: number;
  turns: number;
  costUsd: number;
  waiting?: Waiting;
  budget?: string;
  /** hosts kodama's gateway refused (its `kodama-gateway: host H is not in …` in a tool's output) */
  deniedHosts?: string[];
  /** kodama's gateway could not reach its upstream (its 502's words in the agent's output), until an answer */
  gatewayDown?: { host: string; error?: string };
  /** the agent's last message to the user */
  lastMessage?: string;
  /** tool uses refused (Claude Code's result's permission_denials) */
  denied?: number;
  /** kodama's own refusal of the run, its line (pod/start.sh, pod/runner.js: docs/security.md) */
  refused?: string;
}

export interface RunEnd {
  state: string;
  exitCode?: number;
  endedBy?: string;
  /** false: the run changed and committed nothing */
  changed?: boolean;
  denied?: number;
}

export const RETRYABLE: readonly string[] = js.RETRYABLE;
export const factsOf: (log: string, now?: number) => Facts = js.factsOf;
export const classify: (f: Facts, end: RunEnd) => Outcome = js.classify;
export const causeOf: (status?: number, kind?: string, message?: string) => OutcomeClass | undefined =
  js.causeOf;
/** `failed: overloaded (retryable)`, `succeeded (after 2 overloads)`, `failed: invalid API key`. */
export const outcomeText: (o: Outcome, f?: Partial<Facts>) => string = js.outcomeText;
/** Why an ended run waits on the user (`denied`, `budget`, `question`), or undefined. */
export type NeedsInput = "denied" | "budget" | "question";
export const needsInput: (f: Partial<Facts>, o: Outcome, end?: RunEnd) => NeedsInput | undefined =
  js.needsInput;
export const isQuestion: (text: string) => boolean = js.isQuestion;
/** `running (429, retry 3/10 in 15s)`. */
export const waitingText: (w: Waiting | undefined, now?: number) => string = js.waitingText;
