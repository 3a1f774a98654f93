/**
 * Doors: the front ends through which someone who is not the person at the keyboard hands kodama local
 * paths — an MCP client (`kodama mcp`: a coding agent, possibly steered by what it read), a page of the
 * web UI (`kodama ui`). What comes through a door gets no more than a repository gets (docs/security.md,
 * "One rule, every door"): every local path it names (sync roots, env files, a repository to clone, the
 * call's `cwd`, a workflow step's local path) is checked here, after resolving links (the real path of its
 * longest existing prefix), and must lead
 *
 * - inside the project directory the server was started for (its git root, else that directory), or
 *   inside a path the person granted on the server's command line (`--allow-path DIR`);
 * - never to kodama's state (`$KODAMA_HOME`) or a directory that holds it, the home directory itself or a
 *   directory that holds it, a hidden file or directory of the home (`~/.ssh`, `~/.aws`, `~/.bashrc`),
 *   a kubeconfig, `/proc`, `/dev/fd` or the terminal — not even when granted.
 *
 * A refusal is exit 4 naming the path, where it leads, and the flag that grants it.
 */
import { ExitCode, KodamaError, usageError } from "../base/errors.ts";
import { isAbsolute, resolve } from "../base/fs/fspath.ts";
import { homeDirs, hostPlatform, privateSystemPaths, splitPathList } from "../base/platform.ts";
import { isWithin, whereTo } from "./confine.ts";
import { findRepo, kodamaHome } from "./paths.ts";
import type { Grant } from "../base/fs/gitpaths.ts";

export interface DoorOptions {
  /** who hands the paths in, for messages: "an MCP client", "the web UI" */
  who: string;
  /** the directory the server was started in */
  started: string;
  /** paths the person granted (`--allow-path`), as given */
  allow: string[];
  /** the flag that grants a path, as the person types it: "kodama mcp --allow-path DIR" */
  flag: string;
}

interface Root {
  shown: string;
  real: string;
}

async function real(p: string): Promise<string> {
  return (await whereTo(p)).real;
}

/** Both spellings of each path (as written and real), so a link on either side does not hide it. */
async function both(paths: string[]): Promise<string[]> {
  const out = new Set<string>();
  for (const p of paths) {
    out.add(resolve(p));
    out.add(await real(p));
  }
  return [...out];
}

/**
 * Why no door may hand over `paths` (as written and real), or undefined. `homes` and `state` are real and
 * written spellings of the home directories and $KODAMA_HOME.
 */
export function forbidden(
  paths: string[],
  g: { homes: string[]; state: string[]; kubeconfigs: string[]; system: [string, string][] },
): string | undefined {
  for (const p of paths) {
    for (const s of g.state) {
      if (isWithin(s, p)) {
        return "is kodama's own state ($KODAMA_HOME: trust store, home workflows, sessions)";
      }
      if (isWithin(p, s)) return `holds kodama's own state (${s})`;
    }
    for (const h of g.homes) {
      if (p === h) return "is your home directory";
      if (isWithin(p, h)) return `holds your home directory (${h})`;
      if (isWithin(h, p)) {
        const first = p.slice(h.length).replace(/^[\\/]+/, "").split(/[\\/]/)[0];
        if (first.startsWith(".")) {
          return "is a hidden file or directory of your home (like ~/.ssh, ~/.aws, ~/.config, ~/.bashrc)";
        }
      }
    }
    for (const k of g.kubeconfigs) if (p === k) return "is a kubeconfig file";
    for (const [s, why] of g.system) if (isWithin(s, p)) return `is ${why}`;
  }
  return undefined;
}

/**
 * How a refusal names a path (`p` as given, `abs` resolved, `real` where it leads), each spelling once: the
 * path as given unless `what` names it already (`repository "/x"`, `repository "file:///x"`), then where it leads when no spelling
 * so far says it (a link followed, a relative path). Pure.
 */
export function refusedName(what: string, p: string, abs: string, real: string): string {
  const given = JSON.stringify(p);
  const named = what.includes(given) || (isAbsolute(p) && what.includes(p));
  const said = named ? what : `${what} ${given}`;
  const leads = real !== abs || (said === what && !isAbsolute(p));
  return leads && !said.includes(JSON.stringify(real)) && !said.includes(`(${real})`) && real !== p
    ? `${said} (${real})`
    : said;
}

