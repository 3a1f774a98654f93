/**
 * The threads a `--from-pr` run was given, and `session pr`'s replies on them. After the feedback run starts,
 * `~/.kodama/sessions/NAME.forge.json` (0600, written atomically) records, per thread that had a file: its
 * id, file and line, and the commit `kodama/NAME` was at in the local clone (what the reviewers saw). No
 * comment text, no token, no URL: the forge is the record's host and path. A later `session pr NAME`, after
 * it pushed, looks for each recorded thread's file among the files the commits since that commit changed
 * (`git log BASE..HEAD`, door git); for each one found it replies "Addressed in <sha>: <the newest such
 * commit's subject>" on the thread (review.ts replyOn) and forgets the thread. A thread whose file no commit
 * changed stays recorded for the next `session pr`. A session with several repositories records one entry
 * per repository in the same file (version 2: recordHandedRepos), each thread's file inside its repository.
 */
import { join } from "../../base/fs/fspath.ts";
import { acquireLock, atomicWrite } from "../../config/atomic.ts";
import type { Sink } from "../../base/sink.ts";
import { sessionsDir } from "../../session/state/state.ts";
import { checkSessionName } from "../../session/spec/names.ts";
import { localGit } from "../../session/git/gitrun.ts";
import { safeLine } from "../../ui/color.ts";
import type { ForgeCall } from "./api.ts";
import type { ForgeRepo } from "./forgeurl.ts";
import { addressedReply, quotedName, type ReviewThread } from "./feedback.ts";
import { replyOn, THREAD_ID } from "./review.ts";

export interface HandedThread {
  id: string;
  file: string;
  line?: number;
  /** the local kodama/NAME commit when the thread was handed over */
  base: string;
}

export interface HandedRecord {
  version: 1;
  namespace: string;
  /** the forge's `host` and repository path (forgeurl.ts ForgeRepo) */
  host: string;
  path: string;
  number: number;
  threads: HandedThread[];
}

const COMMIT = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/** The record's file; the name checked as a session's (a DNS label: never a path). */
export function handedPath(name: string, home?: string): string {
  return join(sessionsDir(home), `${checkSessionName(name)}.forge.json`);
}

/** The record, or undefined when there is none or it is not one kodama wrote (then it is ignored). */
export async function loadHanded(name: string, home?: string): Promise<HandedRecord | undefined> {
  let j: HandedRecord;
  try {
    j = JSON.parse(await Deno.readTextFile(handedPath(name, home)));
  } catch {
    return undefined;
  }
  if (!j || j.version !== 1 || !Array.isArray(j.threads) || !Number.isSafeInteger(j.number)) return undefined;
  const threads = j.threads.filter((t) =>
    t && typeof t.id === "string" && THREAD_ID.test(t.id) && typeof t.file === "string" && t.file &&
    typeof t.base === "string" && COMMIT.test(t.base)
  );
  return { ...j, threads };
}

async function saveHanded(name: string, r: HandedRecord, home?: string): Promise<void> {
  const path = handedPath(name, home);
  await Deno.mkdir(sessionsDir(home), { recursive: true, mode: 0o700 });
  const release = await acquireLock(path);
  try {
    if (!r.threads.length) await Deno.remove(path).catch(() => {});
    else await atomicWrite(path, JSON.stringify(r, null, 2) + "\n");
  } finally {
    await release();
  }
}

/**
 * Record the threads a run was given (those with a file), over what was recorded for the same request
 * (a thread given twice keeps its first base). Another request's record is replaced.
 */
export async function recordHanded(
  name: string,
  at: { namespace: string; forge: ForgeRepo; number: number; base?: string },
  threads: ReviewThread[],
  home?: string,
): Promise<number> {
  if (!at.base || !COMMIT.test(at.base)) return 0;
  const cur = await loadHanded(name, home);
  const same = cur && cur.namespace === at.namespace && cur.host === at.forge.host &&
    cur.path === at.forge.path && cur.number === at.number;
  const kept = same ? cur.threads : [];
  const add = threads
    .filter((t) => t.file && THREAD_ID.test(t.id) && !kept.some((k) => k.id === t.id))
    .map((t) => ({ id: t.id, file: t.file!, ...(t.line ? { line: t.line } : {}), base: at.base! }));
  await saveHanded(name, {
    version: 1,
    namespace: at.namespace,
    host: at.forge.host,
    path: at.forge.path,
    number: at.number,
    threads: [...kept, ...add],
  }, home);
  return add.length;
}

