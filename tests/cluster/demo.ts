/**
 * `deno task demo`: start the kodama Kubernetes API *test server* with the demo world and print
 * what to try from another terminal. Ctrl-C stops it (and every pod process).
 */
import { dirname, join } from "node:path";
import { AlreadyRunning, DEMO_LOAD_PODS, parseClusterArgs, runCluster } from "./main.ts";
import { podFsInfo } from "./runtime/podns.ts";
import { type DemoAgents, demoConfig, demoTask, startDemoAgents, writeDemoEnv } from "./demo_agents.ts";

const opts = parseClusterArgs(Deno.args, { pods: DEMO_LOAD_PODS });
const useColor = Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
const b = (s: string) => (useColor ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string) => (useColor ? `\x1b[2m${s}\x1b[0m` : s);

/**
 * A KODAMA_HOME for the demo: sessions there use an image the test server runs, with the agent CLIs, and
 * the presets reach the demo's model-API stand-in (demo_agents.ts), so the README's sessions Quick Start
 * and its agent lines work as written, and the demo's session state stays out of ~/.kodama.
 */
function demoHome(kubeconfig: string, apiUrl: string): string {
  const home = join(dirname(kubeconfig), "kodama-home");
  Deno.mkdirSync(home, { recursive: true });
  Deno.writeTextFileSync(join(home, "config.yaml"), demoConfig(writeDemoEnv(home, apiUrl)));
  return home;
}

/**
 * A scratch repository for the demo session, beside the demo's kubeconfig: `start` syncs the directory it
 * runs in, so the printed command runs there, never in the kodama checkout (which would be uploaded
 * whole, .git included, and left under a two-way sync).
 */
function demoProject(kubeconfig: string): string {
  const dir = join(dirname(kubeconfig), "demo-project");
  Deno.mkdirSync(dir, { recursive: true });
  const git = (...args: string[]) =>
    new Deno.Command("git", { args, cwd: dir, stdout: "piped", stderr: "null" }).outputSync();
  // its own repository: the directory sits inside the kodama checkout, whose repository git would find
  const top = git("rev-parse", "--show-toplevel");
  const own = top.success && new TextDecoder().decode(top.stdout).trim() === Deno.realPathSync(dir);
  if (!own || !git("rev-parse", "-q", "--verify", "HEAD").success) {
    Deno.writeTextFileSync(
      join(dir, "README.md"),
      "# demo project\n\nA scratch repository for kodama's demo session.\n",
    );
    Deno.writeTextFileSync(join(dir, "hello.sh"), "#!/bin/sh\necho hello from the demo session\n");
    git("init", "-q", "-b", "main");
    git("add", "-A");
    git(
      "-c",
      "user.name=kodama demo",
      "-c",
      "user.email=demo@kodama.invalid",
      "commit",
      "-qm",
      "demo project",
    );
  }
  return dir;
}

/** What a pod's filesystem is here: its own (namespaces), or this machine's with rewritten paths. */
function podFsLines(): string {
  const fs = podFsInfo();
  if (fs.mode === "namespace") {
    return `${
      dim(
        `Pods have their own filesystem view (mount namespace + chroot${
          fs.userns ? ", user namespace" : ""
        }) and ${
          fs.pidns ? "their own processes (PID namespace)" : `this machine's processes (${fs.pidWhy})`
        }:`,
      )
    }
${dim("/workspace, /tmp and / are the pod's; this machine's /usr and /etc are visible read-only.")}`;
  }
  return `${dim(`Pods share this machine's filesystem (path-rewriting fallback: ${fs.why}):`)}
${
    dim(
      "only their own volumes (/workspace, …) are theirs; other absolute paths (/tmp, /etc) are this machine's.",
    )
  }`;
}

/** The agent lines of the banner, or one line on how to get the CLIs. */
function agentLines(main: string, agents: DemoAgents): string {
  const k = (s: string) => `  ${b(`deno run -A --no-prompt ${main} ${s}`)}`;
  const missing = Object.entries(agents.clis).filter(([, ok]) => !ok).map(([n]) => n);
  const get = missing.length
    ? `\n${
      dim(
        `(${missing.join(" and ")} not installed here: npm install -g --prefix /usr/local/lib/agent-clis ${
          missing.map((n) => n === "claude" ? "@anthropic-ai/claude-code@2.1.332" : "@openai/codex@0.169.0")
            .join(" ")
        }, as .ci/run does)`,
      )
    }`
    : "";
  return `The agent loop, with the real Claude Code and Codex against the demo's model-API stand-in
${
    dim(
      `(${agents.api.url}: a scripted agent that appends notes on the task to AGENT_NOTES.md and commits them)`,
    )
  }:${get}

${k("start fix --repo . --prompt-file task.txt")}
${k("session logs fix -f")}                     ${dim("# until the run ends")}
${k("session fetch fix")}                       ${dim("# then: git log -p main..kodama/fix")}
${k("session land fix")}
${k("start fix --repo . --prompt-file task.txt --replicas 3 --agent-variant 2=codex")}
${k("compare fix --wait")}
${k("delete fix --group --keep fix-3")}`;
}

const api = await startDemoAgents();
try {
  await runCluster(opts, (s) => {
    const kc = s.kubeconfig;
    const home = demoHome(kc, api.api.url);
    const project = demoProject(kc);
    demoTask(project);
    const main = new URL("../../main.ts", import.meta.url).pathname;
    console.log(`
${b("kodama demo")} — the kodama Kubernetes API test server is running at ${s.server}
${dim("This is a local test server for kodama's tests and demos, not a cluster for real workloads:")}
${dim("pods are local processes on this machine, and everything disappears when you stop it.")}
${podFsLines()}

Try, from another terminal in the repository root:

  ${b(`export KUBECONFIG=${kc} KODAMA_HOME=${home}`)}
  ${b("deno run -A --no-prompt main.ts pods -A")}                             ${dim("# every demo pod")}
  ${b("deno run -A --no-prompt main.ts exec -n weka-operator-system -m drive-1 -- weka version")}
  ${b("deno run -A --no-prompt main.ts run kwekash")}                         ${dim("# a built-in workflow")}

A dev session (README: Sessions) syncs the directory it starts in: a scratch repository, not this checkout:

  ${b(`cd ${project}`)}
  ${b(`deno run -A --no-prompt ${main} start my-session`)}

${agentLines(main, api)}

kubectl works too (${dim("kubectl get pods -A -o wide")}; context ${b("dev")} may only use namespace dev).
Press Ctrl-C to stop.`);
  });
} catch (e) {
  await api.api.close();
  if (!(e instanceof AlreadyRunning)) throw e;
  console.error(`error: ${e.message}`);
  Deno.exit(2);
}
Deno.exit(0);
