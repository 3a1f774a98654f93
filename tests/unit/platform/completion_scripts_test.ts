/**
 * The completion scripts for the shells of macOS and Windows (#36): the bash script uses nothing newer
 * than bash 3.2 (macOS's /bin/bash), and the PowerShell script parses (tree-sitter's PowerShell grammar;
 * no PowerShell on this machine) and drives `__complete` with the words as an argument array.
 */
import { assert, assertEquals } from "../../_assert.ts";
import { completionScript } from "../../../src/complete/scripts.ts";

/** Constructs bash 3.2 does not have, with the version that brought each. */
const BASH4: [RegExp, string][] = [
  [/\bmapfile\b|\breadarray\b/, "mapfile/readarray (bash 4.0)"],
  [/\[\s*-\d+\s*\]/, "negative array index (bash 4.3)"],
  [/\bdeclare\s+-A\b|\blocal\s+-A\b/, "associative arrays (bash 4.0)"],
  [/\$\{[^}]*(,,|\^\^)[^}]*\}/, "case conversion ${x,,} (bash 4.0)"],
  [/;;&|;&/, "case fall-through (bash 4.0)"],
  [/\|&/, "|& (bash 4.0)"],
  [/\bcoproc\b/, "coproc (bash 4.0)"],
  [/\$\{[^}]*@[QEPAaUuLK]\}/, "${x@Q} transformations (bash 4.4)"],
];

Deno.test("bash completion: nothing newer than bash 3.2; compopt (bash 4) only where its failure is silent", async () => {
  const script = await completionScript("bash");
  const code = script.replace(/^\s*#.*$/gm, "");
  for (const [re, what] of BASH4) {
    assert(!re.test(code), `kodama.bash uses ${what}: ${code.match(re)?.[0]}`);
  }
  for (const line of code.split("\n").filter((l) => /\bcompopt\b/.test(l))) {
    assert(
      /compopt [^;&|]*2>\/dev\/null/.test(line),
      `compopt must be silenced for bash 3.2: ${line.trim()}`,
    );
  }
  // and it is valid for the bash here
  const f = await Deno.makeTempFile({ suffix: ".bash" });
  await Deno.writeTextFile(f, script);
  const r = await new Deno.Command("bash", { args: ["-n", f], stderr: "piped" }).output();
  await Deno.remove(f);
  assert(r.success, new TextDecoder().decode(r.stderr));
});

Deno.test("bash completion: the word-gluing and candidate loops give the same answers without bash 4 features", async () => {
  // run the function itself with a fake kodama that echoes what it was asked, as bash would call it
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/kodama`,
      `#!/bin/sh\nshift\nprintf '%s\\n' "--namespace=prod" "--namespace=dev" "--name" "args:$#:$*" ":4"\n`,
    );
    await Deno.chmod(`${dir}/kodama`, 0o755);
    const script = await completionScript("bash");
    const drive = `${script}
COMP_WORDS=(kodama pods --namespace = p); COMP_CWORD=4
__kodama_complete
printf 'reply:%s\\n' "\${COMPREPLY[@]}"
COMP_WORDS=(kodama pods --na); COMP_CWORD=2
__kodama_complete
printf 'reply:%s\\n' "\${COMPREPLY[@]}"`;
    const r = await new Deno.Command("bash", {
      args: ["-c", drive],
      env: { PATH: `${dir}:${Deno.env.get("PATH")}` },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(r.stdout);
    assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
    // glued "--namespace=p": bash replaces what follows '=', so the reply is "prod"
    assertEquals(out.split("\n").filter((l) => l.startsWith("reply:")), [
      "reply:prod",
      "reply:--namespace=prod",
      "reply:--namespace=dev",
      "reply:--name",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function parsePowerShell(text: string): Promise<string[]> {
  const { Language, Parser } = await import("web-tree-sitter");
  await Parser.init();
  // the grammar's wasm file, from Deno's npm cache (the version deno.json pins)
  const spec = JSON.parse(await Deno.readTextFile(new URL("../../../deno.json", import.meta.url)))
    .imports["tree-sitter-powershell"] as string;
  const version = spec.slice(spec.lastIndexOf("@") + 1);
  const info = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped" })
    .output();
  const npmCache = JSON.parse(new TextDecoder().decode(info.stdout)).npmCache as string;
  const pkg = `${npmCache}/registry.npmjs.org/tree-sitter-powershell/${version}`;
  const wasm = `${pkg}/tree-sitter-powershell.wasm`;
  const parser = new Parser();
  parser.setLanguage(await Language.load(await Deno.readFile(wasm)));
  const tree = parser.parse(text)!;
  const errors: string[] = [];
  const walk = (n: typeof tree.rootNode) => {
    if (n.type === "ERROR" || n.isMissing) {
      errors.push(`${n.startPosition.row + 1}:${n.startPosition.column + 1} ${n.text.slice(0, 60)}`);
    }
    for (const c of n.children) if (c) walk(c);
  };
  walk(tree.rootNode);
  return errors;
}

Deno.test("powershell completion: parses as PowerShell; registers kodama, kpod, kwekash; never evaluates the line", async () => {
  const script = await completionScript("powershell");
  assertEquals(await parsePowerShell(script), []);
  // the grammar does find errors (the check above could fail)
  assert((await parsePowerShell("function f { param($a) if ($a -eq 1) { 'x' }\n")).length > 0);
  for (const name of ["kodama", "kpod", "kwekash", "kubectl-kodama"]) {
    assert(script.includes(`'${name}'`), name);
  }
  assert(script.includes("Register-ArgumentCompleter -Native"));
  assert(script.includes("& $program __complete @words"), "the words go as an argument array");
  assert(
    !/Invoke-Expression\s+-Command|iex\s/.test(script.replace(/^#.*$/gm, "")),
    "nothing typed is evaluated",
  );
});
