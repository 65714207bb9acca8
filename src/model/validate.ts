// Semantic validation: every problem of a resource at once, each with the field path and what
// is allowed. Runs the schema (with defaults), the cross-field rules the CRD also enforces in
// CEL, and the checks that need the pattern presets with their defaults filled in.
import { isIP } from 'node:net';
import type { DefaultedSpec, Wso2FrontendSpec } from '../api/schema.js';
import { DNS_SUBDOMAIN } from '../api/schema.js';
import { quote, schemaProblems, withDefaults, type Problem } from '../api/validate.js';
import { crossFieldRules, type CrossFieldRule } from '../api/rules.js';
import {
  PATTERN_PRESETS,
  PATTERN_SHAPES,
  PRODUCT_INFO,
  parseVersion,
  roleImageProblem,
  roleRuntime,
  rolesOf,
  type SemVer,
} from './catalog.js';

const ALL_RULES = crossFieldRules(PATTERN_SHAPES);

/** On success, the spec with every schema default applied (the pattern's defaults are the topology's). */
export type ValidationResult = { ok: true; spec: DefaultedSpec } | { ok: false; problems: Problem[] };

const dnsName = new RegExp(DNS_SUBDOMAIN);
const showVersion = (v: SemVer) => `${v.major}.${v.minor}.${v.patch}`;
const compareVersions = (a: SemVer, b: SemVer) => a.major - b.major || a.minor - b.minor || a.patch - b.patch;

function ruleProblems<T>(rules: CrossFieldRule<T>[], value: T | undefined, path: string): Problem[] {
  if (value === undefined) return [];
  return rules.flatMap((rule) => {
    const message = rule.check(value);
    return message === undefined ? [] : [{ path: `${path}${rule.fieldPath ?? ''}`, message }];
  });
}

// The API server names a map entry spec.sites.portal in schema errors but spec.sites[portal]
// in errors of CEL rules inside it; each problem here is named the way the API server names it.
function crossFieldProblems(spec: Wso2FrontendSpec): Problem[] {
  const siteEntries = Object.entries(spec.sites ?? {});
  return [
    ...ruleProblems(ALL_RULES.spec as CrossFieldRule<Wso2FrontendSpec>[], spec, 'spec'),
    ...ruleProblems(
      ALL_RULES.backends as CrossFieldRule<Wso2FrontendSpec['backends']>[],
      spec.backends,
      'spec.backends',
    ),
    ...(spec.backends.external?.nodes ?? []).flatMap((node, i) =>
      ruleProblems(ALL_RULES.node as CrossFieldRule<typeof node>[], node, `spec.backends.external.nodes[${i}]`),
    ),
    ...Object.entries(spec.backends.managed?.components ?? {}).flatMap(([role, component]) =>
      ruleProblems(
        ALL_RULES.resources as CrossFieldRule<NonNullable<typeof component.resources>>[],
        component.resources,
        `spec.backends.managed.components[${role}].resources`,
      ),
    ),
    ...ruleProblems(
      ALL_RULES.serviceAnnotations as CrossFieldRule<Record<string, string>>[],
      spec.nginx?.service?.annotations,
      'spec.nginx.service.annotations',
    ),
    ...ruleProblems(ALL_RULES.tls as CrossFieldRule<NonNullable<Wso2FrontendSpec['tls']>>[], spec.tls, 'spec.tls'),
    ...ruleProblems(
      ALL_RULES.backendTLS as CrossFieldRule<NonNullable<Wso2FrontendSpec['backendTLS']>>[],
      spec.backendTLS,
      'spec.backendTLS',
    ),
    ...siteEntries.flatMap(([name, site]) => [
      ...ruleProblems(
        ALL_RULES.sessionAffinity as CrossFieldRule<NonNullable<typeof site.sessionAffinity>>[],
        site.sessionAffinity,
        `spec.sites[${name}].sessionAffinity`,
      ),
      ...ruleProblems(
        ALL_RULES.cookie as CrossFieldRule<NonNullable<NonNullable<typeof site.sessionAffinity>['cookie']>>[],
        site.sessionAffinity?.cookie,
        `spec.sites[${name}].sessionAffinity.cookie`,
      ),
    ]),
  ];
}

