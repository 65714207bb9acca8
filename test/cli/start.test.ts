// npm start on a machine without a cluster: a local control plane, the CRD, an example that
// becomes Ready under the operator, instructions, and a clean stop on Ctrl-C.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

test('start without a reachable cluster runs the operator locally until the example is Ready, and Ctrl-C stops everything', async () => {
  const child = spawn(process.execPath, [join(process.cwd(), 'dist', 'cli', 'main.js'), 'start'], {
    env: { ...process.env, KUBECONFIG: '/nonexistent/kubeconfig' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no instructions within 90 s:\n${output}`)), 90_000);
    child.stdout.on('data', () => {
      if (output.includes('Press Ctrl-C to stop.')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  expect(output).toContain('apim-active-active is Ready (https://api.am.wso2.com/,https://gw.am.wso2.com/)');
  expect(output).toMatch(/export KUBECONFIG=\S+\/kubeconfig/);
  child.kill('SIGINT');
  expect(await exited).toBe(0);
});
