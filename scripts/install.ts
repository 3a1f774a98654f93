/**
 * `deno task install`: installs the shims kodama, kubectl-kodama (kubectl plugin), kpod (= kodama exec),
 * kwekash (= kodama run kwekash) and kubectl_complete-kodama (completion for `kubectl kodama`) with
 * `deno install -g`, into $DENO_INSTALL_ROOT/bin or ~/.deno/bin.
 * Works offline once the npm dependencies are in Deno's cache (they are after any `deno task test`).
 */
import { denoBinDir, fileUrlToPath, hostPlatform, splitPathList } from "../src/base/platform.ts";
import { RUNTIME_FLAGS } from "../src/base/proc/proc.ts";

const platform = hostPlatform();
const root = new URL("..", import.meta.url);
// a path, not URL.pathname: that keeps %20 for a space (and gives /C:/… on Windows)
const path = (u: URL) => fileUrlToPath(u, platform);
const config = path(new URL("deno.json", root));
const shims: [string, string][] = [
  ["kodama", "main.ts"],
  ["kubectl-kodama", "main.ts"],
  ["kpod", "bin/kpod.ts"],
  ["kwekash", "bin/kwekash.ts"],
  // kubectl (1.26+) completes `kubectl kodama <TAB>` by running this one
  ["kubectl_complete-kodama", "bin/kubectl_complete-kodama.ts"],
];
const extra = Deno.args;
for (const [name, entry] of shims) {
  const args = [
    "install",
    "-g",
    "-f",
    "-A",
    "--no-prompt",
    ...RUNTIME_FLAGS, // V8 flags (src/base/proc/proc.ts says why)
    "--config",
    config,
    "--name",
    name,
    ...extra,
    path(new URL(entry, root)),
  ];
  const { code, stderr } = await new Deno.Command(Deno.execPath(), { args, stderr: "piped", stdout: "null" })
    .output();
  if (code !== 0) {
    console.error(`install ${name} failed:\n${new TextDecoder().decode(stderr)}`);
    Deno.exit(1);
  }
}
const bin = denoBinDir(platform);
// quiet: what was installed, and where it runs from (the shims point into this clone)
console.log(`installed ${shims.map(([n]) => n).join(", ")} into ${bin}`);
console.log(
  `they run kodama from this clone (${
    path(root).replace(/[\\/]$/, "")
  }): moving or deleting it breaks them; run \`deno task install\` again from its new place`,
);
if (!splitPathList(Deno.env.get("PATH"), platform).includes(bin)) {
  console.log(
    platform.os === "windows"
      ? `add it to your PATH:  setx PATH "%PATH%;${bin}"   (then open a new terminal)`
      : `add it to your PATH:  export PATH="${bin}:$PATH"`,
  );
}
