// Starts the control plane shared by every test file and points KUBECONFIG (inherited by the
// Jest workers and by kubectl) at it. Runs the TypeScript source, as the test files do, not a
// build: Jest compiles only what its workers load, so this module's own imports of src/ go
// through a module hook that compiles them with TypeScript (the `./x.js` specifiers the sources
// use resolve to `./x.ts`).
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

export default async function globalSetup() {
  const { LocalControlPlane } = await import('../../src/localcluster/control-plane.ts');
  const started = Date.now();
  const plane = await LocalControlPlane.start();
  globalThis.__WSO2_FRONTEND_CONTROL_PLANE__ = plane;
  process.env.KUBECONFIG = plane.kubeconfigPath;
  process.env.WSO2_FRONTEND_TEST_APISERVER = plane.apiServerUrl;
  console.log(
    `\nlocal control plane ready in ${((Date.now() - started) / 1000).toFixed(1)} s at ${plane.apiServerUrl} (${plane.dir})`,
  );
}
