/** In-memory object store with a global resourceVersion counter, event history and watchers. */

// deno-lint-ignore no-explicit-any
export type Obj = Record<string, any>;
export type EventType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoreEvent {
  type: EventType;
  resource: string;
  namespace: string;
  rv: number;
  object: Obj;
  /** the object before a MODIFIED event (to compute selector transitions) */
  prev?: Obj;
}

type Listener = (ev: StoreEvent) => void;

const HISTORY = 20_000;

export class Store {
  private rv = 1;
  private readonly objects = new Map<string, Map<string, Obj>>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<{ resource: string; fn: Listener }>();
  /** events kept for watches from a resourceVersion (older ones are 410 Gone); tests make it small */
  historyLimit = HISTORY;

  currentRv(): number {
    return this.rv;
  }

  private bucket(resource: string): Map<string, Obj> {
    let b = this.objects.get(resource);
    if (!b) this.objects.set(resource, b = new Map());
    return b;
  }

  /** The stored object (a deep copy; mutate freely). */
  get(resource: string, namespace: string, name: string): Obj | undefined {
    const o = this.bucket(resource).get(`${namespace}/${name}`);
    return o ? structuredClone(o) : undefined;
  }

  has(resource: string, namespace: string, name: string): boolean {
    return this.bucket(resource).has(`${namespace}/${name}`);
  }

  /** Objects of a resource (in one namespace, or all), sorted by namespace then name. Deep copies. */
  list(resource: string, namespace?: string): Obj[] {
    const out: Obj[] = [];
    for (const o of this.bucket(resource).values()) {
      if (namespace === undefined || (o.metadata.namespace ?? "") === namespace) out.push(o);
    }
    out.sort((a, b) =>
      cmp(a.metadata.namespace ?? "", b.metadata.namespace ?? "") || cmp(a.metadata.name, b.metadata.name)
    );
    return out.map((o) => structuredClone(o));
  }

  /**
   * Iterate the stored objects without copying (read-only view: never mutate what it yields).
   * Unsorted; optionally only one namespace.
   */
  *peek(resource: string, namespace?: string): IterableIterator<Readonly<Obj>> {
    for (const o of this.bucket(resource).values()) {
      if (namespace === undefined || (o.metadata.namespace ?? "") === namespace) yield o;
    }
  }

  count(resource: string): number {
    return this.bucket(resource).size;
  }

  private emit(ev: StoreEvent) {
    this.history.push(ev);
    if (this.history.length > this.historyLimit) {
      this.history.splice(0, this.history.length - this.historyLimit);
    }
    for (const l of [...this.listeners]) if (l.resource === ev.resource || l.resource === "*") l.fn(ev);
  }

  /** Insert a new object (caller has validated and defaulted it). Sets resourceVersion. */
  insert(resource: string, obj: Obj): Obj {
    const ns = obj.metadata.namespace ?? "";
    const rv = ++this.rv;
    obj.metadata.resourceVersion = String(rv);
    const stored = structuredClone(obj);
    this.bucket(resource).set(`${ns}/${obj.metadata.name}`, stored);
    this.emit({ type: "ADDED", resource, namespace: ns, rv, object: stored });
    return structuredClone(stored);
  }

  /** Replace an existing object. Sets resourceVersion. */
  replace(resource: string, obj: Obj): Obj {
    const ns = obj.metadata.namespace ?? "";
    const key = `${ns}/${obj.metadata.name}`;
    const prev = this.bucket(resource).get(key);
    const rv = ++this.rv;
    obj.metadata.resourceVersion = String(rv);
    const stored = structuredClone(obj);
    this.bucket(resource).set(key, stored);
    this.emit({ type: "MODIFIED", resource, namespace: ns, rv, object: stored, prev });
    return structuredClone(stored);
  }

  remove(resource: string, namespace: string, name: string): Obj | undefined {
    const key = `${namespace}/${name}`;
    const prev = this.bucket(resource).get(key);
    if (!prev) return undefined;
    this.bucket(resource).delete(key);
    const rv = ++this.rv;
    const obj = structuredClone(prev);
    obj.metadata.resourceVersion = String(rv);
    this.emit({ type: "DELETED", resource, namespace, rv, object: obj, prev });
    return structuredClone(obj);
  }

  /** Events after `rv` still in history, or undefined when `rv` is older than the history. */
  since(resource: string, rv: number): StoreEvent[] | undefined {
    const first = this.history[0];
    if (first && rv < first.rv - 1 && this.history.length >= this.historyLimit) return undefined;
    return this.history.filter((e) => e.rv > rv && e.resource === resource);
  }

  subscribe(resource: string, fn: Listener): () => void {
    const l = { resource, fn };
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
