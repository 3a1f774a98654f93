/**
 * The demo's agent loop (`deno task demo`, issue 66 point 4): the project's model-API stand-in
 * (tests/agents/_standin.ts) on a local port, answering the real Claude Code and Codex with a scripted
 * "agent" that really edits a file in the workspace and commits it through the CLIs' own tool calls, and
 * the demo's KODAMA_HOME pointed at it through the user-facing config: `env.dotenvFiles` names an env file
 * with the presets' base URLs and a demo key (what a user does for a gateway), and `defaults.image` is the
 * image that ships the agent CLIs.
 *
 * The script is stateless, so any number of conversations (best of N, two CLIs) run at once: a request's
 * own history says which step it is at (the markers of the earlier steps' commands). It works for any
 * prompt: step 1 appends a note about the task to AGENT_NOTES.md (each conversation picks one of a few
 * approaches at random, so best-of-N replicas differ), step 2 commits it, step 3 says what it did.
 */
import { join } from "node:path";
import { type StandIn, startStandIn, type Turn } from "../agents/_standin.ts";
import { CLAUDE, CODEX } from "../agents/_clis.ts";

/** The demo's session image: the one the test server's node shows the agent CLIs in (runtime/images.ts). */
export const DEMO_AGENT_IMAGE = "ghcr.io/illumination-k/kodama-claude:latest";
/** A key the stand-in accepts: a demo value, not a secret (it reaches only the local stand-in). */
export const DEMO_KEYS = { anthropic: "sk-ant-demo-kodama-0000", openai: "sk-demo-kodama-0000" };

const APPROACHES = [
  "read the code around it first, then make the smallest change that does it",
  "write a failing test first, then the change that makes it pass",
  "change the one function involved and leave a note for the reviewer",
];

/** The user's task in a request (Claude's Messages, Codex's Responses), as plain words for a shell line. */
export function taskOf(body: Record<string, unknown>): string {
  const texts: string[] = [];
  const add = (c: unknown) => {
    if (typeof c === "string") texts.push(c);
    else if (Array.isArray(c)) {
      for (const b of c) if (b && typeof b === "object" && typeof b.text === "string") texts.push(b.text);
    }
  };
  const msgs = (body.messages ?? body.input ?? []) as { role?: string; content?: unknown }[];
  for (const m of Array.isArray(msgs) ? msgs : []) if (m?.role === "user") add(m.content);
  // the CLIs' own context blocks (<system-reminder>, <environment_context>, AGENTS.md) are not the task
  const task = texts.map((t) => t.trim()).find((t) => t && !/^(<|# )/.test(t)) ?? "the task";
  const words = task.replace(/[()"'`]/g, "").replace(/[^A-Za-z0-9 ,.:_-]+/g, " ").replace(/\s+/g, " ").trim();
  return (words.length > 72 ? words.slice(0, 72).trimEnd() + "..." : words) || "the task";
}

/** The next step of a conversation, from what it already holds. */
export function demoTurn(text: string, body: Record<string, unknown>): Turn {
  if (text.includes("demo-step-2")) {
    return [{ text: "Appended my notes on the task to AGENT_NOTES.md and committed them." }];
  }
  const task = taskOf(body);
  if (text.includes("demo-step-1")) {
    return [{
      shell:
        `git add AGENT_NOTES.md && git -c user.name="kodama demo agent" -c user.email=agent@kodama.invalid commit -q -m "agent: ${task}" # demo-step-2`,
    }];
  }
  const approach = APPROACHES[Math.floor(Math.random() * APPROACHES.length)];
  const id = crypto.randomUUID().slice(0, 8);
  return [
    { text: `I'll work on: ${task}` },
    {
      shell:
        `printf '%s\\n' "## ${task}" "" "Approach: ${approach}." "(the demo's scripted agent, answer ${id})" "" >> AGENT_NOTES.md # demo-step-1`,
    },
  ];
}

export interface DemoAgents {
  api: StandIn;
  /** which of the CLIs this machine has (the `agents` image shows them) */
  clis: { claude: boolean; codex: boolean };
}

/** Start the stand-in (its files are written once the demo's server holds its state directory). */
export async function startDemoAgents(): Promise<DemoAgents> {
  const api = await startStandIn([], { turnFor: demoTurn });
  return { api, clis: { claude: !!CLAUDE, codex: !!CODEX } };
}

/** The env file the demo's config names (env.dotenvFiles): the presets' endpoints and the demo keys. */
export function writeDemoEnv(home: string, url: string): string {
  const envFile = join(home, "demo-agents.env");
  Deno.writeTextFileSync(
    envFile,
    `# written by \`deno task demo\`: the presets' endpoints are the demo's model-API stand-in (a scripted agent)
ANTHROPIC_BASE_URL=${url}
ANTHROPIC_API_KEY=${DEMO_KEYS.anthropic}
OPENAI_BASE_URL=${url}/v1
OPENAI_API_KEY=${DEMO_KEYS.openai}
`,
    { mode: 0o600 },
  );
  return envFile;
}

/** The demo's config.yaml text: the agent image, and the env file with the presets' endpoints. */
export function demoConfig(envFile: string): string {
  return `# written by \`deno task demo\`: sessions on the demo test server use an image it runs, which ships the
# agent CLIs; the env file points the claude and codex presets at the demo's model-API stand-in
defaults:
  image: ${DEMO_AGENT_IMAGE}
env:
  dotenvFiles: [${JSON.stringify(envFile)}]
`;
}

/** A task for the demo project (`--prompt-file task.txt`), never the agent's commit (.git/info/exclude). */
export function demoTask(project: string): void {
  Deno.writeTextFileSync(
    join(project, "task.txt"),
    "Make hello.sh greet the user by name (its first argument), falling back to 'world'.\n",
  );
  const exclude = join(project, ".git", "info", "exclude");
  let text = "";
  try {
    text = Deno.readTextFileSync(exclude);
  } catch { /* none yet */ }
  if (!/^task\.txt$/m.test(text)) {
    Deno.mkdirSync(join(project, ".git", "info"), { recursive: true });
    Deno.writeTextFileSync(exclude, text + (text && !text.endsWith("\n") ? "\n" : "") + "task.txt\n");
  }
}
