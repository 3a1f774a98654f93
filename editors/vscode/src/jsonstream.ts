/**
 * `kodama list -o json -w` prints one JSON object per change, back to back (pretty-printed, like
 * `kubectl get -o json -w`). This splits such a stream into whole values as chunks arrive. Pure.
 */
export class JsonStream {
  #buf = "";
  #depth = 0;
  #inString = false;
  #escaped = false;
  #start = -1;
  #scanned = 0;

  /** Feed a chunk; returns every value completed by it. A value that is not JSON is skipped. */
  push(chunk: string): unknown[] {
    this.#buf += chunk;
    const out: unknown[] = [];
    let i = this.#scanned;
    for (; i < this.#buf.length; i++) {
      const c = this.#buf[i];
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (c === "\\") this.#escaped = true;
        else if (c === '"') this.#inString = false;
        continue;
      }
      if (c === '"') {
        if (this.#depth > 0) this.#inString = true;
      } else if (c === "{" || c === "[") {
        if (this.#depth++ === 0) this.#start = i;
      } else if ((c === "}" || c === "]") && this.#depth > 0) {
        if (--this.#depth === 0) {
          try {
            out.push(JSON.parse(this.#buf.slice(this.#start, i + 1)));
          } catch { /* not JSON: skip it */ }
          this.#buf = this.#buf.slice(i + 1);
          i = -1;
          this.#start = -1;
        }
      }
    }
    if (this.#depth === 0) {
      this.#buf = "";
      this.#scanned = 0;
    } else {
      // keep the open value from its start; resume scanning where this chunk ended
      this.#buf = this.#buf.slice(this.#start);
      this.#scanned = this.#buf.length;
      this.#start = 0;
    }
    return out;
  }
}
