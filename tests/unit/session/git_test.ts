import { assert, assertEquals, assertMatch, assertThrows } from "@kodama/test-assert";
import { configSchema } from "../../../src/config/schema.ts";
import { ExitCode, type KodamaError } from "../../../src/base/errors.ts";
import {
  autoBranchName,
  bundlePath,
  cloneEnv,
  cloneErrorLines,
  credentialLine,
  GIT_MOUNT,
  gitSecretData,
  type GitSpec,
  KODAMA_DIR,
  parseCloneReport,
  parseRepoUrl,
  receiveBundleCommand,
  REPORT_PREFIX,
  resolveGit,
  RUN_MOUNT,
  SSH_MOUNT,
} from "../../../src/session/git/git.ts";
import { buildSession, redactedList } from "../../../src/session/spec/manifests.ts";
import { resolveSpec } from "../../../src/session/spec/spec.ts";
import CLONE from "../../../src/session/pod/clone.sh" with { type: "text" };

const now = new Date("2026-01-15T14:30:00.123Z");
const cfgOf = (git: Record<string, unknown> = {}) => configSchema.parse({ git });
const inputs = (o: Partial<Parameters<typeof resolveGit>[2]> = {}) => ({
  session: "demo",
  sessionImage: "img:1",
  now,
  ...o,
});

function code(fn: () => unknown): number {
  try {
    fn();
  } catch (e) {
    return (e as KodamaError).code;
  }
  return 0;
}

Deno.test("repo URLs: kinds, origins, and credentials inside a URL refused", () => {
  assertEquals(parseRepoUrl("https://github.com/a/b.git"), { kind: "https", origin: "https://github.com" });
  assertEquals(parseRepoUrl("https://git.local:8443/a"), { kind: "https", origin: "https://git.local:8443" });
  assertEquals(parseRepoUrl("git@github.com:a/b.git").kind, "ssh");
  assertEquals(parseRepoUrl("ssh://git@host:22/a.git").kind, "ssh");
  assertEquals(parseRepoUrl("/srv/repo.git").kind, "path");
  assertEquals(parseRepoUrl("file:///srv/repo.git").kind, "file");
  assertEquals(parseRepoUrl("git://host/r.git").kind, "git");
  assertEquals(code(() => parseRepoUrl("https://u:tok@github.com/a/b")), ExitCode.USAGE);
  assertEquals(code(() => parseRepoUrl("https://tok@github.com/a/b")), ExitCode.USAGE);
  assertEquals(code(() => parseRepoUrl("ftp://x/y")), ExitCode.USAGE);
});

Deno.test("automatic branch: <prefix><session>-<UTC timestamp>", () => {
  assertEquals(autoBranchName("kodama/", "demo", now), "kodama/demo-20260115143000");
  const g = resolveGit({ repo: "/r.git" }, cfgOf(), inputs())!;
  assertEquals(g.newBranch, "kodama/demo-20260115143000");
  assertEquals(resolveGit({ repo: "/r.git" }, cfgOf({ autoBranch: false }), inputs())!.newBranch, undefined);
  assertEquals(resolveGit({ repo: "/r.git", branch: "feature" }, cfgOf(), inputs())!.newBranch, undefined);
  assertEquals(resolveGit({}, cfgOf(), inputs()), undefined);
  assertEquals(code(() => resolveGit({ branch: "x" }, cfgOf(), inputs())), ExitCode.USAGE);
  for (const bad of ["a..b", "-x", "a b", "x.lock", "a~1", "/x", ".hidden"]) {
    assertEquals(code(() => resolveGit({ repo: "/r", branch: bad }, cfgOf(), inputs())), ExitCode.USAGE, bad);
  }
});

