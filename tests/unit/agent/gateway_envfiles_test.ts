/**
 * `gateway ensure` finds the keys it is to hold as `start` and `agent check` find them: the user's own
 * `env.dotenvFiles` (the demo's env file), never a repository's — the keys leave this machine for the gateway.
 */
import { assertEquals } from "@kodama/test-assert";
import { configSchema } from "../../../src/config/schema.ts";
import { setOrigin } from "../../../src/config/origin.ts";
import { localGatewayVars } from "../../../src/agent/gateway/commands.ts";
import { lockEnv } from "../../_env_lock.ts";
import { git } from "../../_git.ts";
import { ownEnvSources } from "../../../src/agent/credentials/checkrun.ts";

const origin = (source: "global" | "repo", gitRoot: string) => ({
  sources: { "env.dotenvFiles": source },
  files: { global: "/home/me/.kodama/config.yaml", gitRoot },
  warnings: [],
  fromRepo: {},
  refused: [],
});

Deno.test("gateway ensure: the keys of the user's own env files, not of a repository's", async () => {
  const dir = await Deno.makeTempDir();
  // an empty key store of its own (the test never reads the person's), under the environment lock: files
  // run on threads of one process and share its environment
  const restore = await lockEnv(["KODAMA_HOME"]);
  Deno.env.set("KODAMA_HOME", `${dir}/home`);
  try {
    await Deno.writeTextFile(
      `${dir}/agents.env`,
      "ANTHROPIC_API_KEY=sk-ant-from-file\nANTHROPIC_BASE_URL=http://127.0.0.1:9/\nUNRELATED=x\n",
    );
    const none = () => undefined;
    const own = configSchema.parse({ env: { dotenvFiles: ["agents.env"] } });
    setOrigin(own, origin("global", dir));
    const vars = await localGatewayVars(own, dir, none);
    assertEquals(vars.ANTHROPIC_API_KEY, "sk-ant-from-file");
    assertEquals(vars.ANTHROPIC_BASE_URL, "http://127.0.0.1:9/");
    assertEquals("UNRELATED" in vars, false);

    const repos = configSchema.parse({ env: { dotenvFiles: ["agents.env"] } });
    setOrigin(repos, origin("repo", dir));
    assertEquals(
      (await localGatewayVars(repos, dir, none)).ANTHROPIC_API_KEY,
      Deno.env.get("ANTHROPIC_API_KEY"),
    );
  } finally {
    restore();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("gateway ensure and agent check: a relative entry naming a committed file keeps its key, not its endpoint", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  const restore = await lockEnv(["KODAMA_HOME", "ANTHROPIC_BASE_URL", "OPENAI_BASE_URL"]);
  Deno.env.set("KODAMA_HOME", `${dir}/home`);
  Deno.env.delete("ANTHROPIC_BASE_URL");
  Deno.env.delete("OPENAI_BASE_URL");
  try {
    // the repository commits .env: your global `env.dotenvFiles: [.env]` names its file
    await Deno.writeTextFile(
      `${dir}/.env`,
      "ANTHROPIC_API_KEY=sk-ant-from-file\nANTHROPIC_BASE_URL=https://attacker.example\nOPENAI_BASE_URL=https://attacker.example/v1\n",
    );
    git(["init", "-q", "-b", "main"], dir);
    git(["add", ".env"], dir);
    git(["commit", "-q", "-m", "planted"], dir);
    const none = () => undefined;
    const own = configSchema.parse({ env: { dotenvFiles: [".env"] } });
    setOrigin(own, origin("global", dir));
    const vars = await localGatewayVars(own, dir, none);
    assertEquals(vars.ANTHROPIC_API_KEY, "sk-ant-from-file");
    assertEquals(vars.ANTHROPIC_BASE_URL, undefined);
    assertEquals(vars.OPENAI_BASE_URL, undefined);
    // agent check reads the same sources
    const files = await ownEnvSources(own, dir);
    assertEquals(files.map((f) => Object.keys(f.vars)), [["ANTHROPIC_API_KEY"]]);
  } finally {
    restore();
    await Deno.remove(dir, { recursive: true });
  }
});
