/**
 * A repository's `devcontainer.json` read as the template `devcontainer` (many repositories already have
 * one): `image`, `containerEnv` (and `remoteEnv`), `onCreateCommand` + `postCreateCommand` (the init
 * command), `forwardPorts`. What kodama cannot do from it (building a Dockerfile, devcontainer features)
 * is said, not silently skipped. It is repository content: held to the repository's template rules.
 */
import { join } from "node:path";
import { readRepoFile } from "../../config/confine.ts";
import { displayPath } from "../../config/paths.ts";
import { usageError } from "../../base/errors.ts";
import { shellQuote } from "../../base/text/escape.ts";
import type { Template } from "./template.ts";

export const DEVCONTAINER_FILES = [".devcontainer/devcontainer.json", ".devcontainer.json"];

/** A lifecycle command (string: a shell line; list: argv; object: several, run one after another). */
export function lifecycleCommand(v: unknown): string | undefined {
  if (typeof v === "string") return v.trim() || undefined;
  if (Array.isArray(v)) return v.length ? v.map((a) => shellQuote(String(a))).join(" ") : undefined;
  if (v && typeof v === "object") {
    const parts = Object.values(v).map(lifecycleCommand).filter((c): c is string => !!c);
    return parts.length ? parts.map((p) => `(${p})`).join(" && ") : undefined;
  }
  return undefined;
}

/** The template of a parsed devcontainer.json (pure), and what of it kodama does not use. */
export function fromDevcontainer(
  data: Record<string, unknown>,
  file: string,
): { template: Omit<Template, "source" | "base">; ignored: string[] } {
  const ignored: string[] = [];
  const image = typeof data.image === "string" ? data.image : undefined;
  if (!image) {
    throw usageError(
      `${file}: devcontainer.json has no "image"${
        data.build || data.dockerFile || data.dockerComposeFile
          ? " (it builds one: kodama cannot build images)"
          : ""
      }`,
      'add "image": "…" (an image your nodes can pull), or use another template (`kodama template list`)',
    );
  }
  if (data.features && typeof data.features === "object" && Object.keys(data.features).length) {
    ignored.push(`features (${Object.keys(data.features).join(", ")}): use an image that has them`);
  }
  const env: Record<string, string> = {};
  for (const key of ["containerEnv", "remoteEnv"]) {
    const m = data[key];
    if (m && typeof m === "object") {
      for (const [k, v] of Object.entries(m)) {
        if (typeof v === "string" && !/\$\{/.test(v)) env[k] = v;
        else ignored.push(`${key}.${k} (a \${…} reference or not a string)`);
      }
    }
  }
  const init = [lifecycleCommand(data.onCreateCommand), lifecycleCommand(data.postCreateCommand)]
    .filter((c): c is string => !!c);
  const ports = (Array.isArray(data.forwardPorts) ? data.forwardPorts : []).flatMap((p) => {
    const n = typeof p === "number" ? p : typeof p === "string" && /^\d+$/.test(p) ? Number(p) : NaN;
    if (Number.isInteger(n) && n > 0 && n < 65536) return [n];
    ignored.push(`forwardPorts ${JSON.stringify(p)} (only this pod's ports are forwarded)`);
    return [];
  });
  return {
    template: {
      name: "devcontainer",
      description: `${
        typeof data.name === "string" ? `${data.name} ` : ""
      }(the repository's devcontainer.json)`,
      image,
      ...(Object.keys(env).length ? { env: { vars: env } } : {}),
      ...(init.length ? { init: init.length === 1 ? init[0] : init.map((c) => `(${c})`).join(" && ") } : {}),
      ...(ports.length ? { ports } : {}),
      file,
    },
    ignored,
  };
}

/** The repository's devcontainer.json as a template, or undefined when it has none. */
export async function devcontainerTemplate(root: string): Promise<Template | undefined> {
  for (const rel of DEVCONTAINER_FILES) {
    try {
      return await devcontainerFile(join(root, rel), root);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) continue;
      throw e;
    }
  }
  return undefined;
}

/** One devcontainer.json (of the repository at `root`) as the template `devcontainer`. */
export async function devcontainerFile(path: string, root: string): Promise<Template> {
  const text = await readRepoFile(root, path, {
    what: "devcontainer.json",
    kind: "config",
    display: displayPath(path),
  });
  const [{ parse, printParseErrorCode }, { nestingProblem, lineColumn, isStackOverflow }] = await Promise.all(
    [
      import("jsonc-parser"),
      import("../../base/text/yamlguard.ts"),
    ],
  );
  // jsonc-parser parses by recursion: nesting past what a devcontainer.json needs is refused first
  const deep = nestingProblem(text, (at) => `${displayPath(path)}:${lineColumn(text, at)}`);
  if (deep) throw usageError(`${deep}: not a devcontainer.json kodama reads`);
  const errors: import("jsonc-parser").ParseError[] = [];
  let data: unknown;
  try {
    data = parse(text, errors, { allowTrailingComma: true });
  } catch (e) {
    if (isStackOverflow(e)) {
      throw usageError(`${displayPath(path)}: devcontainer.json nests too deeply to read`);
    }
    throw e;
  }
  if (errors.length) {
    const e = errors[0];
    const before = text.slice(0, e.offset).split("\n");
    throw usageError(
      `${displayPath(path)}:${before.length}:${before.at(-1)!.length + 1}: invalid devcontainer.json: ${
        printParseErrorCode(e.error)
      }`,
    );
  }
  if (!data || typeof data !== "object" || Array.isArray(data)) {
    throw usageError(`${displayPath(path)}: devcontainer.json must be an object`);
  }
  const { template, ignored } = fromDevcontainer(data as Record<string, unknown>, displayPath(path));
  const { templateSchema } = await import("./template.ts");
  const { name: _n, file: _f, ...body } = template;
  const r = templateSchema.safeParse(body);
  if (!r.success) {
    const i = r.error.issues[0];
    throw usageError(`${displayPath(path)}: ${i.path.join(".")}: ${i.message}`);
  }
  return { ...template, source: "repo", base: root, ...(ignored.length ? { ignored } : {}) };
}
