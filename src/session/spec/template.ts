/**
 * Session templates: a named start recipe (image, resources, storage, env files and excludes, sidecars,
 * an init command, the agent command, sync mode and excludes, labels, ports). Found, first match wins:
 *
 *   .kodama/templates/NAME.yaml     the repository (one template per file, NAME from the file name)
 *   templates: in .kodama.yaml      the repository
 *   templates: in ~/.kodama/config.yaml   the user
 *   .devcontainer/devcontainer.json (or .devcontainer.json)   the repository, as template `devcontainer`
 *   built-in                        `default` and `node`
 *
 * A repository's template is untrusted input (docs/security.md): what it chooses runs in the pod (image,
 * resources, sidecars, commands, labels), but the local files it names must lead inside the repository,
 * and it never reaches this machine's environment. Every problem is reported with its file:line:col.
 */
import { z } from "zod";
import { isHostPattern } from "../../base/hostpattern.ts";
import { isAbsolute, join, resolve } from "node:path";
import { CPU_RE, DNS_LABEL_RE, SIZE_RE } from "../../config/schema.ts";
import { AGENT_CHOICES } from "../../config/agentnames.ts";
import { displayPath, findRepo, globalConfigPath } from "../../config/paths.ts";
import { readRepoFile } from "../../config/confine.ts";
import { readTextBounded } from "../../base/fs/boundedread.ts";
import { ExitCode, KodamaError, usageError } from "../../base/errors.ts";
import { splitWords } from "../../base/text/words.ts";
import { quote } from "../../base/text/escape.ts";

export type TemplateSource = "built-in" | "user" | "repo";

const cpu = z.union([z.string(), z.number()]).transform(String).refine((s) => CPU_RE.test(s), {
  error: (i) => `${JSON.stringify(i.input)} is not a CPU quantity (expected e.g. 2, 500m, 1.5)`,
});
const size = z.union([z.string(), z.number()]).transform(String).refine((s) => SIZE_RE.test(s), {
  error: (i) => `${JSON.stringify(i.input)} is not a size quantity (expected e.g. 512Mi, 4Gi)`,
});
const port = z.number().int().min(1).max(65535);
const dnsLabel = z.string().max(63).regex(DNS_LABEL_RE, {
  error: "must be a DNS label (lowercase letters, digits and '-', at most 63 characters)",
});
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: "not an environment variable name" });
/** A command's words: a list, or one string split as a POSIX shell splits it (quotes honoured). */
const argv = z.union([
  z.string().transform((v, ctx) => {
    try {
      return splitWords(v);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: (e as Error).message });
      return z.NEVER;
    }
  }),
  z.array(z.string()),
]);
/** A command: one string (run by `sh -c`) or a list (run as is). */
const command = z.union([z.string().min(1), z.array(z.string()).min(1)]);
/** Label keys and values as the API server checks them (a prefix/ is allowed; kodama's own are not). */
const labelKey = z.string().regex(
  /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/,
  {
    error: "not a label key",
  },
).max(316).refine((k) => !/^(app\.kubernetes\.io\/managed-by|kodama\.dev\/)/.test(k), {
  error: "kodama's own labels (app.kubernetes.io/managed-by, kodama.dev/*) cannot be set",
});
const labelValue = z.string().max(63).regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/, {
  error: "not a label value (at most 63 letters, digits, '-', '_', '.')",
});

export const sidecarSchema = z.object({
  name: dnsLabel.refine((n) => n !== "session" && n !== "git-clone", {
    error: "the names session and git-clone are kodama's own containers",
  }),
  image: z.string().min(1).regex(/^\S+$/, { error: "an image reference has no spaces" }),
  ports: z.array(port).optional(),
  env: z.record(envName, z.string()).optional(),
  command: argv.optional(),
  args: argv.optional(),
  resources: z.object({ cpu: cpu.optional(), memory: size.optional() }).strict().optional(),
}).strict();

export type Sidecar = z.output<typeof sidecarSchema>;

