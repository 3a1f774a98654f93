/**
 * The VS Code extension's argv building (editors/vscode/src/argv.ts, cli.ts) and its small parsers.
 * Values from documents, the cluster and the user are whole argv elements: a pod, param or command
 * named `$(touch x)` runs nothing on this machine (proved by running the argv).
 */
import { assert, assertEquals } from "@kodama/test-assert";
import {
  execAllArgs,
  execArgs,
  logsArgs,
  parseCompletion,
  podCommand,
  podsArgs,
  runArgs,
  sessionArgs,
  shownConnection,
  terminalName,
} from "../../../editors/vscode/src/argv.ts";
import { runCli, terminalSpec } from "../../../editors/vscode/src/cli.ts";
import { JsonStream } from "../../../editors/vscode/src/jsonstream.ts";
import { isWorkflowFile, workflowNameLines } from "../../../editors/vscode/src/lens.ts";

const conn = { context: "dev", namespace: "team" };

Deno.test("exec in one pod: --flag=value pairs, then -- and the command", () => {
  assertEquals(
    execArgs(conn, { namespace: "prod", pod: "api-1", container: "app" }, [
      "ls",
      "-la",
    ]),
    [
      "exec",
      "--context=dev",
      "--namespace=prod",
      "--pod=api-1",
      "--container=app",
      "--stdin",
      "--tty",
      "--",
      "ls",
      "-la",
    ],
  );
  // no namespace in the target: the status bar's
  assertEquals(execArgs(conn, { pod: "p" }, ["sh"]).slice(1, 4), [
    "--context=dev",
    "--namespace=team",
    "--pod=p",
  ]);
  // nothing chosen: kodama's own defaults
  assertEquals(execArgs({}, { pod: "p" }, ["sh"]), [
    "exec",
    "--pod=p",
    "--stdin",
    "--tty",
    "--",
    "sh",
  ]);
});

Deno.test("fan-out, pods, logs: selectors and matches as one element each", () => {
  assertEquals(
    execAllArgs({}, { namespace: "prod", selector: "app=api,tier in (a,b)" }, [
      "uptime",
    ]),
    [
      "exec",
      "--namespace=prod",
      "--selector=app=api,tier in (a,b)",
      "--all",
      "--",
      "uptime",
    ],
  );
  assertEquals(podsArgs({}, { namespace: "prod", match: "-rf" }), [
    "pods",
    "--namespace=prod",
    "--match=-rf",
    "--output=json",
  ]);
  assertEquals(
    logsArgs({}, { namespace: "n", selector: "app=x" }, { tail: 50 }),
    [
      "logs",
      "--namespace=n",
      "--selector=app=x",
      "--follow",
      "--tail=50",
    ],
  );
  assertEquals(podsArgs({}, { allNamespaces: true }), [
    "pods",
    "--all-namespaces",
    "--output=json",
  ]);
});

Deno.test("run: params as --param=k=v, the name after --; sessions too", () => {
  assertEquals(
    runArgs({}, "--help", { cmd: "weka status; rm -rf /" }, {
      trustHash: "abc",
    }),
    [
      "run",
      "--param=cmd=weka status; rm -rf /",
      "--trust-hash=abc",
      "--",
      "--help",
    ],
  );
  assertEquals(sessionArgs(conn, "attach", "-x"), [
    "session",
    "attach",
    "--context=dev",
    "--namespace=team",
    "--",
    "-x",
  ]);
});

Deno.test("the command box: plain words run directly, shell syntax through the pod's sh -c", () => {
  assertEquals(podCommand("ls -la /tmp"), ["ls", "-la", "/tmp"]);
  assertEquals(podCommand("  "), ["sh"]);
  assertEquals(podCommand("ps aux | grep api"), [
    "sh",
    "-c",
    "ps aux | grep api",
  ]);
  assertEquals(podCommand("echo $(hostname)"), [
    "sh",
    "-c",
    "echo $(hostname)",
  ]);
  assertEquals(podCommand('echo "a b"'), ["sh", "-c", 'echo "a b"']);
});

