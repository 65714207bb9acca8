// The Wso2Frontend CustomResourceDefinition, rendered from the TypeBox schema (src/api) and the
// cross-field rules (src/api/rules.ts) with the presets' shapes (src/model/catalog.ts). crds/ holds its output; a test keeps them equal.
import type { TSchema } from '@sinclair/typebox';
import * as yaml from 'js-yaml';
import {
  API_GROUP,
  API_VERSION,
  CATEGORIES,
  KIND,
  PLURAL,
  SHORT_NAMES,
  SINGULAR,
  Wso2FrontendSpec,
  Wso2FrontendStatus,
} from '../api/schema.js';
import { crossFieldRules, type CrossFieldRule, type RuleScope } from '../api/rules.js';
import { PATTERN_SHAPES } from '../model/catalog.js';
import { nameValidations } from './names.js';

type JsonSchema = { [key: string]: unknown };

/**
 * TypeBox emits JSON Schema; a CRD needs a structural OpenAPI schema: enums instead of
 * `anyOf` literal lists, `additionalProperties` instead of `patternProperties`, and no
 * `additionalProperties: false` (the API server prunes unknown fields instead).
 */
export function toStructural(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toStructural);
  if (schema === null || typeof schema !== 'object') return schema;
  const source = schema as JsonSchema;
  const anyOf = source.anyOf as JsonSchema[] | undefined;
  if (anyOf && anyOf.every((s) => 'const' in s)) {
    const { anyOf: _literals, ...rest } = source;
    const values = anyOf.map((s) => String(s.const));
    // A bound on the length keeps CEL cost estimates of rules that use the value small.
    return { type: 'string', enum: values, maxLength: Math.max(...values.map((v) => v.length)), ...rest };
  }
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(source)) {
    if (key === 'patternProperties') {
      out.additionalProperties = toStructural(Object.values(value as JsonSchema)[0]);
    } else if (key === 'additionalProperties' && value === false) {
      continue;
    } else {
      out[key] = toStructural(value);
    }
  }
  return out;
}

function celValidations(rules: CrossFieldRule<never>[]) {
  return rules.map((r) => ({
    rule: r.cel,
    messageExpression: r.celMessage,
    ...(r.fieldPath ? { fieldPath: r.fieldPath } : {}),
  }));
}

/** Where each rule scope sits in the structural spec schema. */
function scopeSchema(spec: JsonSchema, scope: RuleScope): JsonSchema {
  const props = (s: JsonSchema) => s.properties as Record<string, JsonSchema>;
  const sites = props(spec).sites!.additionalProperties as JsonSchema;
  switch (scope) {
    case 'spec':
      return spec;
    case 'backends':
      return props(spec).backends!;
    case 'resources': {
      const components = props(props(props(spec).backends!).managed!).components!;
      return props(components.additionalProperties as JsonSchema).resources!;
    }
    case 'serviceAnnotations':
      return props(props(props(spec).nginx!).service!).annotations!;
    case 'node':
      return props(props(props(spec).backends!).external!).nodes!.items as JsonSchema;
    case 'tls':
      return props(spec).tls!;
    case 'backendTLS':
      return props(spec).backendTLS!;
    case 'sessionAffinity':
      return props(sites).sessionAffinity!;
    case 'cookie':
      return props(props(sites).sessionAffinity!).cookie!;
  }
}

function structural(schema: TSchema): JsonSchema {
  // A JSON round trip drops TypeBox's symbol-keyed metadata.
  return toStructural(JSON.parse(JSON.stringify(schema))) as JsonSchema;
}

export function renderCrd() {
  const spec = structural(Wso2FrontendSpec);
  const rules = crossFieldRules(PATTERN_SHAPES);
  for (const scope of Object.keys(rules) as RuleScope[]) {
    scopeSchema(spec, scope)['x-kubernetes-validations'] = celValidations(rules[scope]);
  }
  const readyCondition = '.status.conditions[?(@.type=="Ready")]';
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${PLURAL}.${API_GROUP}`, labels: { 'app.kubernetes.io/name': 'wso2-frontend-operator' } },
    spec: {
      group: API_GROUP,
      scope: 'Namespaced',
      names: {
        kind: KIND,
        listKind: `${KIND}List`,
        plural: PLURAL,
        singular: SINGULAR,
        shortNames: SHORT_NAMES,
        categories: CATEGORIES,
      },
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Product', type: 'string', jsonPath: '.spec.product' },
            { name: 'Pattern', type: 'string', jsonPath: '.spec.pattern' },
            { name: 'Ready', type: 'string', jsonPath: `${readyCondition}.status` },
            { name: 'Serving', type: 'string', jsonPath: '.status.conditions[?(@.type=="Serving")].status' },
            { name: 'URLs', type: 'string', jsonPath: '.status.urls' },
            { name: 'Reason', type: 'string', jsonPath: `${readyCondition}.reason`, priority: 1 },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description:
                'A Wso2Frontend fronts one WSO2 deployment (API Manager, Identity Server, Enterprise Integrator or Micro Integrator) with a dedicated NGINX that the operator configures, certifies and keeps in step with the product configuration.',
              required: ['spec'],
              'x-kubernetes-validations': nameValidations(),
              properties: {
                apiVersion: {
                  type: 'string',
                  description: 'APIVersion defines the versioned schema of this representation of an object.',
                },
                kind: {
                  type: 'string',
                  description: 'Kind is a string value representing the REST resource this object represents.',
                },
                metadata: { type: 'object' },
                spec,
                status: structural(Wso2FrontendStatus),
              },
            },
          },
        },
      ],
    },
  };
}

/** The CRD as `crds/` holds it (what `wso2-frontend crd` prints). */
export function crdYaml(): string {
  return `# Generated by \`wso2-frontend crd\` (npm run generate); do not edit.\n${yaml.dump(renderCrd(), { lineWidth: -1, noRefs: true })}`;
}
