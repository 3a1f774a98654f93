/**
 * src/base/platform.ts: every OS fact, asked of linux, darwin and windows from this Linux machine (the
 * platform is a parameter). Where node has the same function (fileURLToPath) its answer is the oracle.
 */
import { assert, assertEquals } from "../../_assert.ts";
import { fileURLToPath } from "node:url";
import {
  baseEnvNames,
  defaultFolding,
  denoBinDir,
  denoDir,
  expandHome,
  fileUrlToPath,
  foldCollisions,
  foldingFromNames,
  foldName,
  homeDir,
  homeDirs,
  hostPlatform,
  kubeHomeDir,
  localMode,
  nativeName,
  type OS,
  ownCommandLine,
  platformFor,
  podMode,
  probeFolding,
  pulledNameProblem,
  runtimeFlagGiven,
  signals,
  splitPathList,
  tempDir,
} from "../../../src/base/platform.ts";
import { RUNTIME_FLAGS, selfCommand, v8FlagsIn } from "../../../src/base/proc/proc.ts";

const OSES: OS[] = ["linux", "darwin", "windows"];
const at = (os: OS, env: Record<string, string> = {}) =>
  platformFor(os, (n) => env[n], () => (os === "windows" ? "C:\\work" : "/work"));

Deno.test("platformFor: every Unix but macOS is linux; path flavour follows the OS", () => {
  assertEquals(platformFor("freebsd").os, "linux");
  assertEquals(platformFor("darwin").path.sep, "/");
  assertEquals(platformFor("windows").path.sep, "\\");
  assertEquals(platformFor("windows").path.delimiter, ";");
});

Deno.test("homeDir: HOME on Unix; USERPROFILE, then HOMEDRIVE+HOMEPATH, then HOME on Windows", () => {
  const table: [OS, Record<string, string>, string | undefined, string[]][] = [
    ["linux", { HOME: "/home/me" }, "/home/me", ["/home/me"]],
    ["darwin", { HOME: "/Users/me", USERPROFILE: "/x" }, "/Users/me", ["/Users/me", "/x"]],
    ["linux", {}, undefined, []],
    ["windows", { USERPROFILE: "C:\\Users\\me", HOME: "/c/Users/me" }, "C:\\Users\\me", [
      "C:\\Users\\me",
      "/c/Users/me",
    ]],
    ["windows", { HOMEDRIVE: "D:", HOMEPATH: "\\me", HOME: "/h" }, "D:\\me", ["D:\\me", "/h"]],
    ["windows", { HOME: "C:\\Users\\git" }, "C:\\Users\\git", ["C:\\Users\\git"]],
  ];
  for (const [os, env, home, all] of table) {
    assertEquals(homeDir(at(os, env)), home, `${os} ${JSON.stringify(env)}`);
    assertEquals(homeDirs(at(os, env)), all, `${os} ${JSON.stringify(env)}`);
  }
});

Deno.test("expandHome: ~ and ~/x everywhere, ~\\x only on Windows", () => {
  const table: [OS, string, string][] = [
    ["linux", "~", "/home/me"],
    ["linux", "~/.kube/config", "/home/me/.kube/config"],
    ["linux", "~\\x", "~\\x"],
    ["linux", "~other/x", "~other/x"],
    ["darwin", "~/x", "/home/me/x"],
    ["windows", "~", "C:\\Users\\me"],
    ["windows", "~/x", "C:\\Users\\me\\x"],
    ["windows", "~\\.kube\\config", "C:\\Users\\me\\.kube\\config"],
    ["windows", "D:\\x", "D:\\x"],
  ];
  for (const [os, input, want] of table) {
    const env: Record<string, string> = os === "windows"
      ? { USERPROFILE: "C:\\Users\\me" }
      : { HOME: "/home/me" };
    assertEquals(expandHome(input, at(os, env)), want, `${os} ${input}`);
  }
});

