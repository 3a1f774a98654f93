/** GET pods/{name}/log: container logs from the runtime's CRI-style log files. */
import fs from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Buffer } from "node:buffer";
import type { StreamContext } from "../contract.ts";
import { type LogLine, readLog, renderLine, selectLines } from "../runtime/logstore.ts";
import { boolParam, type RuntimeState, selectContainer, StreamError } from "./common.ts";
import { statusBody } from "./ws.ts";

function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) {
    throw new StreamError(400, `invalid ${name} ${JSON.stringify(v)}: must be an integer`);
  }
  return n;
}

export function handleLogs(
  rt: RuntimeState,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: StreamContext,
): void {
  try {
    serveLogs(rt, req, res, ctx);
  } catch (e) {
    if (!(e instanceof StreamError)) throw e;
    const body = statusBody(e.code, e.message);
    res.writeHead(e.code, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
    res.end(body);
  }
}

function serveLogs(rt: RuntimeState, req: IncomingMessage, res: ServerResponse, ctx: StreamContext): void {
  const q = ctx.query;
  const podName = ctx.pod.metadata.name;
  const name = selectContainer(ctx.pod, q.get("container"), true);
  const follow = boolParam(q, "follow");
  const previous = boolParam(q, "previous");
  const timestamps = boolParam(q, "timestamps");
  const tailLines = intParam(q, "tailLines");
  let limitBytes = intParam(q, "limitBytes");
  const sinceSeconds = intParam(q, "sinceSeconds");
  const sinceTime = q.get("sinceTime");
  if (sinceSeconds !== undefined && sinceSeconds < 1) {
    throw new StreamError(
      422,
      `PodLogOptions "${podName}" is invalid: sinceSeconds: Invalid value: ${sinceSeconds}: must be greater than 0`,
    );
  }
  if (limitBytes !== undefined && limitBytes < 1) {
    throw new StreamError(
      422,
      `PodLogOptions "${podName}" is invalid: limitBytes: Invalid value: ${limitBytes}: must be greater than 0`,
    );
  }
  let sinceMs: number | undefined;
  if (sinceSeconds !== undefined) sinceMs = Date.now() - sinceSeconds * 1000;
  else if (sinceTime) {
    sinceMs = Date.parse(sinceTime);
    if (Number.isNaN(sinceMs)) throw new StreamError(400, `invalid sinceTime ${JSON.stringify(sinceTime)}`);
  }

  const run = rt.pod(ctx.namespace, podName);
  const c = run?.container(name);
  if (!run || !c || !c.log) {
    // the kubelet's words for a container that never started (validateContainerLogStatus)
    const reason = c && "waiting" in c.state ? c.state.waiting.reason : "ContainerCreating";
    const why = reason === "ErrImagePull"
      ? "image can't be pulled"
      : reason === "ImagePullBackOff"
      ? "trying and failing to pull image"
      : reason;
    throw new StreamError(400, `container "${name}" in pod "${podName}" is waiting to start: ${why}`);
  }
  let file = c.log.file;
  const live = !c.log.closed;
  if (previous) {
    file = c.logFile(run.layout, c.restartCount - 1);
    if (c.restartCount < 1 || !fs.existsSync(file)) {
      throw new StreamError(400, `previous terminated container "${name}" in pod "${podName}" not found`);
    }
  }

  res.writeHead(200, {
    "Content-Type": "text/plain",
    "Transfer-Encoding": "chunked",
    "Cache-Control": "no-cache",
  });
  // the log file is written synchronously on this thread, so read-then-subscribe cannot miss a line
  const lines = selectLines(readLog(file), { tailLines, sinceMs });
  let atLineStart = true; // a timestamp starts each logical line, not each partial chunk
  const write = (l: LogLine): boolean => {
    let b = renderLine(l, timestamps && atLineStart);
    atLineStart = !l.partial;
    if (limitBytes !== undefined) {
      if (b.length >= limitBytes) {
        b = b.subarray(0, limitBytes);
        limitBytes = 0;
      } else limitBytes -= b.length;
    }
    res.write(b);
    return limitBytes !== 0;
  };
  let more = true;
  for (const l of lines) {
    if (!(more = write(l))) break;
  }
  if (!follow || !more || !live || previous) {
    res.end();
    return;
  }
  let unsubscribe = () => {};
  const drop = rt.streams.add({ drop: () => res.destroy() });
  const end = () => {
    unsubscribe();
    drop();
    if (!res.writableEnded) res.end();
  };
  unsubscribe = c.log!.follow((l) => {
    if (!write(l)) end();
  }, end);
  req.on("close", end);
  res.on("close", end);
}
