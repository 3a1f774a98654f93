import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import type { V1Pod } from "@kubernetes/client-node";
import {
  createState,
  editQuery,
  onKey,
  type PickerItem,
  type PickerState,
  removeItems,
} from "../../../src/picker/state.ts";
import { queryView, render, truncate } from "../../../src/picker/render.ts";
import { podPreview } from "../../../src/pods/preview.ts";
import { stripAnsi } from "../../../src/ui/color.ts";

const NOW = Date.parse("2026-01-02T12:00:00Z");
function pod(ns: string, name: string): V1Pod {
  return {
    metadata: {
      name,
      namespace: ns,
      creationTimestamp: new Date(NOW - 3 * 3600_000),
      labels: { app: name.replace(/-\d+$/, ""), tier: "storage" },
    },
    spec: {
      nodeName: "node-1",
      containers: [{ name: "weka", image: "quay.io/weka.io/weka-in-container:4.4.2" }, {
        name: "sidecar",
        image: "busybox:1.36",
      }],
    },
    status: {
      phase: "Running",
      podIP: "10.0.0.7",
      containerStatuses: [
        { name: "weka", ready: true, restartCount: 2, image: "", imageID: "", state: { running: {} } },
        {
          name: "sidecar",
          ready: false,
          restartCount: 1,
          image: "",
          imageID: "",
          state: { waiting: { reason: "CrashLoopBackOff" } },
        },
      ],
    },
  };
}
const item = (p: V1Pod): PickerItem<V1Pod> => ({
  id: `${p.metadata!.namespace}/${p.metadata!.name}`,
  label: p.metadata!.name!,
  namespace: p.metadata!.namespace,
  payload: p,
});
const W = "weka-operator-system";
const PODS = [
  pod(W, "weka-drive-0"),
  pod(W, "weka-drive-1"),
  pod(W, "weka-drive-2"),
  pod(W, "weka-compute-0"),
  pod("prod", "api-7d9f8c6b5-x2k4p"),
];
const preview = (it: PickerItem<V1Pod>) => podPreview(it.payload, NOW);

/** multi picker, query "wdr", first row marked, cursor on drive-1, drive-2 deleted meanwhile */
function scene(width: number, height = 12): PickerState<V1Pod> {
  let s = createState(PODS.map(item), { multi: true, width, height, prompt: "pod> " });
  s = onKey(s, { text: "wdr" }).state;
  s = onKey(s, "tab").state;
  return removeItems(s, [`${W}/weka-drive-2`]);
}

Deno.test("render: width 40 (namespace column shrinks, hints drop, rows truncate)", () => {
  assertEquals(render(scene(40), { preview }), [
    "pod> wdr",
    "  2/4 (1 selected) ──────── enter accept",
    " * weka-operato…  weka-drive-0",
    ">  weka-operato…  weka-drive-1",
    "   weka-operato…  weka-drive-2 (deleted)",
  ]);
});

Deno.test("render: width 80 (no preview by default; `?` shows it below)", () => {
  const s = scene(80);
  assertEquals(render(s, { preview }), [
    "pod> wdr",
    "  2/4 (1 selected) ──────────── enter accept · tab mark · ? preview · esc cancel",
    " * weka-operator-system  weka-drive-0",
    ">  weka-operator-system  weka-drive-1",
    "   weka-operator-system  weka-drive-2 (deleted)",
  ]);
  const withPreview = render(onKey(s, { text: "?" }).state, { preview });
  assertEquals(
    withPreview,
    [
      "pod> wdr",
      "  2/4 (1 selected) ──────────── enter accept · tab mark · ? preview · esc cancel",
      " * weka-operator-system  weka-drive-0",
      ">  weka-operator-system  weka-drive-1",
      "   weka-operator-system  weka-drive-2 (deleted)",
      "",
      "─".repeat(80),
      "name       weka-drive-1",
      "namespace  weka-operator-system",
      "phase      Running (CrashLoopBackOff)",
      "ready      1/2",
    ].filter((_, i) => i !== 5),
  );
});

Deno.test("render: width 160 (preview on the right with the pod's details)", () => {
  const lines = render(scene(160, 24), { preview });
  const pad = (s: string) => s.padEnd(85) + " │ ";
  assertEquals(lines, [
    "pod> wdr",
    "  2/4 (1 selected) " + "─".repeat(79) + " enter accept · tab mark · ctrl-a all · ? preview · esc cancel",
    pad(" * weka-operator-system  weka-drive-0") + "name       weka-drive-1",
    pad(">  weka-operator-system  weka-drive-1") + "namespace  weka-operator-system",
    pad("   weka-operator-system  weka-drive-2 (deleted)") + "phase      Running (CrashLoopBackOff)",
    pad("") + "ready      1/2",
    pad("") + "restarts   3",
    pad("") + "age        3h",
    pad("") + "node       node-1",
    pad("") + "ip         10.0.0.7",
    pad("") + "labels",
    pad("") + "  app=weka-drive",
    pad("") + "  tier=storage",
    pad("") + "containers",
    pad("") + "  weka (running)  quay.io/weka.io/weka-in-container:4.4.2",
    pad("") + "  sidecar (CrashLoopBackOff)  busybox:1.36",
  ]);
  for (const l of lines) assert([...l].length <= 160, `too wide: ${l}`);
});

