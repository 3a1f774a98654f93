import { assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { Command } from "@commander-js/extra-typings";
import type { V1Pod } from "@kubernetes/client-node";
import { KodamaError } from "../../../src/base/errors.ts";
import { pickPods } from "../../../src/pods/choose.ts";
import { pickerFlags, pickerOptions } from "../../../src/cli/pick_flags.ts";

const pod = (ns: string, name: string): V1Pod => ({ metadata: { namespace: ns, name } });
const DRIVES = [0, 1, 2].map((i) => pod("weka", `weka-drive-${i}`));
const noTty = { interactive: false };

async function code(p: Promise<unknown>): Promise<[number, string]> {
  try {
    await p;
  } catch (e) {
    if (e instanceof KodamaError) return [e.code, `${e.message}\n${e.hint ?? ""}`];
    throw e;
  }
  return [0, ""];
}

Deno.test("pickPods: --select-1 takes a single match of the query without a picker", async () => {
  const got = await pickPods(DRIVES, { ...noTty, query: "drive-1", selectOne: true });
  assertEquals(got.map((p) => p.metadata?.name), ["weka-drive-1"]);
  // fzf syntax in the query
  assertEquals(
    (await pickPods(DRIVES, { ...noTty, query: "2$", selectOne: true }))[0].metadata?.name,
    "weka-drive-2",
  );
});

Deno.test("pickPods: no terminal and several matches -> exit 2 naming the flags and candidates", async () => {
  const many = Array.from({ length: 14 }, (_, i) => pod(i % 2 ? "prod" : "staging", `api-${i}`));
  const [c, msg] = await code(
    pickPods(many, { ...noTty, flagHint: "use --all, --first, --pick or a narrower -m" }),
  );
  assertEquals(c, 2);
  assertStringIncludes(msg, "14 pods match and a choice is needed: staging/api-0, prod/api-1,");
  assertStringIncludes(msg, "… (4 more)");
  assertStringIncludes(msg, "no terminal to pick on; use --all, --first, --pick or a narrower -m");
  // the query narrows the candidates listed
  const [c2, msg2] = await code(pickPods(DRIVES, { ...noTty, query: "drive", noun: "drive" }));
  assertEquals(c2, 2);
  assertStringIncludes(
    msg2,
    `3 drives match "drive" and a choice is needed: weka-drive-0, weka-drive-1, weka-drive-2`,
  );
});

Deno.test("pickPods: a single candidate needs no terminal; nothing to pick -> exit 3", async () => {
  assertEquals((await pickPods(DRIVES.slice(0, 1), noTty)).length, 1);
  assertEquals((await code(pickPods([], noTty)))[0], 3);
  const [c, msg] = await code(pickPods(DRIVES, { ...noTty, query: "compute", exit0: true }));
  assertEquals(c, 3);
  assertStringIncludes(msg, `no pod matches "compute"`);
});

Deno.test("fzfPick: a missing fzf binary is a clear usage error", async () => {
  const { fzfPick } = await import("../../../src/picker/fzf.ts");
  const [c, msg] = await code(fzfPick(["a/b"], { bin: "/nonexistent/fzf-not-here" }));
  assertEquals(c, 2);
  assertStringIncludes(msg, "fzf-not-here is not installed\nKODAMA_PICKER=fzf asks for it");
});

Deno.test("pickerOptions / pickerFlags parse the shared picker flags", () => {
  const cmd = pickerOptions(new Command().exitOverride());
  cmd.parse(["--pick", "--query", "^api web$", "--select-1", "--exit-0", "--multi"], { from: "user" });
  assertEquals(pickerFlags(cmd.opts()), {
    pick: true,
    multi: true,
    query: "^api web$",
    selectOne: true,
    exit0: true,
  });
  const none = pickerOptions(new Command().exitOverride());
  none.parse([], { from: "user" });
  assertEquals(pickerFlags(none.opts()), {
    pick: false,
    multi: false,
    query: undefined,
    selectOne: false,
    exit0: false,
  });
});
