/**
 * `kodama snapshot create|list|delete`, `kodama restore NAME SNAP|FILE` and `kodama clone SRC DST`: copies
 * of a session's volumes (src/session/volumes/snapshot.ts, src/session/volumes/clone.ts).
 */
import { command, type GlobalValues, opt } from "./opttypes.ts";
import type { AgentKind } from "../agent/presets/presets.ts";
import { setExitCode } from "./exit.ts";
import { connectFromOpts } from "./connect.ts";
import { arg, type CommandSpec } from "./spec.ts";

const impl = () => import("../session/commands.ts");
const settings = () => import("./settings.ts").then((m) => m.effectiveConfig());
const connect = (inv: { opts: GlobalValues }) => connectFromOpts(inv.opts);
const TIMEOUT = opt({
  flags: "--timeout <duration>",
  description: "how long to wait for the copy pod to run (default: session.readyTimeout)",
});

const snapshot = command({
  names: ["snapshot", "snapshots"],
  help: {
    group: "Sessions",
    summary: "Snapshots of a session's workspace and home: create, list, delete",
    examples: [
      ["A snapshot of my-work, named my-work-<UTC time>", "kodama snapshot create my-work"],
      ["Every snapshot in the namespace", "kodama snapshot list"],
    ],
    notes:
      `When the cluster serves snapshot.storage.k8s.io/v1 and has a VolumeSnapshotClass whose driver provisions
the session's volumes, a snapshot is two VolumeSnapshots, kodama-snap-SNAP (workspace) and
kodama-snap-SNAP-home, waited on until readyToUse. Otherwise (or with --portable) it is a tar of the
workspace and agent-home volumes, written by a short-lived copy pod (the session's image, on the session
pod's node) into a PVC kodama-snap-SNAP, or with --to-file into a local file: that works on any cluster.
Both carry the labels app.kubernetes.io/managed-by=kodama, kodama.dev/snapshot=SNAP and
kodama.dev/snapshot-of=NAME; list and delete touch nothing without them. Restore with
\`kodama restore NAME SNAP\`, or start a new session from it with \`kodama start NEW --from-snapshot SNAP\`
(VolumeSnapshots: new claims with that dataSource).`,
  },
  subcommands: [
    command({
      names: ["create"],
      help: {
        summary: "Snapshot a session's workspace and home: VolumeSnapshots, or a snapshot PVC, or a file",
        examples: [
          ["Named after the session and the time", "kodama snapshot create my-work"],
          ["A name of your own", "kodama snapshot create my-work before-refactor"],
          [
            "A tar in a snapshot PVC even where VolumeSnapshots exist",
            "kodama snapshot create my-work --portable",
          ],
          [
            "Into a local tar file (workspace/ and home/)",
            "kodama snapshot create my-work --to-file my-work.tar",
          ],
        ],
      },
      args: [arg("<name>", "session name"), arg("[snapshot]", "snapshot name (default: NAME-<UTC time>)")],
      options: [
        {
          flags: "--to-file <file>",
          description: "write the tar to this local file instead of a snapshot PVC",
        },
        { flags: "--force", description: "with --to-file: replace an existing file" },
        {
          flags: "--portable",
          description: "a tar in a snapshot PVC, even where VolumeSnapshots can be used",
        },
        TIMEOUT,
      ],
      run: async (inv) => {
        const [{ snapshotCreateCommand }, kube, cfg] = await Promise.all([impl(), connect(inv), settings()]);
        const o = inv.opts;
        setExitCode(
          await snapshotCreateCommand(kube, inv.args[0], inv.args[1] as string | undefined, {
            toFile: o.toFile,
            force: o.force,
            portable: o.portable,
            timeout: o.timeout,
          }, cfg),
        );
      },
    }),
    command({
      names: ["list", "ls"],
      help: {
        summary: "List snapshots: NAME SESSION STATUS KIND (VolumeSnapshot or portable) SIZE AGE",
        examples: [
          ["Snapshots in the current namespace", "kodama snapshot list"],
          ["Only my-work's, as JSON", "kodama snapshot list --session my-work -o json"],
        ],
      },
      options: [
        { flags: "-A, --all-namespaces", description: "snapshots in every namespace" },
        { flags: "--session <name>", description: "only the snapshots of this session" },
        {
          flags: "-o, --output <format>",
          description: "output format",
          choices: ["table", "json", "name"],
          default: "table",
        },
      ],
      run: async (inv) => {
        const [{ snapshotListCommand }, kube] = await Promise.all([impl(), connect(inv)]);
        const o = inv.opts;
        setExitCode(
          await snapshotListCommand(kube, {
            allNamespaces: o.allNamespaces,
            output: o.output,
            session: o.session,
          }),
        );
      },
    }),
    command({
      names: ["delete", "rm"],
      help: {
        summary: "Delete snapshots (only the VolumeSnapshots and snapshot PVCs kodama made)",
        examples: [["Delete one", "kodama snapshot delete before-refactor"]],
      },
      args: [arg("<snapshots...>", "snapshot names")],
      run: async (inv) => {
        const [{ snapshotDeleteCommand }, kube] = await Promise.all([impl(), connect(inv)]);
        setExitCode(await snapshotDeleteCommand(kube, inv.args as string[]));
      },
    }),
  ],
});

