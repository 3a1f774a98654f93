/**
 * The section of a request's description that lists the session's other requests (src/agent/forge/linked.ts),
 * pure: each other request's repository, forge, path, number and URL, in repository order; nothing from the
 * forge renders as Markdown or HTML or mentions anyone; a URL only when http(s), without credentials; the
 * section replaced in place (a fresh description, or one written earlier and only re-linked), removed when
 * there are no others, added before kodama's footer; bounded. And prrepos.ts's pure rules: two repositories
 * pushing to one forge repository found whatever the spelling, `--repo` exact, a door refused first.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import {
  currentSection,
  LINKED_END,
  LINKED_MAX,
  LINKED_START,
  type LinkedRequest,
  linkedSection,
  safeUrl,
  withLinked,
} from "../../../../src/agent/forge/linked.ts";
import { prBody } from "../../../../src/agent/forge/body.ts";
import { forgeOf } from "../../../../src/agent/forge/forgeurl.ts";
import { asked, prRepos, relink, sharedRemote, type Side } from "../../../../src/agent/forge/prrepos.ts";
import { ExitCode, KodamaError } from "../../../../src/base/errors.ts";
import type { KubeSessions } from "../../../../src/kube/seam.ts";

const WEB: LinkedRequest = {
  repository: "web",
  forge: "gitlab",
  host: "gitlab.example.com",
  path: "acme/front/web",
  number: 7,
  url: "https://gitlab.example.com/acme/front/web/-/merge_requests/7",
};
const API: LinkedRequest = {
  repository: "api",
  forge: "github",
  host: "github.com",
  path: "acme/api",
  number: 3,
  url: "https://github.com/acme/api/pull/3",
};

Deno.test("linked: each other request with its forge, repository, number and URL, in repository order", () => {
  const s = linkedSection("fix", [WEB, API]);
  assert(s.startsWith(LINKED_START) && s.endsWith(LINKED_END), s);
  const lines = s.split("\n").filter((l) => l.startsWith("- "));
  assertEquals(lines, [
    "- **api**: GitHub pull request #3 of acme/api on github.com — <https://github.com/acme/api/pull/3>",
    "- **web**: GitLab merge request !7 of acme/front/web on gitlab.example.com — " +
    "<https://gitlab.example.com/acme/front/web/-/merge_requests/7>",
  ]);
  assertStringIncludes(s, "kodama session **fix**");
  assertEquals(linkedSection("fix", []), "");
});

Deno.test("linked: what the forge says never renders, pings or carries credentials", () => {
  const evil: LinkedRequest = {
    ...WEB,
    repository: "w`eb",
    path: "@team/<img src=x>",
    host: "h[x](javascript:alert(1))",
    url: 'https://user:secret@gitlab.example.com/a b/<script>?q=>#"x',
  };
  const s = linkedSection("fix", [evil]);
  const line = s.split("\n").find((l) => l.startsWith("- "))!;
  assert(!line.includes("secret") && !line.includes("user:"), line);
  // every Markdown or HTML character is escaped: none stands alone
  assert(!/(^|[^\\])(<img|<script|\]\(|@team|`)/.test(line), line);
  assertStringIncludes(line, "\\@team");
  // the URL is one autolink with nothing that ends it early
  const url = /<(https:[^>]*)>/.exec(line)![1];
  assert(!/[\s<>"]/.test(url), url);
  // a URL that is not http(s) is not shown; a second spelling of each
  for (
    const bad of ["javascript:alert(1)", "data:text/html,x", "JAVASCRIPT:alert(1)", "ftp://h/x", "not a url"]
  ) {
    assertEquals(safeUrl(bad), "", bad);
    assert(!linkedSection("f", [{ ...WEB, url: bad }]).includes(bad), bad);
  }
  assertEquals(safeUrl("http://10.0.0.1:8080/a/b/pulls/2"), "<http://10.0.0.1:8080/a/b/pulls/2>");
});

Deno.test("linked: bounded whatever the count", () => {
  const many = Array.from({ length: LINKED_MAX + 5 }, (_, i) => ({ ...API, repository: `r${100 + i}` }));
  const s = linkedSection("fix", many);
  assertEquals(s.split("\n").filter((l) => l.startsWith("- **")).length, LINKED_MAX);
  assertStringIncludes(s, "… and 5 more");
});

Deno.test("linked: replaced in place, before the footer, removed without others; the rest kept", () => {
  const body = prBody({ session: "fix", branch: "kodama/fix" });
  const one = withLinked(body, linkedSection("fix", [API]));
  // before kodama's footer, once
  assert(one.indexOf(LINKED_START) < one.indexOf("<sub>Opened by"), one);
  assertEquals(currentSection(one), linkedSection("fix", [API]));
  // replaced, not added again
  const two = withLinked(one, linkedSection("fix", [API, WEB]));
  assertEquals(two.split(LINKED_START).length, 2, two);
  assertEquals(currentSection(two), linkedSection("fix", [API, WEB]));
  assertEquals(two.replace(currentSection(two), ""), one.replace(currentSection(one), ""));
  // removed: the description as it was
  const gone = withLinked(two, "");
  assertEquals(gone.replace(/\n+/g, "\n"), body.replace(/\n+/g, "\n"));
  // a description someone edited: their text before and after the section is kept
  const edited = `Reviewer notes\n\n${currentSection(one)}\n\nmore words`;
  assertEquals(
    withLinked(edited, linkedSection("fix", [WEB])),
    `Reviewer notes\n\n${linkedSection("fix", [WEB])}\n\nmore words`,
  );
  // no footer: at the end; an empty description: the section alone
  assertEquals(withLinked("plain", "S"), "plain\n\nS");
  assertEquals(withLinked("", "S"), "S");
  // a start marker without its end (cut): the section added, nothing dropped
  const cut = `text ${LINKED_START} half`;
  const added = withLinked(cut, linkedSection("fix", [WEB]));
  assert(added.startsWith(cut), added);
  assertEquals(currentSection(added), linkedSection("fix", [WEB]));
  // and re-linked later, the stray marker's text is still there
  assert(withLinked(added, linkedSection("fix", [API])).startsWith(cut));
});

Deno.test("prrepos: two repositories pushing to one forge repository are found, whatever the spelling", () => {
  const side = (name: string, host: string, path: string) => ({
    repo: { name },
    forge: forgeOf(`https://${host}/${path}.git`, { [host]: { type: "gitlab" } }),
  });
  assertEquals(
    sharedRemote([side("api", "git.example.com", "acme/api"), side("web", "git.example.com", "acme/web")]),
    undefined,
  );
  assertEquals(
    sharedRemote([side("api", "git.example.com", "acme/api"), side("web", "git.example.com", "ACME/Api")]),
    ["api", "web"],
  );
  // the ssh form has no port: the same repository as the https one on a port
  const ssh = {
    repo: { name: "web" },
    forge: forgeOf("git@git.example.com:acme/api.git", { "git.example.com": { type: "gitlab" } }),
  };
  assertEquals(sharedRemote([side("api", "git.example.com:8443", "acme/api"), ssh]), ["api", "web"]);
  // another host, or a subgroup, is another repository
  assertEquals(
    sharedRemote([side("api", "git.example.com", "acme/api"), side("web", "other.example.com", "acme/api")]),
    undefined,
  );
  assertEquals(
    sharedRemote([side("api", "git.example.com", "acme/api"), side("web", "git.example.com", "acme/x/api")]),
    undefined,
  );
});

Deno.test("prrepos: --repo names a written repository; a path the door refuses is exit 4 before anything is asked", async () => {
  const repos = [{ name: "api", path: "/a" }, { name: "web", path: "/w" }, {
    name: "docs",
    path: "/d",
    readOnly: true,
  }];
  assertEquals(asked(repos).map((r) => r.name), ["api", "web"]);
  assertEquals(asked(repos, "web").map((r) => r.name), ["web"]);
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as KodamaError).code;
    }
  };
  assertEquals(code(() => asked(repos, "docs")), 2);
  // names are exact: another case or a path is no repository of the session
  for (const bad of ["nope", "API", "./api", "api/"]) assertEquals(code(() => asked(repos, bad)), 3, bad);
  const sink = { write: () => {} };
  // a door that lets no path through: the first written repository refused (exit 4), nothing else asked
  const asks: string[] = [];
  const door = {
    who: "a test",
    path: (p: string) => {
      asks.push(p);
      return Promise.reject(new KodamaError(`${p} is outside the door`, ExitCode.FORBIDDEN));
    },
  };
  const e = await prRepos({} as KubeSessions, "s", repos, { door, cwd: "/", out: sink, err: sink })
    .then(
      () => undefined,
      (x) => x as KodamaError,
    );
  assertEquals(e?.code, ExitCode.FORBIDDEN);
  assertStringIncludes(e!.message, "repository api: /a is outside the door");
  assertEquals(asks, ["/a"]);
});

Deno.test("prrepos relink: each list made whole in one update; a description never rewritten from nothing", async () => {
  const updates: [string, number, string][] = [];
  const side = (name: string, host: string, number: number, body: string | undefined, fresh?: string) => {
    const forge = forgeOf(`https://${host}/acme/${name}.git`, { [host]: { type: "gitlab" } });
    return {
      repo: { name, path: `/${name}` },
      root: `/${name}`,
      url: "",
      forge,
      token: "t",
      call: () => Promise.resolve(undefined),
      api: {
        repository: () => Promise.resolve({}),
        openFor: () => Promise.resolve(undefined),
        create: () => Promise.reject(new Error("no")),
        update: (n: number, c: { body: string }) => {
          updates.push([name, n, c.body]);
          return Promise.resolve({
            number: n,
            url: `https://${host}/acme/${name}/-/merge_requests/${n}`,
            title: "",
            draft: false,
          });
        },
      },
      pr: {
        number,
        url: `https://${host}/acme/${name}/-/merge_requests/${number}`,
        title: "",
        draft: false,
        ...(body !== undefined ? { body } : {}),
      },
      ...(fresh !== undefined ? { fresh } : {}),
    } as Side;
  };
  const sink = { write: () => {} };
  // api written by this call (fresh), web's as it was with someone's words, docs' description not given
  const sides = [
    side("api", "a.example.com", 1, "x", "API BODY"),
    side("web", "w.example.com", 2, "their words"),
    side("ops", "o.example.com", 3, undefined),
  ];
  const failed = await relink("s", sides, { cwd: "/", out: sink, err: sink });
  assertEquals(updates.map(([n]) => n), ["api", "web"]);
  assert(updates[0][2].startsWith("API BODY"), updates[0][2]);
  assert(updates[1][2].startsWith("their words"), updates[1][2]);
  for (const [, , b] of updates) assertStringIncludes(b, "**ops**");
  assertEquals(failed.length, 1);
  assertStringIncludes(failed[0], "ops");
  // whole now: a second pass writes nothing
  updates.length = 0;
  await relink("s", sides.slice(0, 2).concat([{ ...sides[2], pr: { ...sides[2].pr!, body: "" } }]), {
    cwd: "/",
    out: sink,
    err: sink,
  });
  assertEquals(updates.map(([n]) => n), ["ops"]);
});
