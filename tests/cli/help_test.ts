import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { runKodama } from "./_run.ts";

Deno.test("kodama options lists the global flags; a command's help points to it and reads like kubectl's", async () => {
  const o = await runKodama(["options"]);
  assertEquals(o.code, 0);
  assertStringIncludes(o.stdout, "The following options can be passed to any command:");
  for (const f of ["--kubeconfig", "--context", "-n, --namespace", "--log-level"]) {
    assertStringIncludes(o.stdout, f);
  }
  const h = await runKodama(["port-forward", "--help"]);
  assertEquals(h.code, 0);
  assertStringIncludes(h.stdout, "Aliases:\n  port-forward, pf\n");
  assertStringIncludes(h.stdout, "Examples:\n  # ");
  assertStringIncludes(h.stdout, "\nUsage:\n  kodama port-forward (TYPE/NAME");
  assertStringIncludes(h.stdout, 'Use "kodama options" for a list of global command-line options');
  assert(!h.stdout.includes("(default: [])"), h.stdout);
  // `kodama help CMD` is the same text
  const viaHelp = await runKodama(["help", "port-forward"]);
  assertEquals(viaHelp.stdout, h.stdout);
});

Deno.test("start --help is short (what a user scans); --help-all is the whole text; session --help says Usage once", async () => {
  const short = await runKodama(["start", "--help"]);
  assertEquals(short.code, 0, short.stderr);
  assert(short.stdout.trimEnd().split("\n").length <= 46, short.stdout);
  assertStringIncludes(short.stdout, 'Use "kodama start --help-all"');
  const all = await runKodama(["start", "--help-all"]);
  assertEquals(all.code, 0, all.stderr);
  assertMatch(all.stdout, /--storage-class <class> +StorageClass of the volumes/);
  const s = await runKodama(["session", "--help"]);
  assertEquals(s.stdout.split("kodama session [command] [flags]").length, 2, s.stdout);
});
