/**
 * `agent check` from this machine (and `start --replicas N`'s check before any replica) reads the user's own
 * `env.dotenvFiles` as `start` does (the demo's env file with the presets' endpoints), never a repository's:
 * its request goes from the laptop, where no egress policy would keep a base URL a repository chose.
 */
import { assertEquals } from "@kodama/test-assert";
import { configSchema } from "../../../src/config/schema.ts";
import { setOrigin } from "../../../src/config/origin.ts";
import { configEnvFiles } from "../../../src/agent/credentials/checkrun.ts";

const origin = (source: "global" | "repo") => ({
  sources: { "env.dotenvFiles": source },
  files: { global: "/home/me/.kodama/config.yaml", gitRoot: "/src/app" },
  warnings: [],
  fromRepo: {},
  refused: [],
});

Deno.test("check env files: the user's own, absolute or under the git root, optional", () => {
  const cfg = configSchema.parse({ env: { dotenvFiles: ["/home/me/agents.env", ".env"] } });
  setOrigin(cfg, origin("global"));
  assertEquals(configEnvFiles(cfg, "/src/app/sub"), [
    { path: "/home/me/agents.env", display: "/home/me/agents.env", required: false },
    { path: "/src/app/.env", display: ".env", required: false },
  ]);
});

Deno.test("check env files: a repository's are not read", () => {
  const cfg = configSchema.parse({ env: { dotenvFiles: [".env"] } });
  setOrigin(cfg, origin("repo"));
  assertEquals(configEnvFiles(cfg, "/src/app"), []);
});
