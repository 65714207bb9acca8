// `wso2-frontend patch-product-config`: what the init container of a managed WSO2 pod runs. It
// takes the product's own files (copied out of the WSO2 image), lays the user's base files over
// them, sets the keys the fronting owns, and writes the result where the WSO2 image's entrypoint
// copies it over the product home (the config volume).
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { RoleConfiguration } from '../model/product-config.js';
import { pathOfKey } from '../render/product/layout.js';
import { patchRole, ProductConfigError } from '../render/product/patch.js';
import { UsageError } from './usage-error.js';

export const usage = `wso2-frontend patch-product-config --config FILE --home DIR [--user DIR] --out DIR

Sets the keys the fronting owns (public hosts, proxy ports, internal Service names) in a WSO2
product's configuration files and keeps every other byte.
  --config FILE   the role's owned settings (JSON, from the <name>-product-config ConfigMap)
  --home DIR      the product's own files, at their paths relative to the product home
  --user DIR      the user's base files (a mounted ConfigMap; key = path with '/' as '__'),
                  laid over the product's files and copied to --out as they are
  --out DIR       where the patched files go (the image's wso2-config-volume)`;

function readConfig(file: string): RoleConfiguration {
  const value = JSON.parse(readFileSync(file, 'utf8')) as Partial<RoleConfiguration>;
  if (typeof value.role !== 'string' || !Array.isArray(value.files))
    throw new UsageError(`--config ${file}: expected {"role": ..., "files": [...]}`);
  return value as RoleConfiguration;
}

/** The user's files by their path in the product home (ConfigMap mounts also hold `..data` links; those are skipped). */
function userFiles(dir: string, config: RoleConfiguration): Map<string, string> {
  const files = new Map<string, string>();
  for (const key of readdirSync(dir).sort()) {
    if (key.startsWith('.')) continue;
    const source = join(dir, key);
    if (!statSync(source).isFile()) continue;
    const path = pathOfKey(key, config);
    if (path) files.set(path, source);
  }
  return files;
}

export async function runPatchProductConfig(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      home: { type: 'string' },
      user: { type: 'string' },
      out: { type: 'string' },
    },
    strict: true,
  });
  if (!values.config || !values.home || !values.out) throw new UsageError('--config, --home and --out are required');
  const config = readConfig(values.config);
  const user = values.user ? userFiles(values.user, config) : new Map<string, string>();
  const home = values.home;
  const read = (path: string) => {
    const source = user.get(path) ?? join(home, path);
    return existsSync(source) ? readFileSync(source, 'utf8') : undefined;
  };
  let patch;
  try {
    patch = patchRole(config, read);
  } catch (e) {
    if (e instanceof ProductConfigError) {
      console.error(`wso2-frontend patch-product-config: ${e.message}`);
      return 1;
    }
    throw e;
  }
  const out = values.out;
  const target = (path: string) => {
    mkdirSync(dirname(join(out, path)), { recursive: true });
    return join(out, path);
  };
  const patched = new Set(patch.files.map((f) => f.path));
  for (const [path, source] of user) if (!patched.has(path)) copyFileSync(source, target(path));
  for (const file of patch.files) writeFileSync(target(file.path), file.text);
  // The product's own defaults (hostname = "localhost") are meant to be replaced; a user's value is worth a word.
  for (const file of patch.files.filter((f) => user.has(f.path)))
    for (const o of file.overrides)
      console.log(`${o.file}: ${o.key} was ${o.found}, set to ${o.value} (the fronting owns it)`);
  console.log(
    `patched ${patch.files.map((f) => f.path).join(', ')} for role ${config.role}` +
      (patch.absent.length ? `; not in this product: ${patch.absent.join(', ')}` : ''),
  );
  return 0;
}
