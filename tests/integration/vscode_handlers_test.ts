/**
 * The VS Code extension's command handlers (editors/vscode/src/handlers.ts) against the real kodama
 * CLI and the test server, with a fake VS Code API (_fake_vscode.ts): what each QuickPick shows, and
 * the exact program + argv each terminal would run — which the tests then run, as VS Code would.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { clusterTest } from "../cluster/fixture.ts";
import { CONFIG, MAIN, runKodama } from "../cli/_run.ts";
import { type Fake, fakeVscode, runTerminal } from "./_fake_vscode.ts";
import * as h from "../../editors/vscode/src/handlers.ts";
import type { CliConfig } from "../../editors/vscode/src/cli.ts";
import { SESSION_IMAGE } from "../cli/_session.ts";

const PREFIX = ["run", "-A", "--no-prompt", "--config", CONFIG, MAIN];

const DEPLOY = `apiVersion: v1
kind: ConfigMap
metadata: { name: settings, namespace: prod }
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: prod
spec:
  selector:
    matchLabels: { app: api }
  template:
    metadata: { labels: { app: api } }
    spec: { containers: [{ name: api, image: x }] }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: prod }
spec:
  selector: { app: web }
  ports: [{ port: 80 }]
`;

const WORKFLOW = `name: deploy
description: Deploy with a local tool
params:
  env: { type: enum, values: [dev, prod], default: dev, description: where to }
  tag: { required: true, description: image tag }
permissions:
  run: [echo]
steps:
  - id: say
    local: { command: [echo, "deploying", "\${{ params.env }}", "\${{ params.tag }}"] }
`;

interface World {
  fake: Fake;
  ctx: (editor?: { text: string; offset: number; fileName: string }) => h.Ctx;
  repo: string;
  home: string;
  kubeconfig: string;
}

async function world(kubeconfig: string): Promise<World> {
  const repo = await Deno.makeTempDir({ prefix: "kodama-vscode-" });
  const home = await Deno.makeTempDir({ prefix: "kodama-vscode-home-" });
  await Deno.mkdir(`${repo}/.kodama/workflows`, { recursive: true });
  await Deno.mkdir(`${repo}/.git`);
  await Deno.writeTextFile(`${repo}/.kodama/workflows/deploy.yaml`, WORKFLOW);
  await Deno.writeTextFile(`${repo}/deploy.yaml`, DEPLOY);
  const fake = fakeVscode();
  const cli: CliConfig = {
    command: Deno.execPath(),
    prefix: PREFIX,
    cwd: repo,
    env: {
      KUBECONFIG: kubeconfig,
      KODAMA_HOME: home,
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
    },
  };
  return {
    fake,
    repo,
    home,
    kubeconfig,
    ctx: (editor) => ({
      api: fake.api,
      cli,
      conn: {},
      state: fake.state,
      cwd: repo,
      editor,
    }),
  };
}

/** The kodama argv of a terminal (after deno's own words). */
function kodamaArgv(t: { shellPath: string; shellArgs: string[] }): string[] {
  assertEquals(t.shellPath, Deno.execPath());
  assertEquals(t.shellArgs.slice(0, PREFIX.length), PREFIX);
  return t.shellArgs.slice(PREFIX.length);
}

