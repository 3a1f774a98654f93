/**
 * src/kube/kubeyaml.ts reads the plain YAML `kubectl config` writes without the yaml package. Whatever it accepts,
 * the yaml package with kubeconfig.ts's schema (go-yaml v2's scalars) must read to the same value; everything else
 * it must leave to the yaml package. Checked on kubeconfigs as kubectl, kind, EKS and GKE write them, on
 * hand-written odd ones, and on thousands of random edits of them.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import { readSimpleYaml } from "../../../src/kube/kubeyaml.ts";
import { readYaml } from "../../../src/kube/kubeconfig_yaml.ts";

const KUBECTL = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUMvakNDQWVhZ0F3SUJBZ0lCQURBTkJna3Foa2lHOXcwQkFRc0ZBREFWTVJNd0VRWURWUVFERXdwcmRXSmwKY201bGRHVnpNQjRYRFRJME1ERXdNVEF3TURBd01Gb1hEVE0wTURFeE1UQXdNREF3TUZvd0ZURVRNQkVHQTFVRQo=
    server: https://127.0.0.1:6443
  name: kind-kind
- cluster:
    insecure-skip-tls-verify: true
    server: https://10.0.0.1:443
    tls-server-name: kubernetes.default
    proxy-url: http://proxy.local:3128
  name: other
contexts:
- context:
    cluster: kind-kind
    user: kind-kind
    namespace: dev
  name: kind-kind
- context:
    cluster: other
    user: token-user
  name: other
current-context: kind-kind
kind: Config
preferences: {}
users:
- name: kind-kind
  user:
    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t
    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQ==
- name: token-user
  user:
    token: abc.def-ghi_jkl
`;

const EKS = `apiVersion: v1
clusters:
  - cluster:
      server: https://ABCDEF.gr7.us-west-2.eks.amazonaws.com
      certificate-authority-data: LS0tLS1CRUdJTg==
    name: arn:aws:eks:us-west-2:111122223333:cluster/prod
contexts:
  - context:
      cluster: arn:aws:eks:us-west-2:111122223333:cluster/prod
      user: arn:aws:eks:us-west-2:111122223333:cluster/prod
    name: prod   # the production cluster
current-context: prod
kind: Config
users:
  - name: arn:aws:eks:us-west-2:111122223333:cluster/prod
    user:
      exec:
        apiVersion: client.authentication.k8s.io/v1beta1
        command: aws
        args:
          - --region
          - us-west-2
          - eks
          - get-token
          - --cluster-name
          - prod
        env:
          - name: AWS_PROFILE
            value: "prod-admin"
        interactiveMode: IfAvailable
        provideClusterInfo: false
`;

const GKE = `apiVersion: v1
kind: Config
clusters:
- name: gke_proj_europe-west1_c1
  cluster:
    server: 'https://34.1.2.3'
    certificate-authority-data: "LS0tLS1CRUdJTg=="
    extensions:
    - name: client.authentication.k8s.io/exec
      extension:
        audience: "it's \\"quoted\\""
users:
- name: gke_proj_europe-west1_c1
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: gke-gcloud-auth-plugin
      installHint: 'Install gke-gcloud-auth-plugin for use with kubectl by following
        https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl#install_plugin'
      provideClusterInfo: true
contexts:
- name: gke
  context: {cluster: gke_proj_europe-west1_c1, user: gke_proj_europe-west1_c1}
current-context: gke
`;

/** As the real-cluster scripts (kubeadm-style tooling) write it: one-line flow maps for contexts. */
const FLOWCTX = `apiVersion: v1
kind: Config
clusters:
- name: real
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t
users:
- name: admin
  user:
    client-certificate-data: LS0tLS1CRUdJTg==
    client-key-data: LS0tLS1CRUdJTg==
contexts:
- name: admin
  context: {cluster: real, user: admin}
- name: dev
  context: { cluster: real, user: dev, namespace: 'team-a' }   # dev's
- {name: ops, user: admin}
current-context: admin
`;

/** Lines outside the subset: each must be left to the yaml package, whatever the yaml package makes of it. */
const ODD = [
  "a: yes\n",
  "a: 123\n",
  "a: 1.5\n",
  "a: 0x1F\n",
  "a: .inf\n",
  "a: ~/x\n",
  "a: &x b\nc: *x\n",
  "a: !!str b\n",
  "a: |\n  text\n",
  "a: >\n  text\n",
  "a: {b: {c: d}}\n",
  "a: {b: c, }\n",
  "a: {b: c\n",
  "a: {b: c\n  d: e}\n",
  'a: {b: "x" # c}\n',
  "a: {b}\n",
  "a: {b:c}\n",
  "a: [b, [c]]\n",
  "a: {b: 1}\n",
  "a: [1, 2]\n",
  "a: {b: yes}\n",
  "a: {b: c d}\n",
  'a: {"b": c}\n',
  "a: {b: c, b: d}\n",
  "a: {b: it's}\n",
  "a: [b, c]x\n",
  "a: {b: c}}\n",
  "a: {b: https://x}\n",
  "a: {b: 'x'y}\n",
  "a: [b, ~x]\n",
  "a: {b: *x}\n",
  "a: b\n  c\n",
  "a: b\na: c\n",
  "---\na: b\n",
  "a: b\n---\nc: d\n",
  "a:\n\t- b\n",
  "a: b\r\nc: d\r\n",
  '"a": b\n',
  "a: 'unterminated\n",
  'a: "esc \\u0041"\n',
  "<<: {a: b}\n",
  "- a\n- b\n",
  "a: -1\n",
  "a: -\n",
  "a: b: c\n",
  "a:b\n",
  "a:\n- b\n - c\n",
  "a:\n  b: c\n d: e\n",
  "a: on\n",
  "a: N\n",
  "? a\n: b\n",
  "a: @b\n",
  "a: `b`\n",
  "a: %b\n",
  "yes: a\n",
  "true: a\n",
];

