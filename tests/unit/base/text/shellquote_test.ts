/**
 * The one POSIX shell quoting (src/base/text/escape.ts shellQuote/shellJoin): safe words as they are, everything
 * else in single quotes, and what a shell reads back — sh, dash and busybox sh — is exactly the argv given.
 */
import { assertEquals } from "@kodama/test-assert";
import { shellJoin, shellQuote } from "../../../../src/base/text/escape.ts";
import { BUSYBOX } from "../../../_sync_tree.ts";

Deno.test("shellQuote: safe words bare; a comma, a space, a quote, an empty word quoted; always quotes all", () => {
  assertEquals(shellQuote("abc/-_.x:=@%+"), "abc/-_.x:=@%+");
  assertEquals(shellQuote("a,b"), "'a,b'");
  assertEquals(shellQuote("a b"), "'a b'");
  assertEquals(shellQuote(""), "''");
  assertEquals(shellQuote("it's"), `'it'\\''s'`);
  assertEquals(shellQuote("{a,b}"), "'{a,b}'");
  assertEquals(shellQuote("main", { always: true }), "'main'");
});

Deno.test("shellJoin: sh, dash and busybox sh read back the argv given", () => {
  const argv = [
    "plain",
    "two words",
    "it's",
    "",
    "$HOME",
    "`id`",
    "a,b",
    "{x,y}",
    "*",
    "new\nline",
    "~user",
    "!x",
    "-n",
    "--",
    "'",
    "a'b'c",
    "back\\slash",
    "tab\there",
    '"double"',
    "$(id)",
    "${HOME}",
    "café",
    "日本語",
    "\u202eevil",
    ";rm -rf ~",
    "a|b&c>d<e",
    "#comment",
  ];
  const shells: string[][] = [["sh"], ["dash"], ...(BUSYBOX ? [[BUSYBOX, "sh"]] : [])];
  for (const sh of shells) {
    const r = new Deno.Command(sh[0], {
      args: [...sh.slice(1), "-c", `for a in ${shellJoin(argv)}; do printf '%s\\0' "$a"; done`],
      stdout: "piped",
    }).outputSync();
    assertEquals(new TextDecoder().decode(r.stdout).split("\0").slice(0, -1), argv, sh.join(" "));
  }
});

Deno.test("shellQuote: one safe set; non-ASCII, a leading '-' and every shell character handled", () => {
  // a leading '-' is a word like any other to the shell (the command decides what an option is): bare
  assertEquals(shellQuote("-n"), "-n");
  for (
    const s of ["café", "\u202e", "a\nb", "$x", "`id`", "a;b", "a'b", "a\\b", "~", "#", "!", "a b", "*", "?"]
  ) {
    const q = shellQuote(s);
    assertEquals(q.startsWith("'") && q.endsWith("'"), true, `${JSON.stringify(s)} -> ${q}`);
  }
  // always: the same shape for every value, a safe one too
  assertEquals(shellQuote("", { always: true }), "''");
  assertEquals(shellQuote("a'", { always: true }), `'a'\\'''`);
});

Deno.test("shellQuote always: sh and dash read each hostile word back as one word", () => {
  const words = ["", "'", "-e", "a\nb", "$(id)", "`id`", "é ü", "\\", `'"'`, "\u202e"];
  for (const sh of ["sh", "dash"]) {
    for (const w of words) {
      const r = new Deno.Command(sh, {
        args: ["-c", `printf '%s' ${shellQuote(w, { always: true })}`],
        stdout: "piped",
      }).outputSync();
      assertEquals(new TextDecoder().decode(r.stdout), w, `${sh}: ${JSON.stringify(w)}`);
    }
  }
});