Deno.test("splitPathList: KUBECONFIG splits on ':' on Unix and ';' on Windows (drive letters hold ':')", () => {
  const table: [OS, string | undefined, string[]][] = [
    ["linux", "/a/config:/b/config", ["/a/config", "/b/config"]],
    ["darwin", "/a::/b:", ["/a", "/b"]],
    ["linux", undefined, []],
    ["linux", "", []],
    ["windows", "C:\\Users\\me\\.kube\\config;D:\\k\\c", ["C:\\Users\\me\\.kube\\config", "D:\\k\\c"]],
    ["windows", "C:\\only", ["C:\\only"]],
    ["windows", ";;C:\\a;", ["C:\\a"]],
  ];
  for (const [os, v, want] of table) assertEquals(splitPathList(v, at(os)), want, `${os} ${v}`);
});

Deno.test("tempDir, denoDir, denoBinDir per OS", () => {
  assertEquals(tempDir(at("linux")), "/tmp");
  assertEquals(tempDir(at("darwin", { TMPDIR: "/var/folders/xy/T/" })), "/var/folders/xy/T/");
  assertEquals(tempDir(at("windows", { TEMP: "C:\\T" })), "C:\\T");
  assertEquals(tempDir(at("windows", { TMP: "C:\\T2" })), "C:\\T2");
  assertEquals(tempDir(at("windows", { LOCALAPPDATA: "C:\\L" })), "C:\\L\\Temp");

  assertEquals(denoDir(at("linux", { HOME: "/h" })), "/h/.cache/deno");
  assertEquals(denoDir(at("linux", { HOME: "/h", XDG_CACHE_HOME: "/c" })), "/c/deno");
  assertEquals(denoDir(at("darwin", { HOME: "/Users/me" })), "/Users/me/Library/Caches/deno");
  assertEquals(
    denoDir(at("windows", { USERPROFILE: "C:\\Users\\me" })),
    "C:\\Users\\me\\AppData\\Local\\deno",
  );
  assertEquals(denoDir(at("windows", { LOCALAPPDATA: "E:\\LA", USERPROFILE: "C:\\U" })), "E:\\LA\\deno");
  assertEquals(denoDir(at("windows", { DENO_DIR: "rel" })), "C:\\work\\rel");
  assertEquals(denoDir(at("linux", { DENO_DIR: "rel" })), "/work/rel");

  assertEquals(denoBinDir(at("linux", { HOME: "/h" })), "/h/.deno/bin");
  assertEquals(denoBinDir(at("windows", { USERPROFILE: "C:\\U" })), "C:\\U\\.deno\\bin");
  assertEquals(denoBinDir(at("darwin", { HOME: "/h", DENO_INSTALL_ROOT: "/opt/d" })), "/opt/d/bin");
});

Deno.test("fileUrlToPath: decodes %20, gives drive paths and UNC on Windows; agrees with node's on POSIX", () => {
  const table: [OS, string, string][] = [
    ["linux", "file:///home/me/my%20repo/x.yaml", "/home/me/my repo/x.yaml"],
    ["darwin", "file:///Users/a%C3%A9/x", "/Users/aé/x"],
    ["windows", "file:///C:/Users/me/my%20repo/w.yaml", "C:\\Users\\me\\my repo\\w.yaml"],
    ["windows", "file://server/share/x", "\\\\server\\share\\x"],
    ["windows", "file:///d:/", "d:\\"],
  ];
  for (const [os, url, want] of table) {
    assertEquals(fileUrlToPath(url, at(os)), want, `${os} ${url}`);
    // Deno's node:url ignores { windows: true }: node is the oracle for POSIX only
    if (os !== "windows") assertEquals(fileURLToPath(url), want, `node agrees: ${os} ${url}`);
  }
  for (
    const [os, url] of [["windows", "file:///no/drive"], ["linux", "file:///a%2Fb"], ["linux", "http://x/y"]]
  ) {
    let threw = false;
    try {
      fileUrlToPath(url, at(os as OS));
    } catch {
      threw = true;
    }
    assert(threw, `${os} ${url} must be refused`);
  }
});

