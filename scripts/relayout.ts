/**
 * Issue #63 step 4's file moves, as a codemod the lead runs once on the merged tree (moving the files on a
 * branch would conflict with every other branch's edits of them):
 *
 *   deno run -A scripts/relayout.ts [--dry-run]
 *
 * - the floor-0 files at the root of `src/` go to `src/base/` by topic (MOVES: `fs/`, `text/`, `proc/`;
 *   errors, platform and version, which every floor imports, stay at the top of `src/base/`);
 * - `src/session/`'s modules go to folders by topic (lifecycle, spec, git, volumes, access, state);
 *   `commands.ts` (the verbs' front door), `pod/` and `sync/` stay;
 * - every relative specifier (`import`, `export … from`, `import()`, `new URL("…", import.meta.url)`, any
 *   string literal that starts with `./` or `../` and names a file or folder that exists) in src/, tests/,
 *   bench/, scripts/, editors/ and main.ts follows the moves, and so does every mention of a moved path
 *   (`src/platform.ts`, `session/start.ts`) in those files, docs/*.md, README.md, deno.json and .ci/run;
 * - `tests/_assert.ts` is imported as `@kodama/test-assert` (it was mapped as `@std/assert`, whose API it
 *   does not have);
 * - docs/architecture.md gets the layout's description (LAYOUT_DOC);
 * - `deno fmt` on the touched files. Moves are `git mv`, so history follows.
 *
 * Idempotent: a move whose source is gone is skipped, and a second run finds nothing to rewrite. A file at
 * the root of `src/` or `src/session/` that MOVES does not know (added since) is reported, not moved.
 */

/** The floor-0 files at the root of src/, by topic; paths relative to the repository. */
const BASE_TOPICS: Record<string, string[]> = {
  "": ["errors", "platform", "version"],
  fs: ["boundedread", "fspath", "gitpaths", "localfs", "realpath", "safewrite"],
  text: ["bytes", "escape", "k8sname", "suggest", "words", "yamlguard", "yamlpos"],
  proc: ["limit", "liveness", "proc", "timer"],
};

/** src/session's modules by topic (commands.ts, pod/ and sync/ stay where they are). */
const SESSION_TOPICS: Record<string, string[]> = {
  // starting, stopping, resuming, waiting, and what decides a session's life in its pod
  lifecycle: [
    "start",
    "startio",
    "ready",
    "wait",
    "progress",
    "lifecycle",
    "lifetime",
    "replace",
    "shared",
    "gc",
    "podsecurity",
    "unschedulable",
  ],
  // what a session is: its settings and the objects built from them
  spec: [
    "spec",
    "manifests",
    "names",
    "template",
    "template_cmd",
    "devcontainer",
    "envfile",
    "editor",
    "cabundle",
    "placement",
    "scheduling",
    "pullsecrets",
    "quantity",
    "sandbox",
    "gateway",
  ],
  // the session's repository and branch: clone, fetch, land, door git
  git: [
    "git",
    "gitrun",
    "gitrefs",
    "doorgit",
    "branchmove",
    "fetch",
    "land",
    "landaside",
    "landgit",
    "landplan",
  ],
  // volumes: the warm pool, snapshots, clones
  volumes: ["pool", "snapshot", "volsnap", "clone", "clonemark"],
  // who and what reaches into a session's pod
  access: ["attach", "share", "podexec"],
  // what is known of sessions: the laptop's state files and the cluster's view
  state: ["state", "statefile", "cluster", "list", "live", "get", "status"],
};

/** Old path -> new path, repository-relative. */
export function moveTable(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [topic, names] of Object.entries(BASE_TOPICS)) {
    for (const n of names) out.set(`src/${n}.ts`, `src/base/${topic ? topic + "/" : ""}${n}.ts`);
  }
  for (const [topic, names] of Object.entries(SESSION_TOPICS)) {
    for (const n of names) out.set(`src/session/${n}.ts`, `src/session/${topic}/${n}.ts`);
  }
  return out;
}

