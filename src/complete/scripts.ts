/**
 * `kodama completion bash|zsh|fish|powershell`: the shell functions (kodama.bash, .zsh, .fish, .ps1 beside this
 * file, embedded by `deno compile --include src/complete`) ask `kodama __complete WORDS…` (Cobra's protocol:
 * `value<TAB>description` lines, then `:DIRECTIVE`) and hand the answer to the shell, for `kodama`, `kpod`
 * and `kwekash`. `kubectl kodama …` needs none of them: kubectl's own completion calls the
 * `kubectl_complete-kodama` executable that `deno task install` puts beside `kubectl-kodama`.
 */
export const SHELLS = ["bash", "zsh", "fish", "powershell"] as const;
export type Shell = typeof SHELLS[number];

const FILES: Record<Shell, URL> = {
  bash: new URL("./kodama.bash", import.meta.url),
  zsh: new URL("./kodama.zsh", import.meta.url),
  fish: new URL("./kodama.fish", import.meta.url),
  powershell: new URL("./kodama.ps1", import.meta.url),
};

export async function completionScript(shell: Shell): Promise<string> {
  return await Deno.readTextFile(FILES[shell]);
}