export const templateSchema = z.object({
  description: z.string().optional(),
  image: z.string().min(1).regex(/^\S+$/, { error: "an image reference has no spaces" }).optional(),
  resources: z.object({
    cpu: cpu.optional(),
    memory: size.optional(),
    cpuRequest: cpu.optional(),
    memoryRequest: size.optional(),
  }).strict().optional(),
  /** devices and placement (scheduling.ts); a repository's pull secrets must be named in the user's config */
  scheduling: z.object({
    imagePullSecrets: z.array(z.string().min(1)).optional(),
    gpu: z.number().int().min(1).max(1024).optional(),
    resources: z.record(z.string(), z.union([z.string(), z.number()]).transform(String)).optional(),
    nodeSelector: z.record(z.string(), z.string()).optional(),
    tolerations: z.array(z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    priorityClass: z.string().min(1).optional(),
  }).strict().optional(),
  /** the pod's ServiceAccount: a repository's must be the user's defaults.serviceAccount */
  serviceAccount: z.string().min(1).optional(),
  storage: z.object({
    workspace: size.optional(),
    claudeHome: size.optional(),
    storageClass: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/).optional(),
  }).strict().optional(),
  env: z.object({
    /** dotenv files injected as the env Secret (a repository's: inside it) */
    files: z.array(z.string().min(1)).optional(),
    /** variable names kept out */
    exclude: z.array(envName).optional(),
    /** plain values set in the session (not secrets: they are recorded with the settings) */
    vars: z.record(envName, z.string()).optional(),
  }).strict().optional(),
  sidecars: z.array(sidecarSchema).optional(),
  /** run once in the session container, in the workspace, after the first start (postCreateCommand) */
  init: command.optional(),
  /** the coding agent: a preset (AGENT_CHOICES) with extra args, or a command (custom) */
  agent: z.object({
    preset: z.enum(AGENT_CHOICES).optional(),
    command: argv.refine((a) => a.length > 0, { error: "agent.command needs at least the program name" })
      .optional(),
    args: z.array(z.string()).optional(),
    /** the models, primary first (src/agent/presets/settings.ts checks each name) */
    models: z.array(z.string().min(1)).optional(),
    /** the pod-side runner's continuations on transient API trouble */
    retry: z.object({
      attempts: z.number().int().min(0).max(100).optional(),
      maxWait: z.union([z.string(), z.number().nonnegative()]).optional(),
    }).strict().optional(),
  }).strict().optional(),
  sync: z.object({
    enabled: z.boolean().optional(),
    mode: z.enum(["two-way", "one-way-local", "one-way-pod"]).optional(),
    exclude: z.array(z.string().min(1)).optional(),
  }).strict().optional(),
  labels: z.record(labelKey, labelValue).optional(),
  /** ports the session serves (forwardPorts): `kodama pf NAME` forwards them when no port is given */
  ports: z.array(port).optional(),
  /**
   * the uid the image's tools run as (e.g. 1000 for kodama-dev): the session and clone containers run as
   * it, without capabilities (sandbox.ts). Not root: a template only makes the sandbox tighter
   */
  runAsUser: z.number().int().min(1).max(2147483647).optional(),
  /**
   * the hosts a session through the namespace's gateway may reach: narrows the user's session.egress.hosts
   * (an entry none of the user's covers is dropped: a template never widens it)
   */
  egressHosts: z.array(
    z.string().refine((h) => isHostPattern(h.toLowerCase()), {
      error: "not a host name (e.g. registry.npmjs.org)",
    }),
  ).optional(),
}).strict();

export type TemplateBody = z.output<typeof templateSchema>;
/** A template's `agent:` (src/agent/presets/presets.ts reads it). */
export type TemplateAgent = NonNullable<TemplateBody["agent"]>;

export interface Template extends TemplateBody {
  name: string;
  source: TemplateSource;
  /** the file it was read from (`file:line:col` of its definition when known) */
  file?: string;
  /** the directory its relative paths are read from (a repository's root, or the user's cwd) */
  base?: string;
  /** what of its source kodama does not use (a devcontainer.json's features, …), said at start */
  ignored?: string[];
}

