// What the TLS tests share: OpenSSL and keytool as a user would run them, a scratch directory,
// the fixed clock the pure decisions are tested with, and a CA with a certificate issued on it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  issueCa,
  issueServerCertificate,
  tlsSecretData,
  type KeyAndCertificate,
  type TlsSecretData,
} from '../../src/tls/issuer.js';

/** Whole seconds, like every X.509 time, so boundaries are exact. */
export const T0 = new Date('2026-01-01T00:00:00.000Z');
export const DAY = 24 * 3600 * 1000;
export const at = (ms: number) => new Date(T0.getTime() + ms);

export interface CommandResult {
  status: number | null;
  output: string;
}

export function run(command: string, args: string[]): CommandResult {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

export const openssl = (...args: string[]) => run('openssl', args);

/** A CA named `caName` and a server certificate it signs for `names`, both issued at T0, and the Secret data holding them. */
export function issuedAtT0(
  caName: string,
  names: string[],
): { ca: KeyAndCertificate; leaf: KeyAndCertificate; secret: TlsSecretData } {
  const ca = issueCa(caName, { now: T0 });
  const leaf = issueServerCertificate(ca, names, { now: T0 });
  return { ca, leaf, secret: tlsSecretData(leaf, ca) };
}

/** A scratch directory removed by the returned `remove`. */
export function scratch(prefix: string): {
  dir: string;
  write: (name: string, content: string | Buffer) => string;
  remove: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  return {
    dir,
    write: (name, content) => {
      const file = join(dir, name);
      writeFileSync(file, content, { mode: 0o600 });
      return file;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
