/**
 * Shell completion through Cobra's `__complete` protocol, against the test cluster: subcommands, flags,
 * contexts, namespaces, pods in the namespace typed so far, containers, sessions (from their labels),
 * workflows and their --param keys, config keys; nothing on stderr; a slow or unreachable server gives an
 * empty answer instead of a hang; the scripts parse in their shells.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { DEMO } from "../cluster/harness.ts";
import { closedPortKubeconfig, runKodama } from "./_run.ts";
import { busyboxPod } from "../integration/_helpers.ts";
import { Kube } from "../../src/kube/client.ts";
import { clusterTest } from "../cluster/fixture.ts";

interface Answer {
  values: string[];
  lines: string[];
  directive: number;
  stderr: string;
  code: number;
}

function parse(r: { stdout: string; stderr: string; code: number }): Answer {
  const lines = r.stdout.split("\n").filter(Boolean);
  const last = lines.pop() ?? "";
  assert(/^:\d+$/.test(last), `no directive line: ${r.stdout}`);
  return {
    values: lines.map((l) => l.split("\t")[0]),
    lines,
    directive: Number(last.slice(1)),
    stderr: r.stderr,
    code: r.code,
  };
}

clusterTest("kodama __complete", { seed: "demo" }, async (t, c) => {
  const home = await Deno.makeTempDir({ prefix: "kodama-complete-" });
  // a loaded test machine may take longer than the interactive 1 s; the deadline itself is tested below
  const env = { KUBECONFIG: c.kubeconfig, KODAMA_HOME: home, KODAMA_COMPLETION_TIMEOUT_MS: "20000" };
  const comp = async (words: string[], o: { cwd?: string; extraEnv?: Record<string, string> } = {}) =>
    parse(await runKodama(["__complete", ...words], { env: { ...env, ...o.extraEnv }, cwd: o.cwd }));
  try {
    await t.step("subcommands and flags, no cluster needed", async () => {
      const sub = await comp(["ex"]);
      assertEquals(sub.values, ["exec"]);
      assertEquals(sub.directive, 4);
      assertEquals(sub.stderr, "");
      assert(sub.lines[0].startsWith("exec\tRun a command"), sub.lines[0]);
      const flags = await comp(["exec", "--fi"]);
      assertEquals(flags.values.sort(), ["--field-selector", "--first"]);
      const nested = await comp(["config", "se"]);
      assertEquals(nested.values, ["set"]);
      // a flag already given is not offered again; a repeatable one is
      const again = await comp(["exec", "--first", "--fir"]);
      assertEquals(again.values, []);
      assertEquals((await comp(["exec", "-m", "a", "--mat"])).values, ["--match"]);
      // flag choices
      assertEquals((await comp(["pods", "-o", "ya"])).values, ["yaml"]);
      assertEquals((await comp(["pods", "--output=j"])).values, ["--output=json"]);
      // after --, the words are the remote command's
      assertEquals((await comp(["exec", "--pod", "x", "--", "l"])).values, []);
    });

    await t.step("kodama exec -n prod --pod a: the two api pods of that namespace", async () => {
      const r = await comp(["exec", "-n", "prod", "--pod", "a"]);
      assertEquals(r.values.sort(), [...DEMO.apiPods].sort());
      assertEquals(r.stderr, "");
      assertEquals(r.directive, 4);
      assert(r.lines.every((l) => l.endsWith("\tRunning")), r.lines.join("\n"));
      // the namespace typed so far decides; -m completes pod names as well
      assertEquals((await comp(["exec", "-n", DEMO.wekaNamespace, "-m", "weka-d"])).values.length, 3);
      // a positional target: pod names, TYPE/ prefixes, then TYPE/NAME
      const target = await comp(["exec", "-n", "prod", "a"]);
      assertEquals(target.values.sort(), [...DEMO.apiPods].sort());
      const types = await comp(["exec", "-n", "prod", "dep"]);
      assertEquals(types.values, ["deploy/"]);
      assertEquals(types.directive & 2, 2, "no space after deploy/");
      assertEquals((await comp(["exec", "-n", "prod", "deploy/"])).values.sort(), [
        "deploy/api",
        "deploy/web",
      ]);
    });

    await t.step("contexts, namespaces, containers and labels", async () => {
      assertEquals((await comp(["--context", ""])).values.sort(), ["admin", "dev"]);
      const ns = await comp(["exec", "-n", ""]);
      for (const n of ["prod", "staging", "dev", DEMO.wekaNamespace]) assert(ns.values.includes(n), n);
      const cs = await comp(["exec", "-n", "prod", "--pod", DEMO.webPod, "-c", ""]);
      assertEquals(cs.values.sort(), ["sidecar", "web"]);
      const ls = await comp(["logs", "-n", "prod", "-l", "app=a"]);
      assertEquals(ls.values, ["app=api"]);
      // the context typed on the line is used: dev may not list prod's pods -> nothing, quietly
      const forbidden = await comp(["--context", "dev", "exec", "-n", "prod", "--pod", ""]);
      assertEquals(forbidden.values, []);
      assertEquals(forbidden.stderr, "");
    });

    await t.step(
      "kodama run <TAB>: built-in and repo workflows; --param keys of the named one",
      async () => {
        const repo = await Deno.makeTempDir({ prefix: "kodama-complete-repo-" });
        await Deno.mkdir(`${repo}/.git`);
        await Deno.mkdir(`${repo}/.kodama/workflows`, { recursive: true });
        await Deno.writeTextFile(
          `${repo}/.kodama/workflows/deploy-check.yaml`,
          `name: deploy-check
description: Check a deployment
params:
  app: { default: api, description: which app }
targets:
  t: { namespace: prod, match: "\${{ params.app }}" }
steps:
  - id: s
    exec: { target: t, command: [hostname] }
`,
        );
        const wf = await comp(["run", ""], { cwd: repo });
        for (const n of ["kwekash", "health", "shell", "deploy-check"]) assert(wf.values.includes(n), n);
        assertStringIncludes(wf.lines.find((l) => l.startsWith("deploy-check\t"))!, "Check a deployment");
        const params = await comp(["run", "kwekash", "--param", ""], { cwd: repo });
        assertEquals(params.values, ["cmd="]);
        assertEquals(params.directive & 2, 2, "no space after cmd=");
        assertEquals((await comp(["run", "deploy-check", "-p", ""], { cwd: repo })).values, ["app="]);
        await Deno.remove(repo, { recursive: true });
      },
    );

    await t.step(
      "kodama attach <TAB>: session names from kodama's labels (pods and kept volumes)",
      async () => {
        const kube = await Kube.connect({ kubeconfig: c.kubeconfig });
        const labels = (s: string) => ({
          "app.kubernetes.io/managed-by": "kodama",
          "kodama.dev/session": s,
        });
        // a namespace of its own: on a shared real cluster, dev may hold other people's sessions
        const ns = `ux-complete-${crypto.randomUUID().slice(0, 8)}`;
        const nsPath = "/api/v1/namespaces";
        await kube.request({ verb: "create", resource: "namespaces" }, "POST", nsPath, {
          body: { metadata: { name: ns } },
        });
        try {
          await kube.createObject("pods", ns, {
            ...busyboxPod("kodama-alpha"),
            metadata: { name: "kodama-alpha", labels: labels("alpha") },
          });
          await kube.request(
            { verb: "create", resource: "persistentvolumeclaims", namespace: ns },
            "POST",
            `${nsPath}/${ns}/persistentvolumeclaims`,
            {
              body: {
                metadata: { name: "kodama-workspace-beta", labels: labels("beta") },
                spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
              },
            },
          );
          // an ordinary pod is not a session
          await kube.createObject("pods", ns, busyboxPod("not-a-session"));
          const { buildProgram } = await import("../../src/cli/program.ts");
          const root = await buildProgram();
          const has = root.commands.some((x) => x.name() === "attach");
          const r = has
            ? await comp(["-n", ns, "attach", ""])
            : parse(await inProcessAttach(root, ["-n", ns, "attach", ""], c.kubeconfig));
          assertEquals(r.values.sort(), ["alpha", "beta"]);
          assertStringIncludes(r.lines.find((l) => l.startsWith("beta\t"))!, "stopped");
          // the agent verbs and session fetch take a session name too
          for (const words of [["agent", "logs"], ["agent", "run"], ["session", "fetch"]]) {
            assertEquals(
              (await comp(["-n", ns, ...words, ""])).values.sort(),
              ["alpha", "beta"],
              words.join(" "),
            );
          }
        } finally {
          await kube.request({ verb: "delete", resource: "namespaces" }, "DELETE", `${nsPath}/${ns}`)
            .catch(() => {});
          kube.close();
        }
      },
    );

    await t.step(
      "kodama config set defaults.<TAB>: the keys; values of enum and boolean keys",
      async () => {
        const r = await comp(["config", "set", "defaults."]);
        assert(r.values.includes("defaults.namespace"), r.values.join(" "));
        assert(r.values.includes("defaults.resources.cpu"));
        assert(r.values.every((v) => v.startsWith("defaults.")));
        assertEquals((await comp(["config", "set", "output.color", ""])).values, [
          "auto",
          "always",
          "never",
        ]);
        assertEquals((await comp(["config", "set", "picker.preview", ""])).values, ["true", "false"]);
      },
    );

    await t.step({
      name: "a slow or unreachable server: an empty answer, nothing on stderr, no hang",
      ignore: c.real,
      fn: async () => {
        const dir = await Deno.makeTempDir();
        const { file } = await closedPortKubeconfig(dir);
        const down = parse(
          await runKodama(["__complete", "--kubeconfig", file, "exec", "--pod", ""], { env }),
        );
        assertEquals(down.values, []);
        assertEquals(down.stderr, "");
        assertEquals(down.code, 0);
        c.faults.delay(20_000);
        try {
          const t0 = Date.now();
          const slow = await comp(["exec", "-n", "prod", "--pod", ""], {
            extraEnv: { KODAMA_COMPLETION_TIMEOUT_MS: "1000" },
          });
          // it did not wait for the server (20 s): the deadline answered
          assert(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms`);
          assertEquals(slow.values, []);
          assertEquals(slow.stderr, "");
        } finally {
          c.faults.reset();
        }
        await Deno.remove(dir, { recursive: true });
      },
    });

    await t.step(
      "completion bash|zsh|fish|powershell print scripts their shells accept; others are usage errors",
      async () => {
        for (const sh of ["bash", "zsh", "fish"]) {
          const r = await runKodama(["completion", sh], { env });
          assertEquals(r.code, 0, r.stderr);
          assertStringIncludes(r.stdout, "__complete");
          const bin = await new Deno.Command("sh", { args: ["-c", `command -v ${sh}`], stdout: "piped" })
            .output();
          if (!bin.success) continue; // that shell is not installed here
          const f = await Deno.makeTempFile({ suffix: `.${sh}` });
          await Deno.writeTextFile(f, r.stdout);
          const check = await new Deno.Command(sh, { args: ["-n", f], stderr: "piped" }).output();
          assert(check.success, `${sh} -n: ${new TextDecoder().decode(check.stderr)}`);
          await Deno.remove(f);
        }
        const ps = await runKodama(["completion", "powershell"], { env });
        assertEquals(ps.code, 0, ps.stderr);
        assertStringIncludes(ps.stdout, "Register-ArgumentCompleter -Native");
        assertStringIncludes(ps.stdout, "__complete");
        const bad = await runKodama(["completion", "tcsh"], { env });
        assertEquals(bad.code, 2);
        assertStringIncludes(bad.stderr, "bash, zsh, fish, powershell");
      },
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

/**
 * Until the sessions commands land, `attach` is declared here as a session verb is (group Sessions,
 * argument <name>), and the line is completed in-process with the same code path as `__complete`.
 */
async function inProcessAttach(
  root: Awaited<ReturnType<typeof import("../../src/cli/program.ts").buildProgram>>,
  words: string[],
  kubeconfig: string,
): Promise<{ stdout: string; stderr: string; code: number }> {
  const { help } = await import("../../src/cli/help.ts");
  const { completeLine } = await import("../../src/cli/completion.ts");
  help(root.command("attach"), {
    group: "Sessions",
    summary: "Attach to a session",
    examples: [["Attach", "kodama attach alpha"]],
  }).argument("<name>");
  const stdout = await completeLine(root as never, ["--kubeconfig", kubeconfig, ...words], true);
  return { stdout, stderr: "", code: 0 };
}