const SIMPLE = [
  "",
  "# only a comment\n",
  "a: b\n",
  "a:\n",
  "a: null\nb: ~x\n".replace("~x", "'~x'"),
  "a: true\nb: False\nc: TRUE\n",
  "a:\n  b:\n    c: d\n  e: f\ng: h\n",
  "a:\n- b\n- c: d\n  e: f\n-\n  g: h\n- 'q'\n",
  "a: 'it''s'\nb: \"x\\\\y\\\"z\\n\"\n",
  "a: http://h/x#frag # a comment\n",
  "a: C:\\Users\\me\\.kube\\ca.crt\n",
  "a: --flag\nb: -x\n",
  "a: toString\nconstructor: x\n",
  "a: []\nb: {}\n",
  "a: [b, c]\n",
  "a: {b: c}\n",
  'a: {b: c, d: \'e, f\', g: "h\\"i", j: null, k: true, l: ~}   # note\n',
  "a:\n- [x, 'y']\n- {b: c}\n",

  "a: b   \n\n\nc: d\n",
];

function both(text: string): { fast: { value: unknown } | undefined; full: unknown; fullError?: string } {
  const fast = readSimpleYaml(text);
  try {
    return { fast, full: readYaml(text) };
  } catch (e) {
    return { fast, full: undefined, fullError: (e as Error).message };
  }
}

function agree(text: string): boolean {
  const { fast, full, fullError } = both(text);
  if (!fast) return true;
  assert(
    fullError === undefined,
    `the fast reader accepted what the yaml package refuses (${fullError}):\n${text}`,
  );
  assertEquals(fast.value, full, text);
  return true;
}

Deno.test("kubeyaml: kubeconfigs as kubectl, kind and EKS write them are read without the yaml package, to the yaml package's value", () => {
  for (const text of [KUBECTL, EKS, FLOWCTX, ...SIMPLE]) {
    assert(readSimpleYaml(text), `not read:\n${text}`);
    agree(text);
  }
});

Deno.test("kubeyaml: nested or multi-line flow, folded lines, anchors, numbers and YAML 1.1 words are left to the yaml package", () => {
  assertEquals(readSimpleYaml(GKE), undefined);
  for (const text of ODD) assertEquals(readSimpleYaml(text), undefined, JSON.stringify(text));
});

Deno.test("kubeyaml: random edits of real kubeconfigs never read differently from the yaml package", () => {
  // a fixed-seed generator: the same edits every run
  let seed = 42;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const pieces = [
    " ",
    "  ",
    "-",
    "- ",
    ":",
    ": ",
    "#",
    " #",
    "'",
    '"',
    "\\",
    "\n",
    "\n  ",
    "\n- ",
    "yes",
    "1",
    "{}",
    "[]",
    "~",
    "&a",
    "*a",
    "!",
    "|",
    ">",
    "null",
    "true",
    "x",
    "{",
    "}",
    ",",
    "[",
    "]",
    "{a: b}",
  ];
  let accepted = 0, acceptedFlow = 0;
  for (let round = 0; round < 5000; round++) {
    const base = [KUBECTL, EKS, GKE, FLOWCTX, ...SIMPLE][rand(4 + SIMPLE.length)];
    let text = base;
    for (let k = 0, edits = 1 + rand(3); k < edits; k++) {
      const at = rand(text.length + 1);
      const op = rand(3);
      if (op === 0) text = text.slice(0, at) + pieces[rand(pieces.length)] + text.slice(at);
      else if (op === 1) text = text.slice(0, at) + text.slice(at + 1 + rand(4));
      else {
        const lines = text.split("\n");
        const i = rand(lines.length);
        lines.splice(i, 0, lines[rand(lines.length)]);
        text = lines.join("\n");
      }
    }
    agree(text);
    if (readSimpleYaml(text)) {
      accepted++;
      if (/[{[][^\]}]/.test(text)) acceptedFlow++;
    }
  }
  // the edits must leave many texts in the subset, or the comparison proves little
  assert(accepted > 300, `only ${accepted} edited texts were read by the fast reader`);
  assert(acceptedFlow > 100, `only ${acceptedFlow} edited texts with flow collections were read`);
});

Deno.test("kubeyaml: a kubeconfig outside the subset loads the yaml package on the way (withFullYaml), not before", async () => {
  const { decodeKubeconfig, NeedsFullYaml, withFullYaml } = await import("../../../src/kube/kubeconfig.ts");
  assertEquals(decodeKubeconfig(KUBECTL, "kc", "/d").currentContext, "kind-kind");
  let needed = false;
  try {
    decodeKubeconfig(GKE, "kc", "/d");
  } catch (e) {
    needed = e instanceof NeedsFullYaml;
  }
  assert(needed, "a kubeconfig with a folded line was read without the yaml package");
  const doc = await withFullYaml(() => decodeKubeconfig(GKE, "kc", "/d"));
  assertEquals(doc.contexts[0], {
    name: "gke",
    cluster: "gke_proj_europe-west1_c1",
    user: "gke_proj_europe-west1_c1",
    namespace: undefined,
    source: "kc",
  });
});
