// Issued certificates served by a real NGINX: a TLS client that trusts only the frontend's CA
// completes the handshake for every host name (chosen by SNI), in both layouts: one certificate
// for all hosts, and one certificate per host; and with ECDSA keys (P-256 and P-384).
import { join } from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';
import { freePort } from '../../src/localcluster/ports.js';
import {
  issueCa,
  issueServerCertificate,
  serverCertificateNames,
  tlsSecretData,
  type KeyAndCertificate,
} from '../../src/tls/issuer.js';
import type { KeySpec } from '../../src/tls/x509.js';
import { NginxProcess } from '../support/nginx.js';
import { openssl, scratch } from './tools.js';

const HOSTS = ['api.am.wso2.com', 'gw.am.wso2.com'];
const ecdsa = (size: EcSize): KeySpec => ({ algorithm: 'ECDSA', size });
const EXTRA = ['localhost', '127.0.0.1'];

const files = scratch('tls-handshake');
let ca: KeyAndCertificate;
let nginx: NginxProcess;
let ecCas: Record<EcSize, KeyAndCertificate>;
const ports = { shared: 0, perHost: 0, ecdsa256: 0, ecdsa384: 0 };
type EcSize = 256 | 384;
const EC_SIZES: EcSize[] = [256, 384];

/** One server block per host; `certificateOf` says which stored Secret each host serves. */
function serverBlocks(port: number, certificateOf: (host: string) => string): string {
  return HOSTS.map(
    (host) => `
  server {
    listen 127.0.0.1:${port} ssl;
    server_name ${host};
    ssl_certificate ${certificateOf(host)}.crt;
    ssl_certificate_key ${certificateOf(host)}.key;
    return 200 $ssl_server_name;
  }`,
  ).join('\n');
}

/** Writes a Secret's tls.crt and tls.key where NGINX reads them, as the operator's Pod would mount them. */
function writeSecret(name: string, leaf: KeyAndCertificate, authority = ca): string {
  const data = tlsSecretData(leaf, authority);
  files.write(`${name}.crt`, data['tls.crt']);
  files.write(`${name}.key`, data['tls.key']);
  return join(files.dir, name);
}

beforeAll(async () => {
  const now = new Date(); // the client checks validity against the real clock
  ca = issueCa('wso2-frontend default/apim', { now });
  const [sharedNames] = serverCertificateNames(HOSTS, EXTRA, false);
  const shared = writeSecret('shared', issueServerCertificate(ca, sharedNames!, { now }));
  const perHost = new Map(
    serverCertificateNames(HOSTS, EXTRA, true).map((names) => [
      names[0]!,
      writeSecret(`host-${names[0]}`, issueServerCertificate(ca, names, { now })),
    ]),
  );
  ecCas = {
    256: issueCa('ecdsa 256 CA', { now, key: ecdsa(256) }),
    384: issueCa('ecdsa 384 CA', { now, key: ecdsa(384) }),
  };
  const ecSecrets = EC_SIZES.map((size) =>
    writeSecret(
      `ecdsa-${size}`,
      issueServerCertificate(ecCas[size], sharedNames!, { now, key: ecdsa(size) }),
      ecCas[size],
    ),
  );
  for (const port of Object.keys(ports) as (keyof typeof ports)[]) ports[port] = await freePort();
  files.write(
    'nginx.conf',
    `pid ${files.dir}/nginx.pid;
error_log stderr;
events {}
http {
  access_log off;
  client_body_temp_path ${files.dir}/client_body;
  proxy_temp_path ${files.dir}/proxy;
  fastcgi_temp_path ${files.dir}/fastcgi;
  uwsgi_temp_path ${files.dir}/uwsgi;
  scgi_temp_path ${files.dir}/scgi;
${serverBlocks(ports.shared, () => shared)}
${serverBlocks(ports.perHost, (host) => perHost.get(host)!)}
${serverBlocks(ports.ecdsa256, () => ecSecrets[0]!)}
${serverBlocks(ports.ecdsa384, () => ecSecrets[1]!)}
}
`,
  );
  nginx = await NginxProcess.start(files.dir, Object.values(ports));
});

