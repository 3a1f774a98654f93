import { assert, assertEquals, assertStringIncludes, assertThrows } from "@kodama/test-assert";
import {
  DEFAULT_SHELL,
  paneCommand,
  paneEnv,
  panesThatFit,
  planTmux,
  type TmuxPlanInput,
} from "../../../src/pods/tmux.ts";
import { shellJoin as shJoin, shellQuote as shQuote } from "../../../src/base/text/escape.ts";
import { resolve } from "node:path";

const pods = (n: number) => Array.from({ length: n }, (_, i) => ({ namespace: "prod", name: `api-${i}` }));

function input(over: Partial<TmuxPlanInput> = {}): TmuxPlanInput {
  return {
    pods: pods(4),
    command: [],
    self: ["/usr/bin/kodama"],
    globalFlags: ["--context", "admin"],
    insideTmux: false,
    sessionName: "kodama-prod-abcd",
    panesPerWindow: 16,
    ...over,
  };
}

Deno.test("tmux plan outside tmux: one detached session, a pane per pod, titled", () => {
  const plan = planTmux(input());
  assertEquals(plan.windows, 1);
  assertEquals(plan.session, "kodama-prod-abcd");
  const cmds = plan.steps.map((s) => s.args[0]);
  assertEquals(cmds[0], "new-session");
  assertEquals(cmds.filter((c) => c === "split-window").length, 3);
  const titles = plan.steps.filter((s) => s.args[0] === "select-pane").map((s) => s.args.at(-1));
  assertEquals(titles, ["api-0", "api-1", "api-2", "api-3"]);
  const last = plan.steps.filter((s) => s.args[0] === "select-layout").at(-1)!;
  assertEquals(last.args.at(-1), "tiled");
  assert(plan.steps.some((s) => s.args.includes("pane-border-status") && s.args.includes("top")));
  assert(!plan.steps.some((s) => s.args.includes("synchronize-panes")));
});

Deno.test("tmux plan inside tmux: new window(s), more pods than fit -> several windows, sync + layout", () => {
  const plan = planTmux(
    input({ pods: pods(20), insideTmux: true, panesPerWindow: 8, layout: "even-vertical", syncPanes: true }),
  );
  assertEquals(plan.windows, 3);
  assertEquals(plan.session, undefined);
  const windows = plan.steps.filter((s) => s.args[0] === "new-window");
  assertEquals(windows.length, 3);
  assert(!windows[0].args.includes("-d"), "the first window is selected");
  assert(windows[1].args.includes("-d"));
  assertEquals(plan.steps.filter((s) => s.args.includes("synchronize-panes")).length, 3);
  assertEquals(plan.steps.filter((s) => s.args[0] === "split-window").length, 17);
  assert(plan.steps.some((s) => s.args[0] === "select-layout" && s.args.at(-1) === "even-vertical"));
});

Deno.test("pane command re-invokes kodama exec -it in the pod, default a shell", () => {
  const cmd = paneCommand({ namespace: "prod", name: "api-1" }, input({ container: "app" }));
  assertStringIncludes(cmd, "/usr/bin/kodama --context admin exec --pod api-1 -n prod -it -c app -- ");
  assertStringIncludes(cmd, shJoin(DEFAULT_SHELL));
  const cmd2 = paneCommand({ namespace: "prod", name: "api-1" }, input({ command: ["echo", "it's"] }));
  assertStringIncludes(cmd2, `-- echo 'it'\\''s'`);
});

Deno.test("bad layout is a usage error listing the layouts", () => {
  const e = assertThrows(() => planTmux(input({ layout: "grid" })), "unknown tmux layout") as Error & {
    code: number;
    hint: string;
  };
  assertEquals(e.code, 2);
  assertStringIncludes(e.hint, "main-vertical");
});

Deno.test("panes that fit a terminal", () => {
  assertEquals(panesThatFit(80, 24), 12);
  assertEquals(panesThatFit(250, 70), 16);
  assertEquals(panesThatFit(10, 3), 1);
});

Deno.test("shQuote", () => {
  assertEquals(shQuote("abc/-_.x"), "abc/-_.x");
  assertEquals(shQuote("a b"), "'a b'");
  assertEquals(shQuote(""), "''");
  assertEquals(shQuote("it's"), `'it'\\''s'`);
});

Deno.test("paneEnv: KUBECONFIG entries become absolute (empty ones dropped); only the pane's variables pass", () => {
  const vars: Record<string, string> = { KUBECONFIG: "kc.yaml::/abs/b.yaml", NO_COLOR: "1", HOME: "/home/x" };
  assertEquals(paneEnv((n) => vars[n]), { KUBECONFIG: `${resolve("kc.yaml")}:/abs/b.yaml`, NO_COLOR: "1" });
  assertEquals(paneEnv(() => undefined), {});
});

Deno.test("paneEnv: proxy settings pass so panes reach the cluster the same way, but never a proxy password", () => {
  const vars: Record<string, string> = {
    HTTPS_PROXY: "http://proxy.corp:3128",
    NO_PROXY: ".internal,10.0.0.0/8",
    http_proxy: "http://alice:s3cret@proxy.corp:3128",
    https_proxy: "alice:s3cret@proxy.corp:3128",
  };
  const env = paneEnv((n) => vars[n]);
  assertEquals(env, { HTTPS_PROXY: "http://proxy.corp:3128", NO_PROXY: ".internal,10.0.0.0/8" });
  assert(!JSON.stringify(env).includes("s3cret"));
});
