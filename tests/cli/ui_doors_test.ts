/**
 * Issue 50 class 1 at the web UI's door: the JSON API a page calls (POST /api/sessions, a workflow run)
 * takes local paths and params from the browser; each path goes through the same door as the MCP
 * server's (src/config/doors.ts): the project the UI was started in or a `kodama ui --allow-path` grant,
 * never $KODAMA_HOME, the home or its hidden files. The real server, over HTTP, with its token and CSRF
 * checks; the refusal comes before any request to a cluster (there is none here).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { git } from "../_git.ts";
import { lockEnv } from "../_env_lock.ts";

Deno.test("ui doors: paths a page names are confined like an MCP client's", async (t) => {
  const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "kodama-uidoors-" }));
  const home = join(tmp, "home");
  const state = join(home, ".kodama");
  const project = join(home, "src", "proj");
  const shared = join(home, "src", "shared");
  for (const d of [join(state, "workflows"), join(home, ".ssh"), join(project, ".git"), shared]) {
    await Deno.mkdir(d, { recursive: true });
  }
  await Deno.writeTextFile(join(home, ".bashrc"), "export SECRET_TOKEN=x\n");
  await Deno.symlink(join(state, "workflows"), join(project, "wf"));
  await Deno.writeTextFile(
    join(state, "workflows", "here.yaml"),
    `params: { dir: { default: "." }, msg: { default: hi } }
permissions: { run: [sh] }
steps:
  - local: { command: [sh, -c, "echo in $(pwd): \${{ params.msg }}"], cwd: "\${{ params.dir }}" }
`,
  );
  const kubeconfig = join(tmp, "kubeconfig");
  await Deno.writeTextFile(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "https://127.0.0.1:9" } }]
users: [{ name: u, user: { token: not-a-real-token-123 } }]
contexts: [{ name: dev, context: { cluster: c, user: u, namespace: dev } }]
current-context: dev
`,
  );
  // held to the end: another file's test reading HOME meanwhile would see this one's
  const restore = await lockEnv(["HOME", "KODAMA_HOME"]);
  Deno.env.set("HOME", home);
  Deno.env.set("KODAMA_HOME", state);
  const [{ Kube }, { startUI }, { loadConfig }, { memorySink }] = await Promise.all([
    import("../../src/kube/client.ts"),
    import("../../src/web/server.ts"),
    import("../../src/config/load.ts"),
    import("../../src/base/sink.ts"),
  ]);
  const kube = await Kube.connect({ kubeconfig });
  const cfg = (await loadConfig({ cwd: project })).values;
  const ui = await startUI(kube, { cfg, cwd: project, allowPath: [shared], err: memorySink() });
  const base = ui.url.replace(/\/$/, "");
  const origin = new URL(base).origin;
  const events = new AbortController();
  try {
    // the page opened with the token carries its own credential, sent in a header (no cookie)
    const page = await (await fetch(`${base}/?token=${ui.token}`)).text();
    const session = /<meta name="kodama-session" content="([0-9a-f]+)">/.exec(page)?.[1] ?? "";
    assert(session, "the page carries its credential");
    const authorization = `Bearer ${session}`;
    const csrf = /name="csrf-token" content="([^"]+)"/.exec(page)?.[1] ?? "";
    assert(csrf, "the page carries its CSRF token");
    // every operation's end arrives on the event stream
    const ends = new Map<number, { code: number; error?: string; text: string }>();
    const stream = await fetch(`${base}/api/events`, { headers: { authorization }, signal: events.signal });
    (async () => {
      const dec = new TextDecoder();
      let buf = "";
      for await (const c of stream.body!) {
        buf += dec.decode(c, { stream: true });
        for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
          const ev = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (!ev.startsWith("event: op")) continue;
          const d = JSON.parse(ev.slice(ev.indexOf("data: ") + 6));
          if (d.done) ends.set(d.id, d);
        }
      }
    })().catch(() => {});
    const post = async (path: string, body: unknown) => {
      const r = await fetch(`${base}${path}`, {
        method: "POST",
        headers: { authorization, origin, "x-csrf-token": csrf, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const j = await r.json();
      // a start is checked (a dry run of the same start) before it is accepted: a refusal is the
      // request's own answer, its exit code as the HTTP status (4 forbidden = 403, as the API maps it)
      const refused: Record<number, number> = { 400: 2, 403: 4, 404: 3 };
      if (refused[r.status]) {
        return { code: refused[r.status], error: j.error as string, text: `${j.hint}` };
      }
      assertEquals(r.status, 202, JSON.stringify(j));
      for (let i = 0; i < 600 && !ends.has(j.op); i++) await new Promise((r) => setTimeout(r, 100));
      const end = ends.get(j.op);
      assert(end, `operation ${j.op} ended`);
      return end;
    };

    await t.step(
      "POST /api/sessions: sync roots, env files and repositories that lead out are refused (exit 4)",
      async () => {
        for (const d of [join(project, "good"), join(home, "src", "other")]) {
          await Deno.mkdir(d, { recursive: true });
          git(["init", "-q", "-b", "main"], d);
          git([
            "-c",
            "user.name=me",
            "-c",
            "user.email=me@here",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "one",
          ], d);
        }
        for (
          const [body, re] of [
            [{ sync: join(state, "workflows") }, /kodama's own state/],
            [{ sync: join(project, "wf") }, /kodama's own state/],
            [{ sync: join(home, ".ssh") }, /hidden file or directory/],
            [{ sync: home }, /kodama's own state|home directory/],
            [{ envFiles: [join(home, ".bashrc")] }, /hidden/],
            [{ envFiles: ["../../.bashrc"] }, /hidden/],
            [{ sync: join(home, "src") }, /outside the project/],
            // several repositories (the dialog's More repositories): each path, wherever it stands
            [{ repo: "good", repos: [`${join(home, ".ssh")}=ssh`] }, /hidden file or directory/],
            [{ repos: [join(home, "src", "other"), "good"] }, /outside the project/],
            [{ repos: ["good=a", "good/../../../.ssh=b:ro"] }, /hidden file or directory/],
          ] as const
        ) {
          const end = await post("/api/sessions", { name: "x", image: "busybox", ...body });
          assertEquals(end.code, 4, JSON.stringify(end));
          assertMatch(end.error ?? "", re);
          assert(!(end.error ?? "").includes("SECRET_TOKEN"));
        }
      },
    );

    await t.step(
      "a workflow is named as the list shows it, never a file: a .yaml name or a repo link out is refused",
      async () => {
        await Deno.writeTextFile(join(home, ".ssh", "creds.yaml"), "aws_secret_access_key: s3cr3t-value\n");
        await Deno.symlink(join(home, ".ssh", "creds.yaml"), join(project, "creds.yaml"));
        await Deno.mkdir(join(project, ".kodama", "workflows"), { recursive: true });
        await Deno.symlink(
          join(home, ".ssh", "creds.yaml"),
          join(project, ".kodama", "workflows", "keys.yaml"),
        );
        try {
          for (const name of ["creds.yaml", "creds.yml", "..%2F..%2F.ssh%2Fcreds.yaml"]) {
            const r = await post(`/api/workflows/${name}/run`, {});
            assertEquals(r.code, 2, JSON.stringify(r));
            assertMatch(r.error ?? "", /not a workflow name/);
            assert(!/aws_secret_access_key|s3cr3t/.test(JSON.stringify(r)), JSON.stringify(r));
          }
          const keys = await post("/api/workflows/keys/run", {});
          assertEquals(keys.code, 4, JSON.stringify(keys));
          assertMatch(keys.error ?? "", /outside the repository/);
          assert(!/aws_secret_access_key|s3cr3t/.test(JSON.stringify(keys)), JSON.stringify(keys));
          const list = await (await fetch(`${base}/api/workflows`, { headers: { authorization } })).json();
          assert(!/aws_secret_access_key|s3cr3t/.test(JSON.stringify(list)), JSON.stringify(list));
          const entry = list.find((w: { name: string }) => w.name === "keys");
          assertMatch(entry?.error ?? "", /outside the repository/, JSON.stringify(entry));
        } finally {
          await Deno.remove(join(project, ".kodama"), { recursive: true });
          await Deno.remove(join(project, "creds.yaml"));
        }
      },
    );

    await t.step("an oversized body is refused before it is read whole; nothing starts", async () => {
      const big = JSON.stringify({ name: "huge", image: "busybox", prompt: "x".repeat(3 * 1024 * 1024) });
      const r = await fetch(`${base}/api/sessions`, {
        method: "POST",
        headers: { authorization, origin, "x-csrf-token": csrf, "content-type": "application/json" },
        body: big,
      });
      const j = await r.json();
      assertEquals(r.status, 400, JSON.stringify(j));
      assertMatch(j.error, /the request body is larger than 1 MiB/);
    });

    await t.step(
      "a workflow run: a param naming a local path passes the door; a granted one works",
      async () => {
        const bad = await post("/api/workflows/here/run", { params: { dir: join(home, ".ssh") } });
        assertEquals(bad.code, 4, JSON.stringify(bad));
        assertStringIncludes(bad.text, "hidden file or directory");
        const ok = await post("/api/workflows/here/run", {
          params: { dir: shared, msg: "a'; touch PWNED; '" },
        });
        assertEquals(ok.code, 0, JSON.stringify(ok));
        assertStringIncludes(ok.text, `in ${shared}: a'; touch PWNED; '`);
        assert(!(await Deno.stat(join(shared, "PWNED")).then(() => true, () => false)));
      },
    );

    await t.step(
      "fetch, land, adopt, pr: a `.git` file in the project naming ~/.password-store/.git is refused (exit 4)",
      async () => {
        const store = join(home, ".password-store");
        await Deno.mkdir(store);
        git(["init", "-q", "-b", "main"], store);
        // the page's project is the server's directory: its `.git` becomes a link to the store's
        await Deno.remove(join(project, ".git"), { recursive: true });
        await Deno.writeTextFile(join(project, ".git"), `gitdir: ${store}/.git\n`);
        try {
          for (const verb of ["fetch", "land", "adopt", "pr"]) {
            const end = await post(`/api/sessions/x-1/${verb}`, { branch: "main" });
            assertEquals(end.code, 4, JSON.stringify(end));
            assertMatch(
              end.error ?? "",
              /the git directory of .*\.password-store\/\.git" is a hidden file or directory/,
            );
          }
        } finally {
          await Deno.remove(join(project, ".git"));
          await Deno.mkdir(join(project, ".git"));
        }
      },
    );
  } finally {
    events.abort();
    await ui.shutdown();
    kube.close();
    restore();
  }
});
