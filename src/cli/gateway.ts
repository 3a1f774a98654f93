/**
 * `kodama gateway ensure|status|log|usage|delete`: the namespace's gateway (src/agent/gateway/), which
 * holds the agents' keys so that session pods never do.
 */
import { command, type GlobalValues, opt } from "./opttypes.ts";
import { setExitCode } from "./exit.ts";
import { connectFromOpts } from "./connect.ts";
import { arg, type CommandSpec } from "./spec.ts";

const impl = () => import("../agent/gateway/commands.ts");
const settings = () => import("./settings.ts").then((m) => m.effectiveConfig());
const connect = (inv: { opts: GlobalValues }) => connectFromOpts(inv.opts);
const sinks = () => import("../base/sink.ts").then((m) => ({ out: m.stdoutSink, err: m.stderrSink }));

const output = opt({
  flags: "-o, --output <format>",
  description: "output format",
  choices: ["table", "json"],
  default: "table",
});

const gateway = command({
  names: ["gateway", "gw"],
  help: {
    group: "Sessions",
    summary:
      "The namespace's gateway that holds the agents' keys, allows egress by host and meters tokens: ensure, status, log, usage, delete",
    examples: [
      [
        "Make or update it with the keys of this machine [not in the demo: a gateway]",
        "kodama gateway ensure",
      ],
      ["Is it ready, which keys, which sessions [not in the demo: a gateway]", "kodama gateway status"],
      ["What a session reached or was refused [not in the demo: a gateway]", "kodama gateway log fix-auth"],
      ["Tokens and cost per day [not in the demo: a gateway]", "kodama gateway usage --by day"],
    ],
    notes: `Objects (all named kodama-gateway): a Secret with config.json (the keys, a signing key kept across
ensures; mounted only in the gateway pod), a ConfigMap with the program, a one-replica StatefulSet whose pod
kodama-gateway-0 (gateway.image, non-root, Pod Security "restricted", no ServiceAccount token) comes back on
PVC kodama-gateway-state when it is evicted, deleted or its node is lost (its figures and budgets survive in a
journal there), a ClusterIP Service on 8080, a NetworkPolicy letting only session pods in. Once it exists,
new sessions in the namespace go through it (start --no-gateway, or session.gateway: false, opts out): their
env Secret holds a token instead of the keys, their agent's base URLs and HTTPS_PROXY point at the gateway,
and their egress policy allows only the gateway and DNS.`,
  },
  subcommands: [
    command({
      names: ["ensure"],
      help: {
        summary: "Create or update the gateway with the keys of this environment and `kodama agent keys`",
        examples: [
          ["With the stored keys [not in the demo: a gateway]", "kodama gateway ensure"],
          ["Return at once [not in the demo: a gateway]", "kodama gateway ensure --no-wait"],
        ],
        notes:
          "Keys: ANTHROPIC_API_KEY, CLAUDE_CODE_OAUTH_TOKEN, ANTHROPIC_AUTH_TOKEN, OPENAI_API_KEY, CODEX_API_KEY,\n" +
          "GEMINI_API_KEY, GOOGLE_API_KEY, GITHUB_TOKEN from your own env.dotenvFiles (never a repository's),\n" +
          "this environment, else `kodama agent keys`.\n" +
          "Upstreams: ANTHROPIC_BASE_URL, OPENAI_BASE_URL, GOOGLE_GEMINI_BASE_URL, else the providers' hosts.\n" +
          "Codex's ChatGPT login: your own $CODEX_HOME/auth.json or ~/.codex/auth.json (KODAMA_CHATGPT_URL,\n" +
          "CODEX_REFRESH_TOKEN_URL_OVERRIDE move its endpoints); the gateway refreshes it once for all sessions and\n" +
          "keeps the refreshed tokens on PVC kodama-gateway-state (a restart uses them, not the spent ones).\n" +
          "notify.webhook, when set: its URL and your ~/.kodama/notify.key go into the gateway's Secret, and the\n" +
          "gateway relays the webhooks of sessions started after it (never the URL or your key in their pods).\n" +
          "The running gateway re-reads its Secret: new keys need no restart. Exit codes: 2 no key, 4 not\n" +
          "allowed, 5 not ready in --timeout.",
      },
      options: [
        { flags: "--image <image>", description: "the gateway's image (default: gateway.image)" },
        {
          flags: "--timeout <duration>",
          description: "how long to wait for it to be ready (default: session.readyTimeout)",
        },
        { flags: "--no-wait", description: "create the objects and return without waiting" },
      ],
      run: async (inv) => {
        const [m, kube, cfg, io] = await Promise.all([impl(), connect(inv), settings(), sinks()]);
        const { durationValueMs, parseDuration } = await import("../base/duration.ts");
        const { GATEWAY_PROGRAM } = await import("../agent/gateway/program.ts");
        const { usageError } = await import("../base/errors.ts");
        const image = (inv.opts.image ?? cfg.gateway.image).trim();
        if (!image || /\s/.test(image)) throw usageError(`invalid --image ${JSON.stringify(image)}`);
        const t = inv.opts.timeout;
        setExitCode(
          await m.gatewayEnsure(kube, kube.namespace, {
            image,
            program: GATEWAY_PROGRAM,
            ...(cfg.gateway.prices ? { prices: cfg.gateway.prices } : {}),
            vars: await m.localGatewayVars(cfg, Deno.cwd()),
            chatgpt: await m.localChatgptLogin(),
            ...(cfg.notify.webhook ? { notify: await m.gatewayNotify(cfg.notify) } : {}),
            noWait: inv.opts.wait === false,
            timeoutMs: t !== undefined
              ? parseDuration(t, "--timeout")
              : durationValueMs(cfg.session.readyTimeout, "session.readyTimeout"),
          }, io),
        );
      },
    }),
    command({
      names: ["status"],
      help: {
        summary:
          "Ready or not, image, address, keys (provider, id, masked), sessions using it, figures, the ChatGPT login's expiry and last refresh",
        examples: [["As JSON [not in the demo: a gateway]", "kodama gateway status -o json"]],
        notes: "Exit code 3 when the namespace has no gateway.",
      },
      options: [output],
      run: async (inv) => {
        const [m, kube, io] = await Promise.all([impl(), connect(inv), sinks()]);
        setExitCode(await m.gatewayStatus(kube, kube.namespace, inv.opts.output, io));
      },
    }),
    command({
      names: ["log", "logs"],
      args: [arg("<session>", "the session whose lines to show")],
      help: {
        summary:
          "A session's lines of the gateway's log: time, event, host, path, status, bytes, allowed/denied",
        examples: [["As JSON [not in the demo: a gateway]", "kodama gateway log fix-auth -o json"]],
      },
      options: [output],
      run: async (inv) => {
        const [m, kube, io] = await Promise.all([impl(), connect(inv), sinks()]);
        setExitCode(
          await m.gatewayLog(kube, kube.namespace, inv.args[0] as string, inv.opts.output, io),
        );
      },
    }),
    command({
      names: ["usage"],
      help: {
        summary: "Requests, denials, tokens and cost from the gateway's log, per session, group or day",
        examples: [["Per replica group [not in the demo: a gateway]", "kodama gateway usage --by group"]],
      },
      options: [
        {
          flags: "--by <what>",
          description: "sum per session, group or day",
          choices: ["session", "group", "day"],
          default: "session",
        },
        output,
      ],
      run: async (inv) => {
        const [m, kube, io] = await Promise.all([impl(), connect(inv), sinks()]);
        setExitCode(
          await m.gatewayUsage(kube, kube.namespace, inv.opts.by, inv.opts.output, io),
        );
      },
    }),
    command({
      names: ["delete", "rm"],
      help: {
        summary: "Delete the gateway's objects; sessions that went through it then fail their requests",
        examples: [["Delete it [not in the demo: a gateway]", "kodama gateway delete"]],
      },
      run: async (inv) => {
        const [m, kube, io] = await Promise.all([impl(), connect(inv), sinks()]);
        setExitCode(await m.gatewayDelete(kube, kube.namespace, io));
      },
    }),
  ],
});

export const commands: CommandSpec[] = [gateway];