Deno.test("the status bar: the chosen context, else the current one; its namespace, else default", () => {
  const contexts = [
    { value: "admin", description: "current, cluster c, user admin" },
    { value: "dev", description: "cluster c, user dev, namespace team-a" },
  ];
  assertEquals(shownConnection(contexts, {}), { context: "admin", namespace: "default" });
  assertEquals(shownConnection(contexts, { context: "dev" }), { context: "dev", namespace: "team-a" });
  assertEquals(shownConnection(contexts, { context: "dev", namespace: "x" }), {
    context: "dev",
    namespace: "x",
  });
  assertEquals(shownConnection([], {}), { context: undefined, namespace: "default" });
});

Deno.test("completion lines and terminal names", () => {
  assertEquals(parseCompletion("default\nprod\tthe prod one\n:4\n"), [
    { value: "default" },
    { value: "prod", description: "the prod one" },
  ]);
  assertEquals(
    terminalName(["exec", "--context=dev", "--pod=p", "--", "sh"]),
    "kodama exec --pod=p -- sh",
  );
  assert(terminalName(["x".repeat(100)]).length <= 60);
});

Deno.test("a pod, param and command named $(touch x) run nothing on this machine", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const evil = "$(touch x)`touch y`;touch z";
    const argvs = [
      execArgs({ context: evil, namespace: evil }, {
        pod: evil,
        container: evil,
      }, [evil]),
      runArgs({ context: evil }, evil, { [evil]: evil }),
      podsArgs({ namespace: evil }, { selector: evil, match: evil }),
      sessionArgs({}, "attach", evil, evil),
    ];
    for (const argv of argvs) {
      // every evil value is inside one element, never split
      assert(argv.some((a) => a.includes(evil)));
      // run it the way the extension does (execFile / createTerminal: program + argv, no shell); the
      // program here prints its argv back, so what arrives can be compared too
      const echo = {
        command: "/bin/sh",
        prefix: ["-c", 'printf "%s\\n" "$@"', "argv"],
        cwd: dir,
      };
      const out = await runCli(echo, argv);
      assertEquals(out, argv.join("\n") + "\n");
      // the terminal's spec is the same program and argv
      const spec = terminalSpec({ command: "kodama" }, "t", argv, dir);
      assertEquals(spec.shellPath, "kodama");
      assertEquals(spec.shellArgs, argv);
    }
    const made = [...Deno.readDirSync(dir)].map((e) => e.name);
    assertEquals(made, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kodama not found: a clear error naming the setting", async () => {
  const err = await runCli({ command: "/nonexistent/kodama" }, ["pods"]).catch((
    e,
  ) => e);
  assertEquals(err.code, 127);
  assert(String(err.message).includes("kodama.path"));
});

Deno.test("JsonStream: back-to-back pretty objects, split anywhere, braces inside strings", () => {
  const objs = [{ a: 1, s: '}{"\\' }, { b: [1, { c: "x" }] }, { d: "\n" }];
  const text = objs.map((o) => JSON.stringify(o, null, 4)).join("\n");
  for (const size of [1, 3, 7, text.length]) {
    const js = new JsonStream();
    const got: unknown[] = [];
    for (let i = 0; i < text.length; i += size) {
      got.push(...js.push(text.slice(i, i + size)));
    }
    assertEquals(got, objs);
  }
  // a non-JSON line between values is skipped, not fatal
  assertEquals(new JsonStream().push('{"a":1}\nnote: x\n{"b":2}'), [{ a: 1 }, {
    b: 2,
  }]);
});

Deno.test("CodeLens: the top-level name: of each document of a workflow file", () => {
  assert(isWorkflowFile("/r/.kodama/workflows/deploy.yaml"));
  assert(isWorkflowFile("C:\\r\\.kodama\\workflows\\x.yml"));
  assert(!isWorkflowFile("/r/workflows/deploy.yaml"));
  assertEquals(
    workflowNameLines(
      `# c\nname: deploy # the name\ndescription: x\nsteps:\n  - name: step one\n---\nname: "other"\n`,
    ),
    [{ line: 1, name: "deploy" }, { line: 6, name: "other" }],
  );
});