Deno.test("auth method: auto picks token for https with a token, ssh for ssh URLs with a Secret", () => {
  const https = "https://github.com/a/b.git";
  assertEquals(resolveGit({ repo: https }, cfgOf(), inputs({ token: "t" }))!.auth, "token");
  assertEquals(resolveGit({ repo: https }, cfgOf(), inputs())!.auth, "none");
  assertEquals(resolveGit({ repo: "git@h:a.git" }, cfgOf({ secretName: "k" }), inputs())!.auth, "ssh");
  assertEquals(resolveGit({ repo: "git@h:a.git" }, cfgOf(), inputs())!.auth, "none");
  assertEquals(
    resolveGit({ repo: https }, cfgOf({ authMethod: "none" }), inputs({ token: "t" }))!.auth,
    "none",
  );
  // asked for but impossible: exit 2 before any request
  assertEquals(code(() => resolveGit({ repo: https }, cfgOf({ authMethod: "token" }), inputs())), 2);
  assertEquals(
    code(() => resolveGit({ repo: "ssh://h/r" }, cfgOf({ authMethod: "token" }), inputs({ token: "t" }))),
    2,
  );
  // a repository on this machine is sent over exec: a token only ever serves its https upstream (the pod's origin)
  assertEquals(
    resolveGit({ repo: "/r" }, cfgOf({ authMethod: "token" }), inputs({ token: "t" }))!.auth,
    "none",
  );
  const up = resolveGit(
    { repo: "/r" },
    cfgOf(),
    inputs({ token: "t", upstream: "https://github.com/a/b.git" }),
  )!;
  assertEquals([up.auth, up.source, up.origin, up.credentialsFor], [
    "token",
    "local",
    "https://github.com/a/b.git",
    "https://github.com",
  ]);
  assertEquals(code(() => resolveGit({ repo: "git@h:a" }, cfgOf({ authMethod: "ssh" }), inputs())), 2);
  const err = assertThrows(() =>
    resolveGit({ repo: https }, cfgOf({ authMethod: "token", tokenEnv: "GL_TOKEN" }), inputs())
  );
  assertMatch((err as Error).message, /GL_TOKEN is not set/);
  // the image: git.image, else the session image
  assertEquals(resolveGit({ repo: https }, cfgOf(), inputs())!.image, "img:1");
  assertEquals(resolveGit({ repo: https }, cfgOf({ image: "alpine/git" }), inputs())!.image, "alpine/git");
});

Deno.test("credentials: a credential-store line for the repo's host, the token URL-encoded", () => {
  assertEquals(credentialLine("https://github.com", "ghp_x"), "https://x-access-token:ghp_x@github.com\n");
  assertEquals(credentialLine("https://h:8443", "a/b@c"), "https://x-access-token:a%2Fb%40c@h:8443\n");
  const g = resolveGit({ repo: "https://h:8443/r.git" }, cfgOf(), inputs({ token: "tok", ca: "PEM" }))!;
  assertEquals(g.credentialsFor, "https://h:8443");
  assertEquals(g.ca, true);
  assertEquals(gitSecretData(g, { token: "tok", ca: "PEM" }), {
    credentials: "https://x-access-token:tok@h:8443\n",
    "ca.crt": "PEM",
  });
  const none = resolveGit({ repo: "/r.git" }, cfgOf(), inputs({ token: "tok" }))!;
  assertEquals(gitSecretData(none, { token: "tok" }), undefined);
});

function session(git: GitSpec, data?: Record<string, string>) {
  const spec = {
    ...resolveSpec({ name: "demo", namespace: "dev" }, configSchema.parse({}), {
      envVars: [],
      editorFiles: [],
      now,
    }),
    git,
  };
  return buildSession(spec, { env: { A: "1" }, editor: {}, git: data });
}

Deno.test("manifest, token: init container, credentials Secret mounted read-only, no token in the pod", () => {
  const g = resolveGit(
    { repo: "https://github.com/a/b.git" },
    cfgOf({ userName: "Ann", userEmail: "a@x" }),
    inputs({ token: "ghp_secret" }),
  )!;
  const o = session(g, gitSecretData(g, { token: "ghp_secret" }));
  assertEquals(o.gitSecret?.metadata?.name, "kodama-git-demo");
  assertEquals(atob(o.gitSecret!.data!.credentials), "https://x-access-token:ghp_secret@github.com\n");
  const pod = JSON.stringify(o.pod);
  assert(!pod.includes("ghp_secret") && !pod.includes(btoa("ghp_secret")));
  const init = o.pod.spec!.initContainers![0];
  assertEquals(init.name, "git-clone");
  assertEquals(init.image, "img:1");
  assertEquals(init.env?.find((e) => e.name === "GIT_TERMINAL_PROMPT")?.value, "0");
  assert(!init.env?.some((e) => /TOKEN/.test(e.name)));
  assertEquals(init.volumeMounts?.map((m) => m.mountPath), ["/workspace", "/home/kodama", GIT_MOUNT]);
  assertEquals(o.pod.spec!.volumes!.find((v) => v.name === "git-credentials")?.secret, {
    secretName: "kodama-git-demo",
    defaultMode: 0o440,
  });
  const main = o.pod.spec!.containers[0];
  assert(main.volumeMounts!.some((m) => m.mountPath === GIT_MOUNT && m.readOnly));
  const script = init.command![2];
  const env = Object.fromEntries(init.env!.map((e) => [e.name, e.value]));
  assertEquals([env.KODAMA_CLONE_AUTH, env.KODAMA_CLONE_CRED, env.KODAMA_CLONE_NAME], [
    "token",
    "https://github.com",
    "Ann",
  ]);
  assertMatch(script, /gc --replace-all "credential\.\$cred\.helper"/);
  assert(script.includes(`test "$1" = get && exec git credential-store --file=${GIT_MOUNT}/credentials get`));
  assert(!pod.includes("ghp_secret"));
  // --dry-run: the credentials Secret is listed, its values redacted
  const listed = JSON.stringify(redactedList(o));
  assert(listed.includes("kodama-git-demo") && !listed.includes(btoa("https://x-access")));
});