export const BUILT_IN: Template[] = [
  {
    name: "default",
    source: "built-in",
    description: "The settings of your config (defaults.*): what `kodama start` does without a template",
  },
  {
    name: "node",
    source: "built-in",
    description: "Node.js 22 (node:22-bookworm, git and npm included), 2 CPU / 4Gi, node_modules not synced",
    image: "node:22-bookworm",
    resources: { cpu: "2", memory: "4Gi" },
    sync: { exclude: ["node_modules/"] },
    ports: [3000],
  },
];

const NAME_RE = /^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$/;

function positioned(file: string, lc: import("yaml").LineCounter | undefined, offset: number | undefined) {
  if (!lc || offset === undefined) return displayPath(file);
  const { line, col } = lc.linePos(offset);
  return `${displayPath(file)}:${line}:${col}`;
}

/** Where a template was read: its file, name, YAML document (for positions) and path in the document. */
interface TemplateAt {
  file: string;
  name: string;
  doc?: import("yaml").Document;
  lc?: import("yaml").LineCounter;
  path: string[];
}

/** `file:line:col` of the node at `path` below the template (the file alone without a document). */
async function positionAt(where: TemplateAt, path: string[], keyOnly = false): Promise<string> {
  if (!where.doc) return positioned(where.file, where.lc, undefined);
  const { nodeOffset } = await import("../../base/text/yamlpos.ts");
  return positioned(where.file, where.lc, nodeOffset(where.doc.contents, [...where.path, ...path], keyOnly));
}

/**
 * Validate one template's data, parsed from `file` (the YAML document for positions): a KodamaError (exit 2)
 * naming file:line:col and the key for the first problem.
 */
async function checkTemplate(
  raw: unknown,
  where: TemplateAt,
): Promise<TemplateBody> {
  const r = templateSchema.safeParse(raw ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const at = await positionAt(where, issue.path.map((p) => String(p)), issue.code === "unrecognized_keys");
  // only the person starting a session names its repositories (start --repo, a door's repos): never a template
  const named = issue.code === "unrecognized_keys" && !issue.path.length
    ? issue.keys.find((k) => /^repo(s|sitor(y|ies))?$/i.test(k))
    : undefined;
  if (named !== undefined) {
    throw usageError(
      `${at}: template ${JSON.stringify(where.name)} (${named}): a template cannot add repositories`,
      "only you name them: kodama start NAME --repo PATH (once per repository)",
    );
  }
  const key = [...issue.path.map(String), ...(issue.code === "unrecognized_keys" ? issue.keys : [])].join(
    ".",
  );
  throw usageError(
    `${at}: invalid template ${JSON.stringify(where.name)}${key ? ` (${key})` : ""}: ${
      issue.code === "unrecognized_keys" ? `unknown key${issue.keys.length > 1 ? "s" : ""}` : issue.message
    }`,
    "`kodama template validate` checks every template; docs/templates.md lists the keys",
  );
}

/**
 * The template keys that are also config keys, each held to that key's repository rule (config/keys.ts):
 * a repository's template can no more choose `sync.mode: one-way-pod` (the pod would overwrite local
 * files) than its .kodama.yaml can. Its env files are confined to the repository where they are read.
 */
const CONFIG_TWINS: [string[], string][] = [[["sync", "mode"], "sync.mode"]];

/** A repository's template: exit 2 at file:line:col when it sets what a repository may not. */
async function checkRepoTemplate(
  t: TemplateBody,
  where: TemplateAt,
  root: string,
): Promise<void> {
  const { keyInfo } = await import("../../config/keys.ts");
  const { repoProblem } = await import("../../config/load.ts");
  for (const [path, key] of CONFIG_TWINS) {
    let v: unknown = t;
    for (const p of path) v = (v as Record<string, unknown> | undefined)?.[p];
    const info = keyInfo(key);
    if (v === undefined || !info) continue;
    const why = await repoProblem(info, v, root);
    if (!why) continue;
    const at = await positionAt(where, path);
    throw usageError(
      `${at}: template ${JSON.stringify(where.name)} (${path.join(".")}: ${JSON.stringify(v)}): ${why}`,
    );
  }
}

async function parseYaml(file: string, text: string) {
  const { parseDocument, LineCounter } = await import("yaml");
  const { yamlErrorHint } = await import("../../base/text/yamlpos.ts");
  const lc = new LineCounter();
  const { nestingProblem, lineColumn, isStackOverflow } = await import("../../base/text/yamlguard.ts");
  const deep = nestingProblem(text, (at) => `${file}:${lineColumn(text, at)}`);
  if (deep) throw usageError(deep);
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const msg = e.message.split("\n")[0].replace(/ at line.*$/, "");
    throw usageError(
      `${positioned(file, lc, e.pos?.[0])}: invalid YAML: ${
        isStackOverflow(msg) ? "collections nest too deeply" : msg
      }`,
      yamlErrorHint(msg, text, e.pos?.[0]),
    );
  }
  return { doc, lc, data: doc.toJS({ maxAliasCount: 100 }) as unknown };
}

