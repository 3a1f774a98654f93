/**
 * `session pr NAME` of a session with several repositories (src/session/git/repos.ts): one request per written
 * repository, each on its own forge, linked to each other. In order:
 *
 *  1. every written repository (read-only ones never): its local clone where `start` recorded it
 *     (fetchrepos.ts repoRoot), its push remote and forge — two pushing to the same forge repository are
 *     refused (one would push over the other) — then its token (each forge its own: forgeToken), checked with
 *     the API, and its open request of `kodama/NAME`; all of them before anything is pushed anywhere (a
 *     refused token is exit 4, nothing pushed);
 *  2. for each one asked (all, or `--repo R`): the pod's repository fetched into `kodama/NAME` of its clone
 *     (fetch.ts fetchInto, its one repository), pushed, and its request opened or updated, its description
 *     listing the session's other requests (linked.ts);
 *  3. every request of the session whose list is not the whole set now (one opened later than another, a
 *     request of a repository not asked) re-linked: its description's section replaced, the rest left as it
 *     is — one update each, so no description is ever half written.
 *
 * A failure in one repository stops there: what was opened is re-linked and reported, the failure said
 * (exit 1; its own code when nothing was opened). All local git runs in door git (doorgit.ts), each
 * repository in its own. Through a door (MCP, the web UI) each recorded repository must pass the caller's door
 * (its path and every place git keeps it: gitrun.ts repoThroughDoor) and push to a forge of the user's
 * `forge.hosts` (prdoor.ts checkDoorForge), all checked in step 1: a refusal is exit 4, nothing pushed.
 */
import type { KubeSessions } from "../../kube/seam.ts";
import { ExitCode, KodamaError, notFound, usageError } from "../../base/errors.ts";
import { quote } from "../../base/text/escape.ts";
import { specOf } from "../../session/spec/spec.ts";
import type { StateRepo } from "../../session/state/state.ts";
import type { SessionRepo } from "../../session/git/repos.ts";
import { safeLine } from "../../ui/color.ts";
import { type ForgeApi, forgeApi, type ForgeCall, forgeCall, type PullRequest } from "./api.ts";
import { defaultTitle, prBody, type RunFacts } from "./body.ts";
import { forgeOf, type ForgeRepo } from "./forgeurl.ts";
import { currentSection, type LinkedRequest, linkedSection, requestWord, withLinked } from "./linked.ts";
import { forgeToken, latestRun, type PrOptions, startBranch, writeRequest } from "./prparts.ts";
import { checkDoorForge, prPod } from "./prdoor.ts";
import { repoThroughDoor } from "../../session/git/gitrun.ts";

/** One written repository, checked: where it is here, where it goes, its forge's API and open request. */
export interface Side {
  repo: StateRepo;
  root: string;
  url: string;
  forge: ForgeRepo;
  api: ForgeApi;
  call: ForgeCall;
  token: string;
  defaultBranch?: string;
  /** its open request of kodama/NAME (found before anything is pushed, or written by this call) */
  pr?: PullRequest;
  /** the description this call wrote, without its section (undefined: it left the description as it was) */
  fresh?: string;
}

/** One request this call opened or updated (`-o json`: an array of these). */
export interface RepoPrResult {
  repository: string;
  url: string;
  number: number;
  action: "opened" | "updated";
}

/** The error of one repository, named (`session pr: repository api: …`). */
function named(e: unknown, repo: string): unknown {
  if (!(e instanceof KodamaError)) return e;
  const msg = e.message.startsWith("session pr: ")
    ? e.message.replace(/^session pr: /, `session pr: repository ${repo}: `)
    : `session pr: repository ${repo}: ${e.message}`;
  return new KodamaError(msg, e.code, e.hint, { cause: e });
}

/** The repositories `--repo R` asks for (all written ones without it): exit 3 for no such one, 2 read-only. */
export function asked(repos: StateRepo[], only?: string): StateRepo[] {
  const written = repos.filter((r) => !r.readOnly);
  if (only === undefined) return written;
  const hit = repos.find((r) => r.name === only);
  const oneOf = `one of: ${written.map((r) => r.name).join(", ")}`;
  if (!hit) {
    throw notFound(
      `session pr: --repo ${quote(only.slice(0, 80))}: no such repository in the session`,
      oneOf,
    );
  }
  if (hit.readOnly) throw usageError(`session pr: --repo ${hit.name}: that repository is read-only`, oneOf);
  return [hit];
}

/** What another request's description lists of this side's request. */
const linkOf = (s: Side): LinkedRequest => ({
  repository: s.repo.name,
  forge: s.forge.type,
  host: s.forge.host,
  path: s.forge.path,
  number: s.pr!.number,
  url: s.pr!.url,
});

