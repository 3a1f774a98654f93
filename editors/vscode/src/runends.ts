/**
 * Being told in VS Code that a run ended (#65): the sessions the extension knows are read with
 * `kodama list -o json` (which also reads the outcome of a run nobody looked at yet, and records it), and a
 * session whose latest run was `running…` at the last look and has an outcome now is a run that ended. Pure:
 * the extension polls and shows; this decides.
 */

/** What `kodama list -o json` says of one session, as far as runs go. */
export interface ListedSession {
  metadata: { name: string; namespace: string };
  status: { phase: string; agentOutcome?: string };
}

export interface RunEnd {
  name: string;
  namespace: string;
  /** the outcome's words as `list` shows them (`succeeded`, `failed: invalid API key; …`) */
  outcome: string;
  /** a failed or stopped run is a warning; a succeeded one is news */
  failed: boolean;
}

const running = (o: string | undefined) => o === undefined || /^running\b/.test(o);

/** Remembers each session's latest run outcome between looks; `look` returns the runs that ended since. */
export class RunEndTracker {
  #last = new Map<string, string | undefined>();
  #first = true;

  look(items: ListedSession[]): RunEnd[] {
    const ended: RunEnd[] = [];
    const next = new Map<string, string | undefined>();
    for (const s of items) {
      const key = `${s.metadata.namespace}/${s.metadata.name}`;
      const now = s.status.agentOutcome;
      next.set(key, now);
      // the first look only learns; a session never seen running is not news
      if (this.#first || !this.#last.has(key)) continue;
      const before = this.#last.get(key);
      if (before !== undefined && running(before) && now !== undefined && !running(now)) {
        ended.push({
          name: s.metadata.name,
          namespace: s.metadata.namespace,
          // deno-lint-ignore no-control-regex
          outcome: now.replace(/[\u0000-\u001f\u007f-\u009f]/g, " ").slice(0, 200),
          failed: !/^succeeded\b/.test(now),
        });
      }
    }
    this.#last = next;
    this.#first = false;
    return ended;
  }

  /** Some known session's latest run is still running: worth another look soon. */
  anyRunning(): boolean {
    return [...this.#last.values()].some((o) => o !== undefined && running(o));
  }
}

/** The message shown: `kodama: my-work's agent run failed: invalid API key`. */
export function runEndMessage(e: RunEnd): string {
  return `kodama: ${e.name}'s agent run ${e.outcome}`;
}