Deno.test("render: single namespace has no namespace column; no matches says so", () => {
  let s = createState(PODS.slice(0, 4).map(item), { width: 60, height: 8 });
  assertEquals(render(s), [
    ">",
    "  4/4 ──────────────── enter accept · ? preview · esc cancel",
    "> weka-drive-0",
    "  weka-drive-1",
    "  weka-drive-2",
    "  weka-compute-0",
  ]);
  s = onKey(s, { text: "nope" }).state;
  assertEquals(render(s).slice(1), [
    "  0/4 ──────────────── enter accept · ? preview · esc cancel",
    "  (no matches)",
  ]);
});

Deno.test("render: colour highlights exactly the matched characters", () => {
  const s = onKey(createState(PODS.slice(0, 4).map(item), { width: 60, height: 8 }), { text: "wkd2" }).state;
  const out = render(s, { color: true });
  const row = out[2];
  // w(0) k(2) d(5) 2(11) of "weka-drive-2" are bold green
  assertStringIncludes(row, "\x1b[1;32mw\x1b[0m\x1b[1me\x1b[0m\x1b[1;32mk\x1b[0m");
  assertStringIncludes(row, "\x1b[1;32m2\x1b[0m");
  assertEquals(stripAnsi(row), "> weka-drive-2");
});

Deno.test("render: never wider than the terminal, never taller than the area", () => {
  const long = PODS.map((p) =>
    item({ ...p, metadata: { ...p.metadata, name: p.metadata!.name + "-x".repeat(60) } })
  );
  for (const width of [20, 40, 80, 160]) {
    for (const height of [3, 5, 12]) {
      let s = createState(long, { width, height, multi: true });
      s = onKey(s, { text: "?" }).state;
      const lines = render(s, { preview: (it) => podPreview(it.payload, NOW) });
      assert(lines.length <= height, `${width}x${height}: ${lines.length} lines`);
      for (const l of lines) assert([...l].length <= width, `${width}x${height}: ${l}`);
    }
  }
  assertEquals(truncate("abcdef", 4), "abc…");
  assertEquals(truncate("abc", 4), "abc");
});

Deno.test("render: the query caret (a mark in plain text when asked, a reverse-video cell in colour)", () => {
  let s = createState(PODS.slice(0, 4).map(item), { width: 60, height: 8, prompt: "pod> " });
  s = onKey(onKey(s, { text: "wdr" }).state, "left").state;
  s = onKey(onKey(s, "left").state, { text: "k" }).state; // "wk|dr"
  assertEquals(s.queryCursor, 2);
  // plain text: unchanged unless a caret mark is asked for
  assertEquals(render(s)[0], "pod> wkdr");
  assertEquals(render(s, { caretMark: "|" })[0], "pod> wk|dr");
  assertEquals(render(onKey(s, "ctrl-e").state, { caretMark: "|" })[0], "pod> wkdr|");
  assertEquals(render(onKey(s, "ctrl-a").state, { caretMark: "|" })[0], "pod> |wkdr");
  // the list is the same either way
  assertEquals(render(s, { caretMark: "|" }).slice(1), render(s).slice(1));
  // colour: the character under the caret in reverse video; at the end a reverse-video blank
  const colored = render(s, { color: true })[0];
  assertStringIncludes(colored, "wk\x1b[7md\x1b[0mr");
  assertEquals(stripAnsi(colored), "pod> wkdr");
  const atEnd = render(onKey(s, "ctrl-e").state, { color: true })[0];
  assert(atEnd.endsWith("wkdr\x1b[7m \x1b[0m"), JSON.stringify(atEnd));
  const empty = render(createState(PODS.map(item), { prompt: "pod> " }), { color: true })[0];
  assertEquals(stripAnsi(empty), "pod>  ");
});

Deno.test("render: a query longer than the prompt line scrolls so the caret stays visible", () => {
  const base = createState(PODS.map(item), { width: 20, height: 6, prompt: "pod> " });
  const long = "abcdefghijklmnopqrstuvwxyz"; // 26 code points; 14 fit after the prompt (one cell kept for the caret)
  let s = editQuery(base, long, 26);
  assertEquals(queryView(s), { text: "mnopqrstuvwxyz", caret: 14 });
  assertEquals(render(s, { caretMark: "|" })[0], "pod> mnopqrstuvwxyz|");
  s = editQuery(base, long, 3);
  assertEquals(queryView(s), { text: "abcdefghijklmn", caret: 3 });
  assertEquals(render(s, { caretMark: "|" })[0], "pod> abc|defghijklmn");
  s = editQuery(base, long, 20);
  assertEquals(render(s, { caretMark: "|" })[0], "pod> hijklmnopqrst|u");
  for (let c = 0; c <= 26; c++) {
    const v = editQuery(base, long, c);
    for (const line of [render(v, { caretMark: "|" })[0], stripAnsi(render(v, { color: true })[0])]) {
      assert([...line].length <= 20, `caret ${c}: ${line}`);
    }
    assertStringIncludes(render(v, { caretMark: "|" })[0], "|");
  }
});
