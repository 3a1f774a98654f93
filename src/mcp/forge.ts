/**
 * session_pr: `kodama session pr NAME` as an MCP tool. A caller names the session, draft or ready, and a title
 * (a line, at most DOOR_TITLE_MAX characters); the repository is the server's project (through the door), the
 * forge one the user named in forge.hosts, the token the server's environment's or `agent keys`' — never an
 * argument (src/agent/forge/doorpr.ts, prdoor.ts). Unknown arguments (token, remote, apiUrl, base, force) are refused.
 */
import { z } from "zod";
import { contextArg, namespaceArg, type Tool, tool } from "./tool.ts";
import { kubeFor, repoCwdOf, settings } from "./sessions.ts";

export const sessionPr = tool({
  name: "session_pr",
  title: "Open a pull request of a session's work",
  description:
    "Push the session's branch to the forge of the local repository's remote and open its pull/merge request, or " +
    "update the open one (`kodama session pr`). Only a forge the user named in forge.hosts of their config; the " +
    "token and the remote are the user's, never an argument. Returns its URL, number and whether it was opened or " +
    "updated. A stopped session must be resumed first (session_resume).",
  tier: "write",
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: {
    name: z.string().min(1).describe("the session's name"),
    context: contextArg,
    namespace: namespaceArg,
    draft: z.boolean().optional().describe(
      "open it as a draft (GitLab, Gitea: also make an open one a draft)",
    ),
    ready: z.boolean().optional().describe("open it ready for review (GitLab, Gitea: mark a draft ready)"),
    title: z.string().max(4096).optional().describe(
      "its title (one line, control characters removed, at most 200 characters; default: the prompt's first line)",
    ),
  },
  output: {
    url: z.string(),
    number: z.number(),
    action: z.enum(["opened", "updated"]),
    /** a session with several repositories: each request written (url, number, action are the first's) */
    requests: z.array(z.object({
      repository: z.string(),
      url: z.string(),
      number: z.number(),
      action: z.enum(["opened", "updated"]),
    })).optional(),
    output: z.string(),
  },
  async run(a, call) {
    const [kube, ns] = await kubeFor(call, a);
    const cwd = await repoCwdOf(call, {});
    const [{ doorPr, prLines }, { capture }] = await Promise.all([
      import("../agent/forge/doorpr.ts"),
      import("./tool.ts"),
    ]);
    // the call's namespace, as the session tools' (group.ts)
    const k = ns === kube.namespace ? kube : Object.create(kube, { namespace: { value: ns } });
    call.progress(0, undefined, `session pr ${a.name}`);
    const err = capture();
    const r = await doorPr(k, a.name, a, {
      cwd,
      hosts: (await settings(cwd)).forge.hosts,
      err,
      door: call.env.o.door,
    });
    const output = err.text();
    return { data: { ...r, output }, text: `${output}${prLines(r)}` };
  },
});

export const FORGE_TOOLS: Tool[] = [sessionPr];
