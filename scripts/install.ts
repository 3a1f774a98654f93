/**
 * `deno task install`: installs the shims kodama, kubectl-kodama (kubectl plugin), kpod (= kodama exec),
 * kwekash (= kodama run kwekash) and kubectl_complete-kodama (completion for `kubectl kodama`) with
 * `deno install -g`, into $DENO_INSTALL_ROOT/bin or ~/.deno/bin.
 * Works offline once the npm dependencies are in Deno's cache (they are after any `deno task test`).
 */
const root = new URL("..", import.meta.url);
const config = new URL("deno.json", root).pathname;
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
    "--config",
    config,
    "--name",
    name,
    ...extra,
    new URL(entry, root).pathname,
  ];
  const { code, stderr } = await new Deno.Command(Deno.execPath(), { args, stderr: "piped", stdout: "null" })
    .output();
  if (code !== 0) {
    console.error(`install ${name} failed:\n${new TextDecoder().decode(stderr)}`);
    Deno.exit(1);
  }
}
const bin = `${Deno.env.get("DENO_INSTALL_ROOT") ?? `${Deno.env.get("HOME")}/.deno`}/bin`;
console.log(`installed ${shims.map(([n]) => n).join(", ")} into ${bin}`);
if (!(Deno.env.get("PATH") ?? "").split(":").includes(bin)) {
  console.log(`add it to your PATH:  export PATH="${bin}:$PATH"`);
}
console.log("check the kubectl plugin with:  kubectl plugin list && kubectl kodama version --client");
console.log("shell completion:  source <(kodama completion bash)   (kubectl kodama <TAB> works already)");