const restore = command({
  names: ["restore"],
  help: {
    group: "Sessions",
    summary:
      "Replace a session's workspace and home with a snapshot's (asks first; --force without a terminal)",
    examples: [
      [
        "Back to a snapshot (a running session is stopped for the copy and resumed) [interactive]",
        "kodama restore my-work before-refactor",
      ],
      ["From a file made with snapshot create --to-file", "kodama restore my-work ./my-work.tar --force"],
    ],
    notes:
      `What is in the session's workspace and home now is lost: take a snapshot first. From VolumeSnapshots,
new claims are made from them (dataSource) and their contents copied over the session's once a copy pod
has them mounted; the session keeps its own claims. A FILE (a tar or gzipped tar) is read through first:
one that is not a snapshot archive, a directory or a FIFO is refused before the session is touched. A failed
copy puts the files back and resumes a session that was running. Exit codes: 2 no terminal to ask and no
--force, or FILE is not a snapshot archive; 3 no such session, snapshot or file.`,
  },
  args: [arg("<name>", "session name"), arg("<snapshot>", "snapshot name, or a tar file from --to-file")],
  options: [{ flags: "--force", description: "do not ask" }, TIMEOUT],
  run: async (inv) => {
    const [{ restoreCommand }, kube, cfg] = await Promise.all([impl(), connect(inv), settings()]);
    setExitCode(
      await restoreCommand(kube, inv.args[0], inv.args[1], {
        force: inv.opts.force,
        timeout: inv.opts.timeout,
      }, cfg),
    );
  },
});

const clone = command({
  names: ["clone"],
  help: {
    group: "Sessions",
    summary: "A new session with a copy of another's volumes, on its own new branch",
    examples: [
      ["Try another approach beside my-work", "kodama clone my-work my-work-b"],
      ["On a branch of your choice", "kodama clone my-work spike --branch spike/cache"],
      [
        "Always copy through a pod (never the storage driver's clone)",
        "kodama clone my-work my-work-c --portable",
      ],
    ],
    notes:
      `DST gets SRC's image, resources, volume sizes and sidecars, and a copy of its workspace and home. When
SRC runs and its volumes' provisioner is a CSI driver (a CSIDriver object exists), the copy is the driver's
clone (claims with dataSource: SRC's claims), checked for a marker kodama writes into SRC just before: a
driver that hands out empty volumes is caught, and the copy goes through a pod instead. Otherwise (or with
--portable) it goes through a portable snapshot that is removed afterwards (--keep-snapshot keeps it). The
workspace keeps SRC's git remote and settings, and checks out a new branch at SRC's HEAD: --branch, else
<defaults.branchPrefix>DST-<UTC time>; \`kodama session fetch DST\` brings its commits home. SRC with several
repositories: DST has them too, the new branch in each one it writes. SRC is only read. The env Secret is made from your env files, as for a new start.`,
  },
  args: [arg("<src>", "the session to copy"), arg("<dst>", "the new session's name")],
  options: [
    {
      flags: "--branch <branch>",
      description: "the clone's new branch (default: <defaults.branchPrefix>DST-<UTC time>)",
    },
    { flags: "--keep-snapshot", description: "keep the snapshot the copy went through" },
    { flags: "--portable", description: "copy through a pod, never the storage driver's clone" },
    TIMEOUT,
  ],
  run: async (inv) => {
    const [{ cloneCommand }, kube, cfg, { forwardedEnv }, { originOf }] = await Promise.all([
      impl(),
      connect(inv),
      settings(),
      import("../agent/presets/presets.ts"),
      import("../config/origin.ts"),
    ]);
    setExitCode(
      await cloneCommand(kube, inv.args[0], inv.args[1], {
        // the source's agent takes what any session of that agent takes: the user's config decides
        forwardEnv: (a) => forwardedEnv(a.preset as AgentKind, cfg, (k) => originOf(cfg)?.sources[k]),
        branch: inv.opts.branch,
        portable: inv.opts.portable,
        keepSnapshot: inv.opts.keepSnapshot,
        timeout: inv.opts.timeout,
      }, cfg),
    );
  },
});

export const commands: CommandSpec[] = [snapshot, restore, clone];
