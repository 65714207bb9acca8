// Which images the operator runs for frontends (src/model/images.ts), resolved once at start:
// each from its flag when given, else from the operator's own Pod, else this release's. The own
// Pod is how `kustomize edit set image` / kustomize `images:` reach the operator: the transformer
// rewrites container images only (not env values or args), so deploy/base/operator.yaml carries
// the NGINX image as an init container (NGINX_IMAGE_CONTAINER) beside the operator's container,
// and the operator reads both images back from its Pod (the Downward API does not expose images).
import * as k8s from '@kubernetes/client-node';
import { IMAGE, DNS_SUBDOMAIN } from '../api/schema.js';
import { RELEASE_IMAGES, type OperatorImages } from '../model/images.js';

/** The operator's own container in its Pod. */
export const OPERATOR_CONTAINER = 'operator';
/** The init container of the operator's Pod whose image is the NGINX image (it only prints the agent's usage). */
export const NGINX_IMAGE_CONTAINER = 'nginx-agent-image';

export interface ImageFlags {
  operatorImage?: string;
  nginxImage?: string;
  pullSecrets?: readonly string[];
}

/** A flag's value that is not an image reference or a Secret name: which flag, what was given, what is allowed. */
export function checkImageFlags(flags: ImageFlags): string | undefined {
  const image = new RegExp(IMAGE);
  for (const [flag, value] of [
    ['--operator-image', flags.operatorImage],
    ['--nginx-image', flags.nginxImage],
  ] as const)
    if (value !== undefined && !image.test(value))
      return `${flag} must be an image reference ([registry[:port]/]path[:tag][@sha256:digest], lower-case path), got ${JSON.stringify(value)}`;
  const name = new RegExp(DNS_SUBDOMAIN);
  const bad = flags.pullSecrets?.find((s) => !name.test(s) || s.length > 253);
  if (bad !== undefined)
    return `--image-pull-secret must be a Secret name (lower-case letters, digits, '-' and '.'), got ${JSON.stringify(bad)}`;
  return undefined;
}

/**
 * The images to run: the flags, then the containers of the operator's own Pod (`pod`, when the
 * operator runs in one: POD_NAME and POD_NAMESPACE), then this release's. A Pod that cannot be
 * read is an error: guessing would run images that may not exist in the user's registry.
 */
export async function resolveImages(
  flags: ImageFlags,
  pod: { namespace: string; name: string } | undefined,
  core: Pick<k8s.CoreV1Api, 'readNamespacedPod'> | undefined,
): Promise<OperatorImages> {
  let own: { operator?: string; nginx?: string } = {};
  if (pod && core && (flags.operatorImage === undefined || flags.nginxImage === undefined)) {
    let spec: k8s.V1PodSpec | undefined;
    try {
      spec = (await core.readNamespacedPod(pod)).spec;
    } catch (error) {
      throw new Error(
        `reading the operator's own Pod ${pod.namespace}/${pod.name} for its images failed (it needs get on pods in its namespace, or pass --operator-image and --nginx-image): ${String(error)}`,
      );
    }
    own = {
      operator: spec?.containers.find((c) => c.name === OPERATOR_CONTAINER)?.image,
      nginx: spec?.initContainers?.find((c) => c.name === NGINX_IMAGE_CONTAINER)?.image,
    };
  }
  return {
    operator: flags.operatorImage ?? own.operator ?? RELEASE_IMAGES.operator,
    nginx: flags.nginxImage ?? own.nginx ?? RELEASE_IMAGES.nginx,
    pullSecrets: [...(flags.pullSecrets ?? [])],
  };
}
