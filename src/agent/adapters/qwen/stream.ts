/**
 * Qwen Code's structured output: Claude Code's stream-json (its init naming `qwen_code_version`), its model
 * API errors said as the model's text: `[API Error: 401 Incorrect API key …]`. Pure.
 */
import type { AgentEvent, J } from "../../outcome/events.ts";
import { claudeEvents } from "../claude/stream.ts";

const QWEN = { agent: "qwen", versionField: "qwen_code_version", apiErrorText: /^\[API Error: / } as const;

/** Qwen Code's parser (stateless). */
export const qwenStream = () => (j: J): AgentEvent[] => claudeEvents(j, QWEN);
