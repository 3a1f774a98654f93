/** Every tool of `kodama mcp`, in the order tools/list gives them. Their names are public API. */
import type { Tool } from "./tool.ts";
import { POD_TOOLS } from "./pods.ts";
import { SESSION_TOOLS } from "./sessions.ts";
import { WORKFLOW_TOOLS } from "./workflows.ts";

export const TOOLS: Tool[] = [...POD_TOOLS, ...SESSION_TOOLS, ...WORKFLOW_TOOLS];
