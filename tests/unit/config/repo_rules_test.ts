/**
 * A repo's .kodama.yaml is untrusted input (#26 class 9): the config loader marks every value it set,
 * and holds it to the key's rule (schema.ts RepoRule) — local paths must lead inside the repository
 * after symlinks, the local env vars that leave the machine are the user's choice only, listeners stay
 * on loopback. Each rule with several variants: absolute, `../`, `~`, a symlink at the file, a symlink at
 * a parent, a dangling link, and the values that are fine.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { loadConfig, originOf } from "../../../src/config/load.ts";
import { allKeys } from "../../../src/config/keys.ts";
import { confine } from "../../../src/config/confine.ts";

async function world() {
  const root = await Deno.makeTempDir({ prefix: "kodama-reporules-" });
  const home = join(root, "home");
  const repo = join(root, "repo");
  await Deno.mkdir(join(home, ".ssh"), { recursive: true });
  await Deno.writeTextFile(join(home, ".ssh", "id_rsa"), "PLANTED-KEY\n");
  await Deno.mkdir(join(repo, ".git"), { recursive: true });
  await Deno.mkdir(join(repo, "sub"), { recursive: true });
  await Deno.writeTextFile(join(repo, "sub", "ok.env"), "A=1\n");
  return {
    root,
    home,
    repo,
    load: async (yaml: string, global = "") => {
      await Deno.writeTextFile(join(repo, ".kodama.yaml"), yaml);
      if (global) await Deno.writeTextFile(join(home, "config.yaml"), global);
      return await loadConfig({ home, cwd: join(repo, "sub") });
    },
    [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }),
  };
}

/**
 * The decision for EVERY config key: what a repository's .kodama.yaml may do with it. A key added to
 * the schema without a decision here fails this test: decide whether a repo may set it (it names no
 * local path, no local env var, no listen address, no cluster credential, and cannot make kodama
 * overwrite or send more local files) or give it a rule in src/config/schema.ts.
 */
