/**
 * The one POSIX shell quoting (src/escape.ts shellQuote/shellJoin): safe words as they are, everything
 * else in single quotes, and what a shell reads back — sh, dash and busybox sh — is exactly the argv given.
 */
import { assertEquals } from "@std/assert";
import { shellJoin, shellQuote } from "../../src/escape.ts";
import { BUSYBOX } from "../_sync_tree.ts";

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