/** The `templates:` mapping of a config file (user or repository). */
async function fromConfigFile(file: string, text: string, source: TemplateSource, base: string) {
  const { doc, lc, data } = await parseYaml(file, text);
  const all = (data as Record<string, unknown> | null)?.templates;
  if (all === undefined || all === null) return [];
  if (typeof all !== "object" || Array.isArray(all)) {
    const { nodeOffset } = await import("../../base/text/yamlpos.ts");
    throw usageError(
      `${
        positioned(file, lc, nodeOffset(doc.contents, ["templates"]))
      }: templates must be a mapping of names`,
    );
  }
  const out: Template[] = [];
  for (const [name, body] of Object.entries(all as Record<string, unknown>)) {
    checkName(name, () => positioned(file, lc, undefined));
    const t = await checkTemplate(body, { file, name, doc, lc, path: ["templates", name] });
    if (source === "repo") {
      await checkRepoTemplate(t, { file, name, doc, lc, path: ["templates", name] }, base);
    }
    const { nodeOffset } = await import("../../base/text/yamlpos.ts");
    out.push({
      ...t,
      name,
      source,
      file: positioned(file, lc, nodeOffset(doc.contents, ["templates", name], true)),
      base,
    });
  }
  return out;
}

function checkName(name: string, where: () => string): void {
  if (!NAME_RE.test(name) || name.length > 63) {
    throw usageError(
      `${where()}: invalid template name ${
        JSON.stringify(name)
      }: lowercase letters, digits, '-', '_' and '.'`,
    );
  }
}

/** `.kodama/templates/*.yaml` of the repository: a loader per file (one template each). */
async function templateDirLoaders(root: string): Promise<Loader[]> {
  const dir = join(root, ".kodama", "templates");
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (/\.ya?ml$/.test(e.name) && (e.isFile || e.isSymlink)) names.push(e.name);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return [];
    throw e;
  }
  return names.sort().map((f) => ({
    file: join(dir, f),
    load: () => templateFile(join(dir, f), root),
  }));
}

/** One template file of a repository (`.kodama/templates/NAME.yaml`): its name is the file's. */
export async function templateFile(file: string, root: string): Promise<Template[]> {
  const text = await readRepoFile(root, file, {
    what: "template",
    kind: "config",
    display: displayPath(file),
  });
  const name = file.replace(/^.*[\\/]/, "").replace(/\.ya?ml$/, "");
  checkName(name, () => displayPath(file));
  const { doc, lc, data } = await parseYaml(file, text);
  const t = await checkTemplate(data, { file, name, doc, lc, path: [] });
  await checkRepoTemplate(t, { file, name, doc, lc, path: [] }, root);
  return [{ ...t, name, source: "repo", file: displayPath(file), base: root }];
}

export interface TemplateSet {
  /** first match wins: repository files, the repository's .kodama.yaml, the user's config, built-in */
  templates: Template[];
  /** templates hidden by one of the same name found earlier */
  shadowed: Template[];
}

export interface TemplateWhere {
  cwd: string;
  home?: string;
}

interface Loader {
  file: string;
  load: () => Promise<Template[]>;
}