/** Checks that need the presets' defaults or more than CEL can express cheaply. */
function presetProblems(spec: Wso2FrontendSpec): Problem[] {
  const problems: Problem[] = [];
  const preset = PATTERN_PRESETS[spec.pattern];
  const product = spec.product;

  const version = parseVersion(spec.version ?? PRODUCT_INFO[product].defaultVersion);
  if (version && preset.minVersion && compareVersions(version, preset.minVersion) < 0) {
    problems.push({
      path: 'spec.version',
      message: `pattern ${spec.pattern} needs ${product} ${showVersion(preset.minVersion)} or later`,
    });
  }

  const managed = spec.backends.managed;
  const versionText = spec.version ?? PRODUCT_INFO[product].defaultVersion;
  if (managed && product === 'enterprise-integrator' && version && version.major >= 7) {
    // wso2/docker-ei v7.0.0.1 and v7.1.0.1 build only Micro Integrator images (wso2mi 1.1.0, 1.2.0),
    // whose home is not EI 7's: there is no EI 7 image whose layout the operator could patch.
    problems.push({
      path: 'spec.backends.managed',
      message: `the operator cannot run Enterprise Integrator ${versionText}: WSO2 publishes no EI 7 image (docker-ei 7.x builds only Micro Integrator images, wso2mi 1.1.0 and 1.2.0); list your EI 7 nodes under spec.backends.external, or run product micro-integrator`,
    });
  }
  if (managed?.configMapName && version) {
    // The base is laid over every role's product home: from one image's files, it would start the
    // roles of other images (API-M 4.5+ distributed: acp, universal-gw, tm) with a foreign deployment.toml.
    const images = rolesOf(spec.pattern).map(
      (role) =>
        [
          role,
          managed.components?.[role]?.image ??
            managed.image ??
            roleRuntime(product, versionText, spec.pattern, role).image,
        ] as const,
    );
    if (new Set(images.map(([, image]) => image)).size > 1)
      problems.push({
        path: 'spec.backends.managed.configMapName',
        message: `one base ConfigMap is laid over every role, but they run different images (${images.map(([role, image]) => `${role} ${image}`).join(', ')}), each with its own deployment.toml; leave configMapName out (each role starts from its own image's files, with the keys the fronting owns patched in), or run every role from one image`,
      });
  }
  if (managed && version) {
    for (const role of rolesOf(spec.pattern)) {
      const own = managed.components?.[role]?.image;
      const image = own ?? managed.image;
      const problem = image && roleImageProblem(product, versionText, spec.pattern, role, image);
      if (problem)
        problems.push({
          path: own ? `spec.backends.managed.components.${role}.image` : 'spec.backends.managed.image',
          message: problem,
        });
    }
  }

  // Host names must stay unique once the pattern's defaults fill the gaps.
  const hostOwner = new Map<string, string>();
  for (const [name, sitePreset] of Object.entries(preset.sites)) {
    const override = spec.sites?.[name];
    const host = override?.host ?? sitePreset.host;
    const owner = hostOwner.get(host);
    const bothExplicit = owner !== undefined && override?.host !== undefined && spec.sites?.[owner]?.host !== undefined;
    if (owner !== undefined && !bothExplicit) {
      // Name the field the user set, and say which host is a default: the other site's field is not in the resource.
      const explicit = override?.host !== undefined ? name : owner;
      const byDefault = explicit === name ? owner : name;
      problems.push({
        path: `spec.sites.${explicit}.host`,
        message: `host ${host} is the default host of site ${byDefault}; give site ${byDefault} its own host (spec.sites.${byDefault}.host) or choose another host here`,
      });
    }
    if (owner === undefined) hostOwner.set(host, name);
  }

  for (const [name, override] of Object.entries(spec.sites ?? {})) {
    const sitePreset = preset.sites[name];
    if (!sitePreset) continue;
    if (override.http === 'proxy' && sitePreset.httpPort === undefined) {
      problems.push({
        path: `spec.sites.${name}.http`,
        message: `site ${name} has no plain-HTTP port on the nodes; allowed: redirect, off`,
      });
    }
    if (override.pinnedNode !== undefined) {
      const pinnedSites = Object.entries(preset.sites)
        .filter(([, s]) => s.pinned)
        .map(([n]) => n);
      const node = spec.backends.external?.nodes.find((n) => n.name === override.pinnedNode);
      if (!sitePreset.pinned) {
        problems.push({
          path: `spec.sites.${name}.pinnedNode`,
          message: `site ${name} is not pinned to one node; pinnedNode applies to: ${pinnedSites.join(', ') || `no site of pattern ${spec.pattern}`}`,
        });
      } else if (node && !node.roles.includes(sitePreset.https.role)) {
        problems.push({
          path: `spec.sites.${name}.pinnedNode`,
          message: `node ${node.name} does not have role ${sitePreset.https.role}, which serves site ${name}`,
        });
      }
    }
  }

  const nodes = spec.backends.external?.nodes ?? [];
  nodes.forEach((node, i) => {
    if (nodes.findIndex((n) => n.name === node.name) !== i) {
      problems.push({
        path: `spec.backends.external.nodes[${i}]`,
        message: `Duplicate value: "${node.name}": node names must be unique`,
      });
    }
    node.roles.forEach((role, j) => {
      if (node.roles.indexOf(role) !== j) {
        problems.push({
          path: `spec.backends.external.nodes[${i}].roles[${j}]`,
          message: `Duplicate value: "${role}": each role at most once`,
        });
      }
    });
  });

  const sans = spec.tls?.extraSANs ?? [];
  sans.forEach((san, i) => {
    const name = san.startsWith('*.') ? san.slice(2) : san;
    // A list of type set: the API server refuses a repeated item as it refuses a repeated role.
    if (sans.indexOf(san) !== i) {
      problems.push({ path: `spec.tls.extraSANs[${i}]`, message: `Duplicate value: ${quote(san)}` });
    } else if (!isIP(san) && !dnsName.test(name)) {
      problems.push({
        path: `spec.tls.extraSANs[${i}]`,
        message: `Invalid value: ${quote(san)}: must be an IP address or a lower-case DNS name (optionally starting with *.)`,
      });
    }
  });
  const metricsNamespaces = spec.networkPolicy?.metricsNamespaces ?? [];
  metricsNamespaces.forEach((namespace, i) => {
    if (metricsNamespaces.indexOf(namespace) !== i) {
      problems.push({
        path: `spec.networkPolicy.metricsNamespaces[${i}]`,
        message: `Duplicate value: ${quote(namespace)}`,
      });
    }
  });
  return problems;
}

/** Validates a spec as a user wrote it; on success returns it with every schema default applied. */
export function validateSpec(input: unknown): ValidationResult {
  const spec = withDefaults(input);
  const schema = schemaProblems(spec);
  if (schema.length) return { ok: false, problems: schema };
  const valid = spec as Wso2FrontendSpec;
  const problems = [...crossFieldProblems(valid), ...presetProblems(valid)];
  // Schema-valid after withDefaults: every default the schema declares is there.
  return problems.length ? { ok: false, problems } : { ok: true, spec: spec as DefaultedSpec };
}
