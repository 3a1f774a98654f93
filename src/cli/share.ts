/**
 * `kodama share NAME --user U | --group G | --serviceaccount NS:NAME [--read-only]`, `kodama share NAME`
 * (the list) and `kodama unshare NAME --user U | --group G | --serviceaccount NS:NAME | --all`
 * (src/session/access/share.ts).
 */
import { command, type GlobalValues, type Options, opts } from "./opttypes.ts";
import { setExitCode } from "./exit.ts";
import { connectFromOpts } from "./connect.ts";
import { arg } from "./spec.ts";

/**
 * `--user` is also the global flag naming the kubeconfig user, which reads it first; here it names the
 * subject, as in `kubectl create rolebinding --user` (pick the kubeconfig user with --context instead).
 */
const connect = (inv: { opts: GlobalValues }) => {
  const { user: _subject, ...global } = inv.opts;
  return connectFromOpts(global);
};
const feature = () => import("../session/access/share.ts");
const out = () => import("../base/sink.ts");

/** `--user NAME` is the global flag's (see connect above); these are the other subjects. */
const SUBJECT_FLAGS = opts([
  { flags: "--group <name>", description: "a group of users (certificate O, OIDC groups)" },
  {
    flags: "--serviceaccount <namespace:name>",
    description: "a ServiceAccount (e.g. the identity a teammate's or CI's token is issued for)",
  },
]);

const subjectOf = (inv: { opts: Partial<Options<typeof SUBJECT_FLAGS>> & GlobalValues }) => ({
  user: inv.opts.user,
  group: inv.opts.group,
  serviceaccount: inv.opts.serviceaccount,
});

const share = command({
  names: ["share"],
  help: {
    group: "Sessions",
    summary: "Let a teammate attach to a session (a Role limited to its pod and volumes), or list its shares",
    examples: [
      ["Alice may attach, exec, port-forward and read logs", "kodama share my-work --user alice"],
      [
        "Everyone in group team-a may only read (get, logs)",
        "kodama share my-work --group team-a --read-only",
      ],
      ["A ServiceAccount (e.g. CI)", "kodama share my-work --serviceaccount ci:reviewer"],
      ["Who the session is shared with", "kodama share my-work"],
    ],
    notes:
      `Creates a Role and a RoleBinding kodama-share-NAME-<u|g|sa>-<subject>-<hash> in the session's namespace
(labels app.kubernetes.io/managed-by=kodama, kodama.dev/session=NAME, kodama.dev/share=KIND) whose rules name
only the session's objects (resourceNames): get its pod (the one it has now, kodama-NAME-x7k2p) and its
logs; get and create pods/exec, pods/attach and pods/portforward on it; get its Job kodama-NAME and its
volumes. When the cluster replaces the pod, the owner's next kodama command renews the shares to the new one. --read-only keeps get and logs. Sharing
again with the subject replaces its access. The teammate needs no list rights: kodama attach, exec, logs
and session get find the session by its names (kodama attach NAME -n NAMESPACE --command 'git log -1').
They cannot delete or stop it (exit 4, nothing deleted), nor reach any other session.

The session's Secrets (its env file values, git credentials) are not granted: attach does not read them.
But whoever may exec into the pod sees what the pod sees, its environment included; share read-only when
that matters. Kubernetes lets you grant only rights you hold yourself (RBAC escalation check): you need
create on roles and rolebindings, and exec, attach and port-forward on the pod (examples/rbac.yaml has them).
kodama delete NAME removes the shares; kodama unshare removes one, or all with --all.

--user names the user to share with (as the API server names them: a certificate's CN, an OIDC name), as
in kubectl create rolebinding --user; here it does not pick a kubeconfig user (use --context for that).

Exit codes: 2 more than one subject, 3 no such session, 4 not allowed to create Roles (or to grant them).`,
  },
  args: [arg("<name>", "session name")],
  complete: ["sessions"],
  options: [
    ...SUBJECT_FLAGS,
    { flags: "--read-only", description: "only get and logs: no exec, attach or port-forward" },
    {
      flags: "-o, --output <format>",
      description: "the list's format (no subject given)",
      choices: ["table", "json"],
      default: "table",
    },
  ],
  run: async (inv) => {
    const [f, kube, { stdoutSink, stderrSink }] = await Promise.all([feature(), connect(inv), out()]);
    const name = inv.args[0];
    const subject = f.subjectFrom(subjectOf(inv), "share");
    if (!subject) {
      if (inv.opts.readOnly) {
        const { usageError } = await import("../base/errors.ts");
        throw usageError("--read-only needs a subject", "e.g. kodama share NAME --user alice --read-only");
      }
      setExitCode(await f.printShares(kube, kube.namespace, name, inv.opts.output, stdoutSink));
      return;
    }
    setExitCode(
      await f.shareSession(kube, kube.namespace, name, subject, {
        readOnly: inv.opts.readOnly,
        out: stdoutSink,
        err: stderrSink,
      }),
    );
  },
});

const unshare = command({
  names: ["unshare"],
  help: {
    group: "Sessions",
    summary:
      "Take back a share: delete the subject's RoleBinding and Role (--all: every share of the session)",
    examples: [
      ["Alice may no longer attach", "kodama unshare my-work --user alice"],
      ["Every share of the session", "kodama unshare my-work --all"],
    ],
    notes:
      `The RoleBinding goes first, so access ends at once; a stream already open (an attached shell) is the
API server's and goes on until it ends. Exit codes: 2 no subject (or more than one), 3 no such session or
no such share.`,
  },
  args: [arg("<name>", "session name")],
  complete: ["sessions"],
  options: [...SUBJECT_FLAGS, { flags: "--all", description: "every share of the session" }],
  run: async (inv) => {
    const [f, { usageError }] = await Promise.all([feature(), import("../base/errors.ts")]);
    const subject = f.subjectFrom(subjectOf(inv), "unshare");
    if (subject && inv.opts.all) throw usageError("--all cannot be used with a subject");
    if (!subject && !inv.opts.all) {
      throw usageError(
        "unshare needs a subject: --user, --group, --serviceaccount or --all",
        `see the session's shares: kodama share ${inv.args[0]}`,
      );
    }
    const [kube, { stdoutSink, stderrSink }] = await Promise.all([connect(inv), out()]);
    setExitCode(
      await f.unshareSession(kube, kube.namespace, inv.args[0], subject ?? "all", {
        out: stdoutSink,
        err: stderrSink,
      }),
    );
  },
});

export const commands = [share, unshare];