/** Where templates come from, nearest first, each a loader (validate runs them all, reporting each). */
async function loaders(w: TemplateWhere): Promise<Loader[]> {
  const repo = await findRepo(w.cwd);
  const root = repo.gitRoot ?? (repo.configFile ? resolve(repo.configFile, "..") : w.cwd);
  const out: Loader[] = [...await templateDirLoaders(root)];
  if (repo.configFile) {
    const file = repo.configFile;
    out.push({
      file,
      load: async () =>
        await fromConfigFile(
          file,
          await readRepoFile(root, file, { what: "config file", kind: "config", display: displayPath(file) }),
          "repo",
          root,
        ),
    });
  }
  const global = globalConfigPath(w.home);
  out.push({
    file: global,
    load: async () => {
      let text: string;
      try {
        text = await readTextBounded(global, {
          what: "config file",
          kind: "config",
          display: displayPath(global),
        });
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return [];
        throw e;
      }
      return await fromConfigFile(global, text, "user", w.cwd);
    },
  });
  out.push({
    file: "devcontainer.json",
    load: async () => {
      const dc = await (await import("./devcontainer.ts")).devcontainerTemplate(root);
      return dc ? [dc] : [];
    },
  });
  out.push({ file: "built-in", load: () => Promise.resolve(BUILT_IN) });
  return out;
}

function firstWins(found: Template[]): TemplateSet {
  const seen = new Set<string>();
  const templates: Template[] = [];
  const shadowed: Template[] = [];
  for (const t of found) {
    if (seen.has(t.name)) shadowed.push(t);
    else {
      seen.add(t.name);
      templates.push(t);
    }
  }
  return { templates, shadowed };
}

/** Every template visible from `cwd`; the first invalid one is an error (exit 2) with its position. */
export async function loadTemplates(w: TemplateWhere): Promise<TemplateSet> {
  const found: Template[] = [];
  for (const l of await loaders(w)) found.push(...await l.load());
  return firstWins(found);
}

/** Every template source checked: the valid templates, and one line per problem (file:line:col: …). */
export async function validateTemplates(
  w: TemplateWhere,
): Promise<TemplateSet & { problems: string[]; checked: number }> {
  const found: Template[] = [];
  const problems: string[] = [];
  let checked = 0;
  for (const l of await loaders(w)) {
    try {
      const ts = await l.load();
      found.push(...ts);
      checked += ts.length;
    } catch (e) {
      if (!(e instanceof KodamaError)) throw e;
      problems.push(e.message);
      checked++;
    }
  }
  return { ...firstWins(found), problems, checked };
}

/** The templates of some files (a `templates:` config file, a template file, a devcontainer.json). */
export async function templatesOfFile(file: string, cwd: string): Promise<Template[]> {
  const path = resolve(cwd, file);
  if (/\.json$/.test(path)) {
    const { devcontainerFile } = await import("./devcontainer.ts");
    return [await devcontainerFile(path, cwd)];
  }
  const text = await readTextBounded(path, { what: "template file", kind: "config", display: file });
  const { data } = await parseYaml(path, text);
  if (data && typeof data === "object" && "templates" in data) {
    return await fromConfigFile(path, text, "repo", cwd);
  }
  const repo = await findRepo(resolve(path, ".."));
  return await templateFile(path, repo.gitRoot ?? resolve(path, ".."));
}

/** One template by name: exit 3 naming the ones there are. */
export async function findTemplate(name: string, w: TemplateWhere): Promise<Template> {
  const set = await loadTemplates(w);
  const t = set.templates.find((t) => t.name === name);
  if (t) return t;
  throw new KodamaError(
    `template ${quote(name)} not found`,
    ExitCode.NOT_FOUND,
    `templates here: ${set.templates.map((t) => t.name).join(", ")} (\`kodama template list\`)`,
  );
}

/** A template's env file, as `start` reads it: a repository's must lead inside the repository. */
export function templateEnvFile(t: Template, p: string): { path: string; root?: string } {
  const base = t.base ?? ".";
  const path = isAbsolute(p) ? p : resolve(base, p);
  return t.source === "repo" ? { path, root: base } : { path };
}

/** What a template gives `start`; a flag given on the command line wins over it. */
export interface TemplateStart {
  image?: string;
  cpu?: string;
  memory?: string;
  storage?: string;
  storageClass?: string;
  homeStorage?: string;
  syncMode?: string;
  noSync?: boolean;
  sync?: string;
  runAsUser?: number;
  templateScheduling?: import("./placement.ts").TemplateScheduling;
}