/** `session pr NAME` of a session with several repositories; prints one line per request, or a JSON array. */
export async function prRepos(
  kube: KubeSessions,
  name: string,
  repos: StateRepo[],
  o: PrOptions,
): Promise<number> {
  const todo = asked(repos, o.repo);
  const written = repos.filter((r) => !r.readOnly);
  if (!written.length) {
    throw usageError(`session pr: session ${name}'s repositories are all read-only: nothing to push`);
  }
  const branch = `kodama/${name}`;
  // 1. every written repository's forge and token, checked, before anything is pushed anywhere; through a
  // door, its recorded path and every place git keeps it pass the door, its forge is one of forge.hosts
  const located: Pick<Side, "repo" | "root" | "url" | "forge">[] = [];
  for (const r of written) {
    located.push(
      await (async () => {
        if (o.door) await repoThroughDoor(o.door, r.path, `repository ${r.name}`);
        const l = await locate(r, o);
        if (o.door) checkDoorForge(l.forge, o.hosts);
        return l;
      })().catch((e) => Promise.reject(named(e, r.name))),
    );
  }
  const shared = sharedRemote(located);
  if (shared) {
    throw usageError(
      `session pr: repositories ${shared[0]} and ${shared[1]} push to the same forge repository ` +
        `(${located.find((l) => l.repo.name === shared[1])!.forge.webUrl}): one would push over the other`,
      "give each its own remote (git remote set-url origin URL in its clone); nothing was pushed",
    );
  }
  const sides: Side[] = [];
  for (const l of located) {
    sides.push(await authorize(l, branch, o).catch((e) => Promise.reject(named(e, l.repo.name))));
  }
  const pod = await prPod(kube, kube.namespace, name);
  const w: Writing = {
    kube,
    name,
    branch,
    sides,
    secrets: sides.map((s) => s.token),
    facts: await latestRun(kube, pod),
    specRepos: specOf(pod)?.repos ?? [],
    o,
  };
  const results: RepoPrResult[] = [];
  let failure: { e: unknown } | undefined;
  // 2. each asked repository: fetched, pushed, its request written with the others known so far
  for (const r of todo) {
    try {
      results.push(await writeOne(w, sides.find((s) => s.repo.name === r.name)!));
    } catch (e) {
      failure = { e: named(e, r.name) };
      break;
    }
  }
  // 3. every request whose list is not the whole set now: its section replaced (one update each)
  const relinkFailed = await relink(name, sides, o);
  print(o, results, sides);
  if (failure) {
    const { e } = failure;
    if (!results.length) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    throw new KodamaError(
      `${msg.split("\n")[0]}; opened or updated before it: ${results.map((x) => x.repository).join(", ")}`,
      ExitCode.FAILED,
      e instanceof KodamaError ? e.hint : undefined,
    );
  }
  if (relinkFailed.length) {
    throw new KodamaError(
      `session pr: the list of the session's requests could not be written into ${relinkFailed.join("; ")}`,
      ExitCode.FAILED,
      `run kodama session pr ${name} again`,
    );
  }
  return ExitCode.OK;
}

/** What writing each repository's request needs. */
interface Writing {
  kube: KubeSessions;
  name: string;
  branch: string;
  sides: Side[];
  secrets: string[];
  facts?: RunFacts;
  specRepos: SessionRepo[];
  o: PrOptions;
}

/**
 * One repository: the pod's branch fetched into kodama/NAME of its clone (door git), pushed, and its request
 * opened or updated, its description listing the session's other requests known so far.
 */
async function writeOne(w: Writing, side: Side): Promise<RepoPrResult> {
  const [{ withDoorGit }, { fetchInto }, { pushCommit }] = await Promise.all([
    import("../../session/git/doorgit.ts"),
    import("../../session/git/fetch.ts"),
    import("../../session/git/push.ts"),
  ]);
  const { kube, name, branch, o } = w;
  const r = side.repo;
  const { base, head } = await withDoorGit(side.root, async () => {
    const fetched = await fetchInto(kube, kube.namespace, name, {
      root: side.root,
      local: branch,
      repo: r.name,
      move: {
        force: o.force,
        elsewhere: `rename it (git -C ${side.root} branch -m ${branch} NEW) and run it again`,
        forceWith: `kodama session pr ${name} --force`,
      },
    });
    // the branch this repository started from, else its forge's default (an open request keeps its own)
    const base = o.base ?? startBranch(w.specRepos.find((x) => x.name === r.name)?.git.base) ??
      side.defaultBranch;
    if (!base && !side.pr) {
      throw usageError(
        `session pr: ${side.forge.host} did not say ${side.forge.path}'s default branch`,
        "give --base BRANCH",
      );
    }
    await pushCommit(side.root, {
      url: side.url,
      commit: fetched.h.head,
      branch,
      force: o.force,
      forceWith: `kodama session pr ${name} --force`,
    });
    o.err.write(`pushed ${r.name} ${fetched.h.head.slice(0, 12)} to ${side.forge.webUrl} as ${branch}\n`);
    return { base: base ?? "", head: fetched.h.head };
  });
  const fresh = prBody({ session: name, branch, run: w.facts, secrets: w.secrets });
  const body = withLinked(fresh, linkedSection(name, w.sides.filter((s) => s !== side && s.pr).map(linkOf)));
  const opened = !side.pr;
  side.pr = await writeRequest(side.api, side.forge, {
    open: side.pr,
    branch,
    base,
    body,
    title: defaultTitle(name, w.facts?.prompt),
  }, { ...o, secrets: w.secrets });
  side.fresh = fresh;
  side.pr.body = body;
  await answer(w, side, head);
  return {
    repository: r.name,
    url: side.pr.url,
    number: side.pr.number,
    action: opened ? "opened" : "updated",
  };
}

