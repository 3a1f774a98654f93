/**
 * The everyday path stays light (issue 15, bench/README.md): what `exec`, `pods` and `run` of a
 * workflow checked before import up front — their static imports, all the way down — includes no npm
 * package (js-yaml, yaml, zod, commander, the client library…) and no `node:` module (Deno loads its
 * Node layer on the first one, ~10 ms). They may still load those with `import()` when they need them:
 * a cache miss, a fallback, an interactive prompt. The graph is Deno's own (`deno info --json`).
 */
import { assertEquals } from "@kodama/test-assert";

const ROOT = new URL("../../", import.meta.url);

/**
 * Modules of the everyday path: what main.ts imports, every command's table (the fast reader loads the
 * one a line names; completion loads them all), and what the everyday commands load first.
 */
const HOT = [
  "main.ts",
  "src/cli/fast.ts",
  "src/cli/tree.ts",
  "src/cli/completion.ts",
  "src/cli/complete.ts",
  "src/cli/agent.ts",
  "src/cli/config.ts",
  "src/cli/cp.ts",
  "src/cli/doctor.ts",
  "src/cli/logs.ts",
  "src/cli/options.ts",
  "src/cli/pick.ts",
  "src/cli/portforward.ts",
  "src/cli/session.ts",
  "src/cli/sync.ts",
  "src/cli/ui.ts",
  "src/cli/version.ts",
  "src/cli/wait.ts",
  "src/cli/workflow.ts",
  "src/cli/prepare.ts",
  "src/cli/connect.ts",
  "src/cli/commands.ts",
  "src/cli/exec.ts",
  "src/cli/pods.ts",
  "src/cli/run.ts",
  "src/cli/settings.ts",
  // a session's resume and the watch every start and resume waits with (issue 34: no Node layer)
  "src/session/lifecycle/lifecycle.ts",
  "src/session/lifecycle/ready.ts",
  // a start: its steps, and the configuration through its cache (the YAML parser and zod on a miss only)
  "src/session/commands.ts",
  "src/session/lifecycle/start.ts",
  "src/config/cache.ts",
  // what every start loads by import() (its gateway step), and what stop, delete and resume load to end a
  // background sync: the sync engine itself (node:path, the ignore rules' package) only where it runs
  "src/agent/gateway/session.ts",
  "src/session/sync/daemon.ts",
  "src/session/sync/store.ts",
  "src/kube/client.ts",
  "src/pods/exec_cmd.ts",
  "src/pods/list.ts",
  "src/pods/fanout.ts",
  "src/workflow/run.ts",
  "src/workflow/engine.ts",
  "src/workflow/display.ts",
  "src/workflow/trust.ts",
  "src/workflow/podsecrets.ts",
  "src/workflow/prefetch.ts",
  "src/workflow/file.ts",
  "src/workflow/cache.ts",
  "src/workflow/discovery.ts",
  "src/workflow/steps/exec.ts",
];

interface Dep {
  code?: { specifier: string };
  isDynamic?: boolean;
}

async function graph(): Promise<Map<string, string[]>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("main.ts", ROOT).href],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string; dependencies?: Dep[] }[];
    redirects?: Record<string, string>;
  };
  const edges = new Map<string, string[]>();
  for (const m of info.modules) {
    const deps = (m.dependencies ?? []).filter((d) => d.code && !d.isDynamic).map((d) => d.code!.specifier);
    edges.set(m.specifier, deps.map((s) => info.redirects?.[s] ?? s));
  }
  return edges;
}

Deno.test("the everyday path imports no npm package and no node: module up front", async () => {
  const edges = await graph();
  for (const hot of HOT) {
    const start = new URL(hot, ROOT).href;
    const seen = new Set<string>();
    const heavy: string[] = [];
    const visit = (s: string, from: string) => {
      if (seen.has(s)) return;
      seen.add(s);
      if (/^(npm|node):/.test(s)) heavy.push(`${s} (imported by ${from.replace(ROOT.href, "")})`);
      for (const d of edges.get(s) ?? []) visit(d, s);
    };
    visit(start, start);
    assertEquals(heavy, [], `${hot} imports, statically`);
    // and the graph really was followed (a renamed module would make this test pass vacuously)
    assertEquals(edges.has(start), true, `${hot} is in main.ts's module graph`);
  }
});
