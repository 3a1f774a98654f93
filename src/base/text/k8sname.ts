/**
 * The name rules kodama checks before a name reaches the API server (in a path, a selector or an object),
 * so bad input is a usage error that says the rule, never the server's parse error.
 * Pure: no I/O.
 */
import { usageError } from "../errors.ts";
import { quote } from "./escape.ts";

/** An RFC 1123 label: what namespaces, session names and most object names must be. */
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** At most 63 lowercase letters, digits and '-', starting and ending with a letter or digit. */
export function isDnsLabel(s: string): boolean {
  return s.length <= 63 && DNS1123_LABEL.test(s);
}

export const NAMESPACE_RULE =
  "a namespace is lowercase letters, digits and '-', starts and ends with a letter or digit, at most 63 characters";

/**
 * `ns` when it is a valid namespace; else exit 2 naming it (escaped) and where it came from (`from`: the
 * flag, KODAMA_NAMESPACE, the config key, the kubeconfig context), with the rule as the hint.
 */
export function checkNamespace(ns: string, from?: string): string {
  if (isDnsLabel(ns)) return ns;
  throw usageError(`invalid namespace ${quote(ns)}${from ? ` (from ${from})` : ""}`, NAMESPACE_RULE);
}
