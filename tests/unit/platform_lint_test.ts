/**
 * Laptop-side code must not assume Linux (#36). Outside src/platform.ts (where each OS fact lives, with
 * the platform as a parameter) this fails on:
 *
 * - a `/proc` path (macOS and Windows have none; the OS-matrix run denies it): a string that starts with `/proc`;
 * - `.pathname` of a file URL taken as a path (`%20` stays, Windows gets `/C:/…`): use fileUrlToPath;
 * - a signal other than SIGTERM/SIGKILL (`Deno.kill`, `child.kill`): Windows has only those two;
 * - `split(":")` of a path list (KUBECONFIG, PATH): `;` on Windows, where `C:\x` holds a colon.
 *
 * Code that runs inside the pod (shell scripts kodama sends there) may assume Linux: each such use is
 * listed below with its reason. Like the lazy-commands test, it reads the sources, not the running code.
 */
import { assert, assertEquals } from "../_assert.ts";

const ROOT = new URL("../../", import.meta.url);

/** [file suffix, text on the line, why it is allowed] */
const ALLOWED: [string, string, string][] = [
  ["session/agent.ts", `"/proc/$1/stat"`, "a shell function of the agent runner, run inside the pod"],
];

interface Finding {
  file: string;
  line: number;
  rule: string;
  text: string;
}

/** The code of a line, without its comment (good enough for this codebase: `//` after a space or at the start). */
function code(line: string): string {
  const t = line.trimStart();
  if (t.startsWith("//") || t.startsWith("*") || t.startsWith("/*")) return "";
  return line.replace(/\s\/\/\s.*$/, "");
}

/** Names bound to a file URL in this file: `const root = new URL("..", import.meta.url)`. */
function fileUrlNames(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/(?:const|let|var)\s+(\w+)\s*(?::\s*URL\s*)?=\s*new URL\(([^;]*)/g)) {
    if (/import\.meta\.url|file:|mainModule|\broot\b|ROOT/.test(m[2])) out.add(m[1]);
  }
  return out;
}

export function lint(file: string, text: string): Finding[] {
  const out: Finding[] = [];
  const urls = fileUrlNames(text);
  const lines = text.split("\n");
  lines.forEach((raw, i) => {
    const c = code(raw);
    if (!c) return;
    const add = (rule: string) => {
      if (ALLOWED.some(([f, t]) => file.endsWith(f) && raw.includes(t))) return;
      out.push({ file, line: i + 1, rule, text: raw.trim() });
    };
    if (/["'`]\/proc\b/.test(c)) add("/proc path");
    if (/\.pathname\b/.test(c)) {
      const onFileUrl = /import\.meta|file:|mainModule|new URL\(|fileUrl|fileURL/.test(c) ||
        [...urls].some((n) => new RegExp(`\\b${n}\\.pathname\\b`).test(c));
      if (onFileUrl) add(".pathname of a file URL");
    }
    for (const m of c.matchAll(/\.kill\(([^;]*?)["'](SIG[A-Z0-9]+)["']/g)) {
      if (m[2] !== "SIGTERM" && m[2] !== "SIGKILL") add(`signal ${m[2]}`);
    }
    if (/\.split\(\s*(["'])(:)\1\s*\)|\.split\(\s*\/:\/\s*\)/.test(c)) {
      // the statement around it: a path list is named PATH, KUBECONFIG, …path…, …dirs…
      const around = lines.slice(Math.max(0, i - 2), i + 1).map(code).join("\n");
      if (/PATH|KUBECONFIG|[pP]aths?\b|[pP]ath[A-Z]|[dD]irs\b|DIRS/.test(around)) {
        add(`split(":") of a path list`);
      }
    }
  });
  return out;
}

async function sources(): Promise<string[]> {
  const out: string[] = ["main.ts"];
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(new URL(rel, ROOT))) {
      const p = `${rel}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else if (/\.(ts|js)$/.test(e.name)) out.push(p);
    }
  };
  for (const d of ["src", "scripts", "bin"]) await walk(d);
  return out.filter((f) => f !== "src/platform.ts");
}

Deno.test("platform lint: no /proc, file-URL .pathname, exotic signals or ':' path lists outside src/platform.ts", async () => {
  const files = await sources();
  assert(files.length > 100, `found only ${files.length} files`);
  const findings: Finding[] = [];
  for (const f of files) findings.push(...lint(f, await Deno.readTextFile(new URL(f, ROOT))));
  assertEquals(
    findings.map((x) => `${x.file}:${x.line}: ${x.rule}: ${x.text}`),
    [],
    "move the OS fact into src/platform.ts (with the platform as a parameter), or, for code that runs in the pod, list it in ALLOWED",
  );
});

Deno.test("platform lint: each rule fires on what it is for, and not on lookalikes", () => {
  const rules = (text: string) => lint("src/x.ts", text).map((f) => f.rule);
  assertEquals(rules(`const s = Deno.readTextFileSync("/proc/self/cmdline");`), ["/proc path"]);
  assertEquals(rules("const s = Deno.readTextFileSync(`/proc/${pid}/stat`);"), ["/proc path"]);
  assertEquals(rules(`// reads /proc/self on Linux`), []);
  assertEquals(rules(`const p = new URL("../x", import.meta.url).pathname;`), [".pathname of a file URL"]);
  assertEquals(rules(`const root = new URL("..", import.meta.url);\nrun({ cwd: root.pathname });`), [
    ".pathname of a file URL",
  ]);
  assertEquals(rules(`return u.protocol === "file:" ? decodeURIComponent(u.pathname) : u.href;`), [
    ".pathname of a file URL",
  ]);
  assertEquals(rules("log(`GET ${url.pathname}${url.search}`);"), []);
  assertEquals(rules(`Deno.kill(pid, "SIGCONT");`), ["signal SIGCONT"]);
  assertEquals(rules(`child.kill("SIGINT");`), ["signal SIGINT"]);
  assertEquals(rules(`Deno.kill(pid, "SIGTERM"); child.kill("SIGKILL");`), []);
  assertEquals(rules(`for (const f of (Deno.env.get("KUBECONFIG") ?? "").split(":")) x(f);`), [
    `split(":") of a path list`,
  ]);
  assertEquals(rules(`const dirs = env.PATH.split(':');`), [`split(":") of a path list`]);
  assertEquals(rules(`const [local, remote] = spec.split(":");`), []);
  assertEquals(rules(`const x = "/proc/$1/stat";`), ["/proc path"]);
  assertEquals(lint("src/session/agent.ts", `  \`alive() { [ "$(sed 's/x//' "/proc/$1/stat")" ]; }\`,`), []);
});
