// A controller outlives an API server restart: its informers fail, restart with backoff,
// re-list, and deliver the events that follow (on a private control plane, so the restart
// does not disturb the other test files).
import * as k8s from '@kubernetes/client-node';
import { LocalControlPlane } from '../../src/localcluster/control-plane.js';
import { Controller, type LogLevel } from '../../src/controller/runtime/controller.js';
import { eventually } from '../support/cluster.js';

test('after an API server restart, new events still reach reconcile', async () => {
  const plane = await LocalControlPlane.start({ workloads: false });
  const logged: Array<{ level: LogLevel; message: string }> = [];
  const reconciled: string[] = [];
  const controller = new Controller({
    kubeConfig: plane.kubeConfig(),
    primary: { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap' },
    namespaces: ['default'],
    watchRestartBaseDelayMs: 100,
    watchRestartMaxDelayMs: 1000,
    logger: (level, message) => logged.push({ level, message }),
    reconcile: (key) => void reconciled.push(key),
  });
  try {
    const core = plane.kubeConfig().makeApiClient(k8s.CoreV1Api);
    await controller.start();
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'before-restart' } } });
    await eventually(
      'the ConfigMap created before the restart to be reconciled',
      () => (reconciled.includes('default/before-restart') ? true : undefined),
      20_000,
    );

    await plane.restart();
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'after-restart' } } });

    await eventually(
      'the ConfigMap created after the restart to be reconciled',
      () => (reconciled.includes('default/after-restart') ? true : undefined),
      30_000,
    );
    expect(logged).toContainEqual({ level: 'error', message: 'watch failed; restarting the informer' });
    expect(controller.get('default/after-restart')?.metadata?.name).toBe('after-restart');
  } catch (error) {
    if (error instanceof Error) error.message += `\n\n${plane.logTails()}`;
    throw error;
  } finally {
    await controller.stop();
    await plane.stop();
  }
});
