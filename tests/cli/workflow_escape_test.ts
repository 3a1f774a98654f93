/**
 * The sandbox attacked as a repository owner would (issue 10): each reproduction of a hole, run
 * through `kodama run` as a subprocess with a private HOME/KODAMA_HOME holding a fake kubeconfig and
 * SSH key. Every attack must be refused (before anything runs, with file:line:col, where kodama can
 * see it statically) and the secret must appear nowhere in the output.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { closedPortKubeconfig, hasStackTrace, runKodama } from "./_run.ts";

const SECRET = "KUBE-SECRET-7f3a";
const KODAMA_ROOT = new URL("../../", import.meta.url).pathname;
const KEY = "-----BEGIN OPENSSH PRIVATE KEY----- SSH-SECRET-91bc";

interface World {
  tmp: string;
  home: string;
  repo: string;
  env: Record<string, string>;
  kubeconfig: string;
  write(rel: string, text: string): Promise<void>;
  run(
    args: string[],
    extra?: Record<string, string>,
  ): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** The real Deno cache: the tests' own HOME must not make Deno download kodama's dependencies again. */
const DENO_DIR = JSON.parse(
  new TextDecoder().decode(
    (await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped", stderr: "null" })
      .output())
      .stdout,
  ),
).denoDir as string;

async function world(): Promise<World> {
  const tmp = await Deno.makeTempDir({ prefix: "kodama-escape-" });
  const home = join(tmp, "home");
  const repo = join(tmp, "repo");
  const kubeconfig = join(home, ".kube", "config");
  await Deno.mkdir(join(home, ".kube"), { recursive: true });
  await Deno.mkdir(join(home, ".ssh"), { recursive: true });
  await Deno.writeTextFile(kubeconfig, `apiVersion: v1\nkind: Config\n# ${SECRET}\n`);
  await Deno.writeTextFile(join(home, ".ssh", "id_rsa"), `${KEY}\nmore\n`);
  await Deno.mkdir(join(repo, ".git"), { recursive: true });
  const env = {
    DENO_DIR,
    HOME: home,
    KODAMA_HOME: join(home, ".kodama"),
    KUBECONFIG: kubeconfig,
    GITHUB_TOKEN: "ghp-TOKEN-5e6f",
  };
  const w: World = {
    tmp,
    home,
    repo,
    env,
    kubeconfig,
    async write(rel, text) {
      const f = join(repo, rel);
      await Deno.mkdir(join(f, ".."), { recursive: true });
      await Deno.writeTextFile(f, text);
    },
    run: (args, extra = {}) => runKodama(args, { env: { ...env, ...extra }, cwd: repo }),
  };
  return w;
}

function noLeak(r: { stdout: string; stderr: string }) {
  for (const s of [SECRET, "SSH-SECRET", "ghp-TOKEN"]) {
    assert(!r.stdout.includes(s) && !r.stderr.includes(s), `${s} leaked:\n${r.stdout}\n${r.stderr}`);
  }
  assert(!hasStackTrace(r.stderr), r.stderr);
  assert(!r.stderr.includes("Uncaught") && !r.stderr.includes("--allow-"), r.stderr);
}

const wf = (steps: string, extra = "") => `${extra}steps:\n${steps}`;
const scriptStep = (module: string, id = "s") =>
  `  - id: ${id}\n    script: { module: ../scripts/${module} }\n`;

