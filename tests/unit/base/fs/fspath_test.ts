/**
 * src/base/fs/fspath.ts stands in for node:path on the everyday path (importing node:path starts Deno's Node
 * layer). Its answers must be node's, for POSIX and Windows paths alike.
 */
import { assertEquals } from "@kodama/test-assert";
import { posix, win32 } from "node:path";
import { pathOps } from "../../../../src/base/fs/fspath.ts";

const POSIX = [
  "",
  ".",
  "..",
  "/",
  "//",
  "a",
  "a/",
  "a//b",
  "/a/b/",
  "/a/b//",
  "a/./b/../c",
  "../../x",
  "/../x",
  "/a/b/c.yaml",
  "~/.kube/config",
  "./rel/path",
  "x/..",
  "/home/me/.kodama",
];

const WINDOWS = [
  "",
  ".",
  "C:",
  "C:\\",
  "C:/",
  "C:\\Users\\me\\.kube\\config",
  "C:/Users/me/.kube",
  "c:\\a\\..\\b\\",
  "\\a\\b",
  "/a/b",
  "a\\b",
  "a/b\\c",
  "..\\x",
  "\\\\server\\share\\dir\\f.txt",
  "\\\\server\\share",
  "D:\\x\\y\\..",
  "rel\\path\\",
];

Deno.test("fspath: POSIX answers are node:path.posix's", () => {
  const p = pathOps("linux", () => "/work/cwd");
  for (const a of POSIX) {
    assertEquals(p.isAbsolute(a), posix.isAbsolute(a), `isAbsolute ${a}`);
    assertEquals(p.dirname(a), posix.dirname(a), `dirname ${a}`);
    assertEquals(p.resolve(a), posix.resolve("/work/cwd", a), `resolve ${a}`);
    for (const b of POSIX) {
      assertEquals(p.join(a, b), posix.join(a, b), `join ${a} ${b}`);
      assertEquals(p.resolve(a, b), posix.resolve("/work/cwd", a, b), `resolve ${a} ${b}`);
    }
  }
  assertEquals(p.join("/h", ".kube", "config"), "/h/.kube/config");
  assertEquals(p.delimiter, posix.delimiter);
});

Deno.test("fspath: Windows answers are node:path.win32's", () => {
  const cwd = "C:\\work\\cwd";
  const p = pathOps("windows", () => cwd);
  for (const a of WINDOWS) {
    assertEquals(p.isAbsolute(a), win32.isAbsolute(a), `isAbsolute ${a}`);
    assertEquals(p.dirname(a), win32.dirname(a), `dirname ${a}`);
    // (a drive in the middle of a joined path — `a\\C:` — is no path kodama makes; node words it its own way)
    for (const b of WINDOWS.filter((x) => a === "" || !/^[a-zA-Z]:/.test(x))) {
      assertEquals(p.join(a, b), win32.join(a, b), `join ${a} ${b}`);
    }
  }
  // resolve against an absolute cwd on the same drive, as kodama uses it
  for (const a of WINDOWS.filter((x) => !/^[a-zA-Z]:[^\\/]|^[a-zA-Z]:$|^D:/.test(x))) {
    assertEquals(p.resolve(a), win32.resolve(cwd, a), `resolve ${a}`);
    assertEquals(p.resolve(cwd, a), win32.resolve(cwd, a), `resolve cwd ${a}`);
  }
  assertEquals(p.delimiter, win32.delimiter);
});
