// A runnable NGINX tree for a local preview: the configuration the operator would serve, laid out
// for `nginx -p DIR -c nginx.conf`, with certificates for the frontend's hosts. Paths are relative,
// so the same files run under `nginx -p` and in the container.
import type { Topology } from '../../model/topology.js';
import type { PreviewCertificates } from '../../tls/preview.js';
import { nginxConfiguration } from '../objects.js';
import { BACKEND_CA_PATH, certificatePaths, type NginxLayout } from './config.js';

export interface TreeFile {
  /** Relative to the tree's root. */
  path: string;
  text: string;
  /** A private key: to be readable by its owner only. */
  secret?: boolean;
}

export const PREVIEW_CA_PATH = 'tls/ca/ca.crt';

export function previewTree(topology: Topology, layout: NginxLayout, certificates: PreviewCertificates): TreeFile[] {
  const { files } = nginxConfiguration(topology, layout);
  const tree: TreeFile[] = Object.entries(files).map(([path, text]) => ({ path, text }));
  tree.push({ path: PREVIEW_CA_PATH, text: certificates.ca.certificatePem });
  for (const { name } of topology.certificates) {
    const data = certificates.servers.get(name);
    if (!data) throw new RangeError(`no preview certificate for ${name}`);
    const paths = certificatePaths(name);
    tree.push({ path: paths.certificate, text: data['tls.crt'] });
    tree.push({ path: paths.key, text: data['tls.key'], secret: true });
  }
  // The nodes' real CA is in a Secret a preview cannot read; this stand-in keeps the tree runnable.
  if (topology.backendTls.verify) tree.push({ path: BACKEND_CA_PATH, text: certificates.ca.certificatePem });
  return tree;
}
