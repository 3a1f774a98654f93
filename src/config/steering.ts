/**
 * What only you choose: the variables that decide where a credential goes or what code runs with it
 * (issue 79.1, docs/security.md "What only you choose"). They come only from you — your environment, your
 * own config and the env files you named (`--env-file` at a terminal, your global `env.dotenvFiles`), your
 * own templates, `kodama agent keys` — never from a repository (its `.kodama.yaml`'s env files, a
 * repository's template's `env.files` and `env.vars`, a devcontainer.json) nor from an env file an MCP
 * client or a web page hands in. A source is one of yours or it is not (`from`: undefined means yours); a
 * name on this list from any other source is left out, and said once, by name, never by value.
 *
 * ONE list, used by every door (start from a terminal, MCP `session_start`, the web UI's start, templates,
 * `.kodama.yaml`, `agent check`, the gateway): `src/session/lifecycle/start.ts` and `src/agent/credentials/checkrun.ts`
 * ask it, and the pod's start program is handed STEERING_PATTERN's source to check the repository's own
 * agent-CLI config files before every run (agent/pod/projcheck.js, presets.ts projectFiles). Every agent preset's endpoint variables match it by construction (`*_BASE_URL`, a provider's
 * `*URL*`); tests/unit/config/steering_test.ts checks each preset's, the gateway's and the pod wrappers'.
 * Pure; no import.
 */

/** The list: glob patterns (`*` any run of characters), matched without regard to case. */
export const STEERING: { what: string; names: string[] }[] = [
  {
    what: "where an agent's requests and its key go",
    names: [
      "*_BASE_URL",
      "*_API_BASE",
      "*_URL_OVERRIDE",
      "*_ENDPOINT_URL",
      "*_ENDPOINT_URL_*",
      "ANTHROPIC_*URL*",
      "ANTHROPIC_*ENDPOINT*",
      "ANTHROPIC_*HOST*",
      "ANTHROPIC_*BASE*",
      "CLAUDE_*URL*",
      "CLAUDE_CODE_USE_*",
      "CLAUDE_CONFIG_DIR",
      "OPENAI_*URL*",
      "OPENAI_*ENDPOINT*",
      "OPENAI_*BASE*",
      "AZURE_OPENAI_*",
      "CODEX_*URL*",
      "CODEX_HOME",
      "GEMINI_*URL*",
      "GEMINI_*ENDPOINT*",
      "GEMINI_CLI_*",
      "GOOGLE_*URL*",
      "GOOGLE_*ENDPOINT*",
      "GOOGLE_APPLICATION_CREDENTIALS",
      "VERTEX*",
      "CLOUD_ML_*",
      // Qwen Code's own: its settings' home and system files, its TLS check, its endpoints
      "QWEN_*URL*",
      "QWEN_*ENDPOINT*",
      "QWEN_HOME",
      "QWEN_CODE_SYSTEM_*",
      "QWEN_TLS_*",
      "DASHSCOPE_*URL*",
      "GITHUB_*URL*",
      "GH_HOST",
      "GH_ENTERPRISE_*",
      // pi: its agent dir (models.json: provider base URLs; extensions), its package dir (whose package.json's
      // piConfig.configDir renames the project folder .pi), its URLs
      "PI_CODING_AGENT_*",
      "PI_PACKAGE_DIR",
      "PI_*URL*",
      "KODAMA_*",
    ],
  },
  {
    what: "proxies",
    names: ["*_PROXY", "GLOBAL_AGENT_*", "*PROXY_COMMAND"],
  },
  {
    what: "certificate authorities and TLS checks",
    names: [
      "NODE_EXTRA_CA_CERTS",
      "NODE_TLS_*",
      "NODE_USE_*",
      "SSL_*",
      "*_CA_BUNDLE",
      "*_CA_CERT*",
      "*_CA_FILE",
      "*_CAFILE",
      "*_CAINFO",
      "*_CAPATH",
      "*_CA_PATH",
      "*_CERT_FILE",
      "*_CERT_DIR",
      "*_NO_VERIFY",
      "*_SSL_VERIFY*",
      "*HTTPSVERIFY",
      "*_TLS_REJECT_UNAUTHORIZED",
    ],
  },
  {
    what: "package registries and what installs packages",
    names: [
      "NPM_CONFIG_*",
      "NPMRC",
      "YARN_*",
      "PNPM_*",
      "BUN_CONFIG_*",
      "BUN_INSTALL*",
      "COREPACK_*",
      "PIP_*",
      "PIPX_*",
      "UV_*",
      "POETRY_*",
      "PDM_*",
      "PYPI_*",
      "TWINE_*",
      "CARGO_*",
      "RUSTUP_*",
      "RUSTC_WRAPPER",
      "GOPROXY",
      "GONOPROXY",
      "GOPRIVATE",
      "GOSUMDB",
      "GONOSUMDB",
      "GONOSUMCHECK",
      "GOINSECURE",
      "GOFLAGS",
      "GOTOOLCHAIN",
      "GOENV",
      "GOAUTH",
      "GEM_*",
      "BUNDLE_*",
      "RUBYGEMS_*",
      "COMPOSER_*",
      "MAVEN_*",
      "GRADLE_*",
      "NUGET_*",
      "DENO_*",
      "HEX_*",
    ],
  },
  {
    what: "code loaded into programs that run with the credential",
    names: [
      "NODE_OPTIONS",
      "NODE_PATH",
      "NODE_REPL_EXTERNAL_MODULE",
      "LD_*",
      "DYLD_*",
      "GCONV_PATH",
      "GLIBC_TUNABLES",
      "BASH_ENV",
      "ENV",
      "ZDOTDIR",
      "PROMPT_COMMAND",
      "SHELLOPTS",
      "BASHOPTS",
      "PYTHONPATH",
      "PYTHONSTARTUP",
      "PYTHONHOME",
      "PYTHONUSERBASE",
      "PYTHONINSPECT",
      "PYTHONEXECUTABLE",
      "PERL5OPT",
      "PERL5LIB",
      "PERLLIB",
      "PERL5DB",
      "RUBYOPT",
      "RUBYLIB",
      "JAVA_TOOL_OPTIONS",
      "_JAVA_OPTIONS",
      "JDK_JAVA_OPTIONS",
      "CLASSPATH",
      "LUA_INIT*",
      "PHPRC",
      "PHP_INI_SCAN_DIR",
      "GIT_*",
      "SSH_*",
      "*_ASKPASS",
      "XDG_*",
      "CURL_HOME",
      "WGETRC",
      "NETRC",
      "GNUPGHOME",
    ],
  },
];

