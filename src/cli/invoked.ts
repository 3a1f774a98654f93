/**
 * Which tool the program was started as (its binary's name: kodama, kpod, kwekash, kubectl_complete-kodama)
 * and the command line that means for kodama.
 */
/** "complete" is `kubectl_complete-kodama`, which kubectl (1.26+) runs with the words to complete. */
export type InvokedAs = "kodama" | "kpod" | "kwekash" | "complete";

/** When compiled, the binary's own name tells which tool it is. */
export function invokedAs(): InvokedAs {
  const base = Deno.execPath().split(/[\\/]/).pop()?.replace(/\.exe$/, "") ?? "";
  if (base === "kubectl_complete-kodama") return "complete";
  return base === "kpod" || base === "kwekash" ? base : "kodama";
}

export const COMPLETE = ["__complete", "__completeNoDesc"];

export function argvFor(as: InvokedAs, args: string[]): string[] {
  if (as === "complete") return ["__complete", ...args];
  // `kpod __complete WORDS` completes `kodama __complete exec WORDS`
  if (COMPLETE.includes(args[0])) return [args[0], ...argvFor(as, args.slice(1))];
  if (as === "kpod") return ["exec", ...args];
  if (as === "kwekash") return ["run", "kwekash", ...args];
  return args;
}