/** The threads a --from-pr run was given on this repository's request whose file a newer commit changed: answered. */
async function answer(w: Writing, side: Side, head: string): Promise<void> {
  const [{ withDoorGit }, { answerThreadsIn }] = await Promise.all([
    import("../../session/git/doorgit.ts"),
    import("./replies.ts"),
  ]);
  const n = await withDoorGit(side.root, () =>
    answerThreadsIn(w.name, side.repo.name, {
      root: side.root,
      head,
      namespace: w.kube.namespace,
      forge: side.forge,
      number: side.pr!.number,
      call: side.call,
      resolve: w.o.resolve,
      err: w.o.err,
    })).catch((e) => {
      // the request is made: a record that cannot be read or written is said, not a failure
      w.o.err.write(
        `note: no replies on ${side.repo.name}'s review threads: ${
          safeLine((e as Error).message).slice(0, 200)
        }\n`,
      );
      return 0;
    });
  if (n) {
    w.o.err.write(`replied on ${n} review thread${n === 1 ? "" : "s"} of ${side.repo.name} it addressed\n`);
  }
}

/** A written repository's clone, its push remote and the forge it is on (no token yet, nothing asked). */
async function locate(r: StateRepo, o: PrOptions): Promise<Pick<Side, "repo" | "root" | "url" | "forge">> {
  const [{ withDoorGit }, { repoRoot }, { pushRemoteOf }] = await Promise.all([
    import("../../session/git/doorgit.ts"),
    import("../../session/git/fetchrepos.ts"),
    import("../../session/git/push.ts"),
  ]);
  const root = await repoRoot(r, "session pr");
  const { url } = await withDoorGit(root, () => pushRemoteOf(root));
  return { repo: r, root, url, forge: forgeOf(url, o.hosts) };
}

/**
 * Two written repositories that push to the same forge repository (however their remotes spell it: the host
 * without a port, the path in any case): their names, or undefined. Their branches would both be
 * `kodama/NAME` there, one pushed over the other.
 */
export function sharedRemote(
  sides: { repo: { name: string }; forge: ForgeRepo }[],
): [string, string] | undefined {
  const seen = new Map<string, string>();
  for (const s of sides) {
    const key = `${s.forge.host.replace(/:\d+$/, "").toLowerCase()}/${s.forge.path.toLowerCase()}`;
    const other = seen.get(key);
    if (other !== undefined) return [other, s.repo.name];
    seen.set(key, s.repo.name);
  }
  return undefined;
}

/** A located repository's token, checked with its forge's API; its open request of `branch`. */
async function authorize(
  l: Pick<Side, "repo" | "root" | "url" | "forge">,
  branch: string,
  o: PrOptions,
): Promise<Side> {
  const { token, from } = await forgeToken(l.forge, o.env ?? ((n) => Deno.env.get(n)), o.storedGithub);
  const api = forgeApi(l.forge, token, from);
  const repo = await api.repository();
  const pr = await api.openFor(branch);
  return {
    ...l,
    api,
    call: forgeCall(l.forge, token, from),
    token,
    defaultBranch: repo.defaultBranch,
    ...(pr ? { pr } : {}),
  };
}

/**
 * Each request's section made the whole set's (the session's other requests): an update only where it is
 * not already. Returns the repositories whose update failed (said, not thrown: the others are written).
 */
export async function relink(name: string, sides: Side[], o: PrOptions): Promise<string[]> {
  const failed: string[] = [];
  for (const side of sides) {
    if (!side.pr) continue;
    const want = linkedSection(name, sides.filter((s) => s !== side && s.pr).map(linkOf));
    const body = side.pr.body;
    // a description the forge did not give is never rewritten from nothing
    if (side.fresh === undefined && body === undefined) {
      failed.push(`${side.repo.name} (the forge gave no description to add the list to)`);
      continue;
    }
    if (currentSection(body ?? "") === want) continue;
    try {
      const next = withLinked(side.fresh ?? body ?? "", want);
      side.pr = { ...await side.api.update(side.pr.number, { body: next }), body: next };
    } catch (e) {
      failed.push(`${side.repo.name} (${safeLine((e as Error).message).slice(0, 200)})`);
      o.err.write(`note: ${side.repo.name}'s request does not list all the others yet\n`);
    }
  }
  return failed;
}

function print(o: PrOptions, results: RepoPrResult[], sides: Side[]): void {
  if (o.output === "json") {
    o.out.write(JSON.stringify(results) + "\n");
    return;
  }
  for (const r of results) {
    const side = sides.find((s) => s.repo.name === r.repository)!;
    o.out.write(
      `${r.repository}: ${requestWord(side.forge.type, r.number)}: ${safeLine(r.url)} (${r.action})\n`,
    );
  }
}
