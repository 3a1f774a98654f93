/** Every tool of `kodama mcp`, in the order tools/list gives them. Their names are public API. */
import type { Tool } from "./tool.ts";
import { POD_TOOLS } from "./pods.ts";
import { SESSION_TOOLS } from "./sessions.ts";
import { WORKFLOW_TOOLS } from "./workflows.ts";
import { GROUP_TOOLS } from "./group.ts";
import { AGENT_SAY_TOOLS } from "./agentsay.ts";
import { FORGE_TOOLS } from "./forge.ts";

/** A name may appear twice (adopt): the later entry is the same tool with more power, for a higher tier. */
export const TOOLS: Tool[] = [
  ...POD_TOOLS,
  ...SESSION_TOOLS,
  ...AGENT_SAY_TOOLS,
  ...WORKFLOW_TOOLS,
  ...GROUP_TOOLS,
  ...FORGE_TOOLS,
];

/** The tools a server of these tiers offers: for a name given twice, the last one the tiers allow. */
export function offered(tools: Tool[], tiers: string[]): Tool[] {
  const byName = new Map<string, Tool>();
  for (const t of tools) if (tiers.includes(t.tier)) byName.set(t.name, t);
  return [...byName.values()];
}
