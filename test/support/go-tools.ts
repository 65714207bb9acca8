// The Go tools the GitOps tests run (scripts/go-tools.sh builds each once from the Go module
// proxy and caches it outside the repository): Argo CD's Lua engine with a health script, and
// kstatus as Flux and kpt compute it, Helm, and Prometheus with promtool.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export type GoTool = 'argocd-health' | 'kstatus' | 'helm' | 'prometheus' | 'promtool';

/** The path of the tool's binary (built on first use). */
export function goTool(tool: GoTool): string {
  const out = execFileSync('bash', [join('scripts', 'go-tools.sh'), tool], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return out.trim().split('\n').pop()!;
}

export interface Verdict {
  status: string;
  message: string;
}

function runOnObjects(command: string, args: string[], objects: object[]): Verdict[] {
  const out = execFileSync(command, args, { input: JSON.stringify(objects), encoding: 'utf8' });
  const results = JSON.parse(out) as (Verdict & { error?: string })[];
  return results.map((r, i) => {
    if (r.error) throw new Error(`${command} failed on object ${i}: ${r.error}`);
    return { status: r.status, message: r.message ?? '' };
  });
}

/** Argo CD's verdict on each resource, from `health.lua` run as Argo CD runs an argocd-cm health script. */
export function argoCdHealth(script: string, objects: object[]): Verdict[] {
  return runOnObjects(goTool('argocd-health'), [script], objects);
}

/** `status.Compute` of sigs.k8s.io/cli-utils (kstatus) on each resource. */
export function kstatus(objects: object[]): Verdict[] {
  return runOnObjects(goTool('kstatus'), [], objects);
}
