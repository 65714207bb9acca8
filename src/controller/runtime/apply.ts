// Server-side apply that sends the object exactly as given. client-node's
// KubernetesObjectApi.patch first passes a known kind through its typed model, which reads the
// model's property names (`_enum`, `_default`, `x_kubernetes_validations`) and so silently drops
// the wire names of a plain object (`enum`, `default`, `x-kubernetes-validations`) and any field
// newer than the model. A CRD applied that way loses most of its validation. Every apply in the
// project goes through here instead; the response is read back as client-node reads it.
import * as k8s from '@kubernetes/client-node';

export class RawApplyApi extends k8s.KubernetesObjectApi {
  static fromKubeConfig(kubeConfig: k8s.KubeConfig): RawApplyApi {
    const client = kubeConfig.makeApiClient(RawApplyApi);
    client.setDefaultNamespace(kubeConfig);
    return client;
  }

  /** Applies `object` (plain JSON, wire field names) with `fieldManager`, taking over conflicting fields. */
  async apply<T extends k8s.KubernetesObject>(object: T, fieldManager: string): Promise<T> {
    const path = await this.specUriPath(object, 'patch');
    const request = this.configuration.baseServer.makeRequestContext(path, k8s.HttpMethod.PATCH);
    request.setHeaderParam('Accept', 'application/json');
    // JSON is YAML: the apply content type takes it as it is.
    request.setHeaderParam('Content-Type', k8s.PatchStrategy.ServerSideApply);
    request.setQueryParam('fieldManager', fieldManager);
    request.setQueryParam('force', 'true');
    request.setBody(JSON.stringify(object));
    return this.requestPromise<T>(request);
  }
}
