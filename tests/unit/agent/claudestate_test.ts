/**
 * Claude Code's first-run state for `agent attach` (src/agent/runs/claudestate.ts, pod/claudestate.sh): the merge
 * sets the onboarding and the workspace's trust once and nothing else; the pod program reads and writes the
 * file the CLI reads (CLAUDE_CONFIG_DIR from envload's rotated variables too), with sh alone, never through a
 * link.
 */
import { assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { claudeStateArgv, parseStateRead, withFirstRunDone } from "../../../src/agent/runs/claudestate.ts";

Deno.test("withFirstRunDone: sets the two marks, keeps the rest, writes nothing the second time", () => {
  const before = JSON.stringify({
    numStartups: 3,
    userID: "u1",
    projects: { "/work": { allowedTools: ["x"], hasTrustDialogAccepted: false }, "/other": { a: 1 } },
  });
  const next = withFirstRunDone(before, "/work")!;
  const s = JSON.parse(next);
  assertEquals(s.hasCompletedOnboarding, true);
  assertEquals(s.numStartups, 3);
  assertEquals(s.userID, "u1");
  assertEquals(s.projects["/work"], { allowedTools: ["x"], hasTrustDialogAccepted: true });
  assertEquals(s.projects["/other"], { a: 1 });
  // once: a file that has both marks is not written again
  assertEquals(withFirstRunDone(next, "/work"), undefined);
  // another workspace is trusted on its own
  assertEquals(JSON.parse(withFirstRunDone(next, "/w2")!).projects["/w2"], { hasTrustDialogAccepted: true });
});

Deno.test("withFirstRunDone: no file, an empty one; not an object or not JSON is left alone", () => {
  for (const t of [undefined, "", "  \n"]) {
    assertEquals(JSON.parse(withFirstRunDone(t, "/w")!), {
      hasCompletedOnboarding: true,
      projects: { "/w": { hasTrustDialogAccepted: true } },
    });
  }
  for (const t of ["[1]", "null", "42", "{not json", '"s"']) {
    assertEquals(withFirstRunDone(t, "/w"), undefined);
  }
  // projects of another shape is replaced only in what it must hold
  assertEquals(JSON.parse(withFirstRunDone('{"projects":[1]}', "/w")!).projects, {
    "/w": { hasTrustDialogAccepted: true },
  });
});

Deno.test("parseStateRead", () => {
  assertEquals(parseStateRead("/h/.claude.json\n/ws\nnone\n"), {
    file: "/h/.claude.json",
    workspace: "/ws",
    kind: "none",
    text: "",
  });
  assertEquals(parseStateRead('/h/.claude.json\n/ws\nfile\n{"a":1}\n')?.text, '{"a":1}\n');
  assertEquals(parseStateRead("/h/.claude.json\n/ws\nother\n")?.kind, "other");
  assertEquals(parseStateRead("garbage"), undefined);
});

/** Run the pod program as the pod would (sh), with HOME and the workspace given. */
async function run(mode: "read" | "write", home: string, ws: string, stdin = "") {
  const [cmd, ...args] = claudeStateArgv(mode);
  const p = new Deno.Command(cmd, {
    args,
    env: { HOME: home, KODAMA_WORKSPACE: ws, PATH: "/usr/bin:/bin" },
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = p.stdin.getWriter();
  await w.write(new TextEncoder().encode(stdin));
  await w.close();
  const o = await p.output();
  return { code: o.code, out: new TextDecoder().decode(o.stdout), err: new TextDecoder().decode(o.stderr) };
}

Deno.test("pod/claudestate.sh: reads and writes the CLI's file; CLAUDE_CONFIG_DIR from envload; never a link", async () => {
  const home = await Deno.makeTempDir({ prefix: "kodama-claude-" });
  try {
    const ws = join(home, "ws");
    await Deno.mkdir(ws);
    const r1 = await run("read", home, ws);
    assertEquals(parseStateRead(r1.out), {
      file: join(home, ".claude.json"),
      workspace: ws,
      kind: "none",
      text: "",
    });
    const next = withFirstRunDone(undefined, ws)!;
    assertEquals((await run("write", home, ws, next)).code, 0);
    assertEquals(await Deno.readTextFile(join(home, ".claude.json")), next);
    assertEquals((await Deno.stat(join(home, ".claude.json"))).mode! & 0o777, 0o600);
    const r2 = parseStateRead((await run("read", home, ws)).out)!;
    assertEquals([r2.kind, r2.text], ["file", next]);
    // a CLAUDE_CONFIG_DIR rotated onto the home volume (session env set): the file the CLI reads
    await Deno.mkdir(join(home, ".kodama", "env"), { recursive: true });
    await Deno.writeTextFile(join(home, ".kodama", "env", "CLAUDE_CONFIG_DIR"), join(home, "cfg"));
    const r3 = parseStateRead((await run("read", home, ws)).out)!;
    assertEquals([r3.file, r3.kind], [join(home, "cfg", ".claude.json"), "none"]);
    assertEquals((await run("write", home, ws, "{}\n")).code, 0);
    assertEquals(await Deno.readTextFile(join(home, "cfg", ".claude.json")), "{}\n");
    // a link (to a file elsewhere) is neither read nor written through
    const elsewhere = join(home, "elsewhere.json");
    await Deno.writeTextFile(elsewhere, "keep");
    await Deno.remove(join(home, "cfg", ".claude.json"));
    await Deno.symlink(elsewhere, join(home, "cfg", ".claude.json"));
    const r4 = await run("read", home, ws);
    assertStringIncludes(r4.out, "\nother\n");
    assertEquals((await run("write", home, ws, "{}\n")).code, 0);
    assertEquals(await Deno.readTextFile(elsewhere), "keep");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
