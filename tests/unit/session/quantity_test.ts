import { assertEquals, assertThrows } from "@kodama/test-assert";
import {
  checkedCpu,
  checkedSize,
  formatCpu,
  formatSize,
  parseQuantity,
  resourcesText,
  sessionResources,
} from "../../../src/session/spec/quantity.ts";
import { ExitCode, type KodamaError } from "../../../src/base/errors.ts";

Deno.test("quantities parse exactly with the API server's grammar", () => {
  assertEquals(parseQuantity("0.5"), { num: 5n, den: 10n });
  assertEquals(parseQuantity("500m"), { num: 500n, den: 1000n });
  assertEquals(parseQuantity("2Gi"), { num: 2n * 1024n ** 3n, den: 1n });
  assertEquals(parseQuantity("1e3"), { num: 1000n, den: 1n });
  assertEquals(parseQuantity("1."), { num: 1n, den: 1n });
  for (const bad of ["lots", "", "1 Gi", "1GB", "Gi", "--1", "1.2.3", "0x10"]) {
    assertEquals(parseQuantity(bad), undefined, bad);
  }
});

Deno.test("fractional CPUs become millicores; no float rounding", () => {
  assertEquals(formatCpu(checkedCpu("0.5", "--cpu")), "500m");
  assertEquals(formatCpu(checkedCpu("1.5", "--cpu")), "1500m");
  assertEquals(formatCpu(checkedCpu("2", "--cpu")), "2");
  assertEquals(formatCpu(checkedCpu("0.1", "--cpu")), "100m"); // 0.1*1000 in floats is 100.00000000000001
  assertEquals(formatCpu(checkedCpu("2000m", "--cpu")), "2");
  assertEquals(formatCpu(checkedCpu("0.0015", "--cpu")), "2m"); // rounded up like the API server
});

Deno.test("requests are a quarter of the limits and never 0", () => {
  assertEquals(sessionResources("1", "2Gi"), {
    requests: { cpu: "250m", memory: "512Mi" },
    limits: { cpu: "1", memory: "2Gi" },
  });
  assertEquals(sessionResources("0.5", "1Gi").requests, { cpu: "125m", memory: "256Mi" });
  // the smallest limits: the request is the limit itself, not a rounded 0
  assertEquals(sessionResources("1m", "1").requests, { cpu: "1m", memory: "1" });
  assertEquals(sessionResources("3m", "3").requests, { cpu: "1m", memory: "1" });
  assertEquals(sessionResources("0.001", "100M").requests.cpu, "1m");
  assertEquals(resourcesText("2", "4Gi"), "cpu 2 (request 500m), memory 4Gi (request 1Gi)");
});

Deno.test("sizes format in the largest exact binary unit", () => {
  assertEquals(formatSize(checkedSize("1.5Gi", "--memory")), "1536Mi");
  assertEquals(formatSize(checkedSize("100M", "--memory")), "100000000");
  assertEquals(formatSize(checkedSize("10Gi", "--storage")), "10Gi");
});

Deno.test("bad quantities are usage errors naming the flag", () => {
  const e = assertThrows(() => checkedCpu("lots", "--cpu")) as KodamaError;
  assertEquals(e.code, ExitCode.USAGE);
  assertEquals(e.message, 'invalid --cpu "lots": not a CPU quantity');
  assertEquals(
    (assertThrows(() => checkedCpu("0", "--cpu")) as KodamaError).message,
    'invalid --cpu "0": must be greater than 0',
  );
  assertEquals((assertThrows(() => checkedCpu("-1", "--cpu")) as KodamaError).code, ExitCode.USAGE);
  assertEquals((assertThrows(() => checkedCpu("2Gi", "--cpu")) as KodamaError).code, ExitCode.USAGE);
  assertEquals(formatCpu(checkedCpu("0.0000001", "--cpu")), "1m"); // the API server rounds up to 1m too
  assertEquals(
    (assertThrows(() => checkedSize("big", "--memory")) as KodamaError).message,
    'invalid --memory "big": not a size quantity',
  );
  assertEquals((assertThrows(() => checkedSize("0Gi", "--storage")) as KodamaError).code, ExitCode.USAGE);
});
