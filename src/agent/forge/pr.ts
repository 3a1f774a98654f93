/**
 * `kodama session pr NAME`: the session's branch to the forge, as a pull/merge request. In order:
 *
 *  1. the forge and repository from the local repository's push remote (forgeurl.ts; the user's
 *     `forge.hosts` config), and its token from the user's environment or `agent keys` (never a repository's);
 *  2. the token checked with the API (the repository's page, which also gives its default branch): refused
 *     is exit 4 and nothing is pushed;
 *  3. `session fetch`'s own fetch (src/session/git/fetch.ts fetchInto) into `kodama/NAME`;
 *  4. that commit pushed to the remote's `kodama/NAME`, with the user's git credentials (src/session/git/push.ts);
 *  5. the open request of that head updated (its description; its title with --title), else one opened, its
 *     description built from the latest agent run (body.ts).
 *
 * All local git runs in door git (doorgit.ts): no hook and no program the repository's config names runs.
 * A session with several repositories: one request per repository, linked to each other (prrepos.ts).
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { KubeSessions } from "../../kube/seam.ts";
import { ExitCode, usageError } from "../../base/errors.ts";
import type { Sink } from "../../base/sink.ts";
import { checkBranch } from "../../session/git/git.ts";
import { specOf } from "../../session/spec/spec.ts";
import { safeLine } from "../../ui/color.ts";
import { forgeOf } from "./forgeurl.ts";
import { defaultTitle, prBody, type ReplicaFacts } from "./body.ts";
import { formatTokens } from "../outcome/truth.ts";
import { forgeApi, forgeCall } from "./api.ts";
import { checkDoorForge, prPod } from "./prdoor.ts";
import {
  forgeToken,
  latestRun,
  type PrOptions,
  type PrResult,
  startBranch,
  writeRequest,
} from "./prparts.ts";

export { forgeToken, type PrOptions, type PrResult } from "./prparts.ts";

/** `session pr NAME`: push the session's branch and open or update its request; prints one line or JSON. */
export async function prCommand(kube: KubeSessions, name: string, o: PrOptions): Promise<number> {
  if (o.draft && o.ready) throw usageError("session pr: --draft and --ready cannot be given together");
  if (o.base !== undefined) checkBranch(o.base, "--base");
  if (o.title !== undefined && !o.title.trim()) throw usageError("session pr: --title is empty");
  // a best-of-N group's name: its judge's rank 1 (judgecmd.ts; exit 3 without a judgement)
  name = await (await import("../group/judgecmd.ts")).prSession(kube, name, o.err);
  // several repositories: one request each, linked to each other (prrepos.ts)
  const repos = await (await import("../../session/git/repos.ts")).reposOf(name, kube.namespace);
  if (repos) return await (await import("./prrepos.ts")).prRepos(kube, name, repos, o);
  if (o.repo !== undefined) {
    throw usageError(
      `session pr: --repo ${JSON.stringify(o.repo).slice(0, 80)}: session ${name} has one repository`,
      "give --repo only for a session started with several (start --repo A --repo B)",
    );
  }
  const [{ withDoorGit }, { localRoot, fetchInto }, { pushRemoteOf, pushCommit }] = await Promise.all([
    import("../../session/git/doorgit.ts"),
    import("../../session/git/fetch.ts"),
    import("../../session/git/push.ts"),
  ]);
  const r = await withDoorGit(o.cwd, async () => {
    const root = await localRoot(o.cwd, "session pr");
    const { url } = await pushRemoteOf(root);
    const forge = forgeOf(url, o.hosts);
    if (o.door) checkDoorForge(forge, o.hosts);
    const { token, from } = await forgeToken(forge, o.env ?? ((n) => Deno.env.get(n)), o.storedGithub);
    const api = forgeApi(forge, token, from);
    // the token first: refused, nothing is fetched or pushed
    const repo = await api.repository();
    const branch = `kodama/${name}`;
    // a stopped session: one line naming what to run first (prdoor.ts)
    const pod = await prPod(kube, kube.namespace, name);
    const fetched = await fetchInto(kube, kube.namespace, name, {
      root,
      local: branch,
      // --force: a rewritten history moves kodama/NAME too (never a checked-out branch: branchmove.ts)
      move: {
        force: o.force,
        elsewhere: `fetch it into another branch first: kodama session fetch ${name} --branch NEW`,
        forceWith: `kodama session pr ${name} --force`,
      },
    });
    const facts = await latestRun(kube, pod);
    // the branch the session started from (`start --base-branch`), else the forge's default; a commit (a
    // start from a detached HEAD, as CI checks out) is no branch to merge into
    const base = o.base ?? startBranch(specOf(pod)?.git?.base) ?? repo.defaultBranch;
    if (!base) {
      throw usageError(
        `session pr: ${forge.host} did not say ${forge.path}'s default branch`,
        "give --base BRANCH",
      );
    }
    await pushCommit(root, {
      url,
      commit: fetched.h.head,
      branch,
      force: o.force,
      forceWith: `kodama session pr ${name} --force`,
    });
    o.err.write(`pushed ${fetched.h.head.slice(0, 12)} to ${forge.webUrl} as ${branch}\n`);
    const group = await groupFacts(kube, pod, o.err);
    const body = prBody({ session: name, branch, run: facts, ...(group ? { group } : {}), secrets: [token] });
    const open = await api.openFor(branch);
    const pr = await writeRequest(api, forge, {
      open,
      branch,
      base,
      body,
      title: defaultTitle(name, facts?.prompt),
    }, {
      ...o,
      secrets: [token],
    });
    // the threads a --from-pr run was given whose file a newer commit changed: answered (replies.ts)
    const { answerThreads } = await import("./replies.ts");
    const answered = await answerThreads(name, {
      root,
      head: fetched.h.head,
      namespace: kube.namespace,
      forge,
      number: pr.number,
      call: forgeCall(forge, token, from),
      resolve: o.resolve,
      err: o.err,
    }).catch((e) => {
      // the request is made: a record that cannot be read or written is said, not a failure
      o.err.write(`note: no replies on review threads: ${safeLine((e as Error).message).slice(0, 200)}\n`);
      return 0;
    });
    if (answered) {
      o.err.write(`replied on ${answered} review thread${answered === 1 ? "" : "s"} it addressed\n`);
    }
    return { url: pr.url, number: pr.number, action: open ? "updated" : "opened" } satisfies PrResult;
  });
  o.out.write(
    o.output === "json"
      ? JSON.stringify(r) + "\n"
      : `pull request #${r.number}: ${safeLine(r.url)} (${r.action})\n`,
  );
  return ExitCode.OK;
}