async function podNames(
  w: World,
  ns: string,
  selector?: string,
): Promise<string[]> {
  const r = await runKodama(
    [
      "pods",
      "--kubeconfig",
      w.kubeconfig,
      "-n",
      ns,
      ...(selector ? ["-l", selector] : []),
      "-o",
      "name",
    ],
  );
  return r.stdout.trim().split("\n").filter(Boolean).map((l) => l.replace(/^pod\//, "")).sort();
}

const labels = (items?: { label: string }[]) => (items ?? []).map((i) => i.label);

clusterTest(
  "vscode handlers: pods from the manifest under the cursor, exec, fan-out, logs",
  {
    seed: "demo",
    timeoutMs: 240_000,
  },
  async (t, c) => {
    const w = await world(c.kubeconfig);
    const apiPods = await podNames(w, "prod", "app=api");
    const webPods = await podNames(w, "prod", "app=web");
    assertEquals(apiPods.length, 2);
    const editor = (marker: string) => ({
      text: DEPLOY,
      offset: DEPLOY.indexOf(marker),
      fileName: `${w.repo}/deploy.yaml`,
    });

    await t.step(
      "Exec in Pod on the Deployment: its two pods, then a command; the terminal runs it",
      async () => {
        w.fake.answer(apiPods[1], "hostname");
        const args = await h.execInPod(w.ctx(editor("name: api")));
        const pick = w.fake.shown.at(-2)!;
        assertEquals(pick.kind, "quickPick");
        assertEquals(labels(pick.items).sort(), apiPods);
        assertStringIncludes(pick.title!, "Deployment api (app=api) in prod");
        const term = w.fake.terminals.at(-1)!;
        assertEquals(kodamaArgv(term), [
          "exec",
          "--namespace=prod",
          `--pod=${apiPods[1]}`,
          "--stdin",
          "--tty",
          "--",
          "hostname",
        ]);
        assertEquals(args, kodamaArgv(term));
        assertEquals(term.cwd, w.repo);
        // a command's output stays after it ends (VS Code runs it as a task)
        assertEquals(term.hold, true);
        const r = await runTerminal(term);
        assertEquals(r.code, 0, r.out);
        assertStringIncludes(r.out, apiPods[1]);
      },
    );

    await t.step(
      "the command box offers the history; the Service document's selector gives web's pods",
      async () => {
        w.fake.answer(webPods[0], "sidecar", "echo $HOSTNAME | tr a-z A-Z");
        await h.execInPod(w.ctx(editor("ports: [{ port: 80 }]")));
        const [pods, container, cmd] = w.fake.shown.slice(-3);
        assertEquals(labels(pods.items), webPods);
        assertStringIncludes(pods.title!, "Service web (app=web)");
        // web has two containers: a QuickPick of them
        assertEquals(labels(container.items), ["web", "sidecar"]);
        assertEquals(cmd.kind, "typePick");
        assertEquals(labels(cmd.items), ["hostname"]);
        const term = w.fake.terminals.at(-1)!;
        assert(kodamaArgv(term).includes("--container=sidecar"));
        assertEquals(kodamaArgv(term).slice(-4), [
          "--",
          "sh",
          "-c",
          "echo $HOSTNAME | tr a-z A-Z",
        ]);
        const r = await runTerminal(term);
        assertEquals(r.code, 0, r.out);
        assertStringIncludes(r.out, webPods[0].toUpperCase());
      },
    );

    await t.step(
      "no manifest: a namespace QuickPick, then that namespace's pods",
      async () => {
        const drives = await podNames(w, "weka-operator-system");
        w.fake.answer("weka-operator-system", drives[0], "");
        await h.execInPod(w.ctx());
        // an empty command is a shell: the terminal closes when the user leaves it
        assertEquals(w.fake.terminals.at(-1)!.hold, false);
        const [ns, pods] = w.fake.shown.slice(-3);
        assert(
          labels(ns.items).includes("prod") &&
            labels(ns.items).includes("weka-operator-system"),
        );
        assertEquals(labels(pods.items).sort(), drives);
        // nothing typed: the pod's shell
        assertEquals(kodamaArgv(w.fake.terminals.at(-1)!).slice(-2), [
          "--",
          "sh",
        ]);
      },
    );

    await t.step(
      "Exec in All Matching Pods: the selector pre-filled; the fan-out reaches both pods",
      async () => {
        w.fake.answer((s) => s.value, "hostname");
        await h.execInAll(w.ctx(editor("matchLabels")));
        const input = w.fake.shown.at(-2)!;
        assertEquals(input.value, "app=api");
        const term = w.fake.terminals.at(-1)!;
        assertEquals(kodamaArgv(term), [
          "exec",
          "--namespace=prod",
          "--selector=app=api",
          "--all",
          "--",
          "hostname",
        ]);
        const r = await runTerminal(term);
        assertEquals(r.code, 0, r.out);
        for (const p of apiPods) assertStringIncludes(r.out, p);
      },
    );

    await t.step(
      "Logs: 'All 2 pods' of the Deployment's selector, or one pod",
      async () => {
        w.fake.answer("All 2 pods");
        await h.logs(w.ctx(editor("name: api")));
        assertEquals(labels(w.fake.shown.at(-1)!.items), [
          "All 2 pods",
          ...apiPods,
        ]);
        assertEquals(kodamaArgv(w.fake.terminals.at(-1)!), [
          "logs",
          "--namespace=prod",
          "--selector=app=api",
          "--follow",
          "--tail=200",
        ]);
        w.fake.answer(apiPods[0]);
        await h.logs(w.ctx(editor("name: api")));
        assertEquals(kodamaArgv(w.fake.terminals.at(-1)!).slice(1, 3), [
          "--namespace=prod",
          `--pod=${apiPods[0]}`,
        ]);
      },
    );

    await t.step(
      "a selector nothing matches: an error message, no terminal",
      async () => {
        const before = w.fake.terminals.length;
        const text =
          "kind: Deployment\nmetadata: {name: ghost, namespace: prod}\nspec: {selector: {matchLabels: {app: ghost}}}\n";
        const err = await h.execInPod(
          w.ctx({ text, offset: 3, fileName: "/x/g.yaml" }),
        ).catch((e) => e);
        assert(err instanceof h.Cancelled);
        assertStringIncludes(
          w.fake.shown.at(-1)!.message!,
          "no pods of Deployment ghost (app=ghost) in prod",
        );
        assertEquals(w.fake.terminals.length, before);
      },
    );
  },
);

clusterTest(
  "vscode handlers: Run Workflow asks params and trust in a modal; $(touch x) runs nothing",
  {
    seed: "sessions",
    timeoutMs: 240_000,
  },
  async (t, c) => {
    const w = await world(c.kubeconfig);

    await t.step(
      "the QuickPick lists the repo's and the built-in workflows",
      async () => {
        w.fake.answer(undefined);
        await h.runWorkflow(w.ctx()).catch((e) => assert(e instanceof h.Cancelled));
        const pick = w.fake.shown.at(-1)!;
        assertEquals(labels(pick.items), [
          "deploy",
          "kwekash",
          "health",
          "shell",
        ]);
      },
    );

    await t.step("declining the modal runs nothing", async () => {
      const before = w.fake.terminals.length;
      w.fake.answer("deploy", "prod", "1.0", undefined);
      await h.runWorkflow(w.ctx()).catch((e) => assert(e instanceof h.Cancelled));
      const [env, tag, modal] = w.fake.shown.slice(-3);
      assertEquals(labels(env.items), ["dev", "prod"]);
      assertEquals(tag.kind, "input");
      assertEquals(modal.kind, "modal");
      assertStringIncludes(modal.message!, "deploy");
      // the dialog names what it may touch: the CLI's own trust lines
      assertStringIncludes(modal.detail!, "run: echo");
      assertStringIncludes(modal.detail!, ".kodama/workflows/deploy.yaml");
      assertEquals(modal.buttons, ["Trust and Run"]);
      assertEquals(w.fake.terminals.length, before);
    });

    await t.step(
      "Trust and Run: --trust-hash of the version shown; a param $(touch x) stays a word",
      async () => {
        const evil = "$(touch x)`touch y`";
        w.fake.answer("deploy", "prod", evil, "Trust and Run");
        await h.runWorkflow(w.ctx());
        const term = w.fake.terminals.at(-1)!;
        const args = kodamaArgv(term);
        assertEquals(args[0], "run");
        assert(args.includes("--param=env=prod"));
        assert(args.includes(`--param=tag=${evil}`));
        assert(args.some((a) => /^--trust-hash=[0-9a-f]{64}$/.test(a)));
        assertEquals(args.slice(-2), ["--", "deploy"]);
        const r = await runTerminal(term);
        assertEquals(r.code, 0, r.out);
        assertStringIncludes(r.out, `deploying prod ${evil}`);
        for (const f of ["x", "y"]) {
          assertEquals(
            await Deno.stat(`${w.repo}/${f}`).then(() => true, () => false),
            false,
            `${f} was created`,
          );
        }
      },
    );

    await t.step(
      "trusted now: no modal; a changed file is refused by the hash shown before",
      async () => {
        w.fake.answer("deploy", "dev", "2");
        await h.runWorkflow(w.ctx());
        assertEquals(w.fake.shown.at(-1)!.kind, "input");
        const term = w.fake.terminals.at(-1)!;
        assert(!kodamaArgv(term).some((a) => a.startsWith("--trust")));
        // shown, then edited before the terminal ran it: the pinned hash refuses the new text
        w.fake.answer("deploy", "dev", "3", (s) => {
          Deno.writeTextFileSync(
            `${w.repo}/.kodama/workflows/deploy.yaml`,
            WORKFLOW.replace("deploying", "DEPLOYING"),
          );
          return s.buttons?.[0];
        });
        await Deno.writeTextFile(
          `${w.repo}/.kodama/workflows/deploy.yaml`,
          WORKFLOW + "# edited\n",
        );
        await h.runWorkflow(w.ctx());
        const r = await runTerminal(w.fake.terminals.at(-1)!);
        assertEquals(r.code, 2, r.out);
        assertStringIncludes(r.out, "not the version shown to you");
        assert(!r.out.includes("DEPLOYING"));
      },
    );

    await t.step("the CodeLens path: a workflow file by path", async () => {
      w.fake.answer("dev", "4", "Trust and Run");
      await h.runWorkflow(w.ctx(), `${w.repo}/.kodama/workflows/deploy.yaml`);
      const args = kodamaArgv(w.fake.terminals.at(-1)!);
      assertEquals(args.slice(-2), [
        "--",
        `${w.repo}/.kodama/workflows/deploy.yaml`,
      ]);
      const r = await runTerminal(w.fake.terminals.at(-1)!);
      assertEquals(r.code, 0, r.out);
      assertStringIncludes(r.out, "DEPLOYING dev 4");
    });
  },
);

clusterTest(
  "vscode handlers: port-forward and stop, sessions, the status bar's switch",
  {
    seed: "demo",
    timeoutMs: 240_000,
  },
  async (t, c) => {
    const w = await world(c.kubeconfig);
    const apiPods = await podNames(w, "prod", "app=api");

    await t.step(
      "Port-Forward: the container's port pre-filled, in the background; Stop lists and ends it",
      async () => {
        w.fake.answer("prod", apiPods[0], (s) => s.value);
        const args = await h.portForward(w.ctx());
        assertEquals(w.fake.shown.at(-1)!.kind, "info");
        assertEquals(w.fake.shown.at(-2)!.value, ":8080");
        assertEquals(args, [
          "port-forward",
          "--namespace=prod",
          `--pod=${apiPods[0]}`,
          "--detach",
          ":8080",
        ]);
        assertStringIncludes(
          w.fake.shown.at(-1)!.message!,
          "Forwarding from 127.0.0.1:",
        );
        const list = JSON.parse(
          (await runKodama(["port-forward", "list", "-o", "json"], {
            env: { KODAMA_HOME: w.home },
          })).stdout,
        );
        assertEquals(list.length, 1);
        w.fake.answer([list[0].id]);
        await h.stopPortForward(w.ctx());
        assertEquals(labels(w.fake.shown.at(-1)!.items), [list[0].id]);
        const after = JSON.parse(
          (await runKodama(["port-forward", "list", "-o", "json"], {
            env: { KODAMA_HOME: w.home },
          })).stdout,
        );
        assertEquals(after, []);
        // `--detach` with the ports after `--` (the background process's own flags used to land after it)
        const env = { KODAMA_HOME: w.home, KUBECONFIG: c.kubeconfig };
        const dd = await runKodama([
          "port-forward",
          "--namespace=prod",
          `--pod=${apiPods[0]}`,
          "--detach",
          "--",
          ":8080",
        ], {
          env,
        });
        assertEquals(dd.code, 0, dd.stderr);
        assertStringIncludes(dd.stdout, "Forwarding from 127.0.0.1:");
        assertEquals(
          (await runKodama(["port-forward", "stop", "--all"], { env })).code,
          0,
        );
      },
    );

    await t.step(
      "sessions: none yet says so; verbs from the tree run in a terminal",
      async () => {
        const err = await h.sessionVerb(w.ctx(), "attach").catch((e) => e);
        assert(err instanceof h.Cancelled);
        assertStringIncludes(
          w.fake.shown.at(-1)!.message!,
          "no running sessions",
        );
        await h.sessionVerb(w.ctx(), "resume", {
          namespace: "dev",
          name: "mine",
        });
        assertEquals(kodamaArgv(w.fake.terminals.at(-1)!), [
          "session",
          "resume",
          "--namespace=dev",
          "--",
          "mine",
        ]);
        assertEquals(w.fake.terminals.at(-1)!.hold, true);
        await h.sessionVerb(w.ctx(), "attach", { namespace: "dev", name: "mine" });
        assertEquals(kodamaArgv(w.fake.terminals.at(-1)!), [
          "session",
          "attach",
          "--namespace=dev",
          "--",
          "mine",
        ]);
        // attached: tmux's detach ends it, as a terminal does
        assertEquals(w.fake.terminals.at(-1)!.hold, false);
        w.fake.answer("my-sess", "");
        await h.startSession(w.ctx());
        assertEquals(kodamaArgv(w.fake.terminals.at(-1)!), ["session", "start", "--", "my-sess"]);
        assertEquals(w.fake.terminals.at(-1)!.cwd, w.repo);
        w.fake.answer("other", "fix the $(flaky) test");
        await h.startSession(w.ctx());
        assertEquals(kodamaArgv(w.fake.terminals.at(-1)!), [
          "session",
          "start",
          "--prompt=fix the $(flaky) test",
          "--",
          "other",
        ]);
      },
    );

    await t.step(
      "the status bar: contexts from the kubeconfig; a namespace QuickPick",
      async () => {
        // before any choice: the kubeconfig's current context and its namespace
        assertEquals(await h.shownConnection(w.ctx()), { context: "admin", namespace: "default" });
        assertEquals(await h.shownConnection({ ...w.ctx(), conn: { context: "dev" } }), {
          context: "dev",
          namespace: "dev",
        });
        w.fake.answer("Switch context…", "dev");
        const conn = await h.switchConnection(w.ctx());
        assertEquals(labels(w.fake.shown.at(-1)!.items), ["admin", "dev"]);
        assertEquals(conn, { context: "dev", namespace: undefined });
        w.fake.answer("Switch namespace…", "staging");
        assertEquals((await h.switchConnection(w.ctx())).namespace, "staging");
        // the choice goes to every command: the current namespace first in the QuickPick, and in the argv
        w.fake.answer("staging", (s) => s.items![0].label, "");
        await h.execInPod({
          ...w.ctx(),
          conn: { context: "admin", namespace: "staging" },
        });
        assertEquals(labels(w.fake.shown.at(-3)!.items)[0], "staging");
        assertEquals(w.fake.shown.at(-3)!.items![0].description, "current");
        assertEquals(kodamaArgv(w.fake.terminals.at(-1)!).slice(0, 3), [
          "exec",
          "--context=admin",
          "--namespace=staging",
        ]);
      },
    );
  },
);

clusterTest("vscode tree: `kodama list -o json -w` keeps the session rows current, without polling", {
  seed: "sessions",
  timeoutMs: 240_000,
}, async (_t, c) => {
  const { Kube } = await import("../../src/kube/client.ts");
  const { busyboxPod } = await import("./_helpers.ts");
  const { SessionModel, watchSessions } = await import("../../editors/vscode/src/tree.ts");
  const w = await world(c.kubeconfig);
  const model = new SessionModel();
  let changes = 0;
  const watch = watchSessions(w.ctx().cli, { namespace: "dev" }, model, () => changes++);
  const kube = await Kube.connect({ kubeconfig: c.kubeconfig, namespace: "dev" });
  const name = `vscode-tree-${crypto.randomUUID().slice(0, 6)}`;
  const until = async (what: string, f: () => boolean) => {
    for (let i = 0; i < 600 && !f(); i++) await new Promise((r) => setTimeout(r, 100));
    assert(f(), `never: ${what} (rows: ${JSON.stringify(model.rows())})`);
  };
  try {
    // a session's pod (what `kodama list` reads: the managed-by and session labels)
    await kube.createObject(
      "pods",
      "dev",
      busyboxPod(name, {
        labels: { "app.kubernetes.io/managed-by": "kodama", "kodama.dev/session": name },
        command: ["sleep", "3600"],
      }),
    );
    await until("the session row", () => model.rows().some((r) => r.name === name));
    await until("Running", () => model.rows().find((r) => r.name === name)?.phase === "Running");
    assertEquals(model.rows().find((r) => r.name === name)?.namespace, "dev");
    assert(changes >= 1);
    await kube.deleteObject("pods", "dev", name, { gracePeriodSeconds: 0 });
    await until("the row gone", () => !model.rows().some((r) => r.name === name));
  } finally {
    watch.stop();
    await kube.deleteObject("pods", "dev", name, { gracePeriodSeconds: 0 }).catch(() => {});
  }
  assertEquals(await watch.ended, undefined);
});

clusterTest("vscode handlers: a real session — Stop, Resume, Fetch and Delete pick it by its phase and run", {
  seed: "sessions",
  timeoutMs: 420_000,
}, async (t, c) => {
  const w = await world(c.kubeconfig);
  // the session's own folder (the workspace): no repository, the test cluster's busybox image
  const ws = await Deno.makeTempDir({ prefix: "kodama-vscode-session-" });
  await Deno.writeTextFile(`${w.home}/config.yaml`, `defaults:\n  image: ${SESSION_IMAGE}\n`);
  const name = `vsc-${crypto.randomUUID().slice(0, 6)}`;
  const ctx = () => ({ ...w.ctx(), conn: { context: "dev" }, cwd: ws });
  const run = async (what: string) => {
    const term = w.fake.terminals.at(-1)!;
    assertEquals(term.cwd, ws);
    const r = await runTerminal(term);
    assertEquals(r.code, 0, `${what}: ${r.out}`);
    return r.out;
  };
  const phase = async () => {
    const r = await runKodama(["list", "--context=dev", "-o", "json"], {
      env: { KUBECONFIG: c.kubeconfig, KODAMA_HOME: w.home },
    });
    // deno-lint-ignore no-explicit-any
    return JSON.parse(r.stdout).items.find((s: any) => s.metadata.name === name)?.status.phase as
      | string
      | undefined;
  };
  try {
    await t.step("Start Session runs `session start` in the workspace folder", async () => {
      w.fake.answer(name, "");
      await h.startSession(ctx());
      assertEquals(kodamaArgv(w.fake.terminals.at(-1)!), ["session", "start", "--context=dev", "--", name]);
      assertEquals(w.fake.terminals.at(-1)!.hold, true);
      await run("start");
      assertEquals(await phase(), "Running");
    });

    await t.step("Stop offers the running session; its terminal stops it", async () => {
      w.fake.answer(name);
      await h.sessionVerb(ctx(), "stop");
      assertEquals(labels(w.fake.shown.at(-1)!.items), [name]);
      assertEquals(kodamaArgv(w.fake.terminals.at(-1)!), [
        "session",
        "stop",
        "--context=dev",
        "--namespace=dev",
        "--",
        name,
      ]);
      await run("stop");
      assertEquals(await phase(), "Stopped");
      // nothing running now: Stop and Attach say so instead of offering a stopped session
      const err = await h.sessionVerb(ctx(), "attach").catch((e) => e);
      assert(err instanceof h.Cancelled);
      assertStringIncludes(w.fake.shown.at(-1)!.message!, "no running sessions");
    });

    await t.step("Resume offers the stopped session; its terminal resumes it", async () => {
      w.fake.answer(name);
      await h.sessionVerb(ctx(), "resume");
      assertEquals(labels(w.fake.shown.at(-1)!.items), [name]);
      await run("resume");
      assertEquals(await phase(), "Running");
    });

    await t.step("Fetch Session Branch: `session fetch` in the workspace folder", async () => {
      w.fake.answer(name);
      await h.sessionVerb(ctx(), "fetch");
      assertEquals(kodamaArgv(w.fake.terminals.at(-1)!), [
        "session",
        "fetch",
        "--context=dev",
        "--namespace=dev",
        "--",
        name,
      ]);
      assertEquals(w.fake.terminals.at(-1)!.cwd, ws);
      // no repository here: kodama's one line, not a stack trace
      const r = await runTerminal(w.fake.terminals.at(-1)!);
      assert(r.code !== 0);
      assert(!/\n\s+at /.test(r.out), r.out);
    });

    await t.step(
      "Delete: the session from the list; without a TTY to ask on, kodama refuses and deletes nothing",
      async () => {
        w.fake.answer(name);
        await h.sessionVerb(ctx(), "delete");
        assertEquals(labels(w.fake.shown.at(-1)!.items), [name]);
        assertEquals(kodamaArgv(w.fake.terminals.at(-1)!), [
          "session",
          "delete",
          "--context=dev",
          "--namespace=dev",
          "--",
          name,
        ]);
        // in VS Code the terminal is a TTY and kodama asks there; with none (here) it refuses, exit 2
        const r = await runTerminal(w.fake.terminals.at(-1)!);
        assertEquals(r.code, 2, r.out);
        assertStringIncludes(r.out, "without confirmation");
        assertEquals(await phase(), "Running");
      },
    );
  } finally {
    await runKodama(["delete", "--context=dev", name, "--force", "--purge"], {
      env: { KUBECONFIG: c.kubeconfig, KODAMA_HOME: w.home },
    }).catch(() => {});
    await Deno.remove(ws, { recursive: true }).catch(() => {});
  }
});