Deno.test("escape: imports that would read or run what the workflow was not granted are refused", async (t) => {
  const w = await world();
  try {
    const cases: [string, string, RegExp, string?][] = [
      [
        "static text import of the kubeconfig",
        `import kc from "${"KUBECONFIG"}" with { type: "text" };\nexport default () => ({ kc });\n`,
        /leak\.ts:1:16: .* is outside the workflow's repository/,
      ],
      [
        "literal dynamic text import",
        `export default async () => {\n  const m = await import("KUBECONFIG", { with: { type: "text" } });\n  return { kc: m.default };\n};\n`,
        /leak\.ts:2:26: .* is outside the workflow's repository/,
      ],
      [
        "json import of a file outside the repo",
        `import kc from "KUBECONFIG" with { type: "json" };\nexport default () => ({ kc });\n`,
        /leak\.ts:1:16: /,
      ],
      [
        "bytes import through a file: URL",
        `import kc from "file://KUBECONFIG" with { type: "bytes" };\nexport default () => ({ n: kc.length });\n`,
        /leak\.ts:1:16: /,
      ],
      [
        "plain import of a private key (its first line would be in a SyntaxError)",
        `import "HOME/.ssh/id_rsa";\nexport default () => ({});\n`,
        /leak\.ts:1:8: /,
      ],
      [
        "remote import",
        `import "http://127.0.0.1:9/p.js";\nexport default () => ({});\n`,
        /leak\.ts:1:8: remote import/,
      ],
      [
        "npm import",
        `import lp from "npm:left-pad@1.3.0";\nexport default () => ({ lp });\n`,
        /leak\.ts:1:16: npm: import/,
      ],
      [
        "jsr import",
        `export default async () => await import("jsr:@std/path");\n`,
        /leak\.ts:1:41: jsr: import/,
      ],
      [
        "data: import",
        `import x from "data:text/javascript,export default 1";\nexport default () => ({ x });\n`,
        /leak\.ts:1:15: data: import/,
      ],
      [
        "computed import() (could name an npm: package)",
        `export default async () => {\n  const n = ["npm:", "left-pad"].join("");\n  return await import(n);\n};\n`,
        /leak\.ts:3:23: computed import\(\)/,
      ],
      [
        "node:vm (code from strings)",
        `import vm from "node:vm";\nexport default () => vm.runInThisContext("1");\n`,
        /leak\.ts:1:16: "node:vm"/,
      ],
      [
        "an import() the lexer would take for a type (.valueOf()) of an npm package",
        `export default async () => {\n  const p = import("npm:is-even@1.0.0").valueOf();\n  return { t: typeof (await p) };\n};\n`,
        /leak\.ts:2:20: npm: import/,
      ],
      [
        "an import() the lexer would take for a type, of the kubeconfig as text",
        `export default async () => {\n  const p = import("KUBECONFIG", { with: { type: "text" } }).valueOf();\n  return { kc: (await p).default };\n};\n`,
        /leak\.ts:2:20: .* is outside the workflow's repository/,
      ],
      [
        "a data: module of code through a type-looking import()",
        `export default () => { void import("data:text/javascript,export default 1").x; };\n`,
        /leak\.ts:1:36: data: import/,
      ],
      [
        "a re-export of the kubeconfig as text",
        `export { default as kc } from "KUBECONFIG" with { type: "text" };\nexport default () => ({});\n`,
        /leak\.ts:1:31: .* is outside the workflow's repository/,
      ],
      [
        "a template-literal specifier",
        'export default async () => (await import(`KUBECONFIG`, { with: { type: "text" } })).default;\n',
        /leak\.ts:1:42: .* is outside the workflow's repository/,
      ],
      [
        "a type-only import of a package",
        `import type { X } from "npm:left-pad@1.3.0";\nexport default () => ({});\n`,
        /leak\.ts:1:24: npm: import/,
      ],
      [
        "node:process's named getBuiltinModule (a second way to node:vm)",
        `import { getBuiltinModule } from "node:process";\nexport default () => (getBuiltinModule as any)(["node:", "vm"].join("")).runInThisContext("1");\n`,
        /leak\.ts:1:34: import node:process only as `import process from "node:process"`/,
      ],
      [
        "an npm: specifier kept in a string for later",
        `const pkg = "npm:left-pad@1.3.0";\nexport default () => ({ pkg });\n`,
        /leak\.ts:1:13: "npm:left-pad@1\.3\.0" can only name a module kodama does not allow/,
      ],
      [
        "an import() inside what a regex-confused reader could take for a string",
        `const re = /"/; export default async () => (await import("KUBECONFIG", { with: { type: "text" } })).default; // "\n`,
        /leak\.ts:1:\d+: /,
      ],
      [
        "a helper module that imports the key",
        `import { k } from "./lib/helper.ts";\nexport default () => ({ k });\n`,
        /helper\.ts:1:15: /,
        `import k from "HOME/.ssh/id_rsa" with { type: "text" };\nexport { k };\n`,
      ],
    ];
    for (const [what, source, want, helper] of cases) {
      await t.step(what, async () => {
        const fill = (s: string) => s.replaceAll("KUBECONFIG", w.kubeconfig).replaceAll("HOME", w.home);
        await w.write(".kodama/scripts/leak.ts", fill(source));
        if (helper) await w.write(".kodama/scripts/lib/helper.ts", fill(helper));
        await w.write(".kodama/workflows/leak.yaml", wf(scriptStep("leak.ts")));
        const r = await w.run(["run", "leak"]);
        assertEquals(r.code, 2, r.stderr);
        assertMatch(r.stderr, want);
        assert(!r.stderr.includes("▶"), `a step ran:\n${r.stderr}`);
        noLeak(r);
      });
    }

    await t.step(
      "a symlink in the repo that points at the kubeconfig is not a module of the repo",
      async () => {
        await Deno.symlink(w.kubeconfig, join(w.repo, "kubelink.json"));
        await w.write(
          ".kodama/scripts/leak.ts",
          `import kc from "../../kubelink.json" with { type: "json" };\nexport default () => ({ kc });\n`,
        );
        await w.write(
          ".kodama/workflows/leak.yaml",
          wf(scriptStep("leak.ts"), "permissions: { read: [.] }\n"),
        );
        const r = await w.run(["run", "leak", "--trust"]);
        assertEquals(r.code, 2, r.stderr);
        assertStringIncludes(r.stderr, "is outside the workflow's repository");
        noLeak(r);
      },
    );

    await t.step("data inside the repo is importable only from permissions.read", async () => {
      await w.write("data/d.json", `{ "n": 7 }`);
      await w.write(
        ".kodama/scripts/data.ts",
        `import d from "../../data/d.json" with { type: "json" };\nexport default () => { console.log("n=" + d.n); return d; };\n`,
      );
      await w.write(".kodama/workflows/data.yaml", wf(scriptStep("data.ts")));
      const denied = await w.run(["run", "data"]);
      assertEquals(denied.code, 2, denied.stderr);
      assertMatch(denied.stderr, /data\.ts:1:15: .*is imported as json but is not inside permissions\.read/);
      await w.write(
        ".kodama/workflows/data.yaml",
        wf(scriptStep("data.ts"), "permissions: { read: [./data] }\n"),
      );
      const ok = await w.run(["run", "data", "--trust"]);
      assertEquals(ok.code, 0, ok.stderr);
      assertStringIncludes(ok.stdout, "n=7");
    });

    await t.step("eval, Function, Worker and Deno's internals cannot turn strings into code", async () => {
      await w.write(
        ".kodama/scripts/strings.ts",
        `export default () => {
  const tries: [string, () => unknown][] = [
    ["eval", () => eval("1")],
    ["Function", () => new Function("return 1")()],
    ["AsyncFunction", () => (async () => {}).constructor("return 1")],
    ["Worker", () => new Worker(["data:", "text/javascript,1"].join(""), { type: "module" })],
    ["internal", () => (Deno as any)[(Deno as any).internal].core.evalContext("1")],
    ["vm", () => (globalThis as any).process.getBuiltinModule(["node:", "vm"].join("")).runInThisContext("1")],
    ["vmScript", () => new ((globalThis as any).process.getBuiltinModule(["v", "m"].join("")).Script)("1")],
  ];
  const out: Record<string, string> = {};
  for (const [n, f] of tries) {
    try { f(); out[n] = "RAN"; } catch { out[n] = "refused"; }
  }
  console.log(JSON.stringify(out));
  return out;
};
`,
      );
      await w.write(".kodama/workflows/strings.yaml", wf(scriptStep("strings.ts")));
      const r = await w.run(["run", "strings"]);
      assertEquals(r.code, 0, r.stderr);
      assert(!r.stdout.includes("RAN"), r.stdout);
      assertStringIncludes(r.stdout, `"eval":"refused"`);
      assertStringIncludes(r.stdout, `"vm":"refused"`);
    });

    await t.step(
      "with node:process imported (locked before the script loads) node:vm is refused too",
      async () => {
        await w.write(
          ".kodama/scripts/nodevm.ts",
          `import process from "node:process";
export default () => {
  const vm = ["node:", "vm"].join("");
  const tries: [string, () => unknown][] = [
    ["getBuiltinModule", () => process.getBuiltinModule(vm)],
    ["global", () => (globalThis as any).process.getBuiltinModule(vm)],
    ["fs", () => typeof process.getBuiltinModule("node:fs").readFileSync],
  ];
  const out: Record<string, string> = {};
  for (const [n, f] of tries) {
    try { out[n] = String(f()); } catch { out[n] = "refused"; }
  }
  console.log(JSON.stringify(out));
};
`,
        );
        await w.write(".kodama/workflows/nodevm.yaml", wf(scriptStep("nodevm.ts")));
        const r = await w.run(["run", "nodevm"]);
        assertEquals(r.code, 0, r.stderr);
        assertStringIncludes(r.stdout, `{"getBuiltinModule":"refused","global":"refused","fs":"function"}`);
      },
    );
  } finally {
    await Deno.remove(w.tmp, { recursive: true });
  }
});

