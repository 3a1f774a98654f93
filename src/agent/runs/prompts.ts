/** The prompts kodama itself gives an agent (a leaf module: the commands, the UI and the runner read it). */

/** What `agent run --continue` tells the agent when no prompt is given. */
export const CONTINUE_PROMPT =
  "Continue the task from your last conversation where it stopped: the previous run was interrupted before it finished.";
