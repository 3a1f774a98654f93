/**
 * Templates and sidecars, black-box as the restricted `dev` user: a repository template with a sidecar
 * starts a two-container session (`attach -c` and `logs -c` reach the sidecar; the agent's container stays
 * the default), flags win over the template, its init command runs once in the workspace, a devcontainer.json
 * starts with its image, containerEnv and postCreateCommand, `--sidecar` adds one, and `template
 * list|show|validate` point at file:line:col. A repository template cannot read files outside the repository.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { hasStackTrace } from "./_run.ts";
import { podOf, purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

// a sidecar that ends on TERM, as a real one does (as PID 1 a shell without a trap ignores it: each stop
// would wait out the pod's 30 s grace)
const SLEEP = `[sh, -c, "trap 'exit 0' TERM; echo cache up; while :; do sleep 3600 & wait $!; done"]`;

withSessionWorld(
  "templates: a sidecar template, flags over it, init once, devcontainer.json, --sidecar, list/show/validate",
  { timeoutMs: 420_000 },
  async (t, w) => {
    await Deno.mkdir(join(w.cwd, ".kodama", "templates"), { recursive: true });
    await Deno.mkdir(join(w.cwd, ".git"));
    await Deno.writeTextFile(
      join(w.cwd, ".kodama/templates/web.yaml"),
      `description: the session and a cache
image: ${SESSION_IMAGE}
resources: { cpu: 500m, memory: 1Gi }
sidecars:
  - name: cache
    image: ${SESSION_IMAGE}
    command: ${SLEEP}
    ports: [6379]
    env: { ROLE: cache }
init: echo "init ran in $PWD" >> init.log
labels: { team: web }
sync: { enabled: false }
`,
    );
    try {
      await t.step("template list / show: the repository's, then the built-ins", async () => {
        const l = await w.k(["template", "list"]);
        assertEquals(l.code, 0, l.stderr);
        assertMatch(l.stdout, /^NAME\s+SOURCE\s+DESCRIPTION$/m);
        const names = l.stdout.trim().split("\n").slice(1).map((r) => r.split(/\s+/)[0]);
        assertEquals(names, ["web", "default", "node"]);
        const s = await w.k(["template", "show", "node"]);
        assertEquals(s.code, 0, s.stderr);
        assertStringIncludes(s.stdout, "image: node:22-bookworm");
        const n = await w.k(["template", "show", "nope"]);
        assertEquals(n.code, 3);
        assertStringIncludes(n.stderr, 'template "nope" not found');
        assertStringIncludes(n.stderr, "web, default, node");
      });

      await t.step(
        "start --template web --memory 2Gi: two containers, the flag wins, init ran once",
        async () => {
          const r = await w.k(["start", "tw", "--template", "web", "--memory", "2Gi"]);
          assertEquals(r.code, 0, r.stderr);
          assertStringIncludes(r.stderr, "template web (repo, ");
          assertStringIncludes(r.stderr, "running the init command");
          const pod = JSON.parse((await w.kc(["get", "pod", await podOf(w, "tw"), "-o", "json"])).stdout);
          assertEquals(pod.spec.containers.map((c: { name: string }) => c.name), ["session", "cache"]);
          assertEquals(pod.spec.containers[0].resources.limits, { cpu: "500m", memory: "2Gi" });
          assertEquals(pod.spec.containers[1].ports, [{ containerPort: 6379, protocol: "TCP" }]);
          assertEquals(pod.metadata.labels.team, "web");
          assertEquals(pod.metadata.annotations["kubectl.kubernetes.io/default-container"], "session");
          const pvc = JSON.parse((await w.kc(["get", "pvc", "kodama-workspace-tw", "-o", "json"])).stdout);
          assertEquals(pvc.metadata.labels.team, "web");
          const log = await w.sh("tw", "cat init.log");
          assertEquals(log.stdout, "init ran in /workspace\n");
        },
      );

      await t.step(
        "attach -c cache reaches the sidecar; the session container stays the default",
        async () => {
          const side = await w.k([
            "attach",
            "tw",
            "-c",
            "cache",
            "--command",
            'echo "$ROLE"; ls /workspace 2>&1 | head -1',
          ]);
          assertEquals(side.code, 0, side.stderr);
          assertMatch(side.stdout, /^cache\n/);
          assert(!side.stdout.includes("init.log"), "the sidecar sees the workspace");
          const main = await w.sh("tw", 'echo "$KODAMA_SESSION:${ROLE:-none}"');
          assertEquals(main.stdout, "tw:none\n");
          const bad = await w.k(["attach", "tw", "-c", "nope", "--command", "true"]);
          assertEquals(bad.code, 3);
          assertStringIncludes(bad.stderr, "session tw has no container nope");
          assertStringIncludes(bad.stderr, "session, cache");
          assert(!hasStackTrace(bad.stderr));
        },
      );

      await t.step("logs -c cache: the sidecar's output", async () => {
        const l = await w.k(["logs", await podOf(w, "tw"), "-c", "cache"]);
        assertEquals(l.code, 0, l.stderr);
        assertStringIncludes(l.stdout, "cache up");
      });

      await t.step("list -o wide and session get show each container's readiness", async () => {
        const g = await w.k(["session", "get", "tw"]);
        assertEquals(g.code, 0, g.stderr);
        assertMatch(g.stdout, /Containers:\s+session \(ready\), cache \(ready\)/);
        const l = await w.k(["list"]);
        assertMatch(l.stdout, /^tw\s+dev\s+Running\s+\S+\s+<none>\s+2\/2\s+dev\s/m);
      });

      await t.step("resume keeps the sidecar and does not run init again", async () => {
        assertEquals((await w.k(["stop", "tw"])).code, 0);
        const r = await w.k(["resume", "tw"]);
        assertEquals(r.code, 0, r.stderr);
        assert(!r.stderr.includes("init command"), r.stderr);
        const pod = JSON.parse((await w.kc(["get", "pod", await podOf(w, "tw"), "-o", "json"])).stdout);
        assertEquals(pod.spec.containers.length, 2);
        const log = await w.sh("tw", "cat init.log");
        assertEquals(log.stdout, "init ran in /workspace\n");
      });

      await t.step(
        "--sidecar NAME=IMAGE,port=N adds one; a bad one is exit 2 before any request",
        async () => {
          const bad = await w.k(["start", "ts", "--sidecar", "db"]);
          assertEquals(bad.code, 2);
          assertStringIncludes(bad.stderr, 'invalid --sidecar "db"');
          const dry = await w.k([
            "start",
            "ts",
            "--sidecar",
            "db=postgres:16,port=5432",
            "--dry-run",
            "-o",
            "json",
          ]);
          assertEquals(dry.code, 0, dry.stderr);
          const pod = JSON.parse(dry.stdout).items.find((o: { kind: string }) => o.kind === "Job")?.spec
            ?.template;
          const { securityContext, ...db } = pod.spec.containers[1];
          assertEquals(db, {
            name: "db",
            image: "postgres:16",
            ports: [{ containerPort: 5432, protocol: "TCP" }],
          });
          // locked down like every container kodama makes, as its image's own user
          assertEquals(securityContext.allowPrivilegeEscalation, false);
          assertEquals(securityContext.runAsUser, undefined);
        },
      );

      await t.step("a devcontainer.json: its image, containerEnv and postCreateCommand", async () => {
        await Deno.mkdir(join(w.cwd, ".devcontainer"));
        await Deno.writeTextFile(
          join(w.cwd, ".devcontainer/devcontainer.json"),
          `{
  // the repository's dev container
  "name": "demo",
  "image": "${SESSION_IMAGE}",
  "containerEnv": { "GREETING": "hello" },
  "postCreateCommand": "echo \\"$GREETING from postCreate\\" > created.txt",
  "forwardPorts": [8080],
}
`,
        );
        const r = await w.k(["start", "dc", "--template", "devcontainer", "--no-sync"]);
        assertEquals(r.code, 0, r.stderr);
        const pod = JSON.parse((await w.kc(["get", "pod", await podOf(w, "dc"), "-o", "json"])).stdout);
        assertEquals(pod.spec.containers[0].image, SESSION_IMAGE);
        const f = await w.sh("dc", "cat created.txt");
        assertEquals(f.stdout, "hello from postCreate\n");
      });

      await t.step(
        "validate: file:line:col for a bad template; a repo template's env file must stay inside",
        async () => {
          await Deno.writeTextFile(
            join(w.cwd, ".kodama/templates/bad.yaml"),
            `image: ${SESSION_IMAGE}\nresources:\n  cpu: lots\n`,
          );
          const v = await w.k(["template", "validate"]);
          assertEquals(v.code, 2);
          assertMatch(
            v.stderr,
            /bad\.yaml:3:8: invalid template "bad" \(resources\.cpu\): "lots" is not a CPU quantity/,
          );
          await Deno.remove(join(w.cwd, ".kodama/templates/bad.yaml"));
          const secret = await Deno.makeTempFile({ prefix: "kodama-outside-", suffix: ".env" });
          await Deno.writeTextFile(secret, "STOLEN=yes\n");
          await Deno.symlink(secret, join(w.cwd, "linked.env"));
          await Deno.writeTextFile(
            join(w.cwd, ".kodama/templates/leak.yaml"),
            `image: ${SESSION_IMAGE}\nenv:\n  files: [${secret}, linked.env]\n`,
          );
          const s = await w.k(["start", "leak", "--template", "leak", "--dry-run"]);
          assertEquals(s.code, 4, s.stderr);
          assertStringIncludes(s.stderr, "outside the repository");
          assert(!s.stdout.includes("STOLEN"));
          await Deno.remove(secret);
          await Deno.remove(join(w.cwd, ".kodama/templates/leak.yaml"));
        },
      );

      await t.step(
        "a repository's template may not choose sync.mode one-way-pod (file or .kodama.yaml), as its config may not",
        async () => {
          const file = join(w.cwd, ".kodama/templates/podwins.yaml");
          await Deno.writeTextFile(file, `image: ${SESSION_IMAGE}\nsync:\n  mode: one-way-pod\n`);
          const s = await w.k(["start", "pw", "--template", "podwins", "--dry-run"]);
          assertEquals(s.code, 2, s.stderr);
          assertMatch(
            s.stderr,
            /podwins\.yaml:3:9: template "podwins" \(sync\.mode: "one-way-pod"\): a repository may only set/,
          );
          const v = await w.k(["template", "validate"]);
          assertEquals(v.code, 2);
          assertStringIncludes(v.stderr, "podwins.yaml:3:9");
          await Deno.remove(file);
          // the same inside .kodama.yaml's templates:, while one-way-local stays allowed
          const cfgFile = join(w.cwd, ".kodama.yaml");
          const before = await Deno.readTextFile(cfgFile).catch(() => "");
          await Deno.writeTextFile(
            cfgFile,
            `${before}\ntemplates:\n  pw2:\n    sync:\n      mode: one-way-pod\n  ok2:\n    sync:\n      mode: one-way-local\n`,
          );
          try {
            const c = await w.k(["start", "pw", "--template", "ok2", "--dry-run"]);
            assertEquals(c.code, 2, c.stdout);
            assertMatch(c.stderr, /\.kodama\.yaml:\d+:\d+: template "pw2" \(sync\.mode: "one-way-pod"\)/);
          } finally {
            await Deno.writeTextFile(cfgFile, before);
          }
          const ok = await w.k(["template", "validate"]);
          assertEquals(ok.code, 0, ok.stderr);
        },
      );
    } finally {
      for (const s of ["tw", "ts", "dc", "leak"]) await purge(w, s);
    }
  },
);
