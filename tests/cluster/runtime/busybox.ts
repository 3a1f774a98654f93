/**
 * busybox's commands for containers of a busybox image: a directory with one link per applet of the
 * host's busybox (busybox-static in CI), put on those containers' PATH after the pod's and the
 * shared bin dirs, so `httpd`, `nc`, `ps`, `tar`, `wget` behave as in the real image (the shell stays
 * the host's `sh`, see SKIP). The pods of
 * the test server share the host's network, so `httpd -p PORT` is bound to the pod's own IP by a
 * small wrapper (on a real node it listens on every address of the pod's network namespace).
 */
import fs from "node:fs";
import path from "node:path";

const made = new Map<string, string | undefined>();

function hostBusybox(): string | undefined {
  for (const d of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    if (!d) continue;
    const f = path.join(d, "busybox");
    try {
      if (fs.statSync(f).isFile()) return f;
    } catch { /* not here */ }
  }
  return undefined;
}

/**
 * Not linked: busybox's shell runs its applets before PATH (busybox-static is built that way), so
 * `sh -c hostname` would print the host's name instead of the pod's (a real pod has its own UTS
 * namespace); `sh` stays the host's. `hostname` is the pod's own shim.
 */
const SKIP = new Set(["busybox", "sh", "ash", "hush", "hostname"]);

function applets(busybox: string): string[] {
  const out = new Deno.Command(busybox, { args: ["--list"], stdout: "piped", stderr: "null" }).outputSync();
  return new TextDecoder().decode(out.stdout).split("\n").map((s) => s.trim()).filter((s) =>
    /^[\w.[\]-]+$/.test(s) && !SKIP.has(s)
  );
}

/** busybox httpd with a bare `-p PORT` bound to the pod's IP (test-server pods share the host's network). */
const httpd = (bb: string) =>
  `#!/bin/sh
# busybox httpd, with a bare -p PORT bound to this pod's IP (test-server pods share the host's network)
n=$#
prev=
for a in "$@"; do
  if [ "$prev" = "-p" ]; then
    case "$a" in *:*) ;; *) a="\${POD_IP:-127.0.0.1}:$a" ;; esac
  fi
  set -- "$@" "$a"
  prev=$a
done
shift "$n"
exec ${bb} httpd "$@"
`;

/**
 * The applet links' directory, made once per machine and busybox binary (a few hundred links were made
 * again at every test server's boot: ~0.1 s of CPU each, ~190 boots a run) and shared read-only by every
 * test server: `$TMPDIR/kodama-test-busybox-<uid>-<hash of the binary's path, size and time>`, built
 * beside it and renamed into place, so a test server never sees half of it. `stateDir` is not used any
 * more (kept for the callers); undefined when the host has no busybox.
 */
export function busyboxBinDir(_stateDir: string): string | undefined {
  const bb = hostBusybox();
  if (!bb) {
    if (!made.has("")) {
      console.error("kodama test server: no busybox on PATH; busybox images get the host's commands only");
    }
    made.set("", undefined);
    return undefined;
  }
  if (made.has(bb)) return made.get(bb);
  const st = fs.statSync(bb);
  const key = [...new TextEncoder().encode(`${bb}\0${st.size}\0${st.mtimeMs}`)].reduce(
    (h, b) => Math.imul(h ^ b, 16777619) >>> 0,
    2166136261,
  ).toString(16);
  const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
  const dir = path.join(tmp, `kodama-test-busybox-${Deno.uid() ?? 0}-${key}`);
  if (!fs.existsSync(path.join(dir, "httpd"))) {
    const part = fs.mkdtempSync(`${dir}.part-`);
    for (const a of applets(bb)) fs.symlinkSync(bb, path.join(part, a));
    fs.rmSync(path.join(part, "httpd"), { force: true });
    fs.writeFileSync(path.join(part, "httpd"), httpd(bb), { mode: 0o755 });
    try {
      fs.renameSync(part, dir);
    } catch {
      fs.rmSync(part, { recursive: true, force: true }); // another test server made it first
    }
  }
  made.set(bb, dir);
  return dir;
}