const DECISIONS: Record<string, string> = {
  // which cluster, and so which of the kubeconfig's credentials, kodama uses: the user's choice
  "defaults.context": "userOnly",
  // which clusters `kodama mcp` lets an agent reach with the user's credentials
  "mcp.contexts": "userOnly",
  // the rest of defaults shapes what runs in the pod (the pod is untrusted anyway): shown by `start`
  "defaults.namespace": "repo",
  "defaults.image": "repo",
  "defaults.resources.cpu": "repo",
  "defaults.resources.memory": "repo",
  "defaults.resources.storage": "repo",
  "defaults.storage.workspace": "repo",
  "defaults.storage.claudeHome": "repo",
  "defaults.storage.storageClass": "repo",
  "defaults.storage.pool": "repo",
  "defaults.storage.poolRefill": "repo",
  "defaults.branchPrefix": "repo",
  // with session.serviceAccountToken, the account's token is the agent's: the user's choice
  "defaults.serviceAccount": "userOnly",
  // requests, devices and placement only ask the cluster for room: a repository may ask
  "defaults.resources.cpuRequest": "repo",
  "defaults.resources.memoryRequest": "repo",
  "defaults.scheduling.gpu": "repo",
  "defaults.scheduling.resources": "repo",
  "defaults.scheduling.nodeSelector": "placement",
  "defaults.scheduling.tolerations": "placement",
  "defaults.scheduling.priorityClass": "userOnly",
  // a pull secret is a registry credential of the namespace: the user's choice
  "defaults.scheduling.imagePullSecrets": "userOnly",
  // annotations steer admission and the runtime (AppArmor, sidecar injection): the user's choice
  "defaults.scheduling.annotations": "userOnly",
  // an idle stop saves cost and loses nothing (the pod ends cleanly, resume brings it back)
  "defaults.idleStop": "repo",
  // an expiry decides what `kodama gc` deletes: the user's call
  "defaults.ttl": "userOnly",
  "session.readyTimeout": "repo",
  "session.workdir": "repo",
  "session.shell": "repo",
  // the pod's sandbox (the agent runs with its prompts off): a repo cannot loosen it
  "session.serviceAccountToken": "userOnly",
  "session.runAsUser": "userOnly",
  // a PodDisruptionBudget holds back the cluster's drains: the user's choice, not a repository's
  "session.protectRunning": "userOnly",
  "session.protectFor": "userOnly",
  "session.egress.enabled": "userOnly",
  "session.egress.deny": "userOnly",
  "session.egress.allow": "userOnly",
  // the gateway: a repository may not widen what a session reaches, nor take a session around the
  // gateway (the keys would go into its pod), nor choose the image that holds the keys
  "session.egress.hosts": "userOnly",
  "session.gateway": "userOnly",
  "gateway.image": "userOnly",
  "gateway.prices": "userOnly",
  // where `session pr` sends the user's forge token
  "forge.hosts": "userOnly",
  "git.authMethod": "repo",
  "git.tokenEnv": "userOnly",
  "git.secretName": "repo",
  "git.autoBranch": "repo",
  "git.userName": "repo",
  "git.userEmail": "repo",
  "git.image": "repo",
  "git.caFile": "repoPath",
  "env.dotenvFiles": "repoPath",
  // a repo's list only adds to the user's (a union): it can keep more variables back, never send more
  "env.excludeVars": "repo",
  "sync.enabled": "repo",
  // off would send what .gitignore keeps out (a local .env) to the pod
  "sync.useGitignore": "keepsLocal",
  // patterns only ever leave more out
  "sync.excludePatterns": "repo",
  "sync.git": "repo",
  "sync.watch": "repo",
  // one-way-pod makes the pod overwrite local files
  "sync.mode": "keepsLocal",
  "sync.maxFiles": "repo",
  "editor.enabled": "repo",
  "editor.configDir": "repoPath",
  "agent.command": "repo",
  // like agent.command, it runs in the session's pod only (never on this machine): shown by `start`
  "agent.check": "repo",
  // arguments of agent.command, run in the pod only, as agent.command is
  "agent.continueArgs": "repo",
  // how long the pod's watchdog lets a silent agent run: it acts in the pod only
  "agent.stallTimeout": "repo",
  // like retry.attempts: how often a run goes on, within the budgets the user sets
  "agent.resumeLimit": "repo",
  // the CLI cache is a volume of the namespace, shared by every session in it: the user's choice
  "agent.cliCache": "userOnly",
  // where the cache installs from and with which image: what every session of the namespace then runs
  "agent.cliCacheImage": "userOnly",
  "agent.cliCacheRegistry": "userOnly",
  "agent.authEnv": "userOnly",
  // a repository may choose which agent its sessions run (and its extra arguments: they run in the pod
  // only); never which local variables go with it
  "agent.preset": "repo",
  "agent.args": "repo",
  // which models a session's runs use and how often the pod's runner continues them: plain values that
  // run in the pod only, never credentials (#62)
  "agent.models": "repo",
  "agent.retry.attempts": "repo",
  "agent.retry.maxWait": "repo",
  "agent.forwardEnv.claude": "userOnly",
  "agent.forwardEnv.codex": "userOnly",
  "agent.forwardEnv.gemini": "userOnly",
  "agent.forwardEnv.opencode": "userOnly",
  "agent.forwardEnv.pi": "userOnly",
  "agent.forwardEnv.qwen": "userOnly",
  "agent.forwardEnv.custom": "userOnly",
  // how kodama reaches the user (its desktop, which events): the user's choice alone
  "notify.webhook": "userOnly",
  "notify.on": "userOnly",
  "notify.desktop": "userOnly",
  "exec.maxParallel": "repo",
  "exec.shell": "repo",
  "exec.container": "repo",
  "picker.preview": "repo",
  "output.color": "repo",
  "logs.maxStreams": "repo",
  "logs.timestamps": "repo",
  "portForward.address": "loopback",
  "workflows.paths": "repoPath",
  "log.level": "repo",
  "log.format": "repo",
};

Deno.test("every config key has a decision on what a repository may set", () => {
  const actual = Object.fromEntries(allKeys().map((k) => [k.key, k.repoRule?.rule ?? "repo"]));
  const missing = Object.keys(actual).filter((k) => !(k in DECISIONS));
  assertEquals(missing, [], `keys without a decision (add them to DECISIONS): ${missing.join(", ")}`);
  assertEquals(actual, DECISIONS);
});

