/**
 * #81 in the VS Code extension: a multi-root workspace can start a session with each folder as a repository
 * (`--repo` once per folder), and its Fetch and Land run with door git allowed the workspace's folders only
 * (KODAMA_DOOR_ALLOW; src/session/git/fetchrepos.ts), so a session's repositories there can come home.
 */
import { assertEquals } from "@kodama/test-assert";
import { fakeVscode } from "../../integration/_fake_vscode.ts";
import * as h from "../../../editors/vscode/src/handlers.ts";

const folders = ["/work/api", "/work/web"];
const ctxOf = (fake: ReturnType<typeof fakeVscode>, fs: string[]) => ({
  api: fake.api,
  cli: { command: "kodama" },
  conn: {},
  state: fake.state,
  cwd: fs[0],
  folders: fs,
});

Deno.test("vscode: a multi-root workspace starts a session with each folder as a repository", async () => {
  const fake = fakeVscode();
  fake.answer("mr", "", "All 2 workspace folders, each a repository");
  const args = await h.startSession(ctxOf(fake, folders) as never);
  assertEquals(args.slice(-4), ["--repo=/work/api", "--repo=/work/web", "--", "mr"]);
  // or none, as kodama start
  fake.answer("mr", "", "No repository (as kodama start)");
  assertEquals((await h.startSession(ctxOf(fake, folders) as never)).slice(-3), ["start", "--", "mr"]);
  // one folder: not asked
  fake.answer("one", "");
  assertEquals((await h.startSession(ctxOf(fake, ["/work/api"]) as never)).slice(-2), ["--", "one"]);
});

Deno.test("vscode: fetch and land run with door git, allowed the workspace's folders", async () => {
  const fake = fakeVscode();
  for (const verb of ["fetch", "land"] as const) {
    await h.sessionVerb(ctxOf(fake, folders) as never, verb, { namespace: "dev", name: "mr" });
    const env = fake.terminals.at(-1)!.env ?? {};
    assertEquals(env.KODAMA_DOOR_GIT, "1");
    assertEquals(env.KODAMA_DOOR_ALLOW, "/work/api:/work/web");
  }
  await h.sessionVerb(ctxOf(fake, ["/work/api"]) as never, "land", { namespace: "dev", name: "mr" });
  assertEquals(fake.terminals.at(-1)!.env?.KODAMA_DOOR_ALLOW, undefined);
  assertEquals(h.doorAllow(["C:\\a", "D:\\b"]), { KODAMA_DOOR_ALLOW: "C:\\a;D:\\b" });
});
