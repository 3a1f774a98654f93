import { assertEquals } from "@kodama/test-assert";
import { ResumePoint } from "../../../src/pods/resume.ts";

/** Feed lines `[ts, text]`; the texts shown. */
const feed = (rp: ResumePoint, lines: [string, string][]) =>
  lines.filter(([ts, t]) => rp.accept(ts, t)).map(([, t]) => t);

Deno.test("resume: nothing shown yet -> no sinceTime; afterwards the start of the last line's second", () => {
  const rp = new ResumePoint();
  assertEquals(rp.resume(), undefined);
  feed(rp, [["2026-11-21T08:00:04.9Z", "a"], ["2026-11-21T08:00:05.123456789Z", "b"]]);
  assertEquals(rp.resume(), "2026-11-21T08:00:05Z");
});

Deno.test("resume: the boundary second is replayed without repeats; earlier seconds dropped; new lines kept", () => {
  const rp = new ResumePoint();
  assertEquals(
    feed(rp, [["2026-11-21T08:00:04.5Z", "a"], ["2026-11-21T08:00:05.1Z", "b"], [
      "2026-11-21T08:00:05.2Z",
      "c",
    ]]),
    ["a", "b", "c"],
  );
  rp.resume();
  // the server sends the whole second again (and, being lenient, something older)
  assertEquals(
    feed(rp, [
      ["2026-11-21T08:00:04.5Z", "a"],
      ["2026-11-21T08:00:05.1Z", "b"],
      ["2026-11-21T08:00:05.2Z", "c"],
      ["2026-11-21T08:00:05.7Z", "d"],
      ["2026-11-21T08:00:06.0Z", "e"],
    ]),
    ["d", "e"],
  );
});

Deno.test("resume: second-granularity timestamps and repeated lines are counted, not collapsed", () => {
  const rp = new ResumePoint();
  // a runtime that stamps whole seconds; "tick" three times in one second, two of them shown before the drop
  assertEquals(feed(rp, [["2026-11-21T08:00:05Z", "tick"], ["2026-11-21T08:00:05Z", "tick"]]), [
    "tick",
    "tick",
  ]);
  assertEquals(rp.resume(), "2026-11-21T08:00:05Z");
  assertEquals(
    feed(rp, [
      ["2026-11-21T08:00:05Z", "tick"],
      ["2026-11-21T08:00:05Z", "tick"],
      ["2026-11-21T08:00:05Z", "tick"],
      ["2026-11-21T08:00:06Z", "tick"],
    ]),
    ["tick", "tick"],
  );
  // a second resume in the same second counts what was shown in all of it
  rp.resume();
  assertEquals(feed(rp, [["2026-11-21T08:00:06Z", "tick"], ["2026-11-21T08:00:06Z", "tock"]]), ["tock"]);
});

Deno.test("resume: timestamps with an offset are compared in UTC; lines without one always pass", () => {
  const rp = new ResumePoint();
  feed(rp, [["2026-11-21T10:00:05.5+02:00", "a"]]);
  assertEquals(rp.resume(), "2026-11-21T08:00:05Z");
  assertEquals(feed(rp, [["2026-11-21T08:00:04.9Z", "old"], [undefined as unknown as string, "plain"]]), [
    "plain",
  ]);
});