Deno.test("manifest, ssh: the key Secret at mode 0400, a memory emptyDir for the 0600 copy, accept-new", () => {
  const g = resolveGit({ repo: "git@github.com:a/b.git" }, cfgOf({ secretName: "my-key" }), inputs())!;
  const o = session(g);
  assertEquals(o.gitSecret, undefined);
  const vols = o.pod.spec!.volumes!;
  assertEquals(vols.find((v) => v.name === "git-ssh")?.secret, { secretName: "my-key", defaultMode: 0o400 });
  assertEquals(vols.find((v) => v.name === "kodama-run")?.emptyDir?.medium, "Memory");
  const init = o.pod.spec!.initContainers![0];
  assertEquals(
    init.volumeMounts!.filter((m) => m.mountPath === SSH_MOUNT || m.mountPath === RUN_MOUNT).map((
      m,
    ) => [m.mountPath, !!m.readOnly]),
    [[SSH_MOUNT, true], [RUN_MOUNT, false]],
  );
  const script = init.command![2];
  assertEquals(init.env!.find((e) => e.name === "KODAMA_CLONE_AUTH")?.value, "ssh");
  // the mounts are literals in pod/clone.sh: the same as the manifests'
  assert(script.includes(`cp ${SSH_MOUNT}/ssh-privatekey ${RUN_MOUNT}/ssh/id && chmod 600`));
  assertMatch(script, /cp \/etc\/kodama\/ssh\/ssh-privatekey \/run\/kodama\/ssh\/id && chmod 600/);
  assertMatch(script, /if \[ -f \/etc\/kodama\/ssh\/known_hosts \]; then/);
  assertMatch(script, /StrictHostKeyChecking=yes/);
  assertMatch(script, /StrictHostKeyChecking=accept-new/);
  assertMatch(script, /core\.sshCommand "ssh -i \/run\/kodama\/ssh\/id -o IdentitiesOnly=yes \$kh"/);
});

Deno.test("manifest, no git: no init container, no git volumes", () => {
  const spec = resolveSpec({ name: "demo", namespace: "dev" }, configSchema.parse({}), {
    envVars: [],
    editorFiles: [],
    now,
  });
  const o = buildSession(spec, { env: {}, editor: {} });
  assertEquals(o.pod.spec!.initContainers, undefined);
  assertEquals(o.gitSecret, undefined);
  assert(!o.pod.spec!.volumes!.some((v) => v.name.startsWith("git")));
});