Deno.test("signals: only TERM and KILL (and INT for a Ctrl-C, not on Windows); TERM is not graceful on Windows", () => {
  for (const os of OSES) {
    const s = signals(at(os));
    assertEquals([s.stop, s.kill], ["SIGTERM", "SIGKILL"]);
    assertEquals(s.graceful, os !== "windows", os);
    assertEquals(s.interrupt, os === "windows" ? "SIGTERM" : "SIGINT", os);
  }
});

Deno.test("runtimeFlagGiven: --no-prompt counts only before the main module, whatever other .ts flags say", () => {
  const main = "file:///home/me/my%20checkout/main.ts";
  const table: [string[], boolean][] = [
    [["deno", "run", "-A", "--no-prompt", "/home/me/my checkout/main.ts", "run", "x"], true],
    [["deno", "run", "-A", "/home/me/my checkout/main.ts", "--no-prompt"], false],
    [
      ["deno", "run", "--preload", "/t/preload.ts", "-A", "--no-prompt", "--config", "deno.json", "main.ts"],
      true,
    ],
    // ps on macOS: one line split at spaces, so the path with a space comes in two tokens
    [["deno", "run", "-A", "--no-prompt", "/home/me/my", "checkout/main.ts", "pods"], true],
    [["deno", "run", "-A", "/home/me/my", "checkout/main.ts", "--no-prompt"], false],
    [["C:\\deno\\deno.exe", "run", "-A", "--no-prompt", "C:\\src\\main.ts"], true],
    [["deno", "run", "-A", "main.ts"], false],
    [[], false],
    // the main module not found: the words after it are the user's, never the runtime's
    [["deno", "run", "-A", "/elsewhere/other.ts", "exec", "pod", "--", "x", "--no-prompt"], false],
    // a Windows command line's quoted words (PowerShell's CommandLine)
    [['"C:\\deno\\deno.exe"', "run", "-A", '"C:\\src\\main.ts"', "exec", "--", "--no-prompt"], false],
    [['"C:\\deno\\deno.exe"', "run", "--no-prompt", '"C:\\src\\main.ts"', "pods"], true],
  ];
  for (const [argv, want] of table) {
    assertEquals(runtimeFlagGiven(argv, "--no-prompt", main), want, argv.join(" "));
  }
});

Deno.test("v8FlagsIn: the runtime's --v8-flags, not the command's, go to the processes kodama starts", () => {
  const main = "file:///home/me/kodama/main.ts";
  const table: [string[], string[]][] = [
    [[
      "deno",
      "run",
      "--allow-all",
      "--no-prompt",
      "--v8-flags=--no-lazy",
      "--config",
      "c",
      "/home/me/kodama/main.ts",
    ], [
      "--v8-flags=--no-lazy",
    ]],
    // a command's own words after the main module are not the runtime's
    [["deno", "run", "-A", "/home/me/kodama/main.ts", "exec", "--", "node", "--v8-flags=--x"], []],
    [["deno", "run", "-A", "main.ts"], []],
    // the main module not found: no word of the user's command is taken for a runtime flag
    [["deno", "run", "-A", "/other/cli.ts", "exec", "--", "node", "--v8-flags=--x"], []],
  ];
  for (const [argv, want] of table) assertEquals(v8FlagsIn(argv, main), want, argv.join(" "));
});

Deno.test({
  name: "selfCommand runs kodama with the V8 flags this process has (the code cache stays valid)",
  ignore: Deno.build.os !== "linux",
}, () => {
  const argv = selfCommand();
  const own = ownCommandLine(hostPlatform()) ?? [];
  const flags = own.filter((a) => a.startsWith("--v8-flags="));
  assertEquals(argv.filter((a) => a.startsWith("--v8-flags=")), flags);
  assert(argv.includes("--no-prompt"));
});

Deno.test("the shims' runtime flags are V8 flags only (install.ts bakes them into every shim)", () => {
  assert(RUNTIME_FLAGS.length > 0 && RUNTIME_FLAGS.every((f) => f.startsWith("--v8-flags=")));
});

