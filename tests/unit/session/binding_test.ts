/** `bindingMode`: whether `start` waits for its claims before the pod (start at the floor). */
import { assertEquals } from "@kodama/test-assert";
import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { bindingMode } from "../../../src/session/lifecycle/start.ts";

const claim = (cls: string | undefined, phase = "Pending"): V1PersistentVolumeClaim => ({
  metadata: { name: "c" },
  spec: { ...(cls ? { storageClassName: cls } : {}) },
  status: { phase },
});

Deno.test("bindingMode: Immediate (or unset) classes are waited for; WaitForFirstConsumer goes with the pod", () => {
  const classes = new Map<string, { volumeBindingMode?: string } | undefined>([
    ["fast", { volumeBindingMode: "Immediate" }],
    ["default-mode", {}],
    ["wffc", { volumeBindingMode: "WaitForFirstConsumer" }],
    ["hidden", undefined],
  ]);
  assertEquals(bindingMode([claim("fast"), claim("default-mode")], classes), "immediate");
  assertEquals(bindingMode([claim("fast"), claim("wffc")], classes), "consumer");
  // a class this user may not read, or no class: the claims' events decide
  assertEquals(bindingMode([claim("hidden"), claim("fast")], classes), "unknown");
  assertEquals(bindingMode([claim(undefined)], classes), "unknown");
  // claims already Bound (kept volumes taken over) need no class
  assertEquals(bindingMode([claim("hidden", "Bound"), claim("fast")], classes), "immediate");
});
