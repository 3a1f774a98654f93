/**
 * A session's own base URL that the gateway replaces (issue 84.4): the session's env asked for
 * `ANTHROPIC_BASE_URL=https://proxy.example` (a user's `--env-file`, a config's env file), but through the
 * gateway its requests go to the upstream the gateway holds (the one `kodama gateway ensure` saw), or
 * nowhere when the gateway holds no key of that provider. `start` and `start --dry-run` say it, one line
 * each. Pure. The value shown is the URL's origin and path: never a user:password or a query string.
 */
import { GATEWAY_PROVIDERS, type GatewayProvider, providerOfVar } from "./claims.ts";
import { BASE_URL_VARS, type GatewayConfig, upstreamOf } from "./config.ts";

/** One base URL the gateway overrides: `upstream` undefined when the gateway does not route the provider. */
export interface ReplacedBase {
  name: string;
  provider: GatewayProvider;
  asked: string;
  upstream?: string;
}

/** `https://proxy.example/v1` of a URL (no credentials, query or fragment); `(not a URL)` otherwise. */
export function shownUrl(raw: string): string {
  try {
    const u = new URL(raw.trim());
    return `${u.protocol}//${u.host}${u.pathname === "/" ? "" : u.pathname}`;
  } catch {
    return "(not a URL)";
  }
}

/**
 * The base URLs of `env` (the planned env Secret, before the gateway's step) that the gateway replaces: of
 * each provider the session's agent uses (`forwardEnv`), a value other than the gateway's upstream for it
 * (`routed`: the providers its token serves), or any value when the gateway does not serve the provider.
 */
export function replacedBaseUrls(
  env: Record<string, string>,
  forwardEnv: readonly string[],
  routed: readonly string[],
  providers: GatewayConfig["providers"],
): ReplacedBase[] {
  const used = new Set(forwardEnv.map(providerOfVar));
  const out: ReplacedBase[] = [];
  for (const p of GATEWAY_PROVIDERS) {
    const name = BASE_URL_VARS[p];
    const asked = env[name]?.trim();
    if (!asked || !used.has(p)) continue;
    const upstream = routed.includes(p) ? providers[p]?.upstream : undefined;
    if (upstream && upstreamOf(p, asked) === upstream) continue;
    out.push({
      name,
      provider: p,
      asked: shownUrl(asked),
      ...(upstream ? { upstream: shownUrl(upstream) } : {}),
    });
  }
  return out;
}

/** The line `start` writes for one (stderr). */
export function replacedBaseLine(session: string, gateway: string, r: ReplacedBase): string {
  const what = r.upstream
    ? `is not used: through the gateway ${gateway} its ${r.provider} requests go to ${r.upstream}, the upstream kodama gateway ensure saw`
    : `is dropped: the gateway ${gateway} holds no ${r.provider} key and the session reaches only the gateway`;
  return `warning: ${session}'s ${r.name}=${r.asked} ${what} (to change it: ${r.name}=URL kodama gateway ensure; or start with --no-gateway)\n`;
}
