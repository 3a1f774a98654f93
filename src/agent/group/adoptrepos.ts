/**
 * `adopt GROUP-i` of a replica with several repositories (`start --replicas N --repo ./api --repo ./web`):
 * each written repository's branch comes over exec into its local repository (the path recorded when the
 * replica started, src/session/git/fetchrepos.ts) as `kodama/GROUP-i`, all or none, and then `kodama/GROUP`
 * (or `--branch`) of each is pointed at it by the one rule of src/session/git/branchmove.ts — all or none too:
 * when one repository's branch may not move (checked out, or it has commits the replica lacks), the ones
 * already moved go back where they were and the error names the repository.
 */
import type { KubeSessions } from "../../kube/seam.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import type { Sink } from "../../base/sink.ts";
import { safeLine } from "../../ui/color.ts";
import type { StateRepo } from "../../session/state/state.ts";
import { fetchAll, inRepoError } from "../../session/git/fetchrepos.ts";
import { writableRepos } from "../../session/git/repos.ts";
import { localGit } from "../../session/git/gitrun.ts";
import { moveBranch } from "../../session/git/branchmove.ts";

export async function adoptRepos(
  kube: KubeSessions,
  namespace: string,
  name: string,
  group: string,
  repos: StateRepo[],
  o: { target: string; fetched: string; force?: boolean; forceWith: string; out: Sink; err: Sink },
): Promise<number> {
  const todo = writableRepos(repos);
  const done = await fetchAll(kube, namespace, name, todo, {
    local: o.fetched,
    overwrite: o.force,
    verb: "adopt",
  });
  const ref = `refs/heads/${o.target}`;
  const moved: { name: string; root: string; before?: string; to: string }[] = [];
  for (const d of done) {
    const before = (await localGit(["rev-parse", "--verify", "-q", ref], d.root)).out || undefined;
    try {
      await moveBranch(d.root, o.target, d.f.h.head, {
        verb: "adopt",
        source: `${name}'s branch`,
        force: o.force,
        elsewhere: "keep both: adopt into another branch (--branch NEW)",
        forceWith: o.forceWith,
        reflog: `kodama adopt ${name}`,
      });
      moved.push({ name: d.repo.name, root: d.root, ...(before ? { before } : {}), to: d.f.h.head });
    } catch (e) {
      const left: string[] = [];
      for (const m of moved.reverse()) {
        const r = m.before
          ? await localGit(
            ["update-ref", "-m", "kodama: undone", "--end-of-options", ref, m.before, m.to],
            m.root,
          )
          : await localGit(["update-ref", "-d", "--end-of-options", ref, m.to], m.root);
        if (!r.ok) left.push(`${m.name} (${safeLine(r.err.split("\n")[0] ?? "")})`);
      }
      if (left.length) {
        throw new KodamaError(
          `adopt: repository ${d.repo.name} failed, and ${o.target} of ${
            left.join(", ")
          } could not be put back`,
          ExitCode.FAILED,
          (e as Error).message,
        );
      }
      throw inRepoError(e, d.repo.name);
    }
  }
  for (const d of done) o.out.write(`${d.repo.name}\t${d.root}\t${o.target}\n`);
  o.err.write(
    `adopted ${name}: ${
      done.map((d) => `${o.target} of ${d.repo.name} (${d.root}) is at ${d.f.h.head.slice(0, 12)}`).join(", ")
    }; remove the other replicas with: kodama delete ${group} --group --keep ${name}\n`,
  );
  const ro = repos.filter((r) => r.readOnly).map((r) => r.name);
  if (ro.length) o.err.write(`not adopted (read-only): ${ro.join(", ")}\n`);
  return ExitCode.OK;
}
