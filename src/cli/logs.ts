/** `kodama logs`: stern-like logs from every matching pod, prefixed and coloured; -f follows new pods too. */
import { opts } from "./opttypes.ts";
import { setExitCode } from "./exit.ts";
import type { HelpSpec } from "./help.ts";
import { userConfig } from "./settings.ts";
import { connectAll, targetFrom } from "./connect.ts";
import {
  collect,
  type Invocation,
  OptionValueError,
  positiveCount,
  RECONNECT_OPTION,
  TARGETING_OPTIONS,
} from "./optspec.ts";
import { arg } from "./spec.ts";

function nonNegInt(v: string): number {
  const n = Number(v);
  if (!/^\s*-?\d+\s*$/.test(v) || !Number.isInteger(n) || n < -1) {
    throw new OptionValueError("must be a whole number (-1 = all)");
  }
  return n;
}

export const names = ["logs"];

export const help: HelpSpec = {
  group: "Pods",
  summary: "Stream the logs of every matching pod (stern-like)",
  long:
    "Each line is prefixed pod[/container], coloured per pod on a terminal; with -f, pods that appear later are followed too.",
  usage: "[TYPE/NAME | POD | -m MATCH | --regex RE | -l SELECTOR] [-c CONTAINER] [-f] [flags]",
  examples: [
    ["Both api pods, and any api pod created later", "kodama logs -n prod -l app=api -f"],
    [
      "Every pod of a Deployment (kubectl shows one), following new ones",
      "kodama logs -n prod deploy/api -f",
    ],
    [
      "The api pods of every context whose name starts with prod [not in the demo]",
      "kodama logs --context 'prod*' -l app=api -f",
    ],
    [
      "The last 100 lines of the last 10 minutes of the drive pods",
      "kodama logs -n weka-operator-system -m drive --since 10m --tail 100",
    ],
    [
      "Every container of the spark pods, with timestamps",
      "kodama logs -A -m spark --all-containers --timestamps",
    ],
    [
      "Only error/warn lines, without health checks",
      "kodama logs -n prod -m api -i 'error|warn' -e healthz",
    ],
    [
      "One JSON object per line, for jq",
      "kodama logs -n prod -m api -o json --timestamps | jq -r '.timestamp + \" \" + .pod'",
    ],
    ["Just the lines, no prefix (= --no-prefix)", "kodama logs -n prod -m web -o raw > web.log"],
  ],
  notes:
    "Filters (-i/-e) are JavaScript regular expressions matched against each whole line (without the timestamp).",
};

export const args = [
  arg("[target]", "TYPE/NAME (deploy/api, sts/db, svc/web, job/x, session/s): all its pods; or a pod name"),
];

export const options = opts([
  {
    flags: "-c, --container <name>",
    description: "container (default: the default-container annotation, else the first)",
  },
  { flags: "--all-containers", description: "every container of each pod" },
  { flags: "-f, --follow", description: "keep streaming; pods that appear later are followed too" },
  { flags: "--since <duration>", description: "only lines newer than this, e.g. 5m, 1h" },
  { flags: "--tail <n>", description: "last N lines of each container (-1 = all)", parse: nonNegInt },
  { flags: "--timestamps", description: "show each line's timestamp" },
  { flags: "-p, --previous", description: "the previous (crashed) container instance" },
  {
    flags: "--max-streams <n>",
    description: "most log streams open at once",
    parse: (v) => positiveCount(v),
    default: 50,
  },
  { flags: "--no-prefix", description: "no `pod | ` prefix (same as -o raw)" },
  {
    flags: "-i, --include <regex>",
    description:
      "show only lines matching REGEX (repeatable: any may match); matches are highlighted on a terminal",
    parse: collect,
    default: [],
  },
  {
    flags: "-e, --exclude <regex>",
    description: "drop lines matching REGEX (repeatable; wins over --include)",
    parse: collect,
    default: [],
  },
  {
    flags: "-o, --output <mode>",
    description:
      "default: pod | line; raw: just the line; json: one {namespace,pod,container,message[,timestamp]} per line",
    choices: ["default", "raw", "json"],
  },
  ...TARGETING_OPTIONS,
  RECONNECT_OPTION,
]);

export async function run(inv: Invocation<typeof options>): Promise<void> {
  const opts = inv.opts;
  const [{ logsCommand }, { compileLineFilter, resolveOutput }] = await Promise.all([
    import("../pods/logs_cmd.ts"),
    import("../pods/log_filter.ts"),
  ]);
  const output = opts.output;
  const include = opts.include, exclude = opts.exclude;
  // usage errors before connecting: a bad regex or -o json with --no-prefix
  resolveOutput(output, opts.prefix === false);
  compileLineFilter(include, exclude);
  const [kubes, cfg] = await Promise.all([connectAll(opts), userConfig()]);
  const code = await logsCommand(kubes, targetFrom(opts, inv.args[0]), {
    container: opts.container,
    allContainers: !!opts.allContainers,
    follow: !!opts.follow,
    since: opts.since,
    tail: opts.tail,
    timestamps: !!opts.timestamps || (cfg?.logs.timestamps ?? false),
    previous: !!opts.previous,
    maxStreams: cfg && !inv.given("maxStreams") ? cfg.logs.maxStreams : opts.maxStreams,
    prefix: opts.prefix !== false,
    output,
    include,
    exclude,
    reconnectTimeout: opts.reconnectTimeout,
  });
  setExitCode(code);
}
