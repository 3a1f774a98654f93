/**
 * `kodama mcp`'s session and workflow tools through the SDK's client, as the restricted `dev` user in
 * namespace `dev`: start (with progress), list, status, an agent run and its logs, stop, resume, fetch and
 * sync_status refusing plainly, delete (only with --allow-destructive); workflows_list, and workflow_run
 * refusing an untrusted and a changed workflow with the command the user must run, running it once the
 * user trusted it — whatever arguments the agent adds.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { clusterTest } from "../cluster/fixture.ts";
import { kubectl, onRealCluster } from "../cluster/harness.ts";
import { runKodama } from "./_run.ts";
import { SESSION_IMAGE } from "./_session.ts";
import { startMcp } from "./_mcp.ts";

clusterTest("mcp: sessions — start, list, status, agent run and logs, stop, resume, fetch, delete", {
  seed: "sessions",
  timeoutMs: 10 * 60_000,
}, async (t, cluster) => {
  const home = await Deno.makeTempDir({ prefix: "kodama-mcp-home-" });
  const cwd = await Deno.makeTempDir({ prefix: "kodama-mcp-project-" });
  await Deno.writeTextFile(
    join(cwd, ".kodama.yaml"),
    `agent:\n  command: [sh, -c, ${JSON.stringify('p=$(cat); echo "agent got: $p"')}]\n`,
  );
  const name = `mcp-${crypto.randomUUID().slice(0, 6)}`;
  const m = await startMcp(cluster.kubeconfig, ["--context", "dev", "--allow-destructive"], {
    env: { KODAMA_HOME: home, GIT_CONFIG_GLOBAL: "/dev/null" },
    cwd,
  });
  try {
    await t.step("session_start: ready, with progress, the Session object back", async () => {
      const progress: string[] = [];
      const r = await m.call("session_start", {
        name,
        image: SESSION_IMAGE,
        noSync: true,
        idleStop: "30m",
        ttl: "8h",
      }, {
        onprogress: (p) => p.message && progress.push(p.message),
      });
      assert(!r.isError, r.text);
      assertEquals(r.data.session.metadata.name, name);
      assertEquals(r.data.session.status.phase, "Running");
      assertStringIncludes(r.text, `session/${name} ready`);
      assert(progress.length >= 1, "progress notifications during the start");
    });

    await t.step("sessions_list and session_status", async () => {
      const l = await m.call("sessions_list", {});
      assert(l.data.sessions.some((s: { metadata: { name: string } }) => s.metadata.name === name), l.text);
      const s = await m.call("session_status", { name });
      assertEquals(s.data.session.metadata.name, name);
      assertEquals(s.data.agentRuns, []);
      // idleStop and ttl, as start --idle-stop 30m --ttl 8h records them
      assertMatch(s.text, /Idle stop:\s+after 30m(0s)? without activity/);
      assertMatch(s.text, /Expires:\s+\d{4}-\d\d-\d\dT[\d:]+Z \(not yet\)/);
      const missing = await m.call("session_status", { name: "no-such-session" });
      assert(missing.isError);
      assertMatch(missing.text, /session "no-such-session" not found in namespace dev \(exit 3\)/);
    });

    await t.step(
      "session_start: template, idleStop and ttl are checked as the CLI's flags (exit 2, 3)",
      async () => {
        for (
          const [args, re] of [
            [{ idleStop: "5x" }, /invalid --idle-stop "5x".*\(exit 2\)/s],
            [{ ttl: "0s" }, /invalid --ttl "0s": must be longer than 0.*\(exit 2\)/s],
            [{ template: "nosuch" }, /template "nosuch" not found.*\(exit 3\)/s],
          ] as const
        ) {
          const r = await m.call("session_start", { name: "mcp-bad", noSync: true, ...args });
          assert(r.isError, r.text);
          assertMatch(r.text, re);
        }
      },
    );

    await t.step("agent_run and agent_logs", async () => {
      if (cluster.real) return; // agent runs are checked on the test server only, as the CLI's (tests/cli/session_agent_test.ts)
      const r = await m.call("agent_run", { name, prompt: "hello from mcp" });
      assert(!r.isError, r.text);
      assertMatch(r.data.run, /^\d+$/);
      const deadline = Date.now() + 60_000;
      let out = "";
      while (Date.now() < deadline && !out.includes("agent got: hello from mcp")) {
        out = (await m.call("agent_logs", { name, run: r.data.run })).data.output;
      }
      assertStringIncludes(out, "agent got: hello from mcp");
      // session_status: each run with its outcome (a plain command in a workspace without git: succeeded)
      let runs: { state: string; outcome?: { text: string } }[] = [];
      while (Date.now() < deadline && runs[0]?.state !== "succeeded") {
        runs = (await m.call("session_status", { name })).data.agentRuns;
      }
      assertEquals([runs[0].state, runs[0].outcome?.text], ["succeeded", "succeeded"]);
      const bad = await m.call("agent_logs", { name, run: "x; rm -rf /" });
      assert(bad.isError);
      assertMatch(bad.text, /run/);
    });

    await t.step(
      "session_fetch outside a repository and sync_status of an unsynced session: plain errors",
      async () => {
        const f = await m.call("session_fetch", { name });
        assert(f.isError);
        assertMatch(f.text, /session fetch runs inside a local clone/);
        const s = await m.call("sync_status", { name });
        assert(s.isError);
        assertMatch(s.text, /not synced from this machine \(exit 3\)/);
      },
    );

    await t.step("session_stop keeps the volumes; session_resume brings it back", async () => {
      const s = await m.call("session_stop", { name });
      assert(!s.isError, s.text);
      assertEquals(s.data.session.status.phase, "Stopped");
      assert(s.data.session.status.volumes.length >= 1);
      const r = await m.call("session_resume", { name });
      assert(!r.isError, r.text);
      assertEquals(r.data.session.status.phase, "Running");
    });

    await t.step(
      "best of N: session_start replicas, compare (wait), adopt and sync_resolve refusing plainly",
      async () => {
        if (cluster.real) return; // agent runs are checked on the test server only, as the CLI's (tests/cli/session_agent_test.ts)
        const g = `${name}-g`;
        try {
          const r = await m.call("session_start", {
            name: g,
            image: SESSION_IMAGE,
            noSync: true,
            replicas: 2,
            prompt: "best of two",
          });
          assert(!r.isError, r.text);
          assertEquals(r.data.replicas.map((x: { metadata: { name: string } }) => x.metadata.name).sort(), [
            `${g}-1`,
            `${g}-2`,
          ]);
          const c = await m.call("compare", { name: g, wait: true, timeout: "3m" });
          assert(!c.isError, c.text);
          assertEquals(c.data.count, 2);
          for (const row of c.data.replicas) assertEquals(row.agent.state, "succeeded", c.text);
          // agent_run with the group's name: the prompt in every replica (`kodama agent run GROUP`)
          const again = await m.call("agent_run", { name: g, prompt: "once more" });
          assert(!again.isError, again.text);
          assertEquals(again.data.started.map((x: { name: string }) => x.name), [`${g}-1`, `${g}-2`]);
          assertMatch(again.text, new RegExp(`^${g}-1: agent run 2 started$`, "m"));
          const none = await m.call("compare", { name: "no-such-group" });
          assert(none.isError);
          assertMatch(none.text, /group "no-such-group" not found in namespace dev \(exit 3\)/);
          const notReplica = await m.call("adopt", { name });
          assert(notReplica.isError);
          assertMatch(notReplica.text, /is not a replica of a group/);
          const noRepo = await m.call("adopt", { name: `${g}-1` });
          assert(noRepo.isError);
          assertMatch(noRepo.text, /session fetch runs inside a local clone/);
          const res = await m.call("sync_resolve", { name, keep: "local", all: true });
          assert(res.isError);
          assertMatch(res.text, /not synced from this machine/);
        } finally {
          for (const i of [1, 2]) await m.call("session_delete", { name: `${g}-${i}`, purge: true });
        }
      },
    );

    await t.step("session_delete with purge (offered only with --allow-destructive)", async () => {
      const d = await m.call("session_delete", { name, purge: true });
      assert(!d.isError, d.text);
      assertEquals(d.data, { deleted: name, purged: true });
      const gone = await m.call("session_status", { name });
      assert(gone.isError);
    });
  } finally {
    await m.call("session_delete", { name, purge: true }).catch(() => {});
    await m.close();
    await Deno.remove(home, { recursive: true }).catch(() => {});
    await Deno.remove(cwd, { recursive: true }).catch(() => {});
  }
});

Deno.test("mcp: workflows — listed with their trust; an untrusted or changed one refused, whatever the agent adds", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "kodama-mcp-wf-" });
  const home = join(tmp, "kodama");
  const repo = join(tmp, "repo");
  await Deno.mkdir(join(repo, ".git"), { recursive: true });
  await Deno.mkdir(join(repo, "data"), { recursive: true });
  await Deno.mkdir(join(repo, ".kodama", "workflows"), { recursive: true });
  await Deno.mkdir(join(repo, ".kodama", "scripts"), { recursive: true });
  await Deno.writeTextFile(join(repo, "data", "x.txt"), "payload-42\n");
  await Deno.writeTextFile(
    join(repo, ".kodama", "scripts", "read.ts"),
    `export default async ({ inputs }) => ({ text: await Deno.readTextFile(String(inputs.path)) });\n`,
  );
  const wf = join(repo, ".kodama", "workflows", "readit.yaml");
  const body = (extra = "") =>
    `description: read a file\npermissions: { read: ["./data"] }\nsteps:\n  - id: r\n    script: { module: ../scripts/read.ts, with: { path: data/x.txt } }\n${extra}`;
  await Deno.writeTextFile(wf, body());
  const kc = join(tmp, "kc");
  await Deno.writeTextFile(kc, "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n");
  const env = { KODAMA_HOME: home };
  const m = await startMcp(kc, [], { env, cwd: repo });
  try {
    await t.step("workflows_list: the repo's workflow, needing trust, not trusted", async () => {
      const r = await m.call("workflows_list", {});
      assert(!r.isError, r.text);
      const w = r.data.workflows.find((x: { name: string }) => x.name === "readit");
      assertEquals([w.source, w.needsTrust, w.trusted], ["repo", true, false]);
      assert(r.data.workflows.some((x: { name: string }) => x.name === "health"), "built-ins listed");
    });

    await t.step(
      "workflow_run: untrusted is refused naming the user's command; trust/yes/force are unknown arguments",
      async () => {
        const r = await m.call("workflow_run", { name: "readit" });
        assert(r.isError);
        assertMatch(r.text, /^error: workflow readit .*is not trusted/);
        assertStringIncludes(r.text, "kodama run readit --trust");
        assertStringIncludes(r.text, "trust cannot be given over MCP");
        for (const extra of [{ trust: true }, { yes: true }, { force: true }]) {
          const x = await m.call("workflow_run", { name: "readit", ...extra });
          assert(x.isError);
          assertMatch(x.text, /Unrecognized key/);
        }
        const dry = await m.call("workflow_run", { name: "readit", dryRun: true });
        assert(!dry.isError, dry.text);
      },
    );

    await t.step("once the user trusts it, it runs; changed after, it is refused again", async () => {
      const trusted = await runKodama(["run", "readit", "--trust"], {
        env: { ...env, KUBECONFIG: kc },
        cwd: repo,
      });
      assertEquals(trusted.code, 0, trusted.stderr);
      const r = await m.call("workflow_run", { name: "readit" });
      assert(!r.isError, r.text);
      assertEquals(r.data.exitCode, 0);
      assertEquals(r.data.steps.r.outcome, "success");
      await Deno.writeTextFile(
        wf,
        body("  - id: s\n    script: { module: ../scripts/read.ts, with: { path: data/x.txt } }\n"),
      );
      const again = await m.call("workflow_run", { name: "readit" });
      assert(again.isError);
      assertMatch(again.text, /changed since you trusted it/);
    });
  } finally {
    await m.close();
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
});

clusterTest(
  "mcp: best of N with a repository — start replicas, compare, session_fetch and adopt bring the work home",
  {
    seed: "sessions",
    timeoutMs: 10 * 60_000,
  },
  async (t, cluster) => {
    const { gitIn, makeTestRepo } = await import("./_git_server.ts");
    const home = await Deno.makeTempDir({ prefix: "kodama-mcp-home-" });
    const repo = await makeTestRepo(await Deno.makeTempDir({ prefix: "kodama-mcp-repo-" }));
    // the fake agent appends the prompt to AGENT.md and commits
    const agent = [
      "p=$(cat)",
      'printf "%s\\n" "$p" >> AGENT.md',
      "git add AGENT.md && git -c user.name=Agent -c user.email=agent@example.com commit -qm agent",
      'echo "agent committed"',
    ].join("\n");
    await Deno.writeTextFile(
      join(repo.work, ".kodama.yaml"),
      `agent:\n  command: [sh, -c, ${JSON.stringify(agent)}]\n`,
    );
    const g = `mcpg-${crypto.randomUUID().slice(0, 5)}`;
    const m = await startMcp(cluster.kubeconfig, ["--context", "dev", "--allow-destructive"], {
      env: { KODAMA_HOME: home, GIT_CONFIG_GLOBAL: "/dev/null" },
      cwd: repo.work,
    });
    try {
      await t.step("session_start replicas 2 from the local repository, with a prompt", async () => {
        const r = await m.call("session_start", {
          name: g,
          repo: ".",
          image: SESSION_IMAGE,
          replicas: 2,
          prompt: "zq-mcp-marker",
        });
        assert(!r.isError, r.text);
        assertEquals(r.data.replicas.length, 2);
      });
      await t.step("compare waits for both agents; each made one commit", async () => {
        const c = await m.call("compare", { name: g, wait: true, timeout: "3m" });
        assert(!c.isError, c.text);
        for (const row of c.data.replicas) {
          assertEquals(row.agent.state, "succeeded", c.text);
          assertEquals(row.commits, 1, c.text);
        }
      });
      await t.step("session_fetch: the replica's branch, locally", async () => {
        const f = await m.call("session_fetch", { name: `${g}-2` });
        assert(!f.isError, f.text);
        const log = await gitIn(["log", "-1", "--format=%s", `kodama/${g}-2`], repo.work);
        assertEquals(log, "agent");
      });
      await t.step(
        "adopt: kodama/GROUP points at replica 1's commit; the working tree is untouched",
        async () => {
          const before = await gitIn(["status", "--porcelain"], repo.work);
          const a = await m.call("adopt", { name: `${g}-1` });
          assert(!a.isError, a.text);
          assertEquals(a.data.branch, `kodama/${g}`);
          const show = await gitIn(["show", `kodama/${g}:AGENT.md`], repo.work);
          assertStringIncludes(show, "zq-mcp-marker");
          assertEquals(await gitIn(["status", "--porcelain"], repo.work), before);
        },
      );
    } finally {
      for (const i of [1, 2]) {
        await m.call("session_delete", { name: `${g}-${i}`, purge: true }).catch(
          () => {},
        );
      }
      await m.close();
      await Deno.remove(home, { recursive: true }).catch(() => {});
      await Deno.remove(repo.dir, { recursive: true }).catch(() => {});
    }
  },
);

clusterTest("mcp: a cancelled session_start cleans up what it created", {
  seed: "sessions",
  ignore: onRealCluster, // a StorageClass whose volumes take 10 minutes: the test server's provisioner
  timeoutMs: 6 * 60_000,
}, async (_t, cluster) => {
  const slow = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: { name: mcp-slow }
provisioner: kodama.dev/test-hostpath
parameters: { provisionDelay: "600s" }
`;
  const mk = await kubectl(cluster, ["apply", "-f", "-"], { stdin: slow });
  assertEquals(mk.code, 0, mk.stderr);
  const home = await Deno.makeTempDir({ prefix: "kodama-mcp-home-" });
  const m = await startMcp(cluster.kubeconfig, ["--context", "dev"], { env: { KODAMA_HOME: home } });
  const name = `mcpc-${crypto.randomUUID().slice(0, 5)}`;
  try {
    const ctl = new AbortController();
    const created = Promise.withResolvers<void>();
    const call = m.call("session_start", {
      name,
      image: SESSION_IMAGE,
      noSync: true,
      storageClass: "mcp-slow",
    }, {
      signal: ctl.signal,
      onprogress: (p) => {
        if (/objects created|waiting for volume/.test(p.message ?? "")) created.resolve();
      },
    }).catch((e) => e as Error);
    await created.promise;
    ctl.abort();
    assert((await call) instanceof Error, "the call was cancelled");
    // the session's objects go: no session, no claims left behind
    const deadline = Date.now() + 120_000;
    let gone = false;
    while (Date.now() < deadline && !gone) {
      const s = await m.call("session_status", { name });
      const pvcs = await kubectl(cluster, [
        "get",
        "pvc",
        "-n",
        "dev",
        "-l",
        `kodama.dev/session=${name}`,
        "-o",
        "name",
      ]);
      gone = !!s.isError && /not found/.test(s.text) && pvcs.stdout.trim() === "";
      if (!gone) await new Promise((r) => setTimeout(r, 300));
    }
    assert(gone, "the cancelled start left nothing behind");
  } finally {
    await m.close();
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
});
