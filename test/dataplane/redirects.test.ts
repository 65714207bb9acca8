// WSO2 nodes answer with redirects that carry their own URL (seed 003's proxy_redirect lines);
// every site rewrites those to its public URL, whichever node and port the redirect names, so
// no node address leaks to a client. The Identity Server endpoints of seed 003 are covered by
// the same rewrite.
import type { Wso2Frontend } from '../../src/api/schema.js';
import { send } from '../support/client.js';
import { externalExamples, loopbackFrontendFor } from './loopback.js';
import { example } from '../support/resources.js';

describe.each(externalExamples(110))('%s', (_file, resource: Wso2Frontend, block: number) => {
  const frontend = loopbackFrontendFor(resource, block);

  test("every site rewrites a node's redirect to its own URL into the site's public HTTPS URL", async () => {
    for (const site of frontend().topology.sites) {
      for (let i = 0; i < 4; i++) {
        const response = await send({
          scheme: 'https',
          port: frontend().ports.https,
          host: site.host,
          path: `/app${i}/redirect-to-self`,
          ca: frontend().ca,
        });
        expect(response.status).toBe(302);
        expect(response.headers.location).toMatch(
          new RegExp(
            `^https://${site.host.replace(/\./g, '\\.')}:${frontend().ports.https}/authenticationendpoint/login\\.do\\?from=`,
          ),
        );
      }
    }
  });

  test('a site that proxies plain HTTP rewrites node redirects into its public HTTP URL', async () => {
    for (const site of frontend().topology.sites.filter((s) => s.http.mode === 'proxy')) {
      const response = await send({
        scheme: 'http',
        port: frontend().ports.http,
        host: site.host,
        path: '/app/redirect-to-self',
      });
      expect(response.status).toBe(302);
      expect(response.headers.location).toMatch(
        new RegExp(
          `^http://${site.host.replace(/\./g, '\\.')}:${frontend().ports.http}/authenticationendpoint/login\\.do\\?from=`,
        ),
      );
    }
  });
});

describe('seed 003 (is-pattern-1)', () => {
  const frontend = loopbackFrontendFor(example('is-pattern-1.yaml'), 43);

  test.each(['/commonauth', '/oauth2/authorize', '/oauth2/token', '/authenticationendpoint/', '/oauth2/userinfo'])(
    'a Location header pointing at a node URL from %s comes back rewritten to the public host',
    async (endpoint) => {
      const response = await send({
        scheme: 'https',
        port: frontend().ports.https,
        host: 'is.wso2.com',
        path: `${endpoint}/redirect-to-self`.replace('//', '/'),
        ca: frontend().ca,
      });
      expect(response.status).toBe(302);
      expect(response.headers.location).toMatch(
        new RegExp(
          `^https://is\\.wso2\\.com:${frontend().ports.https}/authenticationendpoint/login\\.do\\?from=worker-[12]$`,
        ),
      );
    },
  );

  test('the management host rewrites the manager node redirects to mgt.is.wso2.com', async () => {
    const response = await send({
      scheme: 'https',
      port: frontend().ports.https,
      host: 'mgt.is.wso2.com',
      path: '/carbon/redirect-to-self',
      ca: frontend().ca,
    });
    expect(response.status).toBe(302);
    expect(response.headers.location).toBe(
      `https://mgt.is.wso2.com:${frontend().ports.https}/authenticationendpoint/login.do?from=manager`,
    );
  });

  test('the management host reaches only the manager node', async () => {
    for (let i = 0; i < 5; i++) {
      const response = await send({
        scheme: 'https',
        port: frontend().ports.https,
        host: 'mgt.is.wso2.com',
        path: '/carbon/',
        ca: frontend().ca,
      });
      expect(response.answer).toMatchObject({ node: 'manager', port: 9443 });
    }
  });
});
