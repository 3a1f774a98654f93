/** Several repositories per session (#81): the pure rules of src/session/git/repos.ts. */
import { assert, assertEquals, assertMatch, assertThrows } from "@kodama/test-assert";
import { KodamaError } from "../../../src/base/errors.ts";
import {
  checkRepoName,
  inRepo,
  multiCloneEnv,
  parseMultiReport,
  parseRepoFlags,
  reposPromptLine,
  type SessionRepo,
} from "../../../src/session/git/repos.ts";

const usage = (f: () => unknown, re: RegExp) => {
  const e = assertThrows(f) as KodamaError;
  assertEquals([e instanceof KodamaError, e.code], [true, 2]);
  assertMatch(e.message, re);
};

Deno.test("--repo PATH[=NAME][:ro]: the directory's name by default, a chosen one, read-only", () => {
  assertEquals(parseRepoFlags(["./api", "../x/web=site", "/srv/docs:ro", "."], "/home/me/proj"), [
    { source: "./api", name: "api", readOnly: false },
    { source: "../x/web", name: "site", readOnly: false },
    { source: "/srv/docs", name: "docs", readOnly: true },
    { source: ".", name: "proj", readOnly: false },
  ]);
  assertEquals(parseRepoFlags(["https://h/acme/lib.git:ro", "git@h:acme/x.git=y:ro"], "/w"), [
    { source: "https://h/acme/lib.git", name: "lib", readOnly: true },
    { source: "git@h:acme/x.git", name: "y", readOnly: true },
  ]);
});

Deno.test("a repository's name is one safe segment: no climbing, no hidden name, no .kodama, unique", () => {
  for (const bad of ["..", ".", "../etc", "a/b", ".kodama", ".git", "x\\y", "", "-rf", "a b", "é"]) {
    usage(() => checkRepoName(bad, "test"), /invalid repository name/);
  }
  usage(() => parseRepoFlags(["./api=../../etc", "./web"], "/w"), /invalid repository name/);
  usage(() => parseRepoFlags(["./api=.kodama", "./web"], "/w"), /invalid repository name/);
  // a path whose directory is `..` or `/` has no name of its own: one must be given
  usage(() => parseRepoFlags(["..", "./web"], "/"), /invalid repository name/);
  usage(() => parseRepoFlags(["./api", "../other/API"], "/w"), /both go to \/workspace\/API/);
  usage(() => parseRepoFlags(["./a=x", "./b=x:ro"], "/w"), /both go to/);
  assertEquals(checkRepoName("api_v2.1-x", "t"), "api_v2.1-x");
});

Deno.test("inRepo runs a pod program in a checked directory only", () => {
  assertEquals(inRepo("api", ["sh", "-c", "S", "kodama-x", "1"]).slice(3), [
    "kodama-repo",
    "api",
    "S",
    "kodama-x",
    "1",
  ]);
  usage(() => inRepo("../x", ["sh", "-c", "S"]), /invalid repository name/);
});

Deno.test("the clone's environment: numbered per repository, shared identity, values never in the text", () => {
  const repos: SessionRepo[] = [
    {
      name: "api",
      git: {
        repo: "/l/api",
        auth: "none",
        image: "i",
        source: "local",
        newBranch: "kodama/s-1",
        userName: "me",
      },
    },
    { name: "docs", readOnly: true, git: { repo: "https://h/d.git", auth: "none", image: "i" } },
  ];
  const env = Object.fromEntries(multiCloneEnv(repos, "/workspace").map((e) => [e.name, e.value]));
  assertEquals(env.KODAMA_CLONE_COUNT, "2");
  assertEquals(env.KODAMA_CLONE_WS_0, "/workspace/api");
  assertEquals(env.KODAMA_CLONE_BUNDLE_0, "/workspace/.kodama-clone-api.bundle");
  assertEquals(env.KODAMA_CLONE_NEW_0, "kodama/s-1");
  assertEquals(env.KODAMA_CLONE_WS_1, "/workspace/docs");
  assertEquals(env.KODAMA_CLONE_MODE_1, "remote");
  assertEquals(env.KODAMA_CLONE_LABEL_1, "docs");
  assertEquals(env.KODAMA_CLONE_NAME, "me");
  assertEquals(env.KODAMA_CLONE_WS, undefined);
});