/** Commits of `base..head` (newest first) with the files each changed; undefined when `base` is not here. */
export async function commitsSince(
  root: string,
  base: string,
  head: string,
): Promise<{ sha: string; subject: string; files: string[] }[] | undefined> {
  if (!COMMIT.test(base) || !COMMIT.test(head)) return undefined;
  if (!(await localGit(["cat-file", "-e", `${base}^{commit}`], root)).ok) return undefined;
  const r = await localGit(["log", "-z", "--name-only", "--format=%x01%H%x09%s", `${base}..${head}`], root);
  if (!r.ok) return undefined;
  return r.out.split("\x01").filter(Boolean).map((chunk) => {
    const [header, ...rest] = chunk.split("\0");
    const tab = header.indexOf("\t");
    return {
      sha: tab >= 0 ? header.slice(0, tab) : header,
      subject: tab >= 0 ? header.slice(tab + 1) : "",
      files: rest.map((x) => x.replace(/^\n/, "")).filter(Boolean),
    };
  });
}

/**
 * `session pr`, after its push: the reply on each recorded thread of this request whose file a commit since
 * its base changed. Best effort: a reply the forge refuses is said on `err` and the thread kept. Returns how
 * many threads were answered.
 */
export async function answerThreads(
  name: string,
  o: {
    root: string;
    head: string;
    namespace: string;
    forge: ForgeRepo;
    number: number;
    call: ForgeCall;
    resolve?: boolean;
    err: Sink;
    home?: string;
  },
): Promise<number> {
  const rec = await loadHanded(name, o.home);
  if (!rec || rec.namespace !== o.namespace || rec.host !== o.forge.host || rec.path !== o.forge.path) {
    return 0;
  }
  if (rec.number !== o.number) return 0;
  const { answered, left } = await answerList(rec.threads, o);
  await saveHanded(name, { ...rec, threads: left }, o.home);
  return answered;
}

/** How a recorded thread is answered: the repository's clone, the pushed head, the request and its forge. */
export interface AnswerOptions {
  root: string;
  head: string;
  forge: ForgeRepo;
  number: number;
  call: ForgeCall;
  resolve?: boolean;
  err: Sink;
}

/** The reply on each thread whose file a commit since its base changed: how many, and the threads left. */
async function answerList(
  threads: HandedThread[],
  o: AnswerOptions,
): Promise<{ answered: number; left: HandedThread[] }> {
  const cache = new Map<string, Awaited<ReturnType<typeof commitsSince>>>();
  const left: HandedThread[] = [];
  let answered = 0;
  for (const t of threads) {
    if (!cache.has(t.base)) cache.set(t.base, await commitsSince(o.root, t.base, o.head));
    const hit = cache.get(t.base)?.find((c) => c.files.includes(t.file));
    if (!hit) {
      left.push(t);
      continue;
    }
    const where = o.forge.type === "gitea"
      ? `review comment on ${quotedName(t.file)}${t.line ? ` line ${t.line}` : ""}`
      : undefined;
    try {
      const note = await replyOn(
        o.forge,
        o.call,
        o.number,
        t.id,
        addressedReply(hit.sha, hit.subject, where),
        {
          resolve: o.resolve,
        },
      );
      if (note) o.err.write(`note: replied on review thread ${t.id}, ${safeLine(note).slice(0, 200)}\n`);
      answered++;
    } catch (e) {
      o.err.write(
        `note: no reply on review thread ${t.id}: ${safeLine((e as Error).message).slice(0, 200)}\n`,
      );
      left.push(t);
    }
  }
  return { answered, left };
}

/**
 * A session with several repositories: one request per repository, each its own threads, in the same file
 * (version 2, so what reads one request ignores it). `repo` is the repository's directory; a thread's file
 * is its path inside that repository (what `git log` there names).
 */
