// The global setup modules run outside Jest's transform: Jest compiles only what its workers load.
// Imported for its effect, this module hook lets them import the TypeScript sources, compiled with
// TypeScript (the `./x.js` specifiers the sources use resolve to `./x.ts`).
import { readFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const source = new URL('../../src/', import.meta.url).href;

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (error) {
      const fromSource =
        context.parentURL?.startsWith(source) && specifier.startsWith('.') && specifier.endsWith('.js');
      if (!fromSource || error.code !== 'ERR_MODULE_NOT_FOUND') throw error;
      return nextResolve(specifier.replace(/\.js$/, '.ts'), context);
    }
  },
  load(url, context, nextLoad) {
    if (!url.startsWith(source) || !url.endsWith('.ts')) return nextLoad(url, context);
    const { outputText } = ts.transpileModule(readFileSync(fileURLToPath(url), 'utf8'), {
      fileName: fileURLToPath(url),
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2024, verbatimModuleSyntax: true },
    });
    return { format: 'module', source: outputText, shortCircuit: true };
  },
});
