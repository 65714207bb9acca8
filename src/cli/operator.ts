// `wso2-frontend operator`: parses the flags and runs the operator (src/controller/setup.ts).
import { parseArgs } from 'node:util';
import { RECONCILE_POINTS, TEST_KILL_AT_ENV } from '../controller/reconciler.js';
import { DEFAULT_CONCURRENCY, runOperator as run } from '../controller/setup.js';
import { checkImageFlags, NGINX_IMAGE_CONTAINER, OPERATOR_CONTAINER, type ImageFlags } from '../controller/images.js';
import { RELEASE_IMAGES } from '../model/images.js';
import { parseLogLevel } from './log-level.js';

export const usage = `wso2-frontend operator [--namespace NS]... [--health-port N] [--leader-elect [--lease-namespace NS]] [--resync-minutes N] [--concurrency N] [--log-level debug|info|error] [--operator-image REF] [--nginx-image REF] [--image-pull-secret NAME]...

Reconciles every Wso2Frontend (in all namespaces, or the ones named) using the current
kubeconfig, or the in-cluster service account. Serves /healthz, /readyz and /metrics.

Images it runs for frontends (a tag, a digest repo@sha256:..., or both):
  --operator-image     its own image, for the WSO2 pods' product-configuration init container
  --nginx-image        the NGINX + reload agent image, for frontends whose spec.nginx.image is unset
  --image-pull-secret  a pull Secret every NGINX and WSO2 pod lists (it must exist in each
                       frontend's namespace); repeat for more
Without them, in a Pod (POD_NAME, POD_NAMESPACE set): the images of its own Pod's containers
"${OPERATOR_CONTAINER}" and "${NGINX_IMAGE_CONTAINER}" (so kustomize images: moves both); else ${RELEASE_IMAGES.operator} and ${RELEASE_IMAGES.nginx}.`;

export async function runOperator(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      namespace: { type: 'string', multiple: true },
      'health-port': { type: 'string', default: '8081' },
      'leader-elect': { type: 'boolean', default: false },
      'lease-namespace': { type: 'string' },
      'resync-minutes': { type: 'string', default: '10' },
      concurrency: { type: 'string', default: String(DEFAULT_CONCURRENCY) },
      'log-level': { type: 'string', default: 'info' },
      'operator-image': { type: 'string' },
      'nginx-image': { type: 'string' },
      'image-pull-secret': { type: 'string', multiple: true },
    },
    strict: true,
  });
  const resyncMinutes = Number(values['resync-minutes']);
  if (!(resyncMinutes > 0)) {
    process.stderr.write(
      `--resync-minutes must be a positive number (fractions allowed), got ${values['resync-minutes']}\n`,
    );
    return 2;
  }
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    process.stderr.write(`--concurrency must be a whole number from 1 to 64, got ${values.concurrency}\n`);
    return 2;
  }
  const healthPort = Number(values['health-port']);
  if (!Number.isInteger(healthPort) || healthPort < 0 || healthPort > 65535) {
    process.stderr.write(
      `--health-port must be a port number from 0 (any free port) to 65535, got ${values['health-port']}\n`,
    );
    return 2;
  }
  const logLevel = parseLogLevel(values['log-level']);
  const images: ImageFlags = {
    ...(values['operator-image'] !== undefined ? { operatorImage: values['operator-image'] } : {}),
    ...(values['nginx-image'] !== undefined ? { nginxImage: values['nginx-image'] } : {}),
    pullSecrets: values['image-pull-secret'] ?? [],
  };
  const imageProblem = checkImageFlags(images);
  if (imageProblem) {
    process.stderr.write(`${imageProblem}\n`);
    return 2;
  }
  const testKillAt = process.env[TEST_KILL_AT_ENV];
  const killAt = RECONCILE_POINTS.find((point) => point === testKillAt);
  if (testKillAt && !killAt) {
    process.stderr.write(`${TEST_KILL_AT_ENV} must be one of ${RECONCILE_POINTS.join(', ')}, got ${testKillAt}\n`);
    return 2;
  }
  return run({
    namespaces: values.namespace ?? [],
    healthPort,
    leaderElect: values['leader-elect'],
    ...(values['lease-namespace'] ? { leaseNamespace: values['lease-namespace'] } : {}),
    resyncPeriodMs: resyncMinutes * 60_000,
    concurrency,
    logLevel,
    ...(killAt ? { killAt } : {}),
    images,
  });
}
