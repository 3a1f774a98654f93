/**
 * What the replicas of a group (`start NAME --replicas N`) have in common is done once for the group, not
 * once per replica: the local repository behind `--repo .` (read with git, then bundled), who starts
 * them, a StorageClass's binding mode. The replica that asks first does it, the others await the same
 * promise. A single start has no `Shared` and does everything itself (`once` then just calls).
 */
export class Shared {
  private done = new Map<string, Promise<unknown>>();
  private cleanups: (() => Promise<unknown>)[] = [];
  private fresh = new Map<string, { at: number; p: Promise<unknown> }>();
  /** the group looked the names up already (one list): the replicas need not each ask again */
  namesFree = false;

  once<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let p = this.done.get(key) as Promise<T> | undefined;
    if (!p) {
      p = fn();
      this.done.set(key, p);
    }
    return p;
  }

  /**
   * What `fn` answered less than `ms` ago, else a new answer: the replicas' periodic reads (the
   * namespace's events while they wait) become one read per period for the group.
   */
  recent<T>(key: string, ms: number, fn: () => Promise<T>): Promise<T> {
    const hit = this.fresh.get(key);
    if (hit && Date.now() - hit.at < ms) return hit.p as Promise<T>;
    const p = fn();
    this.fresh.set(key, { at: Date.now(), p });
    return p;
  }

  /** Run when every replica is done (a temporary file they all read). */
  onClose(fn: () => Promise<unknown>): void {
    this.cleanups.push(fn);
  }

  async close(): Promise<void> {
    for (const fn of this.cleanups.splice(0)) await fn().catch(() => {});
  }
}

/** `fn()` once per group (by key), or every time without a group. */
export function once<T>(shared: Shared | undefined, key: string, fn: () => Promise<T>): Promise<T> {
  return shared ? shared.once(key, fn) : fn();
}
