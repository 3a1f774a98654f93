/**
 * The judge's doors: `compare GROUP --judge PRESET[:MODEL]`, `start … --replicas N --judge …` (after the
 * group has started), `adopt GROUP --best`, and `session pr GROUP` (the rank-1 replica). judge.ts judges,
 * judgestore.ts keeps the ranking.
 */
import type { Kube } from "../../kube/client.ts";
import type { KubeSessions } from "../../kube/seam.ts";
import type { Config } from "../../config/schema.ts";
import { usageError } from "../../base/errors.ts";
import type { Sink } from "../../base/sink.ts";
import type { StartIO } from "../../session/lifecycle/startio.ts";
import { type JudgeChoice, judgeGroup, judgeSession, parseJudgeFlag } from "./judge.ts";
import { validateSessionName } from "../../session/spec/names.ts";
import { bestOf, requireJudgement } from "./judgestore.ts";

/** `--judge` checked with the other flags of compare (exit 2 before anything is asked). */
export function checkCompareJudge(
  v: string | undefined,
  f: { diff?: unknown; watch?: boolean; stopOthersWhenPassed?: boolean },
): JudgeChoice | undefined {
  if (v === undefined) return undefined;
  if (f.diff) throw usageError("--judge ranks the replicas: it cannot be combined with --diff");
  if (f.watch) throw usageError("--judge waits and prints once: use it without -w");
  if (f.stopOthersWhenPassed) {
    throw usageError(
      "--judge ranks every replica that passed: it cannot be combined with --stop-others-when-passed",
    );
  }
  return parseJudgeFlag(v);
}

/** compare's `judge` hook: judge the group (waiting for it first), then the table shows the ranking. */
export function judgeHook(
  kube: Kube,
  group: string,
  judge: JudgeChoice,
  o: { cfg: Config; io: StartIO; timeoutMs?: number; task?: string },
) {
  return async () => {
    const j = await judgeGroup(kube, kube.namespace, group, { judge, ...o });
    // ranked best first, then the replicas not ranked and why
    const not = j.unranked.map((u) => `${u.replica} (${u.why})`).join(", ");
    o.io.err.write(
      `judged: ${j.ranking.map((r, i) => `${i + 1}. ${r.replica}`).join(", ")}${
        not ? `; not ranked: ${not}` : ""
      }\n`,
    );
    return j;
  };
}

/** The best replica of GROUP, checked against the group now (judgestore.ts bestOf). */
export async function bestReplica(kube: KubeSessions, namespace: string, group: string): Promise<string> {
  const j = await requireJudgement(kube, namespace, group);
  const { gatherGroup } = await import("./compare.ts");
  const rows = await gatherGroup(kube, namespace, group);
  return bestOf(j, new Map(rows.map((r) => [r.name, r.head])));
}

/** `adopt GROUP --best`: the rank-1 replica's name, said on stderr. */
export async function adoptBestName(kube: KubeSessions, namespace: string, group: string, err: Sink) {
  const name = await bestReplica(kube, namespace, group);
  err.write(`the judge ranked ${name} first\n`);
  return name;
}

/**
 * `session pr NAME`: NAME itself, or — when NAME is a group and not a session — its rank-1 replica (exit 3
 * without a judgement, saying how to make one).
 */
export async function prSession(kube: KubeSessions, name: string, err: Sink): Promise<string> {
  const { isGroupOnly } = await import("./groupcontinue.ts");
  if (!await isGroupOnly(kube, kube.namespace, name)) return name;
  const best = await bestReplica(kube, kube.namespace, name);
  err.write(`group ${name}: the judge ranked ${best} first: its branch goes to the forge\n`);
  return best;
}

/**
 * `start NAME --replicas N --prompt … --judge PRESET[:MODEL]`: the group starts as without it; once every
 * replica has started, the judge waits for them and ranks those that passed. Exit: the group's start's when
 * it failed (nothing judged), else the judge's (0 ranked, 1 nothing passed or a bad answer, 5 timeout).
 */
export async function startJudged(
  kube: Kube,
  o: import("./group.ts").GroupStartOptions,
  judge: string,
  cfg: Config,
): Promise<number> {
  const choice = parseJudgeFlag(judge);
  if (o.replicas < 2) throw usageError("--judge ranks replicas: it needs --replicas 2 or more");
  if (o.prompt === undefined) {
    throw usageError("--judge ranks the agents' work: it needs --prompt or --prompt-file");
  }
  if (o.noWait) throw usageError("--judge waits for the replicas: it cannot be combined with --no-wait");
  // the judge's session name is checked before any replica starts (its length, a session left from before)
  const judgeName = validateSessionName(judgeSession(o.name));
  if (!o.dryRun && !o.replace) {
    const { listSessions } = await import("../../session/state/cluster.ts");
    if ((await listSessions(kube, o.namespace)).sessions.some((v) => v.name === judgeName)) {
      throw usageError(
        `session ${judgeName} exists already: the judge of group ${o.name} would need its name`,
        `remove it first: kodama delete ${judgeName} --purge -f`,
      );
    }
  }
  const [{ startGroup }, { startIO }] = await Promise.all([
    import("./group.ts"),
    import("../../session/commands.ts"),
  ]);
  const io = await startIO();
  if (o.dryRun) return await startGroup(kube, o, cfg, io);
  // the judge's agent answers before any replica starts (as the replicas' agents are checked: exit 4, 3)
  if (!o.noPreflight) {
    const { groupCheck } = await import("../credentials/preflight.ts");
    const viaGateway = !o.noGateway && cfg.session.gateway !== false;
    await groupCheck(
      {
        agentName: choice.preset,
        settings: choice.model ? { model: choice.model } : {},
        ...(viaGateway
          ? {
            heldByGateway: async () =>
              (await import("../gateway/session.ts")).gatewayHeldProviders(kube, o.namespace),
          }
          : {}),
      },
      cfg,
      io.err,
    );
  }
  const code = await startGroup(kube, o, cfg, io);
  if (code !== 0) {
    io.err.write(
      `not judged: the group did not start whole (judge it later: kodama compare ${o.name} --judge ${judge})\n`,
    );
    return code;
  }
  io.err.write(`judge: waiting for the replicas of ${o.name} to end\n`);
  const j = await judgeHook(kube, o.name, choice, { cfg, io, task: o.prompt })();
  io.out.write(`${j.ranking[0].replica}\n`);
  return 0;
}
