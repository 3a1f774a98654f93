/**
 * The real agent CLIs for the end-to-end tests, and the headless command lines verified against them
 * (docs/agents.md, "What a run reports"). CI installs them into a prefix that is not on PATH (.ci/run:
 * KODAMA_TEST_AGENT_BIN, default /usr/local/lib/agent-clis/bin: under /usr, so the test server's namespaced
 * pods see it too), else PATH. Tests skip, saying why, when one is missing.
 */

import { AGENT_CLI_BIN as PREFIX_BIN } from "../cluster/runtime/images.ts";

function find(name: string): string | undefined {
  // the prefix first: what CI installs (the same pinned versions), even when another copy is on PATH
  const dirs = [PREFIX_BIN, ...(Deno.env.get("PATH") ?? "").split(":").filter(Boolean)];
  for (const d of dirs) {
    const p = `${d}/${name}`;
    try {
      const st = Deno.statSync(p);
      if (st.isFile && (st.mode ?? 0o111) & 0o111) return p;
    } catch { /* not here */ }
  }
  return undefined;
}

export const CLAUDE = find("claude");
export const CODEX = find("codex");
export const GEMINI = find("gemini");
export const OPENCODE = find("opencode");
export const PI = find("pi");
export const QWEN = find("qwen");

/** What .ci/run installs, per CLI. */
const PACKAGES: Record<string, string> = {
  claude: "@anthropic-ai/claude-code@2.1.332",
  codex: "@openai/codex@0.169.0",
  gemini: "@google/gemini-cli@0.61.0",
  opencode: "opencode-ai@1.18.33",
  pi: "@mariozechner/pi-coding-agent@0.73.1",
  qwen: "@qwen-code/qwen-code@0.24.4",
};

/** Why a test is skipped: printed once, so a skip is never silent. */
export function missing(name: string, path: string | undefined): boolean {
  if (path) return false;
  console.error(
    `skipping the real-${name} tests: ${name} is not installed (npm install -g ${
      PACKAGES[name] ?? name
    }, as .ci/run does, or set KODAMA_TEST_AGENT_BIN)`,
  );
  return true;
}

/**
 * Claude Code headless with permissions skipped (the pod is the sandbox; IS_SANDBOX=1 lets root do it),
 * its structured stream, and its own retries bounded so an unreachable API fails in seconds.
 */
export function claudeCommand(bin = CLAUDE!, o: { skipPermissions?: boolean } = {}): string[] {
  return [
    "env",
    "IS_SANDBOX=1",
    "DISABLE_AUTOUPDATER=1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
    "CLAUDE_CODE_MAX_RETRIES=2",
    bin,
    "-p",
    "--output-format",
    "stream-json",
    "--verbose",
    ...(o.skipPermissions === false ? [] : ["--dangerously-skip-permissions"]),
  ];
}

/** Codex exec with its own sandbox off (the pod is the sandbox), pointed at a Responses endpoint. */
export function codexCommand(baseUrl: string, bin = CODEX!): string[] {
  return [
    bin,
    "exec",
    "--json",
    "--dangerously-bypass-approvals-and-sandbox",
    "--skip-git-repo-check",
    "-c",
    "model_provider=standin",
    "-c",
    `model_providers.standin={name="standin",base_url="${baseUrl}/v1",env_key="OPENAI_API_KEY",wire_api="responses",request_max_retries=1,stream_max_retries=1}`,
    "-",
  ];
}

/** A YAML flow list of strings. */
export const yamlList = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(", ")}]`;
