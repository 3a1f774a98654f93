/**
 * Option values typed per command, from the option tables themselves (src/cli/optspec.ts): the key of a
 * value is worked out from its flags string the way `flagParts` does at run time (`-c, --container <name>`
 * → `container`, `--no-tty` → `tty`, `--select-1` → `select1`), and its type from the flags and the row
 * (`<v>` text, `[v]` text or true, no value a boolean, `choices` one of them, `parse` what it returns,
 * `--no-x` a boolean, `default` never undefined). So `o.imgae`, or reading a flag that was renamed, is a
 * compile error rather than a silent `undefined`. Types only, plus the identity functions that keep a
 * table's literal types: no run-time cost.
 *
 * A command's table: `export const options = opts([{ flags: "--image <ref>", … }, ...TARGETING_OPTIONS])`
 * and its action `run(inv: Invocation<typeof options>)`; a table with its action in one object literal:
 * `command({ names, help, options: [...], run: async (inv) => … })` (the action's `inv` is typed from it).
 */
import type { CommandSpec } from "./spec.ts";
import type { OptSpec } from "./optspec.ts";

/** The first word of `s` (flags strings separate words with spaces, commas or `|`). */
type FirstWord<S extends string> = S extends `${infer W} ${string}` ? FirstWord<W>
  : S extends `${infer W},${string}` ? FirstWord<W>
  : S extends `${infer W}|${string}` ? W
  : S;

/** `all-namespaces` → `allNamespaces` (flagParts: each word after a `-` capitalised). */
type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;

/** The flag's name without dashes: the long flag, else the short one. */
type FlagName<F extends string> = F extends `${string}--${infer Rest}` ? FirstWord<Rest>
  : F extends `${string}-${infer Rest}` ? FirstWord<Rest>
  : never;

type StripNo<S extends string> = S extends `no-${infer R}` ? R : S;

/** The key of an option's value in the parsed options object (flagParts(flags).attribute). */
export type KeyOf<F extends string> = Camel<StripNo<FlagName<F>>>;

type Negated<F extends string> = FlagName<F> extends `no-${string}` ? true : false;

/** The value the line gives an option, before defaults. */
type Given<S extends OptSpec> = S extends { parse: (...a: never[]) => infer R } ? R
  : S extends { choices: readonly (infer C)[] } ? C
  : S["flags"] extends `${string}<${string}` ? string
  : S["flags"] extends `${string}[${string}` ? string | true
  : boolean;

/** An option's value as the action reads it (distributes over a union of rows). */
export type ValueOf<S extends OptSpec> = S extends unknown ? Negated<S["flags"]> extends true ? boolean
  : S extends { default: unknown } ? Given<S>
  : Given<S> | undefined
  : never;

/** The rows of `U` whose key is `K` (`--sync [path]` and `--no-sync` share one). */
type RowsOf<U extends OptSpec, K extends string> = U extends unknown ? KeyOf<U["flags"]> extends K ? U : never
  : never;

/** A table's parsed values: one key per option, typed by its rows. */
export type Options<O extends readonly OptSpec[]> = {
  [K in KeyOf<O[number]["flags"]>]: ValueOf<RowsOf<O[number], K>>;
};

/**
 * The global flags' values (src/cli/optspec.ts GLOBAL_OPTIONS), which every command's options include.
 * Written out (main.ts's exported API reaches it, and may not infer it); tests/unit/cli/typed_options_test.ts
 * checks it is `Options<typeof GLOBAL_OPTIONS>`.
 */
export type GlobalValues = {
  kubeconfig: string | undefined;
  context: string | undefined;
  namespace: string | undefined;
  cluster: string | undefined;
  user: string | undefined;
  server: string | undefined;
  token: string | undefined;
  certificateAuthority: string | undefined;
  insecureSkipTlsVerify: boolean | undefined;
  as: string | undefined;
  asGroup: string[];
  asUid: string | undefined;
  requestTimeout: string;
  logLevel: "debug" | "info" | "warning" | "error";
  logFormat: "text" | "json";
  color: boolean;
};

/**
 * A parsed command line as a command's action takes it, from either reader (commander's `invocationOf` in
 * src/cli/flags.ts, or src/cli/fast.ts): `V` its values, `K` the keys `given` takes.
 */
export interface ParsedInvocation<V, K extends string> {
  /** the command's options over the global ones, defaults filled in (commander's optsWithGlobals()) */
  opts: V;
  /** the command's operands, both sides of `--` */
  args: string[];
  /** the whole command line */
  rawArgs: string[];
  /** did the user give this option (not its default)? */
  given(key: K): boolean;
}

/** The invocation of a command whose table is `O` (`Invocation<typeof options>`); without one, untyped. */
export type Invocation<O extends readonly OptSpec[] | undefined = undefined> = O extends readonly OptSpec[]
  ? ParsedInvocation<Options<O> & GlobalValues, KeyOf<O[number]["flags"]> | keyof GlobalValues>
  : ParsedInvocation<Record<string, unknown>, string>;

/** A table, its rows' literal types kept (so `Invocation<typeof table>` knows each value's type). */
export function opts<const O extends readonly OptSpec[]>(table: O): O {
  return table;
}

/** One row, its literal types kept (a row shared by several tables). */
export function opt<const S extends OptSpec>(row: S): S {
  return row;
}

/** A command and its action in one literal: the action's `inv` is typed from `options`. */
export function command<const O extends readonly OptSpec[] = readonly []>(
  spec: Omit<CommandSpec, "options" | "run"> & {
    readonly options?: O;
    readonly run?: (inv: Invocation<O>) => Promise<void>;
  },
): CommandSpec {
  return spec as CommandSpec;
}
