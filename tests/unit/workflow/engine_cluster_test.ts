/**
 * The workflow engine's cluster steps in-process: `runWorkflow` against the in-memory cluster
 * (tests/cluster/memcluster.ts) through the seam (`WorkflowCluster`, src/workflow/types.ts). Targets are
 * listed and selected, `exec` fans out to the pods (each command runs on this machine, as memexec.ts runs a
 * pod's), `wait` follows the watch, and the Secrets the pods use are redacted, without HTTPS, sockets or
 * fixed sleeps. The same steps through the real program against the HTTPS test server:
 * tests/integration/workflow_run_test.ts and workflow_steps_test.ts.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { parseWorkflowText } from "../../../src/workflow/load.ts";
import type { LoadedWorkflow } from "../../../src/workflow/file.ts";
import { type RunOptions, runWorkflow } from "../../../src/workflow/engine.ts";
import { createDisplay } from "../../../src/workflow/display.ts";
import { memorySink } from "../../../src/base/sink.ts";
import { MemCluster } from "../../cluster/memcluster.ts";
import { existsSync } from "node:fs";
import { envTest } from "../../_env_lock.ts";

function wf(yaml: string): LoadedWorkflow {
  const file = "/tmp/kodama-engine-cluster-test/t.yaml";
  const p = parseWorkflowText(yaml, file);
  if (!p.workflow) throw new Error(p.problems.map((x) => `${x.line}:${x.col} ${x.message}`).join("\n"));
  return { name: "t", file, source: "builtin", text: yaml, workflow: p.workflow, baseDir: "/tmp" };
}

async function run(mem: MemCluster, yaml: string, o: Partial<RunOptions> = {}) {
  const out = memorySink();
  const err = memorySink();
  const display = createDisplay({ out, err, live: false, color: false });
  try {
    const r = await runWorkflow(wf(yaml), { connect: () => Promise.resolve(mem), display, ...o });
    return { ...r, out: out.text(), err: err.text() };
  } finally {
    display.close();
  }
}

/** A running pod whose `$POD` is its name (the downward API), labelled `labels`. */
function runningPod(mem: MemCluster, name: string, labels: Record<string, string>, namespace?: string) {
  mem.addPod(name, {
    namespace,
    labels,
    env: [{ name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
  });
  mem.podReady(name, true, namespace);
}

const SAY = `[sh, -c, 'echo "hi from $POD"']`;
/** A workflow's head: local `sh` allowed, every `app=web` pod as target `web`, and a first step `hi` (its kind follows). */
const WEB_ALL = `
permissions: { run: [sh] }
targets:
  web: { labels: app=web, select: all }
steps:
  - id: hi`;

envTest(
  "engine (in memory): exec fans out to a select: all target; outputs per pod reach later steps",
  async () => {
    using mem = new MemCluster();
    for (const n of ["web-2", "web-0", "web-1"]) runningPod(mem, n, { app: "web" }); // listed by name
    runningPod(mem, "db-0", { app: "db" });
    const r = await run(
      mem,
      WEB_ALL + `
    exec: { target: web, command: ${SAY} }
  - id: count
    local: { command: [sh, -c, 'printf "%s" "$1" | wc -l', x, "\${{ steps.hi.outputs.stdout }}"] }
`,
    );
    assertEquals(r.exitCode, 0, r.err);
    const lines = r.out.split("\n").filter((l) => l.includes("|")).sort();
    assertEquals(lines, ["web-0 | hi from web-0", "web-1 | hi from web-1", "web-2 | hi from web-2"]);
    assertEquals(r.steps.count.outputs.stdout?.toString().trim(), "3");
    const pods = r.steps.hi.outputs.pods as Record<string, { stdout: string; exitCode: number }>;
    assertEquals(Object.keys(pods).sort(), ["web-0", "web-1", "web-2"]);
    assertEquals(pods["web-1"], { ...pods["web-1"], stdout: "hi from web-1\n", exitCode: 0 });
    assertStringIncludes(r.err, "3 pods: 3 ok, 0 failed");
  },
);

envTest(
  "engine (in memory): one failing pod fails the step and the run; failure() steps still run",
  async () => {
    using mem = new MemCluster();
    for (const n of ["web-0", "web-1", "web-2"]) runningPod(mem, n, { app: "web" });
    const r = await run(
      mem,
      WEB_ALL + `
    exec: { target: web, command: [sh, -c, '[ "$POD" != web-1 ] || { echo boom >&2; exit 4; }; echo fine'] }
  - id: next
    local: { command: [sh, -c, "echo never"] }
  - id: report
    if: failure()
    local: { command: [sh, -c, 'echo "failed: $1"', x, "\${{ steps.hi.outputs.ok }} ok"] }
`,
    );
    assertEquals(r.exitCode, 1);
    const pods = r.steps.hi.outputs.pods as Record<string, { exitCode: number; stderr: string }>;
    assertEquals([pods["web-0"].exitCode, pods["web-1"].exitCode, pods["web-2"].exitCode], [0, 4, 0]);
    assertEquals(pods["web-1"].stderr, "boom\n");
    assertStringIncludes(r.err, "1 of 3 pods failed");
    assertStringIncludes(r.err, "web-1: exit code 4");
    assert(!r.out.includes("never"), r.out);
    assertStringIncludes(r.out, "failed: 2 ok");
  },
);

envTest(
  "engine (in memory): select: one takes the first running pod by name; -n moves every target",
  async () => {
    using mem = new MemCluster({ namespaces: ["team"] });
    runningPod(mem, "api-b", { app: "api" });
    runningPod(mem, "api-a", { app: "api" });
    mem.addPod("api-0", { labels: { app: "api" } }); // Pending: no target takes it
    runningPod(mem, "api-t", { app: "api" }, "team");
    const yaml = `
targets:
  api: { labels: app=api }
steps:
  - id: hi
    exec: { target: api, command: ${SAY} }
`;
    const here = await run(mem, yaml);
    assertEquals(here.exitCode, 0, here.err);
    assertEquals(here.steps.hi.outputs.stdout, "hi from api-a\n");
    const team = await run(mem, yaml, { namespace: "team" });
    assertEquals(team.exitCode, 0, team.err);
    assertEquals(team.steps.hi.outputs.stdout, "hi from api-t\n");
  },
);

envTest(
  "engine (in memory): a target nothing matches fails its step with exit 3, naming the target",
  async () => {
    using mem = new MemCluster();
    mem.addPod("api-0", { labels: { app: "api" } }); // not running
    const r = await run(
      mem,
      `
targets:
  api: { labels: app=api }
steps:
  - id: hi
    exec: { target: api, command: [echo, hi] }
`,
    );
    assertEquals(r.exitCode, 3);
    assertStringIncludes(r.err, "✗ hi");
    assertStringIncludes(r.err, "no pods matched (namespace default, labels app=api, Running only)");
    assertEquals(r.hint, "target api of workflow t");
    assertEquals(r.out, "");
  },
);

envTest(
  "engine (in memory): wait follows the watch until a pending pod is ready; exec then runs in it",
  async () => {
    using mem = new MemCluster();
    mem.addPod("worker-0", {
      labels: { app: "worker" },
      env: [{ name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
    });
    const running = run(
      mem,
      `
targets:
  worker: { labels: app=worker, select: all }
steps:
  - id: up
    wait: { target: worker, for: ready }
  - id: hi
    exec: { target: worker, command: ${SAY} }
`,
    );
    // ready once the step watches (the event, not a delay): Pending until then, which no exec target takes
    await mem.whenWatching("pods");
    mem.podReady("worker-0");
    const r = await running;
    assertEquals(r.exitCode, 0, r.err);
    assertEquals(r.steps.up.outputs.pods, ["worker-0"]);
    assertEquals(r.steps.hi.outputs.stdout, "hi from worker-0\n");
  },
);

envTest(
  "engine (in memory): the values of a Secret the target's pods use are redacted from the run's output",
  async () => {
    using mem = new MemCluster();
    const value = "s3cret-" + crypto.randomUUID();
    await mem.createObject("secrets", "default", {
      metadata: { name: "db" },
      data: { password: btoa(value) },
    });
    mem.addPod("app-0", {
      labels: { app: "app" },
      env: [{ name: "PASSWORD", valueFrom: { secretKeyRef: { name: "db", key: "password" } } }],
    });
    mem.podReady("app-0");
    const r = await run(
      mem,
      `
targets:
  app: { labels: app=app }
steps:
  - id: leak
    exec: { target: app, command: [echo, "password=${value}"] }
`,
    );
    assertEquals(r.exitCode, 0, r.err);
    assertEquals(r.out, "password=***\n");
    assert(!r.err.includes(value), r.err);
  },
);

envTest(
  "engine (in memory): a step the seam does not cover says it needs an API server, exit 1",
  async () => {
    using mem = new MemCluster();
    runningPod(mem, "web-0", { app: "web" });
    const r = await run(
      mem,
      `
targets:
  web: { labels: app=web }
steps:
  - id: panes
    tmux: { target: web, command: [sh] }
`,
    );
    assertEquals(r.exitCode, 1);
    assertStringIncludes(
      r.err,
      "a tmux step needs a connection to an API server (memory://cluster is not one)",
    );
  },
);

/** Two running `app=web` pods with an emptyDir at /data, and a temporary local directory. */
async function cpWorld(mem: MemCluster): Promise<string> {
  for (const n of ["web-0", "web-1"]) {
    mem.addPod(n, { labels: { app: "web" }, emptyDirs: ["/data"] });
    mem.podReady(n);
  }
  return await Deno.makeTempDir({ prefix: "kodama-engine-cp-" });
}

envTest(
  "engine (in memory): cp sends a local file into every pod of a target and brings the first pod's back",
  async () => {
    using mem = new MemCluster();
    const dir = await cpWorld(mem);
    try {
      await Deno.writeTextFile(`${dir}/app.conf`, "level=debug\n");
      await Deno.writeTextFile(mem.podPath("web-0", "main", "/data/report.txt"), "made in web-0\n");
      await Deno.writeTextFile(mem.podPath("web-1", "main", "/data/report.txt"), "made in web-1\n");
      const r = await run(
        mem,
        `
targets:
  web: { labels: app=web, select: all }
steps:
  - id: up
    cp: { target: web, from: ${dir}/app.conf, to: "pod:/data/conf/" }
  - id: down
    cp: { target: web, from: "pod:/data/report.txt", to: ${dir}/report.txt }
`,
      );
      assertEquals(r.exitCode, 0, r.err);
      // tar over each pod's exec: the file in both pods, under the directory named
      for (const n of ["web-0", "web-1"]) {
        assertEquals(await Deno.readTextFile(mem.podPath(n, "main", "/data/conf/app.conf")), "level=debug\n");
      }
      assertEquals(r.steps.up.outputs.pods, ["web-0", "web-1"]);
      // a download reads the first pod by name
      assertEquals(await Deno.readTextFile(`${dir}/report.txt`), "made in web-0\n");
      assertEquals(r.steps.down.outputs, {
        from: "pod:/data/report.txt",
        to: `${dir}/report.txt`,
        pods: ["web-0"],
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

envTest(
  "engine (in memory): cp never writes into .git, named or inside the pod's archive; a path the pod lacks is exit 3",
  async () => {
    using mem = new MemCluster();
    const dir = await cpWorld(mem);
    const down = (from: string, to: string) =>
      run(
        mem,
        `\ntargets:\n  web: { labels: app=web }\nsteps:\n  - id: down\n    cp: { target: web, from: "${from}", to: ${to} }\n`,
      );
    try {
      await Deno.mkdir(`${dir}/repo/.git/hooks`, { recursive: true });
      await Deno.mkdir(mem.podPath("web-0", "main", "/data/gd/.git/hooks"), { recursive: true });
      await Deno.writeTextFile(
        mem.podPath("web-0", "main", "/data/gd/.git/hooks/post-checkout"),
        "#!/bin/sh\necho owned\n",
      );
      await Deno.writeTextFile(mem.podPath("web-0", "main", "/data/gd/a.txt"), "ok\n");
      // named: refused before anything is read from the pod (exit 4)
      const named = await down(
        "pod:/data/gd/.git/hooks/post-checkout",
        `${dir}/repo/.git/hooks/post-checkout`,
      );
      assertEquals(named.exitCode, 4, named.out + named.err);
      assertStringIncludes(named.err, "is inside a git directory");
      assertEquals([...Deno.readDirSync(`${dir}/repo/.git/hooks`)], []);
      // inside the pod's archive: the rest is written, its .git is not, and the warning says so (as kodama run does)
      const inside = await down("pod:/data/gd", `${dir}/repo/gd`);
      assertEquals(inside.exitCode, 0, inside.out + inside.err);
      assertEquals(await Deno.readTextFile(`${dir}/repo/gd/a.txt`), "ok\n");
      assert(!existsSync(`${dir}/repo/gd/.git`), ".git was written");
      assertStringIncludes(inside.err, "skipping gd/.git: a workflow never writes into .git");
      const gone = await down("pod:/data/nothing-here", `${dir}/x`);
      assertEquals(gone.exitCode, 3, gone.out + gone.err);
      assertStringIncludes(gone.err, "web-0:/data/nothing-here: no such file or directory");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

envTest(
  "engine (in memory): a logs step tails each pod of a target, prefixed, filtered; outputs.stdout has it",
  async () => {
    using mem = new MemCluster();
    for (const n of ["web-0", "web-1"]) {
      runningPod(mem, n, { app: "web" });
      mem.logs.set(
        `default/${n}/main`,
        `GET /api 500 before the tail\nboot ${n}\nGET /health 200\nGET /api 500 ${n}\nGET /api 200\n`,
      );
    }
    const r = await run(
      mem,
      `${WEB_ALL}
    logs: { target: web, tail: 3, include: ["/api"], exclude: [" 200$"] }
  - id: after
    exec: { target: web, command: [echo, "\${{ steps.hi.outputs.stdout }}"] }
`,
    );
    assertEquals(r.exitCode, 0, r.err);
    // each pod's last three lines, the ones the filter keeps, each line prefixed with its pod; no timestamps
    for (const n of ["web-0", "web-1"]) assertStringIncludes(r.out, `${n} | GET /api 500 ${n}\n`);
    assert(!/before the tail|boot|health|api 200|\d{4}-\d\d-\d\dT/.test(r.out), r.out);
    // the next step read what it showed (echoed in web-0 here)
    assertStringIncludes(r.out, "web-0 | web-1 | GET /api 500 web-1\n");
  },
);

envTest("engine (in memory): a logs step on a container the pod lacks: exit 3, naming it", async () => {
  using mem = new MemCluster();
  runningPod(mem, "web-0", { app: "web" });
  const r = await run(mem, `${WEB_ALL}\n    logs: { target: web, container: sidecar, tail: 5 }\n`);
  assertEquals(r.exitCode, 3, r.out + r.err);
  assertStringIncludes(r.err, 'container "sidecar" not found in pod web-0');
});
