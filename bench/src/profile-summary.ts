/**
 * Summarises a `.cpuprofile` (from `RTMP_BENCH_CPU_PROF=<dir> pnpm bench ...`): self and inclusive time per
 * function with file:line, idle excluded from the percentages.
 *
 * Usage: `node --import tsx src/profile-summary.ts <file.cpuprofile> [rows]`
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

const file = process.argv[2];
if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile> [rows]');
const rows = Number(process.argv[3] ?? 30);
const profile = JSON.parse(readFileSync(file, 'utf8')) as {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
};
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const name = (n: ProfileNode): string => {
  const url = n.callFrame.url.replace(/^.*\/(packages|node_modules)\//, '$1/');
  return `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`;
};
const selfTime = new Map<string, number>();
const inclusive = new Map<string, number>();
let busy = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  const node = byId.get(id);
  if (!node || node.callFrame.functionName === '(idle)') return;
  busy += dt;
  selfTime.set(name(node), (selfTime.get(name(node)) ?? 0) + dt);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const n = byId.get(cur);
    if (!n) break;
    const key = name(n);
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + dt);
  }
});
const print = (title: string, map: Map<string, number>): void => {
  console.log(`--- ${title} (busy ${(busy / 1000).toFixed(0)} ms)`);
  for (const [key, t] of [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, rows)) {
    console.log(
      `${(t / 1000).toFixed(1).padStart(8)} ms ${((100 * t) / busy).toFixed(1).padStart(5)}%  ${key}`,
    );
  }
};
print('self', selfTime);
print('inclusive', inclusive);