Deno.test("each repository's report from the clone's log; the agent's line names the read-only ones", () => {
  const log = "kodama-repo: api\nkodama: cloned\nkodama-git: branch=kodama/s-1 commit=abc123\n" +
    "kodama-repo: docs\nkodama: /workspace/docs is not empty: clone skipped\nkodama-git: branch=main commit=def\n" +
    "kodama-repo: ../evil\nkodama-git: branch=x commit=1\n";
  const m = parseMultiReport(log);
  assertEquals(m.get("api"), { skipped: false, branch: "kodama/s-1", commit: "abc123" });
  assertEquals(m.get("docs"), { skipped: true, branch: "main", commit: "def" });
  assertEquals(m.size, 2);
  const line = reposPromptLine([{ name: "api" }, { name: "docs", readOnly: true }], "/workspace");
  assertMatch(line, /api\/, docs\/ \(read-only\)/);
  assertMatch(line, /Do not change docs/);
});

Deno.test("the pod of several: one clone container running clone.sh per repository, credentials of all", async () => {
  const { configSchema } = await import("../../../src/config/schema.ts");
  const { resolveSpec } = await import("../../../src/session/spec/spec.ts");
  const { buildSession } = await import("../../../src/session/spec/manifests.ts");
  const CLONE = (await import("../../../src/session/pod/clone.sh", { with: { type: "text" } })).default;
  const base = resolveSpec({ name: "mr", namespace: "dev" }, configSchema.parse({}), {
    envVars: [],
    editorFiles: [],
    now: new Date("2026-01-15T14:30:00Z"),
  });
  const repos: SessionRepo[] = [
    {
      name: "api",
      git: {
        repo: "/l/api",
        auth: "token",
        image: "i",
        source: "local",
        credentialsFor: "https://gh.example",
      },
    },
    {
      name: "docs",
      readOnly: true,
      git: { repo: "git@h:d.git", auth: "ssh", image: "i", sshSecret: "git-ssh" },
    },
  ];
  const o = buildSession({ ...base, repos }, {
    env: {},
    editor: {},
    git: { credentials: "https://x-access-token:t@gh.example\n" },
  });
  const init = o.pod.spec?.initContainers ?? o.job?.spec?.template.spec?.initContainers ?? [];
  assertEquals(init.length, 1);
  const c = init[0];
  assertEquals(c.command?.slice(0, 2), ["sh", "-c"]);
  assertMatch(c.command![2], /KODAMA_CLONE_COUNT/);
  assertEquals(c.command?.slice(3), ["kodama-clone", CLONE]);
  const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
  assertEquals([env.KODAMA_CLONE_WS_0, env.KODAMA_CLONE_WS_1], ["/workspace/api", "/workspace/docs"]);
  assertEquals(env.KODAMA_CLONE_REPO, undefined);
  // the token's Secret and the SSH key are both mounted (each repository's own auth)
  const mounts = (c.volumeMounts ?? []).map((m) => m.mountPath);
  for (const m of ["/etc/kodama/git", "/etc/kodama/ssh"]) assert(mounts.includes(m), `${m} in ${mounts}`);
  assert(o.gitSecret, "the credentials Secret is made");
  // one repository: the clone container as it always was
  const one = buildSession({ ...base, git: repos[0].git }, { env: {}, editor: {} });
  const c1 = (one.pod.spec?.initContainers ?? one.job?.spec?.template.spec?.initContainers ?? [])[0];
  assertEquals(c1.command, ["sh", "-c", CLONE, "kodama-clone"]);
});

Deno.test("pod/inrepo.sh: runs a program in the repository's directory; a name that climbs or hides is refused", async () => {
  const INREPO = (await import("../../../src/session/pod/inrepo.sh", { with: { type: "text" } })).default;
  const ws = await Deno.makeTempDir({ prefix: "kodama-inrepo-" });
  try {
    await Deno.mkdir(`${ws}/api`);
    await Deno.mkdir(`${ws}/.hidden`);
    const sh = (name: string) =>
      new Deno.Command("sh", {
        args: ["-c", INREPO, "kodama-repo", name, 'pwd; echo "$KODAMA_WORKSPACE $0 $1"', "a0", "a1"],
        env: { KODAMA_WORKSPACE: ws },
        stdout: "piped",
        stderr: "piped",
      }).outputSync();
    const ok = sh("api");
    assertEquals(ok.code, 0);
    const [pwd, line] = new TextDecoder().decode(ok.stdout).trim().split("\n");
    assertEquals(await Deno.realPath(pwd), await Deno.realPath(`${ws}/api`));
    assertEquals(line, `${ws}/api a0 a1`);
    for (const bad of ["..", "../api", ".hidden", "api/..", ""]) assertEquals(sh(bad).code, 2, bad);
    assertEquals(sh("web").code, 3);
  } finally {
    await Deno.remove(ws, { recursive: true });
  }
});