Deno.test("escape: errors are kodama's one line; script output carries no terminal control sequences", async (t) => {
  const w = await world();
  try {
    await t.step(
      "a script that fails while loading: one line with file:line:col, no Deno output",
      async () => {
        await w.write(
          ".kodama/scripts/boom.ts",
          `const x = 1;\nthrow new Error("boom at load");\nexport default () => x;\n`,
        );
        await w.write(".kodama/workflows/boom.yaml", wf(scriptStep("boom.ts")));
        const r = await w.run(["run", "boom", "--no-color"]);
        assertEquals(r.code, 1, r.stderr);
        assertStringIncludes(r.stderr, "boom at load (at .kodama/scripts/boom.ts:2:7)");
        assert(!r.stderr.includes("\x1b["), JSON.stringify(r.stderr));
        assert(!r.stderr.includes("(in worker"), r.stderr);
        noLeak(r);
      },
    );
    await t.step(
      "Deno.exit, process.exit and self.close end the script, not the worker silently",
      async () => {
        await w.write(
          ".kodama/scripts/exit0.ts",
          `export default () => { console.log("bye"); Deno.exit(0); };\n`,
        );
        await w.write(
          ".kodama/scripts/exit3.ts",
          `export default () => (globalThis as any).process.exit(3);\n`,
        );
        await w.write(".kodama/scripts/close.ts", `export default () => { self.close(); };\n`);
        await w.write(
          ".kodama/workflows/exits.yaml",
          wf(
            scriptStep("exit0.ts", "a") + scriptStep("close.ts", "b") + scriptStep("exit3.ts", "c") +
              `  - id: after\n    if: always()\n    script: { module: ../scripts/exit0.ts }\n`,
          ),
        );
        // each would otherwise hang until the step's 5-minute timeout
        const r = await w.run(["run", "exits"]);
        assertEquals(r.code, 1, r.stderr);
        assertStringIncludes(r.stderr, "✓ a");
        assertStringIncludes(r.stderr, "✓ b");
        assertStringIncludes(r.stderr, "c");
        assertStringIncludes(r.stderr, "the script exited with code 3");
        assertStringIncludes(r.stderr, "✓ after");
        assertEquals(r.stdout, "bye\nbye\n");
      },
    );
    await t.step("a refused read names the script line, never Deno's --allow advice", async () => {
      await w.write(
        ".kodama/scripts/env.ts",
        `export default () => {\n  return { t: Deno.env.get("GITHUB_TOKEN") };\n};\n`,
      );
      await w.write(".kodama/workflows/env.yaml", wf(scriptStep("env.ts")));
      const r = await w.run(["run", "env"]);
      assertEquals(r.code, 1, r.stderr);
      assertStringIncludes(
        r.stderr,
        `denied: env access to "GITHUB_TOKEN" (add it to permissions.env) (at .kodama/scripts/env.ts:2:`,
      );
      noLeak(r);
    });
    await t.step("escape sequences in a script's output are stripped unless tty: true", async () => {
      await w.write(
        ".kodama/scripts/esc.ts",
        `export default () => {\n  console.log("\\x1b]0;pwned\\x07title \\x1b[2J\\x1b[Hclear \\x1b[31mred\\x1b[0m \\u009b31m done");\n  console.error("\\x1b[1Aup");\n};\n`,
      );
      await w.write(".kodama/workflows/esc.yaml", wf(scriptStep("esc.ts")));
      const r = await w.run(["run", "esc"]);
      assertEquals(r.code, 0, r.stderr);
      assertStringIncludes(r.stdout, "title clear red 31m done\n");
      // deno-lint-ignore no-control-regex
      assert(!/[\x1b\x07\u009b]/.test(r.stdout + r.stderr), JSON.stringify(r));
      // every other way a script could reach the terminal goes through kodama too
      await w.write(
        ".kodama/scripts/raw.ts",
        `import fs from "node:fs";
export default () => {
  const E = "\\x1b]0;pwned\\x07\\x1b[2J";
  const enc = new TextEncoder();
  Deno.stdout.writeSync(enc.encode("stdout.writeSync" + E + "\\n"));
  Deno.stderr.writeSync(enc.encode("stderr.writeSync" + E + "\\n"));
  console.dir("dir" + E);
  console.trace("trace" + E);
  console.assert(false, "assert" + E);
  console.group("group" + E);
  console.count("count" + E);
  (globalThis as any).process.stdout.write("process.stdout" + E + "\\n");
  const refused: string[] = [];
  for (const [n, f] of [
    ["fs.writeSync", () => fs.writeSync(1, "fd1" + E)],
    ["fs.appendFileSync", () => fs.appendFileSync(2, "fd2" + E)],
    ["fs.readSync", () => fs.readSync(0, new Uint8Array(8))],
  ] as [string, () => unknown][]) {
    try { f(); } catch { refused.push(n); }
  }
  console.log("refused " + refused.join(" "));
  console.log("stdin is empty: " + (Deno.stdin.readSync(new Uint8Array(8)) === null));
};
`,
      );
      await w.write(".kodama/workflows/raw.yaml", wf(scriptStep("raw.ts")));
      const all = await w.run(["run", "raw"]);
      assertEquals(all.code, 0, all.stderr);
      // deno-lint-ignore no-control-regex
      assert(!/[\x1b\x07\u009b]/.test(all.stdout + all.stderr), JSON.stringify(all));
      // the OSC title and the clear-screen are gone, the text around them is there
      for (const s of ["stdout.writeSync\n", "dir\n", "process.stdout\n", "count: 1\n"]) {
        assertStringIncludes(all.stdout, s);
      }
      assertStringIncludes(all.stderr, "stderr.writeSync\n");
      assertStringIncludes(all.stderr, "Trace: trace\n");
      assertStringIncludes(all.stdout, "refused fs.writeSync fs.appendFileSync fs.readSync\n");
      assertStringIncludes(all.stdout, "stdin is empty: true");
      // named imports of node:fs would bypass the guard: only the default import is allowed
      await w.write(
        ".kodama/scripts/named.ts",
        `import { writeSync } from "node:fs";\nexport default () => writeSync(1, "x");\n`,
      );
      await w.write(".kodama/workflows/named.yaml", wf(scriptStep("named.ts")));
      const named = await w.run(["run", "named"]);
      assertEquals(named.code, 2, named.stderr);
      assertStringIncludes(named.stderr, 'named.ts:1:27: import node:fs only as `import fs from "node:fs"`');
      await w.write(".kodama/workflows/esc.yaml", wf(scriptStep("esc.ts"), "tty: true\n"));
      const raw = await w.run(["run", "esc"]);
      assertEquals(raw.code, 0, raw.stderr);
      assertStringIncludes(raw.stdout, "\x1b[31mred\x1b[0m");
    });
  } finally {
    await Deno.remove(w.tmp, { recursive: true });
  }
});

