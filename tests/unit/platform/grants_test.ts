/**
 * The sandbox's never-grantable list and `~` expansion, asked of linux, darwin and windows (#36):
 * on Windows the kubeconfig under USERPROFILE (not only HOME), KUBECONFIG split on `;`, Deno's cache
 * under LOCALAPPDATA, and `~\x` under the home directory.
 */
import { assert, assertEquals } from "../../_assert.ts";
import { codePaths, neverGrantable } from "../../../src/workflow/sandbox/grants.ts";
import { expandPath } from "../../../src/workflow/sandbox/permissions.ts";
import { type OS, platformFor } from "../../../src/base/platform.ts";

const at = (os: OS, env: Record<string, string>) =>
  platformFor(os, (n) => env[n], () => (os === "windows" ? "C:\\work" : "/work"));

Deno.test("neverGrantable: every home's kubeconfig and each KUBECONFIG entry, per OS", () => {
  const table: [OS, Record<string, string>, string[], string[]][] = [
    ["linux", { HOME: "/home/me", KUBECONFIG: "/a/kc:/b/kc" }, [
      "/home/me/.kube/config",
      "/a/kc",
      "/b/kc",
      "/proc",
      "/dev/tty",
    ], []],
    ["darwin", { HOME: "/Users/me", KUBECONFIG: "rel/kc" }, [
      "/Users/me/.kube/config",
      "/work/rel/kc",
      "/dev/tty",
    ], [
      "/proc",
    ]],
    [
      "windows",
      { USERPROFILE: "C:\\Users\\me", HOME: "C:\\msys\\home\\me", KUBECONFIG: "C:\\k\\one;D:\\two" },
      ["C:\\Users\\me\\.kube\\config", "C:\\msys\\home\\me\\.kube\\config", "C:\\k\\one", "D:\\two"],
      ["C:\\k\\one;D:\\two", "C:\\k", "\\k\\one", "/proc"],
    ],
  ];
  for (const [os, env, want, not] of table) {
    const paths = neverGrantable(undefined, at(os, env)).map(([p]) => p);
    for (const w of want) assert(paths.includes(w), `${os}: ${w} in ${JSON.stringify(paths)}`);
    for (const n of not) assert(!paths.includes(n), `${os}: ${n} not in ${JSON.stringify(paths)}`);
  }
  const withFlag = neverGrantable("kc.yaml", at("windows", { USERPROFILE: "C:\\U" })).map(([p]) => p);
  assert(withFlag.includes("C:\\work\\kc.yaml"), JSON.stringify(withFlag));
});

Deno.test("codePaths: Deno's cache and install root per OS", () => {
  const table: [OS, Record<string, string>, string[]][] = [
    ["linux", { HOME: "/h" }, ["/h/.cache/deno", "/h/.deno/bin"]],
    ["darwin", { HOME: "/Users/me" }, ["/Users/me/Library/Caches/deno", "/Users/me/.deno/bin"]],
    ["windows", { USERPROFILE: "C:\\Users\\me", LOCALAPPDATA: "C:\\Users\\me\\AppData\\Local" }, [
      "C:\\Users\\me\\AppData\\Local\\deno",
      "C:\\Users\\me\\.deno\\bin",
    ]],
  ];
  for (const [os, env, want] of table) {
    const paths = codePaths(at(os, env)).map(([p]) => p);
    for (const w of want) assert(paths.includes(w), `${os}: ${w} in ${JSON.stringify(paths)}`);
  }
});

Deno.test("expandPath: ~ is the OS's home; relative grants from the workflow's directory", () => {
  const table: [OS, Record<string, string>, string, string, string][] = [
    ["linux", { HOME: "/home/me" }, "~/data", "/repo", "/home/me/data"],
    ["linux", { HOME: "/home/me" }, "~", "/repo", "/home/me"],
    ["linux", { HOME: "/home/me" }, "out", "/repo", "/repo/out"],
    ["darwin", { HOME: "/Users/me" }, "/abs", "/repo", "/abs"],
    [
      "windows",
      { USERPROFILE: "C:\\Users\\me", HOME: "/c/Users/me" },
      "~/data",
      "C:\\repo",
      "C:\\Users\\me\\data",
    ],
    ["windows", { USERPROFILE: "C:\\Users\\me" }, "~\\data", "C:\\repo", "C:\\Users\\me\\data"],
    ["windows", { USERPROFILE: "C:\\Users\\me" }, "out/x", "C:\\repo", "C:\\repo\\out\\x"],
    ["windows", { USERPROFILE: "C:\\Users\\me" }, "D:\\abs", "C:\\repo", "D:\\abs"],
  ];
  for (const [os, env, p, base, want] of table) {
    assertEquals(expandPath(p, base, at(os, env)), want, `${os} ${p}`);
  }
});

Deno.test("localEnv: a local step on Windows keeps SystemRoot, PATHEXT, TEMP and USERPROFILE; step env wins", async () => {
  const { localEnv } = await import("../../../src/workflow/steps/local.ts");
  const env: Record<string, string> = {
    PATH: "C:\\Windows\\system32",
    SystemRoot: "C:\\Windows",
    PATHEXT: ".COM;.EXE;.BAT;.CMD",
    TEMP: "C:\\Users\\me\\AppData\\Local\\Temp",
    USERPROFILE: "C:\\Users\\me",
    HOME: "/home/me",
    SECRET_TOKEN: "s3cr3t",
    MINE: "granted",
  };
  const win = localEnv(["MINE"], { STEP: "1", PATH: "C:\\step" }, at("windows", env));
  assertEquals(win.SystemRoot, "C:\\Windows");
  assertEquals(win.PATHEXT, ".COM;.EXE;.BAT;.CMD");
  assertEquals(win.TEMP, "C:\\Users\\me\\AppData\\Local\\Temp");
  assertEquals(win.USERPROFILE, "C:\\Users\\me");
  assertEquals([win.MINE, win.STEP, win.PATH], ["granted", "1", "C:\\step"]);
  assertEquals(win.SECRET_TOKEN, undefined);
  const lin = localEnv(undefined, {}, at("linux", env));
  assertEquals([lin.PATH, lin.HOME, lin.SystemRoot, lin.SECRET_TOKEN], [
    "C:\\Windows\\system32",
    "/home/me",
    undefined,
    undefined,
  ]);
});