afterAll(async () => {
  await nginx?.stop();
  files.remove();
});

interface Handshake {
  authorized: boolean;
  peer: PeerCertificate;
  body: string;
}

/** A TLS client trusting only the frontend CA: the handshake fails unless the chain and the name verify. */
function handshake(
  port: number,
  servername: string | undefined,
  hostHeader: string,
  trusted = ca.certificatePem,
): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: trusted, ...(servername ? { servername } : {}) }, () => {
      const authorized = socket.authorized;
      const peer = socket.getPeerCertificate();
      let response = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (response += chunk));
      socket.on('end', () => resolve({ authorized, peer, body: response.split('\r\n\r\n')[1] ?? '' }));
      socket.end(`GET / HTTP/1.1\r\nHost: ${hostHeader}\r\nConnection: close\r\n\r\n`);
    });
    socket.once('error', reject);
  });
}

describe('one certificate for every host', () => {
  test.each(HOSTS)('%s: the handshake verifies against the CA and NGINX saw the name by SNI', async (host) => {
    const result = await handshake(ports.shared, host, host);
    expect(result.authorized).toBe(true);
    expect(result.peer.subjectaltname).toBe(
      'DNS:api.am.wso2.com, DNS:gw.am.wso2.com, DNS:localhost, IP Address:127.0.0.1',
    );
    expect(result.body).toBe(host);
  });

  test('localhost, an extra SAN, verifies too', async () => {
    expect((await handshake(ports.shared, 'localhost', 'localhost')).authorized).toBe(true);
  });

  test('127.0.0.1, an extra IP SAN, verifies without SNI (clients send none for an address)', async () => {
    const result = await handshake(ports.shared, undefined, '127.0.0.1');
    expect(result.authorized).toBe(true);
    expect(result.body).toBe('');
  });
});

describe('one certificate per host', () => {
  test.each(HOSTS)('%s: NGINX serves that host its own certificate, which verifies against the CA', async (host) => {
    const result = await handshake(ports.perHost, host, host);
    expect(result.authorized).toBe(true);
    expect(result.peer.subject.CN).toBe(host);
    expect(result.peer.subjectaltname).toBe(`DNS:${host}, DNS:localhost, IP Address:127.0.0.1`);
    expect(result.body).toBe(host);
  });

  test('a name NGINX does not serve gets the default (first) server certificate, which the client rejects', async () => {
    await expect(handshake(ports.perHost, 'store.am.wso2.com', 'store.am.wso2.com')).rejects.toThrow(
      "Hostname/IP does not match certificate's altnames: Host: store.am.wso2.com. is not in the cert's altnames: DNS:api.am.wso2.com, DNS:localhost, IP Address:127.0.0.1",
    );
  });
});

describe('ECDSA certificates', () => {
  test.each(EC_SIZES)(
    'P-%d: NGINX serves the ECDSA certificate and the handshake verifies against its CA',
    async (size) => {
      const port = size === 256 ? ports.ecdsa256 : ports.ecdsa384;
      const result = await handshake(port, 'api.am.wso2.com', 'api.am.wso2.com', ecCas[size].certificatePem);
      expect(result.authorized).toBe(true);
      expect(result.peer.nistCurve).toBe(`P-${size}`);
      expect(result.body).toBe('api.am.wso2.com');
    },
  );

  test.each(EC_SIZES)('P-%d: openssl s_client verifies the chain NGINX sends (return code 0)', (size) => {
    const port = size === 256 ? ports.ecdsa256 : ports.ecdsa384;
    const caFile = files.write(`ecdsa-${size}-ca.pem`, ecCas[size].certificatePem);
    const result = openssl(
      's_client',
      '-connect',
      `127.0.0.1:${port}`,
      '-servername',
      'gw.am.wso2.com',
      '-verify_hostname',
      'gw.am.wso2.com',
      '-CAfile',
      caFile,
      '-verify_return_error',
      '-brief',
    );
    expect(result.output).toContain('Verification: OK');
    expect(result.output).toContain('Signature type: ECDSA');
    expect(result.output).toContain(`Hash used: SHA${size === 256 ? 256 : 384}`);
  });
});
