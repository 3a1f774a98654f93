/**
 * Codex's adapter: everything kodama knows about that CLI (src/agent/adapters/types.ts).
 */
import { codexStderr, codexStream } from "./stream.ts";
import { type Adapter, OPENAI_KEY } from "../types.ts";
import { keyWay } from "../../credentials/providers.ts";
import WRAP_SH from "./pod/wrap.sh" with { type: "text" };

/** codex (./pod/wrap.sh): a model provider of kodama's at OPENAI_BASE_URL, or the gateway's ChatGPT login. */
const WRAP: string = WRAP_SH;

export const codex: Adapter<"codex"> = {
  preset: {
    name: "codex",
    summary: "Codex exec, approvals and its own sandbox off (the pod is the sandbox), JSON events",
    command: [
      "codex",
      "exec",
      "--json",
      "--dangerously-bypass-approvals-and-sandbox",
      "--skip-git-repo-check",
    ],
    promptArgs: ["-"],
    // `codex exec resume --last …`: the subcommand right after exec
    continueArgs: ["resume", "--last"],
    continueAt: 2,
    // codex's built-in provider does not reach a plain http OPENAI_BASE_URL (a gateway, a stand-in): a
    // provider of its own goes straight to {base}/responses, with Codex's own retries
    wrap: WRAP,
    env: {},
    authEnv: ["OPENAI_API_KEY", "CODEX_API_KEY", "OPENAI_BASE_URL"],
    install: { package: "@openai/codex", version: "0.169.0", bin: "codex", node: 16 },
    output: "codex-json",
    home: "~/.codex",
    // none: Codex 0.169 reads no project .codex/config.toml in a folder not marked trusted (kodama marks
    // none), and even from a trusted one takes no openai_base_url or model provider (seen: only `model`)
    projectFiles: [],
  },
  provider: "openai",
  check: {
    wire: "responses",
    keys: [OPENAI_KEY, keyWay("openai", "CODEX_API_KEY")],
    defaultModel: "gpt-5-codex",
  },
  model: { flag: "-m", also: "--model" },
  interactive: ["codex", "resume", "--last", "--dangerously-bypass-approvals-and-sandbox"],
  headless: "codex exec",
  stream: { parser: codexStream, stderr: codexStderr },
  chatgptLogin: true,
};