/** The start options with the template's values where no flag was given (pure). */
export function withTemplate<O extends TemplateStart>(o: O, t: Template): O {
  const pick = <K extends keyof TemplateStart>(k: K, v: TemplateStart[K] | undefined) =>
    o[k] === undefined && v !== undefined ? { [k]: v } : {};
  return {
    ...o,
    ...pick("image", t.image),
    ...pick("cpu", t.resources?.cpu),
    ...pick("memory", t.resources?.memory),
    ...pick("storage", t.storage?.workspace),
    ...pick("storageClass", t.storage?.storageClass),
    ...pick("homeStorage", t.storage?.claudeHome),
    ...pick("syncMode", t.sync?.mode),
    ...pick("runAsUser", t.runAsUser),
    ...templateScheduling(t),
    // sync.enabled false: no sync unless --sync asks for it
    ...(t.sync?.enabled === false && o.sync === undefined ? { noSync: true } : {}),
  };
}

/** A template's requests, devices, placement and credentials, for placement.ts (which checks them). */
function templateScheduling(t: Template): Pick<TemplateStart, "templateScheduling"> {
  const s = t.scheduling ?? {};
  const input = {
    ...s,
    cpuRequest: t.resources?.cpuRequest,
    memoryRequest: t.resources?.memoryRequest,
  };
  const any = Object.values(input).some((v) => v !== undefined) || t.serviceAccount !== undefined;
  return any
    ? {
      templateScheduling: {
        name: t.name,
        source: t.source,
        input,
        ...(t.serviceAccount !== undefined ? { serviceAccount: t.serviceAccount } : {}),
      },
    }
    : {};
}

/** The recorded settings a template adds to the session (pure). */
export function templateSettings(t: Template) {
  const vars = Object.fromEntries(
    Object.entries(t.env?.vars ?? {}).filter(([k]) => k !== "HOME" && !k.startsWith("KODAMA_")),
  );
  return {
    template: t.name,
    ...(t.sidecars?.length ? { sidecars: t.sidecars } : {}),
    ...(t.init !== undefined ? { init: t.init } : {}),
    ...(t.agent?.command ? { agentCommand: t.agent.command } : {}),
    ...(t.ports?.length ? { ports: t.ports } : {}),
    ...(t.labels && Object.keys(t.labels).length ? { labels: t.labels } : {}),
    ...(Object.keys(vars).length ? { vars } : {}),
    ...(t.sync?.exclude?.length ? { syncExclude: t.sync.exclude } : {}),
  };
}

/** `--sidecar NAME=IMAGE[,port=N]…` as a sidecar (exit 2 with the flag's form when it is not one). */
export function parseSidecarFlag(v: string): Sidecar {
  const m = /^([^=,]+)=([^,]+)((?:,[^,]*)*)$/.exec(v.trim());
  const bad = (why: string) =>
    usageError(`invalid --sidecar ${quote(v)}: ${why}`, "e.g. --sidecar db=postgres:16,port=5432");
  if (!m) throw bad("expected NAME=IMAGE[,port=N]");
  const ports: number[] = [];
  for (const opt of m[3].split(",").filter(Boolean)) {
    const p = /^port=(\d+)$/.exec(opt);
    if (!p) throw bad(`unknown option "${opt}" (only port=N)`);
    ports.push(Number(p[1]));
  }
  const r = sidecarSchema.safeParse({ name: m[1], image: m[2], ...(ports.length ? { ports } : {}) });
  if (!r.success) throw bad(`${r.error.issues[0].path.join(".")}: ${r.error.issues[0].message}`);
  return r.data;
}

/** A template as `template show` prints it (and `start` shows a repository's): YAML of its settings. */
export async function describeTemplate(t: Template): Promise<string> {
  const { name: _n, source: _s, file: _f, base: _b, ignored: _i, ...body } = t;
  const { stringify } = await import("yaml");
  return Object.keys(body).length ? stringify(body).trimEnd() : "{}";
}
