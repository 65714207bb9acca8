// The images the operator runs besides the WSO2 product's own: its own image (the WSO2 pods' init
// container that patches the product configuration runs it) and the NGINX image with the reload
// agent. They come from the operator's configuration (flags, or its own Pod: the Helm chart and
// kustomize `images:` set them in the one place they set the operator's image), never from a
// constant the user cannot change. An unset spec.nginx.image means "the agent image this
// operator ships", so an operator upgrade moves every such frontend to the matching agent.

export interface OperatorImages {
  /** The operator's image: `wso2-frontend patch-product-config` in the WSO2 pods. */
  operator: string;
  /** The NGINX + reload agent image (the Dockerfile's nginx target) for frontends that name none. */
  nginx: string;
  /** Pull Secrets (names, in each frontend's namespace) every pod the operator runs lists. */
  pullSecrets: readonly string[];
}

/**
 * Values the CRD once wrote into every spec as the default of spec.nginx.image (0.1.0, before the
 * image came from the operator's configuration). A resource created then holds one without anyone
 * having chosen it, so it counts as unset: the operator's NGINX image replaces it.
 */
export const FORMER_DEFAULT_NGINX_IMAGES: readonly string[] = ['wso2-frontend-nginx:0.1.0'];

/** This release's images, as the Dockerfile tags them: what `render` and a bare `operator` use. */
export const RELEASE_IMAGES: OperatorImages = {
  operator: 'wso2-frontend-operator:0.1.0',
  nginx: 'wso2-frontend-nginx:0.1.0',
  pullSecrets: [],
};