export interface HandedRepos {
  version: 2;
  namespace: string;
  requests: (Omit<HandedRecord, "version" | "namespace"> & { repo: string })[];
}

/** The record of several repositories, or undefined (none, one request's, or not one kodama wrote). */
export async function loadHandedRepos(name: string, home?: string): Promise<HandedRepos | undefined> {
  let j: HandedRepos;
  try {
    j = JSON.parse(await Deno.readTextFile(handedPath(name, home)));
  } catch {
    return undefined;
  }
  if (!j || j.version !== 2 || typeof j.namespace !== "string" || !Array.isArray(j.requests)) {
    return undefined;
  }
  const requests = j.requests.filter((r) =>
    r && typeof r.repo === "string" && typeof r.host === "string" && typeof r.path === "string" &&
    Number.isSafeInteger(r.number) && Array.isArray(r.threads)
  ).map((r) => ({
    ...r,
    threads: r.threads.filter((t) =>
      t && typeof t.id === "string" && THREAD_ID.test(t.id) && typeof t.file === "string" && t.file &&
      typeof t.base === "string" && COMMIT.test(t.base)
    ),
  }));
  return { version: 2, namespace: j.namespace, requests };
}

async function saveHandedRepos(name: string, r: HandedRepos, home?: string): Promise<void> {
  const path = handedPath(name, home);
  await Deno.mkdir(sessionsDir(home), { recursive: true, mode: 0o700 });
  const release = await acquireLock(path);
  try {
    const requests = r.requests.filter((x) => x.threads.length);
    if (!requests.length) await Deno.remove(path).catch(() => {});
    else await atomicWrite(path, JSON.stringify({ ...r, requests }, null, 2) + "\n");
  } finally {
    await release();
  }
}

/**
 * Record the threads a run of a session with several repositories was given, per repository (the file
 * without the repository's directory), over what was recorded for the same request; another request of a
 * repository replaces its entry.
 */
export async function recordHandedRepos(
  name: string,
  namespace: string,
  given: { repo: string; forge: ForgeRepo; number: number; base?: string; threads: ReviewThread[] }[],
  home?: string,
): Promise<number> {
  const cur = await loadHandedRepos(name, home);
  const requests = cur && cur.namespace === namespace ? [...cur.requests] : [];
  let added = 0;
  for (const g of given) {
    if (!g.base || !COMMIT.test(g.base)) continue;
    const i = requests.findIndex((x) => x.repo === g.repo);
    const same = i >= 0 && requests[i].host === g.forge.host && requests[i].path === g.forge.path &&
      requests[i].number === g.number;
    const kept = same ? requests[i].threads : [];
    const add = g.threads
      .filter((t) => t.file && THREAD_ID.test(t.id) && !kept.some((k) => k.id === t.id))
      .map((t) => ({ id: t.id, file: t.file!, ...(t.line ? { line: t.line } : {}), base: g.base! }));
    added += add.length;
    const entry = {
      repo: g.repo,
      host: g.forge.host,
      path: g.forge.path,
      number: g.number,
      threads: [...kept, ...add],
    };
    if (i >= 0) requests[i] = entry;
    else requests.push(entry);
  }
  await saveHandedRepos(name, { version: 2, namespace, requests }, home);
  return added;
}

/** `session pr` of one repository of several, after its push: its recorded threads answered (answerThreads). */
export async function answerThreadsIn(
  name: string,
  repo: string,
  o: AnswerOptions & { namespace: string; home?: string },
): Promise<number> {
  const rec = await loadHandedRepos(name, o.home);
  if (!rec || rec.namespace !== o.namespace) return 0;
  const i = rec.requests.findIndex((x) =>
    x.repo === repo && x.host === o.forge.host && x.path === o.forge.path && x.number === o.number
  );
  if (i < 0) return 0;
  const { answered, left } = await answerList(rec.requests[i].threads, o);
  // read again under the same rules: another repository's entry as it is now
  const now = (await loadHandedRepos(name, o.home)) ?? rec;
  const j = now.requests.findIndex((x) => x.repo === repo);
  if (j >= 0) now.requests[j] = { ...now.requests[j], threads: left };
  await saveHandedRepos(name, now, o.home);
  return answered;
}