Deno.test("a repo cannot make sync overwrite local files or send ignored ones", async () => {
  await using w = await world();
  const cfg = await w.load(`sync:\n  mode: one-way-pod\n  useGitignore: false\n`);
  assertEquals(cfg.values.sync.mode, "two-way");
  assertEquals(cfg.values.sync.useGitignore, true);
  assertEquals(cfg.refused.map((r) => r.key).sort(), ["sync.mode", "sync.useGitignore"]);
  for (const r of cfg.refused) assertStringIncludes(r.why, "~/.kodama/config.yaml or by a flag");
  assert(cfg.warnings.some((x) => x.includes(".kodama.yaml: sync.mode ignored")), cfg.warnings.join("\n"));
  // the user's own one-way-pod is what applies when the repo's is refused, and the safe values pass
  const mine = await w.load(`sync:\n  mode: one-way-pod\n`, `sync:\n  mode: one-way-local\n`);
  assertEquals(mine.values.sync.mode, "one-way-local");
  for (const ok of ["two-way", "one-way-local"]) {
    const c = await w.load(`sync:\n  mode: ${ok}\n  useGitignore: true\n`);
    assertEquals(c.refused, [], ok);
    assertEquals(c.sources["sync.mode"], "repo");
  }
  await Deno.remove(join(w.repo, ".kodama.yaml"));
  await Deno.writeTextFile(
    join(w.home, "config.yaml"),
    `sync:\n  mode: one-way-pod\n  useGitignore: false\n`,
  );
  const user = await loadConfig({ home: w.home, cwd: w.repo });
  assertEquals([user.values.sync.mode, user.values.sync.useGitignore, user.refused], [
    "one-way-pod",
    false,
    [],
  ]);
});

Deno.test("a repo cannot choose the kubeconfig context (the cluster and the credentials sent to it)", async () => {
  await using w = await world();
  const cfg = await w.load(
    `defaults:\n  context: prod-admin\n  namespace: team-a\n`,
    `defaults:\n  context: dev\n`,
  );
  assertEquals(cfg.values.defaults.context, "dev");
  assertEquals(cfg.values.defaults.namespace, "team-a");
  assertEquals(cfg.refused.map((r) => r.key), ["defaults.context"]);
  assertStringIncludes(cfg.refused[0].why, "credentials");
});

Deno.test("repo paths leading outside the repository are ignored with a warning naming file and key", async () => {
  await using w = await world();
  await Deno.symlink(join(w.home, ".ssh"), join(w.repo, "docs"));
  await Deno.symlink(join(w.home, ".ssh", "id_rsa"), join(w.repo, "key.pem"));
  await Deno.symlink(join(w.home, "nothing-yet"), join(w.repo, "dangling.env"));
  const outside = [
    join(w.home, ".ssh", "id_rsa"), // absolute
    "../home/.ssh/id_rsa", // ../
    "sub/../../home/.ssh/id_rsa",
    "key.pem", // a committed symlink at the file
    "docs/id_rsa", // a committed symlink at a parent
    "docs", // a directory that is a link out
    "dangling.env", // a link to nothing (could be made to point anywhere)
  ];
  for (const p of outside) {
    for (const key of ["env.dotenvFiles", "git.caFile", "editor.configDir", "workflows.paths"]) {
      const [section, leaf] = key.split(".");
      const list = key === "env.dotenvFiles" || key === "workflows.paths";
      const value = list ? `[sub/ok.env, ${JSON.stringify(p)}]` : JSON.stringify(p);
      const cfg = await w.load(`${section}:\n  ${leaf}: ${value}\n`);
      assertEquals(cfg.sources[key] === "repo", false, `${key}: ${p}`);
      assertEquals(cfg.refused.map((r) => r.key), [key], `${key}: ${p}`);
      assert(
        cfg.warnings.some((x) => x.includes(".kodama.yaml: " + key + " ignored")),
        cfg.warnings.join("\n"),
      );
      assertEquals(originOf(cfg.values)?.fromRepo[key], undefined);
    }
  }
  // the user's own value survives: a refused repo value falls back to it, not to nothing
  const cfg = await w.load(
    `env:\n  dotenvFiles: [../home/.ssh/id_rsa]\n`,
    `env:\n  dotenvFiles: [/etc/my.env]\n`,
  );
  assertEquals(cfg.values.env.dotenvFiles, ["/etc/my.env"]);
  assertEquals(cfg.sources["env.dotenvFiles"], "global");
});