export class Door {
  private constructor(
    readonly o: DoorOptions,
    /** the project root (undefined when the server was started in the home directory or above it) */
    readonly project: Root | undefined,
    readonly granted: Root[],
    private readonly guards: Parameters<typeof forbidden>[1],
    /** why the started directory is no root, for refusals */
    private readonly noProject?: string,
  ) {}

  /**
   * The door of a server started in `o.started`. A granted path that is itself never grantable is a usage
   * error (exit 2) naming it.
   */
  static async open(o: DoorOptions): Promise<Door> {
    const p = hostPlatform();
    const guards = {
      homes: await both(homeDirs(p)),
      state: await both([kodamaHome()]),
      kubeconfigs: await both([
        ...homeDirs(p).map((h) => p.path.join(h, ".kube", "config")),
        ...splitPathList(p.env("KUBECONFIG"), p),
      ]),
      system: privateSystemPaths(p),
    };
    const granted: Root[] = [];
    for (const a of o.allow) {
      const shown = resolve(o.started, a);
      const why = forbidden(await both([shown]), guards);
      if (why) {
        throw usageError(
          `--allow-path ${a}: ${shown} ${why}`,
          "grant a project directory; kodama's state, your home and its hidden files are never granted",
        );
      }
      granted.push({ shown, real: await real(shown) });
    }
    const repo = await findRepo(o.started);
    const projectDir = repo.gitRoot ?? resolve(o.started);
    const why = forbidden(await both([projectDir]), guards);
    const project = why ? undefined : { shown: projectDir, real: await real(projectDir) };
    return new Door(o, project, granted, guards, why && `${projectDir} ${why}, so it is no project root`);
  }

  /** Who is behind the door, for messages. */
  get who(): string {
    return this.o.who;
  }

  /** The roots a path may lead into. */
  get roots(): Root[] {
    return [...(this.project ? [this.project] : []), ...this.granted];
  }

  /**
   * Where `p` (relative to `base`, default the project directory) really leads, when the door lets it
   * through; else exit 4 naming `what`, the path, where it leads and the flag that grants it (with `grant`:
   * the directory to grant and why it is needed, as for a linked work tree's main repository).
   */
  async path(p: string, what: string, base?: string, grant?: Grant): Promise<string> {
    const from = base ?? this.project?.shown ?? resolve(this.o.started);
    const abs = isAbsolute(p) ? resolve(p) : resolve(from, p);
    const to = await whereTo(abs);
    const shown = refusedName(what, p, abs, to.real);
    const refuse = (why: string, hint: string): never => {
      throw new KodamaError(`${shown} ${why}`, ExitCode.FORBIDDEN, hint);
    };
    if (to.dangling) refuse("is a symlink that points at nothing", "name an existing path");
    const why = forbidden([abs, to.real], this.guards);
    if (why) {
      refuse(
        `${why}: ${this.o.who} is never given it`,
        "kodama's state, your home directory and its hidden files are never handed to an agent or a page, whatever is granted",
      );
    }
    if (this.roots.some((r) => isWithin(r.real, to.real))) return to.real;
    const where = this.project
      ? `outside the project ${this.project.shown} (where it was started)`
      : `outside the paths granted (${this.noProject})`;
    const also = this.granted.length ? ` and the granted ${this.granted.map((g) => g.shown).join(", ")}` : "";
    return refuse(
      `leads ${where}${also}`,
      grant
        ? `${grant.why}: the person grants it by starting the server with \`${this.o.flag} ${grant.dir}\``
        : `the person grants a directory by starting it with \`${this.o.flag} DIR\``,
    );
  }

  /**
   * A workflow the client names: a name as discovery lists it (`workflows_list`, the Workflows page), never
   * a path or a file name — `kodama run` reads a path-like name (`x.yaml`, `a/b`) as a file anywhere on
   * disk, which would tell whoever holds the door whether a file exists and what keys its YAML has, and run
   * its cluster steps. A file by its path is run from a terminal. Exit 2 otherwise, the same for every path.
   */
  workflowName(name: string): string {
    if (/^[A-Za-z0-9][-A-Za-z0-9_.]*$/.test(name) && !/\.ya?ml$/i.test(name)) return name;
    throw usageError(
      `not a workflow name: ${
        JSON.stringify(name)
      }: ${this.o.who} runs workflows by the names they are listed under, never a file by its path`,
      "list them with workflows_list (kodama workflow list); a workflow file is run by path from a terminal: kodama run ./x.yaml",
    );
  }

  /** The call's working directory (default: where the server was started), let through like any path. */
  async cwd(p: string | undefined, what = "cwd"): Promise<string> {
    return await this.path(p ?? this.o.started, what);
  }
}
