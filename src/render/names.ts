// metadata.name of a Wso2Frontend names every object the operator derives from it (Services,
// workloads, Secrets) and is the value of their instance label. Kubernetes limits Service names
// and label values to 63 characters, so a name that fits the custom resource can still be one
// the owned objects can never have. The limit is computed here from the names the renderers
// actually produce, per pattern and backend kind; the CRD carries it as a root CEL rule, and
// offline validation checks the same.
import type { Wso2Frontend, Wso2FrontendSpec } from '../api/schema.js';
import type { Problem } from '../api/validate.js';
import { PATTERNS, type PatternName } from '../api/vocabulary.js';
import { PATTERN_PRESETS } from '../model/catalog.js';
import { buildTopology } from '../model/topology.js';
import { validateSpec } from '../model/validate.js';
import { desiredObjects } from './objects.js';
import { wso2Workloads } from './workloads.js';

/** Service names (RFC 1035 labels) and label values: at most 63 characters. */
const LABEL_MAX = 63;
/** A StatefulSet's pods carry the label controller-revision-hash: <name>-<hash of up to 10 characters>. */
const REVISION_HASH_SUFFIX = 11;
/** A Service name: a lower-case letter first, then letters, digits and '-', not ending in '-'. */
export const FRONTEND_NAME = '^[a-z]([-a-z0-9]*[a-z0-9])?$';

interface NameLimit {
  max: number;
  /** Why, for the message: the derived name that sets the limit. */
  because: string;
}

/** The longest name a frontend of this pattern may have, and the derived name that limits it. */
function limitOf(pattern: PatternName, managed: boolean): NameLimit {
  const placeholder = 'n';
  const spec = {
    product: PATTERN_PRESETS[pattern].product,
    pattern,
    backends: managed
      ? { managed: {} }
      : {
          external: {
            nodes: [
              {
                name: 'node',
                address: '192.0.2.1',
                roles: [...new Set(Object.values(PATTERN_PRESETS[pattern].sites).map((s) => s.https.role))],
              },
            ],
          },
        },
  };
  const validated = validateSpec(spec);
  if (!validated.ok) throw new Error(`name limits: ${JSON.stringify(validated.problems)}`);
  const frontend = { metadata: { name: placeholder } } as Wso2Frontend;
  const topology = buildTopology(validated.spec);
  const objects = [...desiredObjects(frontend, topology), ...(managed ? wso2Workloads(frontend, topology) : [])];
  let limit: NameLimit = { max: LABEL_MAX, because: 'it is the value of the label app.kubernetes.io/instance' };
  for (const object of objects) {
    const suffix = object.metadata!.name!.length - placeholder.length;
    const shown = `<name>${object.metadata!.name!.slice(placeholder.length)}`;
    const candidate: NameLimit =
      object.kind === 'StatefulSet'
        ? {
            max: LABEL_MAX - suffix - REVISION_HASH_SUFFIX,
            because: `the pods of the StatefulSet ${shown} carry the label value ${shown}-<revision hash>`,
          }
        : object.kind === 'Service'
          ? { max: LABEL_MAX - suffix, because: `it names the Service ${shown}` }
          : limit;
    if (candidate.max < limit.max) limit = candidate;
  }
  return limit;
}

type LimitTable = { external: NameLimit; managed: Record<PatternName, NameLimit> };
let table: LimitTable | undefined;

function limits(): LimitTable {
  table ??= {
    external: limitOf(PATTERNS[0], false),
    managed: Object.fromEntries(PATTERNS.map((p) => [p, limitOf(p, true)])) as Record<PatternName, NameLimit>,
  };
  return table;
}

const limitFor = (spec: Pick<Wso2FrontendSpec, 'pattern' | 'backends'>): NameLimit =>
  spec.backends?.managed !== undefined && PATTERNS.includes(spec.pattern)
    ? limits().managed[spec.pattern]
    : limits().external;

const FORMAT_MESSAGE =
  'metadata.name must start with a lower-case letter and have only lower-case letters, digits and "-" (it names Services)';
const lengthMessage = (limit: NameLimit) =>
  `metadata.name may have at most ${limit.max} characters here: ${limit.because}, which Kubernetes limits to ${LABEL_MAX} characters`;

const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** The root-level CEL rules of the CRD: the name's format, and its length for the pattern and backend kind. */
export function nameValidations(): { rule: string; messageExpression: string }[] {
  const { external, managed } = limits();
  const byPattern = <T>(value: (limit: NameLimit) => T, render: (v: T) => string, otherwise: string) =>
    PATTERNS.reduceRight(
      (rest, p) => `(self.spec.pattern == '${p}' ? ${render(value(managed[p]))} : ${rest})`,
      otherwise,
    );
  const managedBackends = 'has(self.spec.backends) && has(self.spec.backends.managed)';
  const max = `(${managedBackends} ? ${byPattern((l) => l.max, String, String(external.max))} : ${external.max})`;
  const message = `(${managedBackends} ? ${byPattern(lengthMessage, quote, quote(lengthMessage(external)))} : ${quote(lengthMessage(external))})`;
  return [
    { rule: `self.metadata.name.matches(r'${FRONTEND_NAME}')`, messageExpression: quote(FORMAT_MESSAGE) },
    { rule: `size(self.metadata.name) <= ${max}`, messageExpression: message },
  ];
}

/** The same checks offline, for `render` (the API server makes them at kubectl apply). */
export function nameProblems(frontend: Pick<Wso2Frontend, 'metadata' | 'spec'>): Problem[] {
  const name = frontend.metadata.name;
  if (!new RegExp(FRONTEND_NAME).test(name)) return [{ path: 'metadata.name', message: FORMAT_MESSAGE }];
  const limit = limitFor(frontend.spec);
  return [...name].length > limit.max ? [{ path: 'metadata.name', message: lengthMessage(limit) }] : [];
}
