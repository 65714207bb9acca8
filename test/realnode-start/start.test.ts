// `sudo npm start -- --node real` as docs/development.md gives it: a local cluster with a real
// node, the IS 7 example Ready on real pods, the curl it prints answered by a WSO2 stand-in pod
// through NGINX, and Ctrl-C (SIGINT to the whole foreground process group, as a terminal sends
// it) stopping everything and putting the machine back. It starts a real node of its own, so it
// runs alone, after the other projects (jest.start.config.js, run by scripts/test.sh).
import { execFile, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { nodeSysctls, realNodeLeftovers } from '../../src/localcluster/real-node.js';

const execFileAsync = promisify(execFile);
/** Minutes the first time (the images), about a minute after. */
const STARTED_WITHIN_MS = 20 * 60_000;

test(
  'npm start -- --node real: the example Ready on real pods, its curl answered through NGINX, Ctrl-C puts the machine back',
  async () => {
    const before = nodeSysctls();
    // --ignore-scripts skips only the prestart build, which the test run has done already.
    const npm = spawn('npm', ['start', '--ignore-scripts', '--', '--node', 'real'], {
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
    let output = '';
    const printed = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no instructions in time:\n${output}`)), STARTED_WITHIN_MS);
      const collect = (d: Buffer) => {
        output += d.toString();
        if (output.includes('Press Ctrl-C to stop')) {
          clearTimeout(timer);
          resolve();
        }
      };
      npm.stdout.on('data', collect);
      npm.stderr.on('data', collect);
      npm.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`exited before printing the instructions:\n${output}`));
      });
    });
    printed.catch(() => undefined);
    try {
      await printed;
      const [, name] = /^(\S+) runs on real pods and is Ready\./m.exec(output) ?? [];
      expect(name).toBeDefined();

      // The request it prints, as printed: a WSO2 stand-in pod of the example answers through NGINX.
      const curlLine = /^\s+(curl -k --resolve \S+ https:\/\/\S+)$/m.exec(output)![1]!;
      const { stdout } = await execFileAsync('sh', ['-c', `${curlLine} -sS --max-time 10`], { encoding: 'utf8' });
      expect(JSON.parse(stdout)).toMatchObject({ node: expect.stringContaining(name!) });

      // The commands it prints for another shell.
      const kubeconfig = /export KUBECONFIG=(\S+)/.exec(output)![1]!;
      const env = { ...process.env, KUBECONFIG: kubeconfig };
      const pods = (await execFileAsync('kubectl', ['get', 'pods', '-o', 'wide'], { env })).stdout;
      expect(pods).toMatch(new RegExp(`^${name}-\\S+\\s+1/1\\s+Running\\s`, 'm'));
      const ready = await execFileAsync(
        'kubectl',
        ['get', 'wso2frontend', name!, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'],
        { env },
      );
      expect(ready.stdout).toBe('True');

      // Ctrl-C: SIGINT to the foreground process group, every process of the cluster included.
      process.kill(-npm.pid!, 'SIGINT');
      expect(await exited).toBe(0);
      expect(output).toContain('Stopping the operator and the local cluster...');
      expect(realNodeLeftovers(join(dirname(kubeconfig), 'node'), before)).toEqual([]);
    } finally {
      if (npm.exitCode === null) {
        process.kill(-npm.pid!, 'SIGTERM');
        await exited;
      }
    }
  },
  STARTED_WITHIN_MS + 5 * 60_000,
);
