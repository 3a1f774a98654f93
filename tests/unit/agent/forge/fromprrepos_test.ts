/**
 * `--from-pr` of a session with several repositories (src/agent/forge/fromprrepos.ts, replies.ts), pure and
 * on a temporary home: each request's threads under its repository's directory (the agent works in
 * /workspace), each check and review named with its repository, all in one prompt within the one budget;
 * what is recorded per repository keeps each file inside its repository, and what reads one request's record
 * ignores it (and the other way round).
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { mergeFeedback, type RepoFeedback } from "../../../../src/agent/forge/fromprrepos.ts";
import { feedbackPrompt } from "../../../../src/agent/forge/feedback.ts";
import { forgeOf } from "../../../../src/agent/forge/forgeurl.ts";
import {
  loadHanded,
  loadHandedRepos,
  recordHanded,
  recordHandedRepos,
} from "../../../../src/agent/forge/replies.ts";

const API = forgeOf("https://github.com/acme/api.git");
const WEB = forgeOf("https://gitlab.example.com/acme/web.git");
const parts = (): RepoFeedback[] => [
  {
    repo: "api",
    forge: API,
    number: 3,
    fb: {
      threads: [
        { id: "11", file: "src/a.ts", line: 2, comments: [{ author: "alice", body: "api thread" }] },
        { id: "12", comments: [{ author: "alice", body: "on the whole request" }] },
      ],
      reviews: [{ author: "carol", body: "please split it" }],
      checks: [],
    },
  },
  {
    repo: "web",
    forge: WEB,
    number: 7,
    fb: {
      threads: [{ id: "ab".repeat(20), file: "/w.ts", comments: [{ author: "bob", body: "web thread" }] }],
      reviews: [],
      checks: [{ name: "test: unit", state: "failed", log: "1 failing" }],
    },
  },
];

Deno.test("from-pr of several: paths under each repository's directory, checks and reviews named", () => {
  const { feedback, origin } = mergeFeedback(parts());
  assertEquals(feedback.threads.map((t) => t.file), ["api/src/a.ts", "api", "web/w.ts"]);
  assertEquals(feedback.checks.map((c) => c.name), ["web: test: unit"]);
  assertEquals(feedback.reviews.map((r) => r.author), ["carol on api"]);
  // each thread given maps back to its repository and its own spelling (what a reply needs)
  assertEquals(
    feedback.threads.map((t) => [origin.get(t)!.repo, origin.get(t)!.thread.file ?? null]),
    [["api", "src/a.ts"], ["api", null], ["web", "/w.ts"]],
  );
  const built = feedbackPrompt(feedback, { budget: 8192 })!;
  assertStringIncludes(
    built.prompt,
    "Continue the work on the requests of this session's repositories (api's",
  );
  assertStringIncludes(built.prompt, "api's pull request #3, web's merge request !7");
  assertStringIncludes(built.prompt, "`api/src/a.ts` line 2");
  assertStringIncludes(built.prompt, "`web/w.ts`");
  // the original single-request wording is unchanged
  const one = feedbackPrompt({ number: 3, url: "", kind: "merge request", ...parts()[0].fb })!;
  assertStringIncludes(
    one.prompt,
    "Continue the work on merge request !3 from the feedback it got on its forge",
  );
});

Deno.test("from-pr of several: recorded per repository; one request's record and several's never mix", async () => {
  const home = await Deno.makeTempDir({ prefix: "kodama-handed-" });
  try {
    const base = "1".repeat(40);
    const { feedback, origin } = mergeFeedback(parts());
    const given = (repo: string) =>
      feedback.threads.map((t) => origin.get(t)!).filter((x) => x.repo === repo);
    const n = await recordHandedRepos("s", "dev", [
      { repo: "api", forge: API, number: 3, base, threads: given("api").map((x) => x.thread) },
      { repo: "web", forge: WEB, number: 7, base, threads: given("web").map((x) => x.thread) },
      // no base (no kodama/NAME in the clone): nothing recorded for it
      { repo: "docs", forge: API, number: 1, threads: given("api").map((x) => x.thread) },
    ], home);
    // the thread on the whole request has no file: nothing to answer by a commit
    assertEquals(n, 2);
    const rec = (await loadHandedRepos("s", home))!;
    assertEquals(rec.requests.map((r) => [r.repo, r.host, r.path, r.number, r.threads.map((t) => t.file)]), [
      ["api", "github.com", "acme/api", 3, ["src/a.ts"]],
      ["web", "gitlab.example.com", "acme/web", 7, ["/w.ts"]],
    ]);
    // one request's reader ignores it (a single-repository session never answers these)
    assertEquals(await loadHanded("s", home), undefined);
    // again for the same requests: kept, not doubled; another request of web replaces web's entry only
    await recordHandedRepos("s", "dev", [{
      repo: "api",
      forge: API,
      number: 3,
      base,
      threads: given("api").map((x) => x.thread),
    }], home);
    await recordHandedRepos("s", "dev", [{ repo: "web", forge: WEB, number: 8, base, threads: [] }], home);
    const again = (await loadHandedRepos("s", home))!;
    assertEquals(again.requests.map((r) => [r.repo, r.threads.length]), [["api", 1]]);
    // another namespace's record is not carried over
    await recordHandedRepos("s", "prod", [{
      repo: "web",
      forge: WEB,
      number: 7,
      base,
      threads: given("web").map((x) => x.thread),
    }], home);
    assertEquals((await loadHandedRepos("s", home))!.requests.map((r) => r.repo), ["web"]);
    // and one request's record is not read as several's
    await recordHanded(
      "s",
      { namespace: "dev", forge: API, number: 3, base },
      given("api").map((x) => x.thread),
      home,
    );
    assertEquals(await loadHandedRepos("s", home), undefined);
    assert((await loadHanded("s", home))!.threads.length === 1);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