/** Where `target` (repository-relative, `..` and `.` resolved) is, seen from the folder of `from`. */
export function resolveFrom(from: string, spec: string): string {
  const out = from.split("/").slice(0, -1);
  for (const seg of spec.split("/")) {
    if (seg === "..") out.pop();
    else if (seg !== "." && seg !== "") out.push(seg);
  }
  return out.join("/");
}

/** The relative specifier from the file `from` to `to` (repository-relative), `./` or `../` first. */
export function relativeSpec(from: string, to: string): string {
  const a = from.split("/").slice(0, -1), b = to.split("/");
  let i = 0;
  while (i < a.length && i < b.length - 1 && a[i] === b[i]) i++;
  const ups = a.length - i;
  const rest = b.slice(i).join("/");
  return (ups === 0 ? "./" : "../".repeat(ups)) + rest;
}

/**
 * A relative specifier of the file at `oldFile` (now at `newFile`), after the moves: undefined when it
 * needs no change, or when it does not name something that exists (`exists`, asked of pre-move paths).
 * A trailing `/` (a folder) is kept.
 */
export function rewriteSpec(
  spec: string,
  oldFile: string,
  newFile: string,
  moves: Map<string, string>,
  exists: (path: string) => boolean,
): string | undefined {
  const dir = spec.endsWith("/");
  const target = resolveFrom(oldFile, spec);
  if (target === "" || !exists(target)) return undefined;
  const moved = moves.get(target) ?? target;
  if (moved === target && oldFile === newFile) return undefined;
  let out = relativeSpec(newFile, moved);
  if (dir && !out.endsWith("/")) out += "/";
  return out === spec ? undefined : out;
}

