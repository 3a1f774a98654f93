/**
 * The cloud metadata endpoints no session pod may reach, whatever `session.egress.allow` says: the
 * addresses a VM's or a node's own credentials are served from (an agent that reached one could take the
 * node's cloud role). A maintained list — add an entry with its provider and a source when a cloud adds
 * one; the session's egress NetworkPolicy excepts each (src/session/spec/sandbox.ts), `kodama doctor` names them,
 * and docs/security.md ("The pod is the sandbox") lists them. DNS (port 53) stays open to every address,
 * Azure's resolver at 168.63.129.16 included: only the other ports of these addresses are closed.
 */
export interface DeniedRange {
  cidr: string;
  /** whose and what it serves */
  why: string;
}

export const METADATA_DENIED: readonly DeniedRange[] = [
  {
    cidr: "169.254.0.0/16",
    // the whole IPv4 link-local range: metadata services move inside it, and node-local agents live there
    why: "IPv4 link-local: the metadata service of AWS, GCP, Azure, Oracle, IBM, DigitalOcean, OpenStack, " +
      "Hetzner and Huawei (169.254.169.254), Tencent's (169.254.0.23), GKE's metadata server " +
      "(169.254.169.252, .254), the AWS ECS task metadata and credentials endpoint (169.254.170.2), " +
      "EKS Pod Identity (169.254.170.23)",
  },
  { cidr: "fe80::/10", why: "IPv6 link-local (node-local agents, metadata reached by interface)" },
  { cidr: "fd00:ec2::254/128", why: "AWS instance metadata service over IPv6 (IMDS on Nitro)" },
  { cidr: "fd00:ec2::23/128", why: "AWS EKS Pod Identity agent over IPv6" },
  { cidr: "100.100.100.200/32", why: "Alibaba Cloud ECS instance metadata" },
  { cidr: "168.63.129.16/32", why: "Azure WireServer (VM agent and extension configuration, health probes)" },
];

/** The CIDRs alone, in the list's order. */
export const METADATA_CIDRS: readonly string[] = METADATA_DENIED.map((d) => d.cidr);
