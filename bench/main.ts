// npm run bench: every benchmark, printing its figures.
import { benchAgent } from './agent.js';
import { benchOperator } from './operator.js';
import { benchRender } from './render.js';
import { benchThroughput } from './throughput.js';
import { benchTls } from './tls.js';

benchRender();
benchTls();
await benchThroughput();
await benchOperator();
await benchAgent();
