// Where product files live outside the product home: ConfigMap keys (which cannot hold '/') and
// the per-node directories `render --product-config` writes. A key is the path relative to the
// product home with '/' written as '__' (`repository__conf__deployment.toml`); the bare name of a
// file the fronting owns (`deployment.toml`, `carbon.xml`) stands for that file too.
import type { RoleConfiguration } from '../../model/product-config.js';

export const configMapKey = (path: string): string => path.replace(/\//g, '__');

/** The path (relative to the product home) a ConfigMap key stands for, or undefined when it names no file. */
export function pathOfKey(key: string, config: RoleConfiguration): string | undefined {
  if (key.includes('__')) return key.replace(/__/g, '/');
  const owned = config.files.filter((f) => f.path.split('/').pop() === key);
  if (owned.length === 1) return owned[0]!.path;
  // Any other bare name: the product's main configuration directory.
  const main = config.files.find((f) => f.required)?.path;
  return main ? `${main.slice(0, main.lastIndexOf('/') + 1)}${key}` : undefined;
}
