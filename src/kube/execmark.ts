/**
 * The last words of the wrapper of a run that streams stdin (./exec.ts HOLDING_WRAPPER, a shell comment):
 * that shell only waits for the command and holds its output open, so a pod's idle watchdog
 * (src/session/lifecycle/lifetime.ts) does not count it as a second background-sync watcher beside its child.
 */
export const EXEC_HOLDER_MARK = "kodama-exec-holder";