/** A replica's group compared (compare.ts gatherGroup), or undefined: a single session, or unreadable. */
async function groupFacts(
  kube: KubeSessions,
  pod: V1Pod,
  err: Sink,
): Promise<{ name: string; replicas: ReplicaFacts[] } | undefined> {
  const g = specOf(pod)?.group;
  if (!g) return undefined;
  try {
    const { gatherGroup } = await import("../group/compare.ts");
    const rows = await gatherGroup(kube, kube.namespace, g.name);
    return {
      name: g.name,
      replicas: rows.map((r) => ({
        name: r.name,
        outcome: r.outcome?.text ?? r.agent?.state ?? r.status,
        ...(r.check
          ? { check: r.check.state === "failed" ? `failed (${r.check.exitCode})` : r.check.state }
          : {}),
        commits: r.commits,
        files: r.diffstat?.files,
        insertions: r.diffstat?.insertions,
        deletions: r.diffstat?.deletions,
        ...(r.truth && (r.truth.inputTokens !== undefined || r.truth.outputTokens !== undefined)
          ? { tokens: formatTokens(r.truth) }
          : {}),
        costUsd: r.truth?.costUsd,
      })),
    };
  } catch (e) {
    err.write(`note: group ${g.name} could not be compared: ${(e as Error).message.split("\n")[0]}\n`);
    return undefined;
  }
}