Deno.test("baseEnvNames: Windows local commands keep SystemRoot, PATHEXT, TEMP and USERPROFILE", () => {
  const win = baseEnvNames(at("windows"));
  for (const n of ["PATH", "SystemRoot", "PATHEXT", "TEMP", "TMP", "USERPROFILE", "COMSPEC"]) {
    assert(win.includes(n), n);
  }
  for (const os of ["linux", "darwin"] as const) {
    const names = baseEnvNames(at(os));
    for (const n of ["PATH", "HOME", "USER", "TMPDIR"]) assert(names.includes(n), `${os} ${n}`);
    assert(!names.includes("SystemRoot"), os);
  }
});

Deno.test("podMode: POSIX bits as they are; on Windows the ancestor's or git's, never world-writable", () => {
  const table: [OS, Parameters<typeof podMode>[0], number][] = [
    ["linux", { local: 0o100755, isDir: false }, 0o755],
    ["darwin", { local: 0o666, isDir: false, ancestor: 0o600 }, 0o666],
    ["linux", { local: 0o40700, isDir: true }, 0o700],
    ["windows", { local: 0o666, isDir: false }, 0o644],
    ["windows", { local: 0o444, isDir: false }, 0o644],
    ["windows", { local: 0o666, isDir: true }, 0o755],
    ["windows", { local: 0o666, isDir: false, gitExecutable: true }, 0o755],
    ["windows", { local: 0o666, isDir: false, ancestor: 0o700 }, 0o700],
    ["windows", { local: 0o666, isDir: false, ancestor: 0o777 }, 0o775],
    ["windows", { local: 0o666, isDir: false, ancestor: 0o666, gitExecutable: true }, 0o664],
    ["linux", { local: null, isDir: false, gitExecutable: true }, 0o755],
  ];
  for (const [os, facts, want] of table) {
    const got = podMode(facts, at(os));
    assertEquals(got.toString(8), want.toString(8), `${os} ${JSON.stringify(facts)}`);
    if (os === "windows") assertEquals(got & 0o002, 0, "never world-writable");
  }
});

Deno.test("localMode: pulled files keep rwx bits on Unix (no setuid/sticky); Windows sets none", () => {
  assertEquals(localMode(0o4755, at("linux")), 0o755);
  assertEquals(localMode(0o1777, at("darwin")), 0o777);
  assertEquals(localMode(0o755, at("windows")), undefined);
});

Deno.test("pulledNameProblem: hostile pod names, per OS", () => {
  // [name, refused on linux/darwin, refused on windows]
  const table: [string, boolean, boolean][] = [
    ["src/main.ts", false, false],
    ["a b/ç.txt", false, false],
    [".hidden", false, false],
    ["..dots", false, false],
    ["x..", false, true],
    ["", true, true],
    ["/etc/passwd", true, true],
    ["../x", true, true],
    ["a/../../x", true, true],
    ["a/./b", true, true],
    ["a//b", true, true],
    ["a\0b", true, true],
    ["a\\b", false, true],
    ["..\\..\\AppData\\Roaming\\Microsoft\\Windows\\Start Menu\\Programs\\Startup\\x.cmd", false, true],
    ["C:\\x", false, true],
    ["C:x", false, true],
    ["x:y", false, true],
    ["file.txt:stream", false, true],
    ["CON", false, true],
    ["con", false, true],
    ["dir/nul.txt", false, true],
    ["COM1", false, true],
    ["lpt9.log", false, true],
    ["AUX.", false, true],
    ["console", false, false],
    ["trailing.", false, true],
    ["dir./x", false, true],
    ["space ", false, true],
    ["a?b", false, true],
    ["a|b", false, true],
    ["a\x01b", false, true],
  ];
  for (const [name, unix, win] of table) {
    for (const os of OSES) {
      const problem = pulledNameProblem(name, at(os));
      const want = os === "windows" ? win : unix;
      assertEquals(problem !== undefined, want, `${os} ${JSON.stringify(name)}: ${problem}`);
    }
  }
  assertEquals(pulledNameProblem("a\\b", at("windows")), "it holds `\\`, a path separator on Windows");
  assertEquals(pulledNameProblem("CON", at("windows")), '"CON" is a reserved device name on Windows');
});