Deno.test("escape: trust covers every module a script imports and every workflow it calls", async (t) => {
  const w = await world();
  try {
    await w.write(
      ".kodama/scripts/main.ts",
      `import { v } from "./lib/helper.ts";\nexport default () => { console.log("helper says " + v); };\n`,
    );
    await w.write(".kodama/scripts/lib/helper.ts", `export const v = "hello";\n`);
    await w.write(
      ".kodama/workflows/helper.yaml",
      wf(scriptStep("main.ts"), "permissions: { env: [USER] }\n"),
    );

    await t.step("an edited helper module asks again", async () => {
      const first = await w.run(["run", "helper", "--trust"]);
      assertEquals(first.code, 0, first.stderr);
      assertStringIncludes(first.stdout, "helper says hello");
      // --trust without a TTY says what it trusted
      assertMatch(
        first.stderr,
        /trusted helper: env: USER \(pinned: 1 workflow file\(s\), 1 script\(s\), 2 module\(s\)/,
      );
      await w.write(".kodama/scripts/lib/helper.ts", `export const v = "evil";\n`);
      const r = await w.run(["run", "helper"]);
      assertEquals(r.code, 2, r.stderr);
      assertStringIncludes(r.stderr, "(changed since you trusted it)");
      assert(!r.stdout.includes("evil"), r.stdout);
    });

    await t.step("a child workflow's permissions are shown and pinned with its parent's", async () => {
      await w.write(
        ".kodama/workflows/child.yaml",
        `permissions: { run: [sh] }\nsteps:\n  - local: { command: [sh, -c, "echo child ran"] }\n`,
      );
      await w.write(".kodama/workflows/parent.yaml", `steps:\n  - workflow: { name: child }\n`);
      const refused = await w.run(["run", "parent"]);
      assertEquals(refused.code, 2, refused.stderr);
      assertStringIncludes(refused.stderr, "asks for permissions: run: sh (with child, which it calls)");
      assertEquals(refused.stdout, "");
      const ok = await w.run(["run", "parent", "--trust"]);
      assertEquals(ok.code, 0, ok.stderr);
      assertStringIncludes(ok.stdout, "child ran");
      assertStringIncludes(ok.stderr, "called: child (.kodama/workflows/child.yaml): run: sh");
      // editing the child changes what the parent's pin covers
      await w.write(
        ".kodama/workflows/child.yaml",
        `permissions: { run: [sh] }\nsteps:\n  - local: { command: [sh, -c, "echo edited"] }\n`,
      );
      const again = await w.run(["run", "parent"]);
      assertEquals(again.code, 2, again.stderr);
      assertStringIncludes(again.stderr, "changed since you trusted it");
    });

    await t.step("a grandchild reached through a parallel group is shown and pinned too", async () => {
      await w.write(
        ".kodama/workflows/grand.yaml",
        `permissions: { read: [./data] }\nsteps:\n  - script: { module: ../scripts/main.ts }\n`,
      );
      await w.write(".kodama/workflows/middle.yaml", `steps:\n  - workflow: { name: grand }\n`);
      await w.write(
        ".kodama/workflows/top.yaml",
        `steps:\n  - parallel:\n      steps:\n        - workflow: { name: middle }\n`,
      );
      const refused = await w.run(["run", "top"]);
      assertEquals(refused.code, 2, refused.stderr);
      assertStringIncludes(refused.stderr, "asks for permissions: read: ./data (with grand, which it calls)");
      const ok = await w.run(["run", "top", "--trust"]);
      assertEquals(ok.code, 0, ok.stderr);
      assertStringIncludes(ok.stderr, "called: grand (.kodama/workflows/grand.yaml): read: ./data");
      // the grandchild's script module is pinned by the top workflow's trust
      await w.write(".kodama/scripts/lib/helper.ts", `export const v = "changed again";\n`);
      const again = await w.run(["run", "top"]);
      assertEquals(again.code, 2, again.stderr);
      assertStringIncludes(again.stderr, "changed since you trusted it");
      assert(!again.stdout.includes("changed again"), again.stdout);
    });
  } finally {
    await Deno.remove(w.tmp, { recursive: true });
  }
});

Deno.test("escape: symlinks in granted paths and never-grantable paths are refused before a step runs", async (t) => {
  const w = await world();
  try {
    await w.write(
      ".kodama/scripts/rw.ts",
      `export default async ({ inputs }: { inputs: Record<string, string> }) => {
  if (inputs.read) console.log("read " + (await Deno.readTextFile(inputs.read)));
  if (inputs.append) await Deno.writeTextFile(inputs.append, "forged: pin\\n", { append: true });
  return {};
};
`,
    );
    await Deno.mkdir(join(w.repo, "data"), { recursive: true });
    await Deno.mkdir(join(w.repo, "out"), { recursive: true });
    await Deno.mkdir(join(w.env.KODAMA_HOME), { recursive: true });
    await Deno.writeTextFile(join(w.env.KODAMA_HOME, "trust.yaml"), "workflows: {}\n");
    const step = (inputs: string) =>
      `  - id: s\n    script: { module: ../scripts/rw.ts, with: { ${inputs} } }\n`;

    await t.step("a repo symlink to the kubeconfig inside a read grant", async () => {
      await Deno.symlink(w.kubeconfig, join(w.repo, "data", "kubelink"));
      await w.write(
        ".kodama/workflows/sym.yaml",
        wf(step(`read: ./data/kubelink`), "permissions: { read: [./data, ./out], write: [./out] }\n"),
      );
      const r = await w.run(["run", "sym", "--trust"]);
      assertEquals(r.code, 2, r.stderr);
      assertMatch(r.stderr, /permissions\.read: "\.\/data" (holds the symlink .*kubelink|contains)/);
      assert(!r.stderr.includes("▶"), r.stderr);
      noLeak(r);
      await Deno.remove(join(w.repo, "data", "kubelink"));
    });

    await t.step("a symlink to the trust store inside a write grant", async () => {
      await Deno.symlink(join(w.env.KODAMA_HOME, "trust.yaml"), join(w.repo, "out", "trustlink"));
      await w.write(
        ".kodama/workflows/sym.yaml",
        wf(step(`append: ./out/trustlink`), "permissions: { write: [./out] }\n"),
      );
      const r = await w.run(["run", "sym", "--trust"]);
      assertEquals(r.code, 2, r.stderr);
      assertStringIncludes(r.stderr, "trustlink");
      assertEquals(await Deno.readTextFile(join(w.env.KODAMA_HOME, "trust.yaml")), "workflows: {}\n");
      await Deno.remove(join(w.repo, "out", "trustlink"));
    });

    await t.step("a granted directory that is itself a link to ~/.kube", async () => {
      await Deno.symlink(join(w.home, ".kube"), join(w.repo, "kubedir"));
      await w.write(
        ".kodama/workflows/sym.yaml",
        wf(step(`read: ./kubedir/config`), "permissions: { read: [./kubedir] }\n"),
      );
      const r = await w.run(["run", "sym", "--trust"]);
      assertEquals(r.code, 2, r.stderr);
      assertMatch(
        r.stderr,
        /permissions\.read: "\.\/kubedir" contains .*\.kube\/config \(a kubeconfig file\)/,
      );
      noLeak(r);
    });

    for (
      const [grant, want] of [
        [`read: ["/"]`, /contains .* \(kodama's own state/],
        [`read: ["~"]`, /permissions\.read: "~" contains/],
        [`read: ["./data/../../home/.kube/config"]`, /is .*\.kube\/config \(a kubeconfig file\)/],
        [`write: ["~/.kodama"]`, /is .*\.kodama \(kodama's own state/],
        [`read: ["/proc/self"]`, /lies inside \/proc/],
        [`read: ["/dev/fd"]`, /\/dev\/fd|\/proc/],
        [`read: ["/dev/tty"]`, /is \/dev\/tty \(your terminal\)/],
        [`write: ["${KODAMA_ROOT}src/workflow"]`, /lies inside .* \(kodama's own code\)/],
        [`write: ["${Deno.execPath()}"]`, /lies inside .* \(the Deno runtime kodama runs on\)/],
      ] as [string, RegExp][]
    ) {
      await t.step(`never grantable: ${grant}`, async () => {
        await w.write(
          ".kodama/workflows/broad.yaml",
          wf(step(`read: /etc/hostname`), `permissions: { ${grant} }\n`),
        );
        const r = await w.run(["run", "broad", "--trust"]);
        assertEquals(r.code, 2, r.stderr);
        assertMatch(r.stderr, want);
        assert(!r.stderr.includes("▶"), r.stderr);
        noLeak(r);
      });
    }

    await t.step("a symlink to ~/.ssh (a directory) inside a read grant", async () => {
      await Deno.symlink(join(w.home, ".ssh"), join(w.repo, "data", "keys"));
      await w.write(
        ".kodama/workflows/sym.yaml",
        wf(step(`read: ./data/keys/id_rsa`), "permissions: { read: [./data] }\n"),
      );
      const r = await w.run(["run", "sym", "--trust"]);
      assertEquals(r.code, 2, r.stderr);
      assertMatch(r.stderr, /holds the symlink .*data\/keys -> .*\.ssh, outside the granted read paths/);
      noLeak(r);
      await Deno.remove(join(w.repo, "data", "keys"));
    });

    await t.step("a symlink made by an earlier step is caught before the next step runs", async () => {
      await w.write(
        ".kodama/workflows/late.yaml",
        `permissions: { read: [./data], run: [ln] }
steps:
  - local: { command: [ln, -s, "${w.kubeconfig}", ./data/late] }
  - id: s
    script: { module: ../scripts/rw.ts, with: { read: ./data/late } }
`,
      );
      const r = await w.run(["run", "late", "--trust"]);
      assertEquals(r.code, 2, r.stderr);
      assertMatch(r.stderr, /✗ s .*holds the symlink .*data\/late -> .*\.kube\/config/);
      noLeak(r);
      await Deno.remove(join(w.repo, "data", "late"));
    });

    await t.step("links that stay inside the granted set are fine", async () => {
      await w.write("data/real.txt", "inside\n");
      await Deno.symlink(join(w.repo, "data", "real.txt"), join(w.repo, "data", "alias.txt"));
      await w.write(
        ".kodama/workflows/fine.yaml",
        wf(step(`read: ./data/alias.txt`), "permissions: { read: [./data] }\n"),
      );
      const r = await w.run(["run", "fine", "--trust"]);
      assertEquals(r.code, 0, r.stderr);
      assertStringIncludes(r.stdout, "read inside");
    });
  } finally {
    await Deno.remove(w.tmp, { recursive: true });
  }
});

Deno.test("escape: env in expressions holds only declared variables; --dry-run and logs redact them", async (t) => {
  const w = await world();
  try {
    await t.step("toJSON(env) and an undeclared variable are empty", async () => {
      await w.write(
        ".kodama/workflows/env.yaml",
        `steps:\n  - id: s\n    name: "token=\${{ env.GITHUB_TOKEN }} all=\${{ toJSON(env) }}"\n    script: { module: ../scripts/noop.ts, with: { t: "\${{ env.GITHUB_TOKEN }}" } }\n`,
      );
      await w.write(
        ".kodama/scripts/noop.ts",
        `export default ({ inputs }: { inputs: { t: string } }) => { console.log("got [" + inputs.t + "]"); };\n`,
      );
      const dry = await w.run(["run", "env", "--dry-run"]);
      assertEquals(dry.code, 0, dry.stderr);
      assertStringIncludes(dry.stdout, "token= all={}");
      noLeak(dry);
      const r = await w.run(["run", "env"]);
      assertEquals(r.code, 0, r.stderr);
      assertStringIncludes(r.stdout, "got [undefined]");
      noLeak(r);
    });
    await t.step("debug logs are redacted too (a declared value in a request's label selector)", async () => {
      const { file } = await closedPortKubeconfig(w.tmp);
      await w.write(
        ".kodama/workflows/logged.yaml",
        `permissions: { env: [GITHUB_TOKEN] }\ntargets:\n  t: { labels: { app: "\${{ env.GITHUB_TOKEN }}" } }\nsteps:\n  - exec: { target: t, command: [\"true\"] }\n`,
      );
      const r = await w.run(["run", "logged", "--trust", "--log-level", "debug", "--kubeconfig", file]);
      assertEquals(r.code, 1, r.stderr);
      assertMatch(r.stderr, /GET \/api\/v1\/namespaces\/[^ ]*\/pods\?labelSelector=app%3D\*\*\*/);
      noLeak(r);
    });
    await t.step("a local command's environment holds only the basics and what was declared", async () => {
      await w.write(
        ".kodama/workflows/localenv.yaml",
        `permissions: { run: [env] }\nenv: { T: "\${{ env.GITHUB_TOKEN }}" }\nsteps:\n  - local: { command: [env] }\n`,
      );
      const r = await w.run(["run", "localenv", "--trust"]);
      assertEquals(r.code, 0, r.stderr);
      assertMatch(r.stdout, /^PATH=/m);
      assertMatch(r.stdout, /^T=$/m);
      assert(!/^(GITHUB_TOKEN|KUBECONFIG|KODAMA_HOME)=/m.test(r.stdout), r.stdout);
      noLeak(r);
    });
    await t.step("a declared variable needs trust, and is redacted wherever kodama prints it", async () => {
      await w.write(
        ".kodama/workflows/env.yaml",
        `permissions: { env: [GITHUB_TOKEN] }\nsteps:\n  - id: s\n    name: "token=\${{ env.GITHUB_TOKEN }}"\n    script: { module: ../scripts/noop.ts, with: { t: "\${{ env.GITHUB_TOKEN }}" } }\n`,
      );
      const untrusted = await w.run(["run", "env"]);
      assertEquals(untrusted.code, 2, untrusted.stderr);
      assertStringIncludes(untrusted.stderr, "env: GITHUB_TOKEN");
      const dry = await w.run(["run", "env", "--dry-run"]);
      assertEquals(dry.code, 0, dry.stderr);
      assertStringIncludes(dry.stdout, "token=***");
      noLeak(dry);
      const r = await w.run(["run", "env", "--trust"]);
      assertEquals(r.code, 0, r.stderr);
      assertStringIncludes(r.stdout, "got [***]");
      assertStringIncludes(r.stderr, "token=***");
      noLeak(r);
    });
  } finally {
    await Deno.remove(w.tmp, { recursive: true });
  }
});
