/**
 * js-yaml, set up to read scalars as go-yaml v2 (kubectl's YAML) does: YAML 1.1 booleans and nulls,
 * numbers kept as text (YamlNumber), `<<` merges, everything else a string. Loaded by ./kubeconfig.ts
 * only for kubeconfigs outside the plain subset ./kubeyaml.ts reads.
 */
import {
  boolYaml11Tag,
  defineScalarTag,
  FAILSAFE_SCHEMA,
  loadAll,
  mergeTag,
  NOT_RESOLVED,
  nullYaml11Tag,
} from "js-yaml";
import { YamlNumber } from "./kubeconfig.ts";

/** go-yaml v2's numbers (ints in any base, with `_`; floats; .inf/.nan), no sexagesimal or timestamps. */
const NUMBER_RE =
  /^[-+]?(0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*|([0-9][0-9_]*)?\.[0-9_]*([eE][-+]?[0-9]+)?|[0-9][0-9_]*[eE][-+]?[0-9]+|\.(inf|Inf|INF))$|^\.(nan|NaN|NAN)$/;

const numberTag = defineScalarTag<YamlNumber>("tag:yaml.org,2002:int", {
  implicit: true,
  resolve: (s) => (NUMBER_RE.test(s) && /[0-9]|inf|nan/i.test(s) ? new YamlNumber(s) : NOT_RESOLVED),
  identify: (d) => d instanceof YamlNumber,
  represent: (d: YamlNumber) => d.text,
});

/** YAML 1.1 as go-yaml v2 reads it: strings, lists, maps, null, 1.1 booleans, numbers (as YamlNumber), `<<`. */
const SCHEMA = FAILSAFE_SCHEMA.withTags(nullYaml11Tag, boolYaml11Tag, numberTag, mergeTag);

/** The first document of `text` (undefined for none); throws js-yaml's error for bad YAML. */
export function readYaml(text: string): unknown {
  return loadAll(text, { schema: SCHEMA })[0];
}