/** pod/clone.sh as the init container runs it: its environment from cloneEnv, HOME a fresh directory. */
async function runClone(g: GitSpec, ws: string, home: string): Promise<{ code: number; out: string }> {
  const env = Object.fromEntries(cloneEnv(g, ws).map((e) => [e.name, e.value]));
  const r = await new Deno.Command("sh", {
    args: ["-c", CLONE, "kodama-clone"],
    env: { ...env, HOME: home, PATH: Deno.env.get("PATH")!, GIT_TERMINAL_PROMPT: "0" },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

async function git(cwd: string, ...args: string[]): Promise<string> {
  const r = await new Deno.Command("git", {
    args: ["-c", "user.name=t", "-c", "user.email=t@t", ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
  return new TextDecoder().decode(r.stdout).trim();
}

Deno.test("clone script: a constant program; clones only into an empty workspace, branch logic, report line", async () => {
  const g = resolveGit({ repo: "git://h/r.git", branch: "feat", baseBranch: "dev" }, cfgOf(), inputs())!;
  const env = Object.fromEntries(cloneEnv(g, "/workspace").map((e) => [e.name, e.value]));
  assertEquals(env, {
    KODAMA_CLONE_WS: "/workspace",
    KODAMA_CLONE_MODE: "remote",
    KODAMA_CLONE_IMAGE: g.image,
    KODAMA_CLONE_REPO: "git://h/r.git",
    KODAMA_CLONE_BRANCH: "feat",
    KODAMA_CLONE_BASE: "dev",
    KODAMA_CLONE_AUTH: "none",
  });
  assert(CLONE.includes(`printf '${REPORT_PREFIX} branch=%s commit=%s\\n'`));
  assert(CLONE.includes(`'/${KODAMA_DIR}/runs/'`));
  assert(!CLONE.includes("$$"), "Kubernetes turns $$ in a command into $");
  // run: a repository with dev only, a path with a quote in it; feat is created from dev
  const root = await Deno.makeTempDir({ prefix: "kodama-clone-" });
  try {
    const src = `${root}/it's`;
    await Deno.mkdir(src);
    await git(src, "init", "-q", "-b", "dev");
    await Deno.writeTextFile(`${src}/a`, "a\n");
    await git(src, "add", "a");
    await git(src, "commit", "-q", "-m", "a");
    const head = await git(src, "rev-parse", "HEAD");
    await Deno.mkdir(`${root}/home`);
    const r = await runClone({ ...g, repo: src }, `${root}/ws`, `${root}/home`);
    assertEquals(r.code, 0, r.out);
    assertMatch(r.out, /kodama: created branch feat/);
    assertEquals(parseCloneReport(r.out), { branch: "feat", commit: head });
    assertEquals(await git(`${root}/ws`, "config", "kodama.base"), head);
    assertMatch(await Deno.readTextFile(`${root}/ws/.git/info/exclude`), /^\/\.kodama\/runs\/$/m);
    // not empty: kept as it is, reported
    const again = await runClone({ ...g, repo: src }, `${root}/ws`, `${root}/home`);
    assertEquals(again.code, 0, again.out);
    assertMatch(again.out, /is not empty: clone skipped/);
    assertEquals(parseCloneReport(again.out)?.branch, "feat");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("clone script for a local repository: waits for the bundle, every branch and tag, origin = upstream", async () => {
  const g = resolveGit(
    { repo: "/home/me/api", baseBranch: "main" },
    cfgOf(),
    inputs({ upstream: "https://github.com/a/api.git" }),
  )!;
  assertEquals(g.source, "local");
  assertMatch(g.newBranch!, /^kodama\/demo-\d{14}$/);
  const env = Object.fromEntries(cloneEnv(g, "/workspace").map((e) => [e.name, e.value]));
  assertEquals(env.KODAMA_CLONE_MODE, "local");
  assertEquals(env.KODAMA_CLONE_BUNDLE, "/workspace/.kodama-clone.bundle");
  assertEquals(env.KODAMA_CLONE_ORIGIN, "https://github.com/a/api.git");
  assertEquals(env.KODAMA_CLONE_BASE, "main");
  assertEquals(env.KODAMA_CLONE_BRANCH, undefined, "a local repository is never fetched from its path");
  assertEquals(receiveBundleCommand("/workspace", 42).slice(3), [
    "kodama-receive",
    "42",
    "/workspace/.kodama-clone.bundle",
  ]);
  // run: the bundle is there (with a leftover .part, which does not make the workspace count as used)
  const root = await Deno.makeTempDir({ prefix: "kodama-clone-local-" });
  try {
    const src = `${root}/src`, ws = `${root}/ws`;
    await Deno.mkdir(src);
    await Deno.mkdir(ws);
    await Deno.mkdir(`${root}/home`);
    await git(src, "init", "-q", "-b", "main");
    await Deno.writeTextFile(`${src}/a`, "a\n");
    await git(src, "add", "a");
    await git(src, "commit", "-q", "-m", "a");
    await git(src, "tag", "v1");
    await git(src, "bundle", "create", "-q", bundlePath(ws), "--all");
    await Deno.writeTextFile(`${bundlePath(ws)}.part`, "");
    const r = await runClone({ ...g, repo: src }, ws, `${root}/home`);
    assertEquals(r.code, 0, r.out);
    assertEquals(parseCloneReport(r.out)?.branch, g.newBranch);
    assertEquals(await git(ws, "remote", "get-url", "origin"), "https://github.com/a/api.git");
    assertEquals(await git(ws, "tag"), "v1");
    assertEquals(await Deno.stat(bundlePath(ws)).catch(() => undefined), undefined, "the bundle is removed");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("clone report and error lines from the init container's log", () => {
  const log = "kodama: cloning x\nkodama-git: branch=kodama/s-1 commit=abc123\n";
  assertEquals(parseCloneReport(log), { branch: "kodama/s-1", commit: "abc123" });
  assertEquals(parseCloneReport("kodama-git: branch= commit=abc\n"), { commit: "abc" });
  assertEquals(parseCloneReport("nothing\n"), undefined);
  // the pod's words (#26 class 10): no terminal escapes in a shown branch, a commit only as hex
  assertEquals(parseCloneReport("kodama-git: branch=x\x1b]0;pwned\x07y commit=--output=/tmp/f\n"), {
    branch: "xy",
  });
  assertEquals(cloneErrorLines("kodama: cloning x\nfatal: repository 'x' does not exist\n\n"), [
    "kodama: cloning x",
    "fatal: repository 'x' does not exist",
  ]);
});
