// The product-configuration patch engine: a role's owned settings (src/model/product-config.ts)
// applied to its files. Files in, files out, deterministic; one editor per file format.
import type {
  JsonSetting,
  NodeConfiguration,
  OwnedSetting,
  ProductFile,
  RoleConfiguration,
  TomlSetting,
  XmlAttributeSetting,
  XmlTextSetting,
} from '../../model/product-config.js';
import { lineOf, MAX_PRODUCT_FILE_BYTES, ProductConfigError, type Override } from './errors.js';
import { jsonKeyName, patchJsonc } from './jsonc.js';
import { patchToml, renderTomlValue, tomlKeyName } from './toml.js';
import { patchXml, xmlKeyName } from './xml.js';

export { MAX_PRODUCT_FILE_BYTES, ProductConfigError, type Override } from './errors.js';

export interface PatchedFile {
  path: string;
  text: string;
  overrides: Override[];
}

export interface RolePatch {
  files: PatchedFile[];
  /** Optional files the base did not have (a jaggery app this version does not ship). */
  absent: string[];
}

/** The name of an owned key as the WSO2 docs write it. */
export function settingName(setting: OwnedSetting): string {
  switch (setting.kind) {
    case 'toml':
      return tomlKeyName(setting);
    case 'json':
      return jsonKeyName(setting);
    default:
      return xmlKeyName(setting);
  }
}

export function settingValue(setting: OwnedSetting): string {
  return setting.kind === 'toml' ? renderTomlValue(setting.value) : JSON.stringify(setting.value);
}

/** One line of CHANGES.txt: the value to set, or for a list the user also fills, the values it must include. */
function changeLine(setting: OwnedSetting): string {
  if (setting.kind === 'toml' && setting.include && Array.isArray(setting.value))
    return `  ${settingName(setting)} includes ${setting.value.map((v) => renderTomlValue(v)).join(', ')} (keep your other entries)`;
  return `  ${settingName(setting)} = ${settingValue(setting)}`;
}

/** Patches one file; `name` is how errors and overrides call it (a ConfigMap key, a path). */
export function patchFile(file: ProductFile, base: string, name = file.path): PatchedFile {
  const bytes = Buffer.byteLength(base, 'utf8');
  if (bytes > MAX_PRODUCT_FILE_BYTES)
    throw new ProductConfigError(
      name,
      lineOf(base, Buffer.from(base, 'utf8').subarray(0, MAX_PRODUCT_FILE_BYTES).toString('utf8').length),
      `passes ${MAX_PRODUCT_FILE_BYTES / 1024 / 1024} MiB on this line (${bytes} bytes in all); a product configuration file is far smaller`,
    );
  switch (file.format) {
    case 'toml':
      return { path: file.path, ...patchToml(name, base, file.settings as TomlSetting[]) };
    case 'json':
      return { path: file.path, ...patchJsonc(name, base, file.settings as JsonSetting[]) };
    case 'xml':
      return { path: file.path, ...patchXml(name, base, file.settings as (XmlTextSetting | XmlAttributeSetting)[]) };
  }
}

/**
 * Patches every file of a role that `read` returns (by path relative to the product home). A
 * required file that is missing is an error; an optional one is listed as absent.
 */
export function patchRole(
  config: Pick<RoleConfiguration, 'files'>,
  read: (path: string) => string | undefined,
): RolePatch {
  const files: PatchedFile[] = [];
  const absent: string[] = [];
  for (const file of config.files) {
    const base = read(file.path);
    if (base === undefined) {
      if (file.required) throw new ProductConfigError(file.path, undefined, 'missing from the product home');
      absent.push(file.path);
      continue;
    }
    files.push(patchFile(file, base));
  }
  return { files, absent };
}

/**
 * Without the node's files: a minimal deployment.toml / site.json holding only the owned keys,
 * and for the XML files the list of what to set. Returned as file name -> text.
 */
export function productSnippets(config: RoleConfiguration | NodeConfiguration): Record<string, string> {
  const out: Record<string, string> = {};
  const subject =
    'role' in config ? `every node with role ${config.role}` : `a node with roles ${config.roles.join(', ')}`;
  const lines: string[] = [`# What to set on ${subject} (paths relative to the product home).`];
  for (const file of config.files) {
    if (file.format === 'xml') {
      lines.push('', `${file.path}${file.required ? '' : ' (if present)'}:`);
      for (const s of file.settings) lines.push(changeLine(s));
      continue;
    }
    const name = file.path.replace(/\//g, '__');
    out[name] = patchFile(file, file.format === 'json' ? '{}\n' : '').text;
    lines.push('', `${file.path}${file.required ? '' : ' (if present)'}: set the keys of ${name}, the others stay:`);
    for (const s of file.settings) lines.push(changeLine(s));
  }
  out['CHANGES.txt'] = lines.join('\n') + '\n';
  return out;
}
