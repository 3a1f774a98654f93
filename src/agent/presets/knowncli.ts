/**
 * A custom command (`agent.command`) whose program is a preset's CLI (issue 84.3): `[claude, -p, …]`,
 * `/usr/local/bin/codex exec`, `npx -y @google/gemini-cli`, `env K=V claude`, `sh -c "claude -p"`. Such a
 * session is `custom` and gets only the variables the user's own config lists (`agent.authEnv`): with none
 * of the preset's credentials there, its runs fail later (`Not logged in`). `start` says so at once, with the
 * `agent.authEnv` to add. Pure; the CLIs are the presets' own (their bin and npm package): a new preset is
 * known here with no change.
 */
import { PRESET_NAMES, type PresetName, PRESETS } from "./presets.ts";
import { credentialVars } from "../credentials/preflight.ts";

/** Words that run the next word as the program: a package runner, env, a shell's `-c`. */
const RUNNERS = new Set(["npx", "bunx", "pnpx", "env", "exec", "nohup", "time"]);
const TWO_WORD = new Set(["pnpm dlx", "yarn dlx", "npm exec", "bun x"]);
const SHELLS = new Set(["sh", "bash", "zsh", "dash", "ash"]);

/** `claude` of `/usr/local/bin/claude`, `@anthropic-ai/claude-code` of `@anthropic-ai/claude-code@2.1.0`. */
function programName(word: string): string {
  const w = word.startsWith("@") ? word.replace(/^(@[^/]+\/[^@]+)@.*$/, "$1") : word.replace(/@.*$/, "");
  return w.startsWith("@") ? w : w.slice(w.lastIndexOf("/") + 1);
}

/** The preset whose CLI `command` runs, if any (a custom command's words). */
export function knownCliOf(command: readonly string[], depth = 0): PresetName | undefined {
  let i = 0;
  const w = command;
  for (; i < w.length; i++) {
    const name = programName(w[i]);
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(w[i]) || w[i].startsWith("-")) continue;
    if (RUNNERS.has(name)) continue;
    if (i + 1 < w.length && TWO_WORD.has(`${name} ${w[i + 1]}`)) {
      i++;
      continue;
    }
    if (SHELLS.has(name) && depth === 0) {
      const c = w.findIndex((x, j) => j > i && /^-[a-z]*c[a-z]*$/.test(x));
      if (c > 0 && w[c + 1]) return knownCliOf(w[c + 1].trim().split(/\s+/), depth + 1);
      return undefined;
    }
    return PRESET_NAMES.find((p) => name === PRESETS[p].install.bin || name === PRESETS[p].install.package);
  }
  return undefined;
}

/**
 * `start`'s warning for a custom command that runs a preset's CLI while none of that preset's credential
 * variables is forwarded (`forwardEnv`: what the user's config lets the session take); undefined otherwise.
 */
export function knownCliWarning(
  command: readonly string[],
  forwardEnv: readonly string[],
): string | undefined {
  const preset = knownCliOf(command);
  if (!preset) return undefined;
  const creds = credentialVars(preset);
  if (creds.some((v) => forwardEnv.includes(v))) return undefined;
  return `warning: agent.command runs ${preset} as a custom command, which gets no key: its runs would fail (Not logged in). Add to ~/.kodama/config.yaml agent.authEnv: [${
    creds[0]
  }] (or any of ${creds.join(", ")}), or use the preset: agent.preset: ${preset}\n`;
}
