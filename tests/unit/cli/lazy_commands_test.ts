/**
 * main.ts loads only the command module a command line names (start-up, bench/README.md). That is right
 * only while COMMANDS lists, for each module, exactly the top-level names and aliases it registers: a
 * module that registered a name not listed would not be found from that name. Also: a named command gets
 * a tree with just that command (plus the root's flags), and anything else gets every command.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import { COMMANDS, connectsSoon } from "../../../main.ts";
import { buildProgram } from "../../../src/cli/program.ts";
import type { Command } from "@commander-js/extra-typings";
import { specsOf } from "../../../src/cli/spec.ts";

const namesOf = (cmd: Command) => cmd.commands.flatMap((c) => [c.name(), ...c.aliases()]);

Deno.test("COMMANDS: each module declares exactly the top-level names listed for it", async () => {
  const all = new Set<string>();
  for (const [names, load] of COMMANDS) {
    const declared = specsOf(await load()).flatMap((s) => [...s.names]);
    assertEquals(declared.sort(), [...names].sort(), `names for ${names[0]}`);
    for (const n of names) {
      assert(!all.has(n), `${n} is listed twice`);
      all.add(n);
    }
  }
});

Deno.test("buildProgram: a command line naming a command loads that command only", async () => {
  const everything = namesOf(await buildProgram() as never);
  const pods = namesOf(await buildProgram(["-n", "load", "pods", "-o", "wide"]) as never);
  assertEquals(pods.sort(), ["po", "pods"]);
  const alias = namesOf(await buildProgram(["--context", "dev", "pf", "web", "8080"]) as never);
  assertEquals(alias.sort(), ["pf", "port-forward"]);
  // no command word, an unknown one, or a global flag's value that looks like a command: every command
  for (const args of [[], ["--help"], ["nosuch"], ["-n", "exec"]]) {
    assertEquals(namesOf(await buildProgram(args) as never).length, everything.length, args.join(" "));
  }
});

Deno.test("connectsSoon: commands that reach the cluster, not --help, not the words after --", () => {
  assert(connectsSoon(["exec", "-n", "x", "--", "true"]));
  assert(connectsSoon(["--context", "dev", "pods"]));
  assert(connectsSoon(["run", "kwekash"]));
  // `kodama ui` reads the session list as soon as it listens
  assert(connectsSoon(["ui", "-n", "dev"]));
  assert(!connectsSoon(["run", "kwekash", "--dry-run"]));
  assert(!connectsSoon(["pods", "--help"]));
  assert(!connectsSoon(["--version"]));
  assert(!connectsSoon(["-n", "pods", "config", "get"]));
  assert(!connectsSoon(["config", "--", "pods"]));
  assert(!connectsSoon(["workflow", "list"]));
});
