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

/** `<stateDir>/busybox-bin`, made on first use; undefined when the host has no busybox. */
export function busyboxBinDir(stateDir: string): string | undefined {
  if (made.has(stateDir)) return made.get(stateDir);
  const bb = hostBusybox();
  let dir: string | undefined;
  if (bb) {
    dir = path.join(stateDir, "busybox-bin");
    fs.mkdirSync(dir, { recursive: true });
    for (const a of applets(bb)) {
      try {
        fs.symlinkSync(bb, path.join(dir, a));
      } catch { /* exists */ }
    }
    fs.rmSync(path.join(dir, "httpd"), { force: true });
    fs.writeFileSync(
      path.join(dir, "httpd"),
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
`,
      { mode: 0o755 },
    );
  } else {
    console.error("kodama test server: no busybox on PATH; busybox images get the host's commands only");
  }
  made.set(stateDir, dir);
  return dir;
}