/** The list as one pattern (any case); its source is what the pod's check is given (agent/pod/projcheck.js). */
export const STEERING_PATTERN: RegExp = new RegExp(
  "^(?:" +
    STEERING.flatMap((g) => g.names)
      .map((p) => p.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*"))
      .join("|") +
    ")$",
  "i",
);

/** Whether only you may choose this variable (any case: `npm_config_registry` as `NPM_CONFIG_REGISTRY`). */
export function isSteering(name: string): boolean {
  return STEERING_PATTERN.test(name);
}

/** The line said once for each variable left out: its name and where it came from, never its value. */
export function steeringNote(name: string, from: string): string {
  return `note: ${name} from ${from} is ignored: only you choose where a credential goes ` +
    `(set it in your own env file or environment)`;
}

/**
 * The sources with every variable on the list taken out of those that are not yours (`fromOf` says who
 * chose a source: undefined for you, else `the repository's env file ".env"`), and one note per name left
 * out (the first source that had it; `seen` is updated). Your sources are returned as they were.
 */
export function holdSteering<S extends { vars: Record<string, string> }>(
  sources: S[],
  fromOf: (s: S) => string | undefined,
  /** the names said already (a start says each once, whichever of its sources had it) */
  seen: Set<string> = new Set(),
): { sources: S[]; notes: string[] } {
  const notes: string[] = [];
  const out = sources.map((s) => {
    const from = fromOf(s);
    if (from === undefined) return s;
    const vars: Record<string, string> = {};
    for (const [name, value] of Object.entries(s.vars)) {
      if (!isSteering(name)) {
        vars[name] = value;
        continue;
      }
      if (!seen.has(name)) notes.push(steeringNote(name, from));
      seen.add(name);
    }
    return { ...s, vars };
  });
  return { sources: out, notes };
}

/**
 * Whether the config's `env.dotenvFiles` is yours: your global config (or a flag) set it, not a
 * repository's `.kodama.yaml` (`source` is config/origin.ts's, for the key).
 */
export function dotenvFilesAreYours(source: string | undefined): boolean {
  return source !== "repo";
}
