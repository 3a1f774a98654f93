/**
 * The test node's images, as a kubelet with containerd sees them: a small catalogue of images the
 * "registry" has and the node holds (the demo images, busybox tags, the session images), each with
 * its default command (ENTRYPOINT + CMD). Anything else cannot be pulled: the container goes
 * `ErrImagePull`, then `ImagePullBackOff`, with the kubelet's events and back-off. `imagePullPolicy`
 * is honoured (Always pulls, IfNotPresent uses the node's copy, Never never pulls).
 *
 * Pure, apart from nothing: the pod runtime (pod.ts) asks `pullImage` what happens and does it.
 */

/** What an image runs without `command`/`args`, and how it is built. */
export interface ImageConfig {
  /** ENTRYPOINT ([] = none) */
  entrypoint: string[];
  /** CMD */
  cmd: string[];
  /** a busybox image: busybox's applets (httpd, nc, ps, ...) are on the container's PATH */
  busybox?: boolean;
  /**
   * the image ships the agent CLIs (Claude Code, Codex): the host's global installs of them show, and its
   * PATH has AGENT_CLI_BIN (where CI installs the pinned CLIs, as an image's `ENV PATH` would)
   */
  agents?: boolean;
}

/** Where .ci/run installs the real agent CLIs (not on the machine's PATH): on an `agents` image's PATH. */
export const AGENT_CLI_BIN = Deno.env.get("KODAMA_TEST_AGENT_BIN") ?? "/usr/local/lib/agent-clis/bin";

interface CatalogueEntry extends ImageConfig {
  /** repository as containerd names it: docker.io/library/busybox */
  repo: string;
  /** tags the registry has */
  tags: string[];
}

/** The images of the test node (all present on it, all pullable from its registry). */
export const CATALOGUE: readonly CatalogueEntry[] = [
  {
    repo: "docker.io/library/busybox",
    tags: ["latest", "stable", "1.35", "1.35.0", "1.36", "1.36.1", "1.37", "1.37.0"],
    entrypoint: [],
    cmd: ["sh"],
    busybox: true,
  },
  // the session images (tests/cluster/README.md, the real cluster's dev image under two names)
  { repo: "docker.io/library/kodama-dev", tags: ["bookworm", "latest"], entrypoint: [], cmd: ["bash"] },
  { repo: "docker.io/library/node", tags: ["22-bookworm"], entrypoint: [], cmd: ["bash"] },
  {
    repo: "ghcr.io/illumination-k/kodama-claude",
    tags: ["latest"],
    entrypoint: [],
    cmd: ["bash"],
    agents: true,
  },
  { repo: "registry.k8s.io/pause", tags: ["3.9"], entrypoint: [], cmd: ["sleep", "infinity"] },
  // the demo world's images (seed.ts): long-running services
  {
    repo: "quay.io/weka.io/weka-in-container",
    tags: ["4.4.2"],
    entrypoint: [],
    cmd: ["sleep", "infinity"],
  },
  { repo: "registry.example.com/demo/http-echo", tags: ["1.0"], entrypoint: [], cmd: ["http-echo"] },
  { repo: "docker.io/apache/spark", tags: ["3.5.3"], entrypoint: [], cmd: ["sleep", "infinity"] },
];

export interface ImageRef {
  /** docker.io/library/busybox */
  repo: string;
  /** "latest" when neither tag nor digest is given */
  tag?: string;
  digest?: string;
  /** docker.io/library/busybox:1.36 (what containerd pulls) */
  full: string;
}

const NAME_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/**
 * Parse an image reference the way containerd normalises it (`busybox` ->
 * `docker.io/library/busybox:latest`); undefined when it is not a valid reference
 * (the kubelet's InvalidImageName).
 */
export function parseImage(image: string): ImageRef | undefined {
  let rest = image.trim();
  if (!rest || rest !== image) return undefined;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) return undefined;
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!/^[\w][\w.-]{0,127}$/.test(tag)) return undefined;
  }
  const parts = rest.split("/");
  let domain = "docker.io";
  if (parts.length > 1 && (parts[0].includes(".") || parts[0].includes(":") || parts[0] === "localhost")) {
    domain = parts.shift()!;
  }
  if (domain === "docker.io" && parts.length === 1) parts.unshift("library");
  if (!parts.length || !parts.every((p) => NAME_COMPONENT.test(p))) return undefined;
  const repo = `${domain}/${parts.join("/")}`;
  if (!tag && !digest) tag = "latest";
  return { repo, tag, digest, full: `${repo}${tag ? `:${tag}` : ""}${digest ? `@${digest}` : ""}` };
}

/** The catalogue entry an image reference names, if the test node has it. */
export function lookupImage(image: string): CatalogueEntry | undefined {
  const ref = parseImage(image);
  if (!ref) return undefined;
  const e = CATALOGUE.find((c) => c.repo === ref.repo);
  if (!e) return undefined;
  if (ref.tag && !e.tags.includes(ref.tag)) return undefined;
  return e; // a digest of a known repository is taken as one of its images
}

