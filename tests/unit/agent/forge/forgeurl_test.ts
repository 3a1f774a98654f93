/**
 * Which forge a remote URL is on, and where its API is (src/agent/forge/forgeurl.ts), pure: every URL form git
 * takes (https with and without a user and password, http with a port, ssh://, ssh:// with a port, the scp
 * form), each forge's default API (github.com, Enterprise Server, GitLab with subgroups, Gitea, Forgejo,
 * Codeberg), the user's forge.hosts (by host:port, then host) naming the forge and moving the API, and each
 * refusal a person can act on (a path, git://, an unknown host, a path that is no repository): exit 2.
 */
import { assert, assertEquals, assertThrows } from "@kodama/test-assert";
import {
  displayRemote,
  forgeOf,
  forgeOfHost,
  remoteParts,
  tokenVars,
} from "../../../../src/agent/forge/forgeurl.ts";
import { ExitCode, KodamaError } from "../../../../src/base/errors.ts";

Deno.test("forgeurl: every URL form git takes, to scheme, host and path", () => {
  const cases: [string, ReturnType<typeof remoteParts>][] = [
    ["https://github.com/acme/widget.git", {
      scheme: "https",
      hostname: "github.com",
      port: "",
      path: "acme/widget",
    }],
    ["https://x-access-token:ghp_secret@github.com/acme/widget", {
      scheme: "https",
      hostname: "github.com",
      port: "",
      path: "acme/widget",
    }],
    ["http://127.0.0.1:8080/acme/widget.git/", {
      scheme: "http",
      hostname: "127.0.0.1",
      port: "8080",
      path: "acme/widget",
    }],
    ["ssh://git@GitLab.Example.com:2222/grp/sub/proj.git", {
      scheme: "ssh",
      hostname: "gitlab.example.com",
      port: "",
      path: "grp/sub/proj",
    }],
    ["git@github.com:acme/widget.git", {
      scheme: "ssh",
      hostname: "github.com",
      port: "",
      path: "acme/widget",
    }],
    ["codeberg.org:me/tool", { scheme: "ssh", hostname: "codeberg.org", port: "", path: "me/tool" }],
    ["git+ssh://git@github.com/acme/widget", {
      scheme: "ssh",
      hostname: "github.com",
      port: "",
      path: "acme/widget",
    }],
  ];
  for (const [url, want] of cases) assertEquals(remoteParts(url), want, url);
  for (
    const url of [
      "/srv/git/repo.git",
      "../repo",
      "file:///srv/repo.git",
      "git://host/repo.git",
      "C:\\repo",
      "https://host/",
    ]
  ) {
    assertEquals(remoteParts(url), undefined, url);
  }
});

Deno.test("forgeurl: the forge from the host's name; each forge's default API", () => {
  assertEquals(forgeOfHost("github.com"), "github");
  assertEquals(forgeOfHost("github.acme.corp"), "github");
  assertEquals(forgeOfHost("gitlab.com"), "gitlab");
  assertEquals(forgeOfHost("code.gitlab.example.org"), "gitlab");
  assertEquals(forgeOfHost("gitea.example.com"), "gitea");
  assertEquals(forgeOfHost("forgejo.example.com"), "gitea");
  assertEquals(forgeOfHost("codeberg.org"), "gitea");
  assertEquals(forgeOfHost("notgithubby.com"), undefined);
  assertEquals(forgeOfHost("git.example.com"), undefined);

  const gh = forgeOf("git@github.com:acme/widget.git");
  assertEquals(gh, {
    type: "github",
    host: "github.com",
    apiUrl: "https://api.github.com",
    path: "acme/widget",
    owner: "acme",
    repo: "widget",
    webUrl: "https://github.com/acme/widget",
  });
  assertEquals(forgeOf("https://github.acme.corp/acme/widget").apiUrl, "https://github.acme.corp/api/v3");
  // ssh's port is not the API's
  const gl = forgeOf("ssh://git@gitlab.example.com:2222/grp/sub/proj.git");
  assertEquals([gl.type, gl.apiUrl, gl.path, gl.owner, gl.repo], [
    "gitlab",
    "https://gitlab.example.com/api/v4",
    "grp/sub/proj",
    "grp/sub",
    "proj",
  ]);
  assertEquals(forgeOf("https://codeberg.org/me/tool.git").apiUrl, "https://codeberg.org/api/v1");
  // an http remote keeps http and its port
  assertEquals(forgeOf("http://gitea.lan:3000/me/tool").apiUrl, "http://gitea.lan:3000/api/v1");
});

Deno.test("forgeurl: the user's forge.hosts names the forge and moves the API, by host:port then host", () => {
  const hosts = {
    "127.0.0.1:8080": { type: "gitea" as const },
    "git.example.com": { type: "gitlab" as const, apiUrl: "https://api.example.com/gl/v4/" },
    "github.com": { apiUrl: "https://proxy.example.com/github" },
  };
  const a = forgeOf("http://127.0.0.1:8080/me/tool.git", hosts);
  assertEquals([a.type, a.apiUrl, a.host, a.webUrl], [
    "gitea",
    "http://127.0.0.1:8080/api/v1",
    "127.0.0.1:8080",
    "http://127.0.0.1:8080/me/tool",
  ]);
  const b = forgeOf("git@git.example.com:team/app.git", hosts);
  assertEquals([b.type, b.apiUrl], ["gitlab", "https://api.example.com/gl/v4"]);
  assertEquals(forgeOf("https://github.com/a/b", hosts).apiUrl, "https://proxy.example.com/github");
  // another port of the same host is another forge
  assertThrows(() => forgeOf("http://127.0.0.1:9090/me/tool.git", hosts), "cannot tell which forge");
});

Deno.test("forgeurl: refusals are usage errors a person can act on, never showing a password", () => {
  const refused = (url: string, re: RegExp) => {
    const e = assertThrows(() => forgeOf(url)) as KodamaError;
    assert(e instanceof KodamaError, String(e));
    assertEquals(e.code, ExitCode.USAGE, url);
    if (!re.test(e.message)) throw new Error(`${url}: ${e.message}`);
    if (e.message.includes("s3cret")) throw new Error(`password shown: ${e.message}`);
    return e;
  };
  refused("/srv/git/repo.git", /is not on a forge/);
  refused("git://example.com/repo.git", /is not on a forge/);
  const e = refused(
    "https://me:s3cret@git.example.com/a/b.git",
    /cannot tell which forge git\.example\.com is/,
  );
  if (!/forge\.hosts|forge: \{hosts/.test(e.hint ?? "")) throw new Error(`no hint: ${e.hint}`);
  refused("https://github.com/onlyowner", /does not name a repository/);
  refused("https://github.com/a/b/c", /does not name a repository/);
  refused("https://gitlab.com/justone", /GROUP\/PROJECT/);
  assertEquals(displayRemote("https://me:s3cret@host/a/b.git"), "https://host/a/b.git");
});

Deno.test("forgeurl: the token variables of each forge", () => {
  assertEquals(tokenVars("github"), ["GH_TOKEN", "GITHUB_TOKEN"]);
  // an Enterprise Server host: gh's enterprise variables first
  assertEquals(tokenVars("github", "github.acme.corp"), [
    "GH_ENTERPRISE_TOKEN",
    "GITHUB_ENTERPRISE_TOKEN",
    "GH_TOKEN",
    "GITHUB_TOKEN",
  ]);
  assertEquals(tokenVars("gitlab"), ["GITLAB_TOKEN"]);
  assertEquals(tokenVars("gitea"), ["GITEA_TOKEN", "FORGEJO_TOKEN"]);
});