/** String literals that start with `./` or `../`: quote, body (for a template, up to its first `${`). */
const REL_LITERAL = /(["'`])(\.{1,2}\/[^"'`\n$]*)/g;

/** Every relative literal of a source file, rewritten for the moves. */
export function rewriteSource(
  text: string,
  oldFile: string,
  newFile: string,
  moves: Map<string, string>,
  exists: (path: string) => boolean,
): string {
  return text.replace(REL_LITERAL, (all, q: string, body: string) => {
    // a template literal's static part up to its last `/` names a folder (`../../workflows/${name}.yaml`)
    const spec = q === "`" && !/\.\w+$/.test(body) ? body.slice(0, body.lastIndexOf("/") + 1) : body;
    const next = rewriteSpec(spec, oldFile, newFile, moves, exists);
    return next === undefined ? all : q + next + body.slice(spec.length);
  });
}

/**
 * Every mention of a moved path in text: `src/platform.ts` (also inside `../src/platform.ts`), and a moved
 * session module without its `src/` (`session/start.ts`). A path not in `moves` is left alone.
 */
export function rewriteMentions(text: string, moves: Map<string, string>): string {
  return text.replace(
    /(?<![\w.-])(src\/)?([\w-]+(?:\/[\w.-]+)*\.ts)\b/g,
    (all, src: string | undefined, rest) => {
      if (src) return moves.get(src + rest) ?? all;
      if (!rest.startsWith("session/")) return all;
      const to = moves.get("src/" + rest);
      return to ? to.slice("src/".length) : all;
    },
  );
}

/**
 * Lists of paths relative to `src/` (the config and workflow caches' source lists and their tests):
 * `"errors.ts"` there is `src/errors.ts`.
 */
const SRC_RELATIVE_LISTS = [
  "src/config/cache.ts",
  "src/workflow/cache.ts",
  "tests/unit/config/cache_test.ts",
  "tests/unit/workflow/cache_test.ts",
];

export function rewriteSrcRelative(text: string, moves: Map<string, string>): string {
  return text.replace(/(["'])([\w/.-]+\.ts)\1/g, (all, q: string, p: string) => {
    const to = moves.get("src/" + p);
    return to ? q + to.slice("src/".length) + q : all;
  });
}

/** `join(root, "src", "proc.ts")`-style paths split into segments (bench/everyday.ts). */
export function rewriteSegments(text: string, moves: Map<string, string>): string {
  return text.replace(/"src", "([\w-]+\.ts)"/g, (all, name: string) => {
    const to = moves.get("src/" + name);
    return to ? to.split("/").map((s) => JSON.stringify(s)).join(", ") : all;
  });
}

/** The test assertion module under its own name. */
export function rewriteAssert(text: string): string {
  return text.replaceAll('"@std/assert"', '"@kodama/test-assert"');
}

/** What docs/architecture.md says about the layout (inserted once, before the rules). */
const LAYOUT_MARK = "Inside a floor, folders group files by topic:";
const LAYOUT_DOC = `${LAYOUT_MARK}

- \`src/base/\` (floor 0) has nothing at the root of \`src/\` beside it: \`errors.ts\` (KodamaError and the exit
  codes), \`platform.ts\` (every fact about the operating system) and \`version.ts\` at its top, with the other
  modules every floor shares; \`base/fs/\` the local file system (bounded reads, path operations, real paths,
  safe writes, git's places, local-path errors); \`base/text/\` text kodama reads or shows (bytes, escaping and
  shell quoting, Kubernetes names, "did you mean", command-line words, YAML guards and positions);
  \`base/proc/\` processes and time (running tools, liveness of background processes, timers, bounded
  concurrency).
- \`src/session/\`: \`commands.ts\` (the verbs as the CLI calls them) at its top; \`lifecycle/\` (start, ready,
  wait, stop/resume/delete, lifetimes, gc), \`spec/\` (the settings and the objects built from them:
  spec, manifests, names, templates, env files, scheduling), \`git/\` (the repository: clone, fetch, land,
  door git), \`volumes/\` (the warm pool, snapshots, clones), \`access/\` (attach, share, exec in the
  container), \`state/\` (the laptop's state files and the cluster's view: list, get, status); \`pod/\` holds
  the programs that run in a session's pod, \`sync/\` the file sync.

`;

const TEXT_EDITS: { file: string; from: string; to: string }[] = [
  {
    file: "docs/architecture.md",
    from: "0  base           src/base/, src/*.ts        ",
    to: "0  base           src/base/                  ",
  },
  {
    file: "tests/unit/architecture_test.ts",
    from: "base: 0, // src/base/ and the files at the root of src/ (errors, proc, platform, liveness, …)",
    to:
      "base: 0, // src/base/ (errors, platform, fs/, text/, proc/, …); a file at the root of src/ counts as base",
  },
];

// ---------------------------------------------------------------------------------------------------------

const SOURCE_DIRS = ["src", "tests", "bench", "scripts", "editors"];
const SOURCE_EXT = /\.(ts|tsx|js|mjs|mts)$/;
const TEXT_FILES = ["README.md", "deno.json", ".ci/run", "main.ts"];
/** Generated or third-party, or this codemod and its test (their old paths are data): never rewritten. */
const SKIP_FILES = new Set(["scripts/relayout.ts", "tests/unit/relayout_test.ts"]);
const SKIP =
  /(^|\/)(node_modules|dist|\.e2e|\.state|fixtures)\/|^src\/web\/assets\.ts$|^editors\/vscode\/schemas\//;

async function git(args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command("git", { args, cwd, stdout: "piped", stderr: "inherit" }).output();
  if (!out.success) throw new Error(`git ${args.join(" ")} failed`);
  return new TextDecoder().decode(out.stdout);
}

async function main() {
  const dry = Deno.args.includes("--dry-run");
  const root = (await git(["rev-parse", "--show-toplevel"], Deno.cwd())).trim();
  const files = (await git(["ls-files", "-z", "--cached", "--others", "--exclude-standard"], root))
    .split("\0").filter((f) => f !== "");
  const present = new Set<string>();
  for (const f of files) {
    try {
      Deno.statSync(`${root}/${f}`);
      present.add(f);
    } catch { /* deleted in the work tree */ }
  }
  const dirs = new Set<string>();
  for (const f of present) {
    const parts = f.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  const exists = (p: string) => present.has(p) || dirs.has(p);

  const table = moveTable();
  const moves = new Map<string, string>();
  for (const [from, to] of table) {
    if (present.has(from) && !present.has(to)) moves.set(from, to);
    else if (!present.has(from) && !present.has(to)) console.warn(`relayout: ${from} is gone; not moved`);
  }
  for (const f of present) {
    const loose = /^src\/[^/]+\.ts$/.test(f) || /^src\/session\/[^/]+\.ts$/.test(f);
    if (loose && !table.has(f) && f !== "src/session/commands.ts") {
      console.warn(`relayout: ${f} is not in the move table; left where it is (say its topic in MOVES)`);
    }
  }
  const newOf = (f: string) => moves.get(f) ?? f;

  const touched = new Set<string>();
  for (const f of present) {
    if (SKIP.test(f) || SKIP_FILES.has(f)) continue;
    const isSource = SOURCE_DIRS.some((d) => f.startsWith(d + "/")) && SOURCE_EXT.test(f);
    const isText = isSource || TEXT_FILES.includes(f) || /^docs\/.*\.md$/.test(f) ||
      (SOURCE_DIRS.some((d) => f.startsWith(d + "/")) && /\.(md|json|sh|js)$/.test(f));
    if (!isText) continue;
    const before = await Deno.readTextFile(`${root}/${f}`);
    let text = before;
    if (isSource || f === "main.ts") text = rewriteSource(text, f, newOf(f), moves, exists);
    text = rewriteMentions(text, table);
    if (SRC_RELATIVE_LISTS.includes(f)) text = rewriteSrcRelative(text, table);
    if (isSource) text = rewriteSegments(text, table);
    if (isSource || f === "deno.json" || f.endsWith(".md")) text = rewriteAssert(text);
    for (const e of TEXT_EDITS) if (e.file === f) text = text.replace(e.from, e.to);
    if (f === "docs/architecture.md" && !text.includes(LAYOUT_MARK)) {
      const at = text.indexOf('The rules, besides "never up":');
      if (at < 0) {
        console.warn("relayout: docs/architecture.md has no rules list; the layout text is not added");
      } else text = text.slice(0, at) + LAYOUT_DOC + text.slice(at);
    }
    if (text !== before) {
      touched.add(newOf(f));
      if (dry) console.log(`rewrite ${f}`);
      else await Deno.writeTextFile(`${root}/${f}`, text);
    }
  }
  for (const e of TEXT_EDITS) {
    const t = present.has(e.file) ? await Deno.readTextFile(`${root}/${e.file}`) : "";
    if (!dry && !t.includes(e.to)) {
      console.warn(`relayout: ${e.file}: "${e.from}" not found; edit it by hand`);
    }
  }

  for (const [from, to] of moves) {
    if (dry) {
      console.log(`git mv ${from} ${to}`);
      continue;
    }
    await Deno.mkdir(`${root}/${to.split("/").slice(0, -1).join("/")}`, { recursive: true });
    await git(["mv", from, to], root);
    touched.add(to);
  }
  if (dry || touched.size === 0) return;
  const fmt = [...touched].filter((f) => /\.(ts|js|md|json)$/.test(f));
  if (fmt.length) {
    const ok = await new Deno.Command("deno", { args: ["fmt", "--quiet", ...fmt], cwd: root }).spawn().status;
    if (!ok.success) throw new Error("deno fmt failed");
  }
  console.log(`relayout: ${moves.size} files moved, ${touched.size} files touched`);
}

if (import.meta.main) await main();
