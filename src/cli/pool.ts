/**
 * `kodama pool ensure|list|drain`: the warm volume pool (src/session/volumes/pool.ts) that `start` takes a session's
 * volumes from.
 */
import { command, type GlobalValues } from "./opttypes.ts";
import { setExitCode } from "./exit.ts";
import { connectFromOpts } from "./connect.ts";
import type { CommandSpec } from "./spec.ts";

const impl = () => import("../session/commands.ts");
const settings = () => import("./settings.ts").then((m) => m.effectiveConfig());
const connect = (inv: { opts: GlobalValues }) => connectFromOpts(inv.opts);

const pool = command({
  names: ["pool"],
  help: {
    group: "Sessions",
    summary:
      "A warm pool of Bound volume pairs that `start` takes instead of provisioning: ensure, list, drain",
    examples: [
      ["Keep 3 pairs (sizes and class from defaults.storage)", "kodama pool ensure --size 3"],
      ["The pairs and their state", "kodama pool list"],
      ["Delete the unclaimed pool volumes", "kodama pool drain --yes"],
    ],
    notes: `A pair is a workspace and a home PVC (kodama-pool-PAIR-workspace, kodama-pool-PAIR-home; labels
app.kubernetes.io/managed-by=kodama, kodama.dev/pool=PAIR). \`kodama start\` takes a Bound pair of the sizes and
class it asks for (a conditional update: two starts never get the same pair), records the names in the session's
settings, and refills the pool in the background (defaults.storage.pool, start --no-pool). A taken volume is the
session's from then on and never goes back; pool volumes are always new.
With a WaitForFirstConsumer class, a short-lived pod binds each pair: the volumes, and so the session pod that
later takes them, are then pinned to that pod's node (and zone).`,
  },
  subcommands: [
    command({
      names: ["ensure"],
      help: {
        summary: "Keep N matching pairs in the namespace: make the missing ones, wait until Bound",
        examples: [
          ["Three pairs of the default sizes", "kodama pool ensure --size 3"],
          [
            "Pairs for sessions started with --storage 20Gi on class fast [not in the demo: no class fast]",
            "kodama pool ensure --size 2 --workspace-size 20Gi --storage-class fast",
          ],
          ["Empty the pool of default-size pairs", "kodama pool ensure --size 0"],
        ],
        notes:
          "Pairs of other sizes or classes are left alone. More matching pairs than N: the newest extra\n" +
          "ones are deleted. Exit codes: 2 bad input, 4 not allowed, 5 the volumes did not bind in --timeout.",
      },
      options: [
        { flags: "--size <n>", description: "how many pairs to keep (0 or more)" },
        {
          flags: "--workspace-size <size>",
          description: "workspace volume size (default: defaults.storage.workspace)",
        },
        {
          flags: "--home-size <size>",
          description: "home volume size (default: defaults.storage.claudeHome)",
        },
        {
          flags: "--storage-class <name>",
          description: "StorageClass (default: defaults.storage.storageClass, else the cluster's default)",
        },
        {
          flags: "--image <image>",
          description: "image of the pod that binds a WaitForFirstConsumer pair (default: defaults.image)",
        },
        {
          flags: "--timeout <duration>",
          description: "how long to wait for the volumes to bind (default: session.readyTimeout)",
        },
        { flags: "--no-wait", description: "create the pairs and return without waiting for them to bind" },
      ],
      run: async (inv) => {
        const [{ poolEnsureCommand }, kube, cfg] = await Promise.all([impl(), connect(inv), settings()]);
        const o = inv.opts;
        setExitCode(
          await poolEnsureCommand(kube, {
            size: o.size,
            workspaceSize: o.workspaceSize,
            homeSize: o.homeSize,
            storageClass: o.storageClass,
            image: o.image,
            timeout: o.timeout,
            noWait: o.wait === false,
          }, cfg),
        );
      },
    }),
    command({
      names: ["list", "ls"],
      help: {
        summary: "List the pool's pairs: PAIR STATUS WORKSPACE HOME STORAGECLASS AGE",
        examples: [["As JSON", "kodama pool list -o json"]],
      },
      options: [
        { flags: "-A, --all-namespaces", description: "pairs in every namespace" },
        {
          flags: "-o, --output <format>",
          description: "output format",
          choices: ["table", "json", "name"],
          default: "table",
        },
      ],
      run: async (inv) => {
        const [{ poolListCommand }, kube] = await Promise.all([impl(), connect(inv)]);
        setExitCode(
          await poolListCommand(kube, {
            allNamespaces: inv.opts.allNamespaces,
            output: inv.opts.output,
          }),
        );
      },
    }),
    command({
      names: ["drain"],
      help: {
        summary:
          "Delete the pool's unclaimed volumes (never a session's); asks first, --yes without a terminal",
        examples: [["Empty the pool, without a question", "kodama pool drain --yes"]],
      },
      options: [{ flags: "-y, --yes", description: "do not ask (required without a terminal)" }],
      run: async (inv) => {
        const [{ poolDrainCommand }, kube] = await Promise.all([impl(), connect(inv)]);
        setExitCode(await poolDrainCommand(kube, !!inv.opts.yes));
      },
    }),
  ],
});

export const commands: CommandSpec[] = [pool];
