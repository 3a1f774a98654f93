/**
 * The runner's watch over a run: `pod/watch.sh` (the plain-sh runner's functions: the commit it started
 * from, the byte watchdog, what it did to git) before `pod/runner.sh`, the runner itself; both real files,
 * linted by shellcheck (scripts/lint-pod.ts) and embedded as text. A preset's run with Node is watched by
 * `pod/runner.js` instead (agent.ts). The files a run leaves:
 *
 *   head-start   the commit the agent started from (`git rev-parse HEAD`), so the run's commits are counted
 *   tree-start   the work tree at the start as a git tree (written through a private index), and
 *   tree-end     at the end, so files already there (sync brought them) are not the run's changes
 *   git          `COMMITS FILES` when it has ended: commits made since head-start, files that differ
 *                between tree-start and tree-end (committed or not, untracked included). A session with
 *                several repositories (the workspace is none): each one's files under repos/NAME, and the
 *                sums then `NAME=COMMITS/FILES` for each (truth.ts parseGitLine)
 *   ended-by     `stalled`, `unreachable` or `budget` when kodama ended it
 */
import WATCH_SH from "../pod/watch.sh" with { type: "text" };
import RUNNER_SH from "../pod/runner.sh" with { type: "text" };

/** The detached runner (`sh -c RUNNER_SCRIPT kodama-run RUNDIR RUNNER_JS CMD ARGS...`). */
export const RUNNER_SCRIPT = WATCH_SH + "\n" + RUNNER_SH;

/** Seconds of agent.stallTimeout for the runner (0: off). */
export function stallSeconds(ms: number): number {
  return ms > 0 ? Math.max(1, Math.round(ms / 1000)) : 0;
}
