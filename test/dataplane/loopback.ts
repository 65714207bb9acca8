// What the data-plane tests share and Jest runs: one describe per example with external nodes, and
// a frontend on loopback started around a describe's tests. Outside test/support, which the
// benchmarks compile without Jest.
import type { Wso2Frontend } from '../../src/api/schema.js';
import { LoopbackFrontend, onLoopback } from '../support/frontend.js';
import { examples } from '../support/resources.js';

/** The examples with external nodes as describe.each rows (file, resource, loopback block), blocks counted from `firstBlock`. */
export function externalExamples(firstBlock: number): (readonly [string, Wso2Frontend, number])[] {
  return examples()
    .filter((e) => e.resource.spec.backends.external)
    .map((e, i) => [e.file, e.resource, firstBlock + i] as const);
}

/** A frontend on loopback, started before the enclosing describe's tests and stopped after them. */
export function loopbackFrontendFor(resource: Wso2Frontend, block: number): () => LoopbackFrontend {
  let frontend: LoopbackFrontend | undefined;
  beforeAll(async () => {
    frontend = await LoopbackFrontend.start(onLoopback(resource, block));
  });
  afterAll(async () => {
    await frontend?.stop();
  });
  return () => {
    if (!frontend) throw new Error('the loopback frontend did not start');
    return frontend;
  };
}
