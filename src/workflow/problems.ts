/**
 * A problem in a workflow file or one of its scripts, at file:line:col — the one shape the loader,
 * the module-graph check, the call-graph check and `kodama workflow validate` report in.
 */
import { ExitCode, KodamaError } from "../base/errors.ts";
import { MAX_FILE_BYTES, sizeText } from "./limits.ts";

export interface Problem {
  file: string;
  /** 1-based */
  line: number;
  /** 1-based */
  col: number;
  message: string;
}

export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.message}`;
}

/** Something that cannot be loaded or run as written: exit 2, every problem as file:line:col. */
export class WorkflowProblems extends KodamaError {
  constructor(readonly problems: Problem[], hint?: string) {
    super(problems.map(formatProblem).join("\n"), ExitCode.USAGE, hint);
  }
}

/** A workflow file over MAX_FILE_BYTES, refused unread (or unparsed). */
export function tooBig(file: string, size: number): WorkflowProblems {
  return new WorkflowProblems([{
    file,
    line: 1,
    col: 1,
    message: `the workflow file is ${sizeText(size)}; a workflow file may be at most ${
      sizeText(MAX_FILE_BYTES)
    } (split it, or call other workflows)`,
  }]);
}
