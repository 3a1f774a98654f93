/**
 * Issue 50 class 1, second half: a `${{ }}` value is data and never becomes code on this machine. The
 * words of a `local` command that are code (codewords.ts) and the quoting of a value into POSIX shell
 * code (shellquote.ts), each result run by the real `sh` to show the value stayed one word of data.
 */
import { assert, assertEquals, assertMatch, assertThrows } from "@kodama/test-assert";
import { commandWords } from "../../../src/workflow/codewords.ts";
import { interpolateCode } from "../../../src/workflow/shellquote.ts";
import { ExprError } from "../../../src/workflow/expr.ts";

const EVIL = [
  `a'; touch PWNED; echo '`,
  `"; touch PWNED; echo "`,
  "$(touch PWNED)",
  "`touch PWNED`",
  "x\ntouch PWNED",
  "\\'; touch PWNED #",
];

function ctx(x: string) {
  return { params: { x }, steps: {}, targets: {}, env: {}, workflow: {} } as never;
}

async function sh(code: string, dir: string): Promise<string> {
  const o = await new Deno.Command("sh", { args: ["-c", code], cwd: dir, stderr: "null" }).output();
  return new TextDecoder().decode(o.stdout);
}

Deno.test("commandWords: code strings, files that run and stdin, through wrappers", () => {
  assertEquals(commandWords(["sh", "-c", "echo", "sh", "x"]).code, [{ index: 2, lang: "sh" }]);
  assertEquals(commandWords(["bash", "-euc", "echo"]).code, [{ index: 2, lang: "sh" }]);
  assertEquals(commandWords(["bash", "-o", "pipefail", "-c", "x"]).code, [{ index: 4, lang: "sh" }]);
  assertEquals(commandWords(["sh", "-e", "tools/x.sh"]).files, [0, 2]);
  assertEquals(commandWords(["sh"]).stdin, "sh");
  assertEquals(commandWords(["sh", "-s", "a"]).stdin, "sh");
  assertEquals(commandWords(["python3", "-c", "x"]).code, [{ index: 2, lang: "code" }]);
  assertEquals(commandWords(["python3", "tool.py", "a"]).files, [0, 1]);
  assertEquals(commandWords(["node", "--eval", "x"]).code, [{ index: 2, lang: "code" }]);
  assertEquals(commandWords(["env", "A=1", "timeout", "5", "bash", "-c", "x"]).code, [{
    index: 6,
    lang: "sh",
  }]);
  assertEquals(commandWords(["xargs", "-n", "1", "sh", "-c", "x"]).code, [{ index: 5, lang: "sh" }]);
  assertEquals(commandWords(["awk", "{print}", "f"]).code, [{ index: 1, lang: "code" }]);
  assertEquals(commandWords(["deno", "eval", "x"]).code, [{ index: 2, lang: "code" }]);
  assertEquals(commandWords(["kubectl", "apply", "-f", "x"]), { files: [0], code: [] });
});

Deno.test("interpolateCode: a value is one word of data wherever it is quoted for", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kodama-quote-" });
  for (const v of EVIL) {
    for (
      const t of [
        "echo ${{ params.x }}",
        "echo '${{ params.x }}'",
        'echo "pre ${{ params.x }} post"',
        'X=${{ params.x }}; echo "$X"',
        "echo a${{ params.x }}b | cat",
        "if true; then echo ${{ params.x }}; fi",
      ]
    ) {
      const out = await sh(interpolateCode(t, "sh", ctx(v)), dir);
      assert(
        out.includes(v.replace(/\\'/, "\\'")) || out.includes(v),
        `${t} with ${JSON.stringify(v)}: ${out}`,
      );
    }
  }
  const made = [...Deno.readDirSync(dir)].map((e) => e.name);
  assertEquals(made, [], "no value ran as code");
});

Deno.test("interpolateCode: refused where quoting cannot make it data, and in other languages' code", () => {
  for (
    const t of [
      "${{ params.x }}",
      "echo hi; ${{ params.x }} --flag",
      "./${{ params.x }}",
      "echo $(cat ${{ params.x }})",
      "echo `${{ params.x }}`",
      'echo "$(echo ${{ params.x }})"',
      "eval ${{ params.x }}",
      "sh -c ${{ params.x }}",
      "xargs ${{ params.x }}",
      "# ${{ params.x }}",
      "cat <<EOF\n${{ params.x }}\nEOF",
      "PATH=${{ params.x }} ls",
      "LD_PRELOAD=${{ params.x }} ls",
      "echo ${X:-${{ params.x }}}",
    ]
  ) {
    const e = assertThrows(() => interpolateCode(t, "sh", ctx("v")));
    assert(e instanceof ExprError, t);
    assertMatch(e.message, /is data and is never pasted into shell code/, t);
  }
  const e = assertThrows(() => interpolateCode("print('${{ params.x }}')", "code", ctx("v")));
  assertMatch(e.message, /never pasted into code run on this machine/);
  // no expression: left as written
  assertEquals(interpolateCode("echo $HOME", "sh", ctx("v")), "echo $HOME");
});