Deno.test("nativeName: messages show Windows names with backslashes", () => {
  assertEquals(nativeName("src/a.ts", at("windows")), "src\\a.ts");
  assertEquals(nativeName("src/a.ts", at("darwin")), "src/a.ts");
});

Deno.test("folding: case and NFC/NFD keys, collisions per OS default", () => {
  const nfc = "caf\u00e9.txt";
  const nfd = "cafe\u0301.txt";
  const names = ["Foo.ts", "foo.ts", "bar.ts", nfc, nfd, "README"];
  const table: [OS, string[][]][] = [
    ["linux", []],
    ["windows", [["Foo.ts", "foo.ts"]]],
    ["darwin", [["Foo.ts", "foo.ts"], [nfc, nfd]]],
  ];
  for (const [os, want] of table) assertEquals(foldCollisions(names, defaultFolding(at(os))), want, os);
  assertEquals(foldName("Dir/FILE", { caseInsensitive: true, normalizing: false }), "dir/file");
  assertEquals(foldName(nfd, { caseInsensitive: false, normalizing: true }), nfc);
  assertEquals(foldName("Foo", { caseInsensitive: false, normalizing: false }), "Foo");
});

Deno.test("probeFolding: this Linux file system is neither case-insensitive nor normalizing; no probe left", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assertEquals(await probeFolding(dir, at("linux")), { caseInsensitive: false, normalizing: false });
    assertEquals([...Deno.readDirSync(dir)].length, 0);
    // an unwritable directory: the OS's default
    assertEquals(await probeFolding(`${dir}/missing`, at("darwin")), defaultFolding(at("darwin")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("probeFolding: nothing is ever made in the tree, git work tree or not", async () => {
  /** the names created directly in `dir` (not below it) while `fn` ran, seen by the OS's watcher */
  const createdIn = async (dir: string, fn: () => Promise<unknown>) => {
    const w = Deno.watchFs(dir, { recursive: false });
    const seen: string[] = [];
    const reading = (async () => {
      for await (const e of w) {
        seen.push(...e.paths.map((x) => x.slice(dir.length + 1)));
        if (e.paths.some((x) => x.endsWith("/done"))) break;
      }
    })();
    await fn();
    await Deno.writeTextFile(`${dir}/done`, ""); // an event after the probe's: all of its were seen
    await reading;
    w.close();
    return seen.filter((n) => n !== "done");
  };
  const dir = await Deno.makeTempDir();
  try {
    // a plain directory, with names that answer both questions: read, never written (the watcher would
    // see a probe: this test can fail, as it did on the code that made one there)
    await Deno.writeTextFile(`${dir}/Readme.md`, "");
    await Deno.writeTextFile(`${dir}/caf\u00e9.txt`, "");
    const plain = await createdIn(dir, async () => {
      assertEquals(await probeFolding(dir, at("darwin")), { caseInsensitive: false, normalizing: false });
    });
    assertEquals(plain, []);
    await Deno.remove(`${dir}/done`);
    await Deno.mkdir(`${dir}/.git`);
    const seen = await createdIn(dir, async () => {
      assertEquals(await probeFolding(dir, at("linux")), { caseInsensitive: false, normalizing: false });
    });
    assertEquals(seen.filter((n) => n.startsWith(".kodama-probe-")), []);
    assertEquals([...Deno.readDirSync(`${dir}/.git`)].length, 0, "no probe left in .git");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("foldingFromNames: listed names looked up under their other spelling tell how names fold", async () => {
  const nfc = "caf\u00e9", nfd = "cafe\u0301";
  // a file system: stored names, and the key it looks a name up under
  const fs = (stored: string[], key: (n: string) => string) => (n: string) =>
    Promise.resolve(stored.some((x) => key(x) === key(n)) ? `id:${key(n)}` : undefined);
  const apfs = fs(["Makefile", nfc], (n) => n.normalize("NFC").toLowerCase());
  assertEquals(await foldingFromNames(["Makefile", nfc], apfs), { caseInsensitive: true, normalizing: true });
  const ntfs = fs(["Makefile", nfd], (n) => n.toLowerCase());
  assertEquals(await foldingFromNames(["Makefile", nfd], ntfs), {
    caseInsensitive: true,
    normalizing: false,
  });
  const ext4 = fs(["Makefile", nfc], (n) => n);
  assertEquals(await foldingFromNames(["Makefile", nfc], ext4), {
    caseInsensitive: false,
    normalizing: false,
  });
  // both spellings listed are two files: nothing to ask with them; digits and dots answer nothing
  assertEquals(await foldingFromNames(["a", "A", "1.2", "_"], fs(["a", "A"], (n) => n)), {});
  // two names that are one file only when looked up: another spelling that is some other file does not count
  const other = (n: string) => Promise.resolve(n === "x" ? "id:1" : n === "X" ? "id:2" : undefined);
  assertEquals(await foldingFromNames(["x"], other), { caseInsensitive: false });
});

Deno.test("under the OS-matrix harness: this process is the OS it says, and /proc is out of reach", () => {
  const as = Deno.env.get("KODAMA_TEST_AS_OS");
  if (!as) return; // a plain run (tests/os_matrix/os_matrix_test.ts runs this file as darwin)
  assertEquals(hostPlatform().os, as);
  let denied = false;
  try {
    Deno.readTextFileSync("/proc/self/status");
  } catch (e) {
    denied = e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.NotFound;
  }
  assert(denied, "/proc is readable: the harness did not deny it");
});

Deno.test("kubeHomeDir: kubectl's (client-go's) rule for the home of .kube/config, per OS", () => {
  type St = { isFile: boolean; isDirectory: boolean; mode: number | null };
  const fsOf = (files: string[], dirs: Record<string, number>) => (p: string): St | undefined =>
    files.includes(p)
      ? { isFile: true, isDirectory: false, mode: 0o666 }
      : p in dirs
      ? { isFile: false, isDirectory: true, mode: dirs[p] }
      : undefined;
  const env = { HOME: "H:\\home", HOMEDRIVE: "D:", HOMEPATH: "\\me", USERPROFILE: "C:\\Users\\me" };
  const table: [string, Record<string, string>, string[], Record<string, number>, string | undefined][] = [
    // the first of HOME, HOMEDRIVE+HOMEPATH, USERPROFILE that holds .kube\config
    ["profile holds it", env, ["C:\\Users\\me\\.kube\\config"], { "H:\\home": 0o666 }, "C:\\Users\\me"],
    [
      "drive path before profile",
      env,
      ["D:\\me\\.kube\\config", "C:\\Users\\me\\.kube\\config"],
      {},
      "D:\\me",
    ],
    ["HOME first", env, ["H:\\home\\.kube\\config", "D:\\me\\.kube\\config"], {}, "H:\\home"],
    // none holds one: HOME, USERPROFILE, HOMEDRIVE+HOMEPATH — the first writable directory
    ["a Git Bash HOME that is no Windows path", { ...env, HOME: "/c/Users/me" }, [], {
      "C:\\Users\\me": 0o666,
      "D:\\me": 0o666,
    }, "C:\\Users\\me"],
    ["read-only HOME skipped", env, [], { "H:\\home": 0o444, "C:\\Users\\me": 0o666 }, "C:\\Users\\me"],
    ["only existing", env, [], { "D:\\me": 0o444 }, "D:\\me"],
    ["only set", { USERPROFILE: "C:\\Users\\me" }, [], {}, "C:\\Users\\me"],
    ["nothing", {}, [], {}, undefined],
  ];
  for (const [what, e, files, dirs, want] of table) {
    assertEquals(kubeHomeDir(at("windows", e), fsOf(files, dirs)), want, what);
  }
  assertEquals(kubeHomeDir(at("linux", { HOME: "/home/me", USERPROFILE: "/x" })), "/home/me");
  assertEquals(kubeHomeDir(at("darwin", { HOME: "/Users/me" })), "/Users/me");
});
