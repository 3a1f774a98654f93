/** The door's pure rules for `session pr`: a title a caller gives, and which forges a door may reach. */
import { assertEquals, assertThrows } from "@kodama/test-assert";
import { checkDoorForge, DOOR_TITLE_MAX, doorTitle } from "../../src/agent/forge/prdoor.ts";
import { forgeOf } from "../../src/agent/forge/forgeurl.ts";
import { KodamaError } from "../../src/base/errors.ts";

Deno.test("doorTitle: one line without control characters, bidi overrides or separators, capped", () => {
  assertEquals(doorTitle("Fix\x1b[31m it\x07\r\nnow\u202e!\u2028x\u0085y"), "Fix [31m it now ! x y");
  assertEquals(doorTitle("  \t\n "), undefined);
  assertEquals(doorTitle(undefined), undefined);
  assertEquals(doorTitle(42), undefined);
  const long = doorTitle("é".repeat(500) + "😀".repeat(10))!;
  assertEquals([...long].length, DOOR_TITLE_MAX);
  // whole code points: an emoji is never cut in half
  assertEquals([...doorTitle("a" + "😀".repeat(300))!].length, DOOR_TITLE_MAX);
  assertEquals(doorTitle("a" + "😀".repeat(300))!.endsWith("\ud83d"), false);
});

Deno.test("checkDoorForge: only a host of the user's forge.hosts, whatever its name says", () => {
  const hosts = {
    "git.example.com": { type: "gitlab" as const },
    "127.0.0.1:8080": { type: "github" as const, apiUrl: "http://127.0.0.1:8080/api/v3" },
  };
  checkDoorForge(forgeOf("https://git.example.com/a/b.git", hosts), hosts);
  checkDoorForge(forgeOf("git@git.example.com:a/b.git", hosts), hosts);
  checkDoorForge(forgeOf("http://127.0.0.1:8080/a/b.git", hosts), hosts);
  for (
    const url of [
      "https://github.com/a/b.git",
      "git@github.com:a/b.git",
      "https://github.evil.example/a/b.git",
      "ssh://git@gitlab.evil.example/a/b.git",
      "https://codeberg.org/a/b.git",
    ]
  ) {
    const e = assertThrows(() => checkDoorForge(forgeOf(url, hosts), hosts));
    assertEquals(e instanceof KodamaError && e.code, 4, url);
  }
  // an http:// remote of a named host: the token would go in clear, unless the user named that API
  const https = { "git.example.com": { type: "gitlab" as const } };
  for (const url of ["http://git.example.com/a/b.git", "http://git.example.com:80/a/b.git"]) {
    const e = assertThrows(() => checkDoorForge(forgeOf(url, https), https));
    assertEquals(e instanceof KodamaError && e.code, 4, url);
    assertEquals((e as Error).message.includes("over http://"), true, url);
  }
  checkDoorForge(forgeOf("ssh://git@git.example.com:2222/a/b.git", https), https);
  const named = { "git.example.com": { type: "gitlab" as const, apiUrl: "http://git.example.com/api/v4" } };
  checkDoorForge(forgeOf("http://git.example.com/a/b.git", named), named);
  // an inherited name is not a named host
  assertThrows(() =>
    checkDoorForge(forgeOf("https://github.com/a/b.git"), Object.create({ "github.com": {} }))
  );
});
