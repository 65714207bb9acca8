// What the patch engine reports: a base file it cannot read (file, line, the parser's message),
// and owned keys a base file sets to another value (the fronting's value wins; the operator
// raises a Warning Event for a user's file).

export class ProductConfigError extends Error {
  constructor(
    readonly file: string,
    /** 1-based; absent when the problem is not on one line (a missing file or element). */
    readonly line: number | undefined,
    readonly detail: string,
  ) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${detail}`);
    this.name = 'ProductConfigError';
  }
}

export interface Override {
  file: string;
  /** The key as the WSO2 docs write it, e.g. `[server] hostname` or `Server/HostName`. */
  key: string;
  /** The value the base file had, as written there. */
  found: string;
  /** The value the fronting sets. */
  value: string;
}

export interface FilePatch {
  text: string;
  overrides: Override[];
}

/**
 * The largest base file the engine reads. The biggest file it patches, a full deployment.toml or
 * axis2.xml, is well under 100 KiB; a larger one is a mistake (a binary, a log), and parsing it
 * would only cost the operator memory.
 */
export const MAX_PRODUCT_FILE_BYTES = 1024 * 1024;

/** 1-based line of a 0-based offset. */
export function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** The file's own line ending, so inserted lines match it. */
export const lineEnding = (text: string): string => (text.includes('\r\n') ? '\r\n' : '\n');
