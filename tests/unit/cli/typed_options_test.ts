/**
 * Option values are typed from the option tables (src/cli/opttypes.ts): the key the types work out from a
 * flags string must be the key the readers fill in (flagParts), for every row of every command; and a
 * misspelt or renamed flag is a compile error (the `@ts-expect-error` lines below fail `deno check` when
 * it is not). tests/unit/cli/fast_test.ts checks the readers fill those keys.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import { COMMANDS } from "../../../src/cli/commands.ts";
import { type CommandSpec, specsOf } from "../../../src/cli/spec.ts";
import { flagParts, GLOBAL_OPTIONS, type OptSpec, PICKER_OPTIONS } from "../../../src/cli/optspec.ts";
import {
  command,
  type GlobalValues,
  type Invocation,
  type KeyOf,
  type Options,
  opts,
} from "../../../src/cli/opttypes.ts";
import type { options as execOptions } from "../../../src/cli/exec.ts";

/** Type equality, checked by `deno check`. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
const same = <A, B>(ok: Equal<A, B>) => assert(ok);

Deno.test("KeyOf: the key flagParts gives, worked out by the types", () => {
  same<KeyOf<"-c, --container <name>">, "container">(true);
  same<KeyOf<"-T, --no-tty">, "tty">(true);
  same<KeyOf<"--select-1">, "select1">(true);
  same<KeyOf<"-A, --all-namespaces">, "allNamespaces">(true);
  same<Options<typeof GLOBAL_OPTIONS>, GlobalValues>(true);
  same<KeyOf<"--sync [path]">, "sync">(true);
  same<KeyOf<"-x">, "x">(true);
  for (
    const f of [
      "-c, --container <name>",
      "-T, --no-tty",
      "--select-1",
      "-A, --all-namespaces",
      "--sync [path]",
    ]
  ) {
    assert(["container", "tty", "select1", "allNamespaces", "sync"].includes(flagParts(f).attribute), f);
  }
});

Deno.test("Options: each value typed by its row", () => {
  const table = opts([
    { flags: "--image <ref>", description: "" },
    { flags: "--replicas <n>", description: "", parse: (v: string) => Number(v), default: 1 },
    { flags: "--sidecar <x>", description: "", parse: (v: string, p: unknown) => [...(p as string[]), v] },
    { flags: "-o, --output <format>", description: "", choices: ["yaml", "json"], default: "yaml" },
    { flags: "--sync [path]", description: "" },
    { flags: "--no-sync", description: "" },
    { flags: "--no-gateway", description: "" },
    { flags: "--dry-run", description: "" },
  ]);
  type O = Invocation<typeof table>["opts"];
  same<O["image"], string | undefined>(true);
  same<O["replicas"], number>(true);
  same<O["sidecar"], string[] | undefined>(true);
  same<O["output"], "yaml" | "json">(true);
  same<O["sync"], string | boolean | undefined>(true);
  same<O["gateway"], boolean>(true);
  same<O["dryRun"], boolean | undefined>(true);
  same<O["namespace"], string | undefined>(true); // a global flag
  same<O["logLevel"], "debug" | "info" | "warning" | "error">(true);
  const read = (inv: Invocation<typeof table>) => {
    // @ts-expect-error: a misspelt flag is a compile error
    inv.opts.imgae;
    // @ts-expect-error: so is asking whether it was given
    inv.given("imgae");
    return inv.opts.image;
  };
  assertEquals(read({ opts: { image: "x" } as never, args: [], rawArgs: [], given: () => false }), "x");
});

Deno.test("command(): the action's invocation is typed from the table beside it", () => {
  const spec = command({
    names: ["t"],
    help: { summary: "", usage: "", examples: [] },
    options: [{ flags: "--wait <duration>", description: "" }, ...PICKER_OPTIONS],
    run: (inv) => {
      const wait: string | undefined = inv.opts.wait;
      const multi: boolean | undefined = inv.opts.multi;
      // @ts-expect-error: not in the table
      inv.opts.watch;
      return Promise.resolve(void [wait, multi]);
    },
  });
  assertEquals(spec.names, ["t"]);
  const exec = null as unknown as Invocation<typeof execOptions>;
  same<typeof exec.opts.maxParallel, number>(true);
  same<typeof exec.opts.output, "text" | "json" | "grouped">(true);
});

/** Every table: the global flags, and each command's and subcommand's. */
async function allTables(): Promise<[string, readonly OptSpec[]][]> {
  const out: [string, readonly OptSpec[]][] = [["global", GLOBAL_OPTIONS]];
  const walk = (s: CommandSpec, path: string) => {
    out.push([path, s.options ?? []]);
    for (const sub of s.subcommands ?? []) walk(sub, `${path} ${sub.names[0]}`);
  };
  for (const [, load] of COMMANDS) for (const s of specsOf(await load())) walk(s, s.names[0]);
  return out;
}

/** The key rule of src/cli/opttypes.ts KeyOf, in plain code, to compare with flagParts on every row. */
function typesKey(flags: string): string {
  const long = /--([^ ,|]+)/.exec(flags)?.[1] ?? /-([^ ,|]+)/.exec(flags)![1];
  return long.replace(/^no-/, "").replace(/-(.)/g, (_m, c: string) => c.toUpperCase());
}

Deno.test("every option of every command: the types' key is the readers' key", async () => {
  let rows = 0;
  for (const [path, table] of await allTables()) {
    for (const o of table) {
      assertEquals(typesKey(o.flags), flagParts(o.flags).attribute, `${path}: ${o.flags}`);
      rows++;
    }
  }
  assert(rows > 200, `only ${rows} rows`);
});
