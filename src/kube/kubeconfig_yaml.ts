/**
 * The `yaml` package (kodama's one YAML parser), set up to read scalars as go-yaml v2 (kubectl's YAML)
 * does: YAML 1.1 booleans and nulls, numbers kept as text (YamlNumber), `<<` merges, everything else a
 * string. Loaded by ./kubeconfig.ts only for kubeconfigs outside the plain subset ./kubeyaml.ts reads.
 */
import { parseAllDocuments, type ScalarTag } from "yaml";
import { YamlNumber } from "./kubeconfig.ts";

/** go-yaml v2's numbers (ints in any base, with `_`; floats; .inf/.nan), no sexagesimal or timestamps. */
const NUMBER_RE =
  /^[-+]?(0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*|([0-9][0-9_]*)?\.[0-9_]*([eE][-+]?[0-9]+)?|[0-9][0-9_]*[eE][-+]?[0-9]+|\.(inf|Inf|INF))$|^\.(nan|NaN|NAN)$/;

const numberTag: ScalarTag = {
  tag: "tag:yaml.org,2002:int",
  default: true,
  identify: (v) => v instanceof YamlNumber,
  // NUMBER_RE alone also takes "." and "+.": a number has a digit, or is inf/nan
  test: { test: (s: string) => NUMBER_RE.test(s) && /[0-9]|inf|nan/i.test(s) } as RegExp,
  resolve: (s) => new YamlNumber(s),
  stringify: (item) => String((item.value as YamlNumber).text),
};

/** YAML 1.1's nulls: `~`, null in three spellings, and nothing. */
const nullTag: ScalarTag = {
  tag: "tag:yaml.org,2002:null",
  default: true,
  identify: (v) => v === null,
  test: /^(?:~|null|Null|NULL)?$/,
  resolve: () => null,
};

/** YAML 1.1's booleans as go-yaml v2 reads them (y/n, yes/no, on/off, true/false; three spellings each). */
const boolTag: ScalarTag = {
  tag: "tag:yaml.org,2002:bool",
  default: true,
  identify: (v) => typeof v === "boolean",
  test: /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/,
  resolve: (s) => /^(?:y|Y|yes|Yes|YES|true|True|TRUE|on|On|ON)$/.test(s),
};

/** The first document of `text` (undefined for none); throws the parser's first error for bad YAML. */
export function readYaml(text: string): unknown {
  const docs = parseAllDocuments(text, {
    schema: "failsafe",
    customTags: [nullTag, boolTag, numberTag],
    merge: true,
    uniqueKeys: true,
  });
  if (!Array.isArray(docs)) return undefined; // an empty stream
  const first = docs[0];
  if (!first) return undefined;
  // go-yaml reads the first document; a later one that is not YAML fails the file all the same
  for (const d of docs) if (d.errors.length) throw d.errors[0];
  return first.toJS({ maxAliasCount: 100 });
}