Deno.test("repo paths inside the repository are kept, marked as the repo's", async () => {
  await using w = await world();
  await Deno.symlink(join(w.repo, "sub", "ok.env"), join(w.repo, "inner-link.env"));
  const cfg = await w.load(
    `env:\n  dotenvFiles: [sub/ok.env, inner-link.env, missing.env, ${join(w.repo, "sub", "ok.env")}]\n` +
      `git:\n  caFile: certs/ca.pem\neditor:\n  configDir: .kodama/configs\ndefaults:\n  image: busybox\n`,
  );
  assertEquals(cfg.refused, []);
  assertEquals(cfg.sources["env.dotenvFiles"], "repo");
  const origin = originOf(cfg.values)!;
  assertEquals(Object.keys(origin.fromRepo).sort(), [
    "defaults.image",
    "editor.configDir",
    "env.dotenvFiles",
    "git.caFile",
  ]);
});

Deno.test("which local env vars leave the machine is never the repo's choice", async () => {
  await using w = await world();
  const cfg = await w.load(
    `agent:\n  authEnv: [AWS_SECRET_ACCESS_KEY]\ngit:\n  tokenEnv: AWS_SECRET_ACCESS_KEY\n`,
    `agent:\n  authEnv: [MY_AGENT_KEY]\n`,
  );
  assertEquals(cfg.values.agent.authEnv, ["MY_AGENT_KEY"]);
  assertEquals(cfg.values.git.tokenEnv, "GITHUB_TOKEN");
  assertEquals(cfg.refused.map((r) => r.key).sort(), ["agent.authEnv", "git.tokenEnv"]);
  for (const r of cfg.refused) assertStringIncludes(r.why, "~/.kodama/config.yaml or by a flag");
  // from the user's own config it is fine
  await Deno.remove(join(w.repo, ".kodama.yaml"));
  const mine = await loadConfig({ home: w.home, cwd: w.repo });
  assertEquals(mine.refused, []);
  assertEquals(mine.values.agent.authEnv, ["MY_AGENT_KEY"]);
});

Deno.test("a repo may make port-forwards listen on loopback only", async () => {
  await using w = await world();
  for (const bad of ["0.0.0.0", "::", "192.168.1.10", "example.com", "127.0.0.1.evil.example"]) {
    const cfg = await w.load(`portForward:\n  address: ${JSON.stringify(bad)}\n`);
    assertEquals(cfg.values.portForward.address, "127.0.0.1", bad);
    assertEquals(cfg.refused.map((r) => r.key), ["portForward.address"], bad);
  }
  for (const ok of ["127.0.0.1", "127.0.0.2", "::1", "localhost"]) {
    const cfg = await w.load(`portForward:\n  address: ${JSON.stringify(ok)}\n`);
    assertEquals(cfg.values.portForward.address, ok);
    assertEquals(cfg.refused, []);
  }
});

Deno.test("confine: real paths, relative to the root, links at any level", async () => {
  await using w = await world();
  await Deno.symlink(join(w.home, ".ssh"), join(w.repo, "docs"));
  assertEquals((await confine(w.repo, "sub/ok.env")).outside, undefined);
  assertEquals((await confine(w.repo, "sub/not/yet/there.env")).outside, undefined);
  assertStringIncludes((await confine(w.repo, "docs/id_rsa")).outside!, "outside the repository");
  assertStringIncludes((await confine(w.repo, "docs/new-file")).outside!, "outside the repository");
  assertStringIncludes((await confine(w.repo, "/etc/passwd")).outside!, "leads to /etc/passwd");
  // a repository reached through a symlink is still itself
  await Deno.symlink(w.repo, join(w.root, "repo-link"));
  assertEquals((await confine(join(w.root, "repo-link"), "sub/ok.env")).outside, undefined);
});
