// Random valid Wso2Frontend specs, seeded so a failure can be replayed: every pattern, external
// and managed backends, host, port, affinity, TLS and NGINX overrides. Shared by the property tests.
import { PATTERNS, type PatternName } from '../../src/api/vocabulary.js';
import { PATTERN_PRESETS, rolesOf } from '../../src/model/catalog.js';

/** mulberry32: a small seeded PRNG, so every run generates the same specs. */
export function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function generator(rand: () => number) {
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)]!;
  const maybe = (p = 0.5) => rand() < p;
  const label = () => `${pick(['a', 'b', 'z', 'x1', 'node', 'api'])}${int(0, 999)}${maybe(0.3) ? '-' + int(0, 9) : ''}`;
  const hostName = () => `${label()}.${label()}.${pick(['com', 'org', 'example', 'internal'])}`;
  const address = () =>
    pick([
      () => `10.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}`,
      () => `2001:db8::${int(1, 65535).toString(16)}`,
      () => `127.0.0.${int(1, 254)}`,
    ])();
  const duration = () => `${int(1, 600)}${pick(['ms', 's', 'm', 'h', 'd'])}`;
  const size = () => `${int(1, 512)}${pick(['', 'k', 'm'])}`;

  return function spec(): Record<string, unknown> {
    const pattern: PatternName = pick(PATTERNS);
    const preset = PATTERN_PRESETS[pattern];
    const roles = rolesOf(pattern);
    const usedHosts = new Set<string>();
    const sites: Record<string, Record<string, unknown>> = {};
    const external = maybe(0.8);
    const nodes = external
      ? roles.flatMap((role) =>
          Array.from({ length: int(1, 3) }, () => ({
            name: '',
            address: address(),
            roles: [role],
            ...(maybe(0.3) ? { portOffset: int(0, 1000) } : {}),
          })),
        )
      : [];
    nodes.forEach((n, i) => (n.name = `node-${i}`));

    for (const [name, site] of Object.entries(preset.sites)) {
      if (!maybe(0.6)) {
        usedHosts.add(site.host);
        continue;
      }
      const override: Record<string, unknown> = {};
      let host = site.host;
      if (maybe()) {
        do host = hostName();
        while (usedHosts.has(host));
        override.host = host;
      }
      usedHosts.add(host);
      if (maybe())
        override.http = site.httpPort === undefined ? pick(['redirect', 'off']) : pick(['redirect', 'proxy', 'off']);
      if (maybe() && !site.pinned) {
        const mode = pick(['none', 'client-ip', 'cookie']);
        override.sessionAffinity =
          mode === 'cookie' && maybe()
            ? {
                mode,
                cookie: {
                  name: pick(['ROUTE', 'WSO2FE_ROUTE', 'route_2']),
                  path: pick(['/', '/portal', '/a/b-c']),
                  sameSite: pick(['Strict', 'Lax']),
                  ...(maybe() ? { maxAge: duration() } : {}),
                },
              }
            : { mode };
      }
      if (site.pinned && external && maybe())
        override.pinnedNode = pick(nodes.filter((n) => n.roles.includes(site.https.role))).name;
      sites[name] = override;
    }
    // Default hosts of sites left alone must not collide with chosen ones: keep only unique outcomes.
    const http = int(1, 65535);
    let https = int(1, 65535);
    if (https === http) https = http === 65535 ? 1 : http + 1;
    let version = maybe()
      ? preset.minVersion
        ? `${int(4, 5)}.${int(0, 9)}.${int(0, 9)}`
        : `${int(2, 7)}.${int(0, 9)}.${int(0, 9)}`
      : undefined;
    // WSO2 publishes no Enterprise Integrator 7 image: the operator runs EI 6 pods only.
    if (!external && preset.product === 'enterprise-integrator' && version?.startsWith('7.'))
      version = `6.${int(0, 9)}.${int(0, 9)}`;
    return {
      product: preset.product,
      ...(version ? { version } : {}),
      pattern,
      sites,
      ports: { http, https },
      backends: external
        ? { external: { nodes } }
        : {
            managed: {
              components: Object.fromEntries(roles.filter(() => maybe()).map((r) => [r, { replicas: int(0, 5) }])),
            },
          },
      ...(maybe()
        ? {
            tls: maybe()
              ? { mode: 'secret', secretName: label() }
              : { certificatePerHost: maybe(), extraSANs: maybe() ? ['localhost', '127.0.0.1'] : [] },
          }
        : {}),
      ...(maybe(0.3) ? { backendTLS: { verify: true, caSecretName: label() } } : {}),
      nginx: {
        replicas: int(1, 20),
        timeouts: { connect: duration(), read: duration(), send: duration() },
        proxyBufferSize: pick([`${int(1024, 999999)}`, `${int(1, 1024)}k`, '1m']),
        clientMaxBodySize: size(),
        hsts: { enabled: maybe(), maxAgeSeconds: int(0, 63072000), includeSubDomains: maybe() },
      },
    };
  };
}