/** The argv a container runs: command/args over the image's ENTRYPOINT/CMD, as the kubelet combines them. */
export function containerArgv(image: ImageConfig, command: string[], args: string[]): string[] {
  if (command.length) return [...command, ...args];
  if (args.length) return [...image.entrypoint, ...args];
  return [...image.entrypoint, ...image.cmd];
}

export type PullPolicy = "Always" | "IfNotPresent" | "Never";

/** The API server's default (SetDefaults_Container): Always when the tag is (or defaults to) latest. */
export function defaultPullPolicy(image: string): PullPolicy {
  const ref = parseImage(image);
  return ref && !ref.digest && ref.tag === "latest" ? "Always" : "IfNotPresent";
}

/** Does starting a container with this image and policy go to the registry? */
export function needsPull(image: string, policy: PullPolicy | undefined): boolean {
  const pol = policy ?? defaultPullPolicy(image);
  return !!parseImage(image) && (pol === "Always" || (pol === "IfNotPresent" && !lookupImage(image)));
}

/** One kubelet event (type, reason, message). */
export interface KubeletEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

export type PullOutcome =
  | { ok: true; image: CatalogueEntry; events: KubeletEvent[] }
  | {
    ok: false;
    /** the container's waiting reason: ErrImagePull, ErrImageNeverPull, InvalidImageName */
    reason: string;
    /** the waiting message */
    message: string;
    events: KubeletEvent[];
  };

/** Go's time.Duration formatting for small durations ("812.345678ms", "1.2345s"), as in the Pulled event. */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${Number(ms.toFixed(6))}ms`;
  return `${Number((ms / 1000).toFixed(9))}s`;
}

/** kuberuntime's "Error: <reason>" event after the image manager refused a container start. */
function failedEvent(reason: string): KubeletEvent {
  return { type: "Warning", reason: "Failed", message: `Error: ${reason}` };
}

/**
 * What the kubelet's image manager does for one container start (EnsureImageExists): the events
 * it records and whether the container can start. `pullMs` is how long a pull took (for the message).
 */
export function pullImage(image: string, policy: PullPolicy | undefined, pullMs = 0): PullOutcome {
  const ref = parseImage(image);
  if (!ref) {
    const message =
      `Failed to apply default image tag "${image}": couldn't parse image reference "${image}": ` +
      "invalid reference format";
    return {
      ok: false,
      reason: "InvalidImageName",
      message,
      events: [{ type: "Warning", reason: "InspectFailed", message }, failedEvent("InvalidImageName")],
    };
  }
  const entry = lookupImage(image);
  const pol = policy ?? defaultPullPolicy(image);
  if (entry && pol !== "Always") {
    return {
      ok: true,
      image: entry,
      events: [{
        type: "Normal",
        reason: "Pulled",
        message: `Container image "${image}" already present on machine`,
      }],
    };
  }
  if (!entry && pol === "Never") {
    const message = `Container image "${image}" is not present with pull policy of Never`;
    return {
      ok: false,
      reason: "ErrImageNeverPull",
      message,
      events: [{ type: "Warning", reason: "ErrImageNeverPull", message }, failedEvent("ErrImageNeverPull")],
    };
  }
  const pulling: KubeletEvent = { type: "Normal", reason: "Pulling", message: `Pulling image "${image}"` };
  if (entry) {
    return {
      ok: true,
      image: entry,
      events: [pulling, {
        type: "Normal",
        reason: "Pulled",
        message: `Successfully pulled image "${image}" in ${goDuration(pullMs)}`,
      }],
    };
  }
  // containerd's answer for a reference its registry does not have
  const message =
    `rpc error: code = NotFound desc = failed to pull and unpack image "${ref.full}": failed to resolve reference "${ref.full}": ${ref.full}: not found`;
  return {
    ok: false,
    reason: "ErrImagePull",
    message,
    events: [
      pulling,
      { type: "Warning", reason: "Failed", message: `Failed to pull image "${image}": ${message}` },
      failedEvent("ErrImagePull"),
    ],
  };
}

/** The events and waiting state while the kubelet backs off pulling `image`. */
export function pullBackOff(image: string): { reason: string; message: string; events: KubeletEvent[] } {
  const message = `Back-off pulling image "${image}"`;
  return {
    reason: "ImagePullBackOff",
    message,
    events: [
      { type: "Normal", reason: "BackOff", message },
      failedEvent("ImagePullBackOff"),
    ],
  };
}

/** Image pull back-off of the test node: the kubelet's 10 s doubling to 300 s, scaled down by 10. */
export function pullBackoffMs(failures: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, failures - 1));
}

/** Whether `image` is one that ships the agent CLIs (an unknown or invalid one does not). */
export function imageHasAgents(image: string): boolean {
  const ref = parseImage(image);
  return !!ref && CATALOGUE.some((e) => e.repo === ref.repo && e.agents);
}
