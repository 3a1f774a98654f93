/**
 * Issue 79 escape 5: repository code reached by a module name or from an inline program pins the whole
 * repository. `python3 -m tools.mod`, `python3 -c "import tools.mod"`, `node -e "require('./tools/x.js')"`
 * and their other spellings (combined flags, wrappers, `sh -c`, perl's `-I`/`-M`) pinned nothing: after
 * trust, an edited module ran without a prompt. Now the edit asks again and nothing runs.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { hasStackTrace, runKodama } from "./_run.ts";
import { reachesRepo } from "../../src/workflow/sandbox/pins.ts";

Deno.test("pins: a module by name, an inline program or a loader variable reaches the whole repository", () => {
  const reaches: string[][] = [
    ["python3", "-m", "tools.mod"],
    ["python3", "-c", "import tools.mod"],
    ["node", "-e", "require('./tools/x.js')"],
    ["python3", "-Bm", "tools.mod"],
    ["python3", "-mtools.mod"],
    ["python3.12", "-I", "-c", "import x"],
    ["env", "python3", "-m", "tools.mod"],
    ["env", "PYTHONPATH=.", "python3", "tool.py"],
    ["env", "NODE_OPTIONS=--require ./x.js", "node", "main.js"],
    ["env", "-S", "python3 -m tools.mod"],
    ["timeout", "5", "nice", "-n", "3", "python3", "-m", "x"],
    ["xargs", "-I{}", "python3", "-m", "x", "{}"],
    ["find", ".", "-name", "*.py", "-exec", "python3", "-m", "x", "{}", ";"],
    ["sh", "-c", `node -e "require('./x')"`],
    ["sh", "-c", "cd tools && python3 -m mod"],
    ["sh", "-c", "if python3 -m x; then echo ok; fi"],
    ["sh", "-c", "PYTHONPATH=. python3 tool.py"],
    ["sh", "-c", "export NODE_PATH=. && node main.js"],
    ["sh", "-c", "echo $(python3 -m x)"],
    ["bash", "-c", "sh -c 'python3 -m x'"],
    ["sh", "-c", "python3 $FLAGS tool.py"],
    ["sh", "-c", "python3 <<EOF\nimport tools.mod\nEOF"],
    ["ruby", "-r./lib/x", "-e", "1"],
    ["ruby", "-I", "lib", "tool.rb"],
    ["deno", "eval", "import './x.ts'"],
    ["perl", "-Ilib", "-MFoo", "-e", "1"],
    ["perl", "-wle", "print 1"],
    ["node", "-pe", "1"],
    ["node", "--import", "./x.mjs", "main.js"],
    ["node", "--test"],
    ["awk", 'BEGIN { system("sh tools/x.sh") }'],
    ["lua", "tool.lua"],
    ["python3"],
  ];
  for (const argv of reaches) assert(reachesRepo(argv), JSON.stringify(argv));
  // a script run by its path is pinned with what it reaches from where it is, not the whole repository
  const named: string[][] = [
    ["python3", "-u", "tools/tool.py"],
    ["python3", "-O", "-W", "ignore", "tools/tool.py"],
    ["node", "--no-warnings", "tools/x.js"],
    ["perl", "-w", "tools/x.pl"],
    ["ruby", "-w", "tools/x.rb"],
    ["env", "CI=1", "python3", "tools/tool.py"],
    ["sh", "-c", 'python3 tools/x.py "$@"'],
    ["jq", "-r", ".version", "package.json"],
  ];
  for (const argv of named) assert(!reachesRepo(argv), JSON.stringify(argv));
});

Deno.test("pins: an edited module reached by name or from an inline program asks again", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "kodama-pinmod-" });
  const repo = join(tmp, "repo");
  const wfs = join(repo, ".kodama", "workflows");
  await Deno.mkdir(join(repo, ".git"), { recursive: true });
  await Deno.mkdir(join(repo, "tools"), { recursive: true });
  await Deno.mkdir(wfs, { recursive: true });
  const env = { KODAMA_HOME: join(tmp, "kodama"), KUBECONFIG: join(tmp, "kc") };
  const run = async (args: string[]) => {
    const r = await runKodama(["run", ...args], { env, cwd: repo, timeoutMs: 60_000 });
    assert(!hasStackTrace(r.stderr), r.stderr);
    return r;
  };
  const flows: Record<string, [string, string[]]> = {
    pm: ["python3", ["python3", "-m", "tools.mod"]],
    pc: ["python3", ["python3", "-c", "import tools.mod"]],
    ne: ["node", ["node", "-e", "require('./tools/x.js')"]],
    pb: ["python3", ["python3", "-Bm", "tools.mod"]],
    ev: ["env", ["env", "python3", "-m", "tools.mod"]],
    sc: ["sh", ["sh", "-c", `node -e "require('./tools/x.js')"`]],
    pl: ["perl", ["perl", "-Itools", "-MModp", "-e", "1"]],
    // a script by its path whose module by name is in the root's node_modules (Node looks in every parent)
    nm: ["node", ["node", "tools/main.js"]],
  };
  try {
    await Deno.writeTextFile(join(repo, "tools", "mod.py"), 'print("mod-v1")\n');
    await Deno.writeTextFile(join(repo, "tools", "x.js"), 'console.log("x-v1");\n');
    await Deno.writeTextFile(join(repo, "tools", "Modp.pm"), 'package Modp; print "pm-v1\\n"; 1;\n');
    await Deno.writeTextFile(join(repo, "tools", "main.js"), 'require("nmlib");\n');
    await Deno.mkdir(join(repo, "node_modules", "nmlib"), { recursive: true });
    await Deno.writeTextFile(join(repo, "node_modules", "nmlib", "index.js"), 'console.log("nm-v1");\n');
    for (const [name, [prog, argv]] of Object.entries(flows)) {
      await Deno.writeTextFile(
        join(wfs, `${name}.yaml`),
        `permissions: { run: [${prog}] }\nsteps:\n  - local: { command: ${JSON.stringify(argv)} }\n`,
      );
      const ok = await run([name, "--trust"]);
      assertEquals(ok.code, 0, `${name}: ${ok.stderr}`);
      assertStringIncludes(ok.stdout + ok.stderr, "-v1");
      assertStringIncludes(ok.stderr, "code it can reach: ./");
    }
    // the code the step loads is edited after trust: each workflow asks again, and the new code never runs
    await Deno.writeTextFile(join(repo, "tools", "mod.py"), 'print("mod-v2")\n');
    await Deno.writeTextFile(join(repo, "tools", "x.js"), 'console.log("x-v2");\n');
    await Deno.writeTextFile(join(repo, "tools", "Modp.pm"), 'package Modp; print "pm-v2\\n"; 1;\n');
    await Deno.writeTextFile(join(repo, "node_modules", "nmlib", "index.js"), 'console.log("nm-v2");\n');
    for (const name of Object.keys(flows)) {
      const r = await run([name]);
      assertEquals(r.code, 2, `${name}: ${r.stdout}${r.stderr}`);
      assertStringIncludes(r.stderr, "changed since you trusted it");
      assert(!(r.stdout + r.stderr).includes("-v2"), r.stdout);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
});
