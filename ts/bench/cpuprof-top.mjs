// Summarize a V8 CPU profile (`node --cpu-prof`): self time by package and the top functions.
//
//   node ts/bench/cpuprof-top.mjs /tmp/prof/CPU.*.cpuprofile [--top 25]
//
// Packages: node_modules/<name> (scoped names kept), timestep's own ts/dist, node: internals,
// (garbage collector), (idle) = waiting for I/O (database round trips, timers).
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const at = args.indexOf('--top');
const top = at >= 0 ? Number(args[at + 1]) : 25;
const files = args.filter((a, i) => a.endsWith('.cpuprofile') && args[i - 1] !== '--top');

function packageOf(url, name) {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const nm = url.match(/node_modules\/((@[^/]+\/)?[^/]+)/);
  if (nm) return nm[1];
  if (url.includes('/ts/dist/')) return 'timestep (ts/dist)';
  if (url.startsWith('node:')) return 'node internals';
  return url.replace(/^file:\/\//, '');
}

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const self = new Map();
  for (const node of profile.nodes) self.set(node.id, 0);
  const deltas = profile.timeDeltas;
  for (let i = 0; i < profile.samples.length; i += 1) {
    self.set(profile.samples[i], self.get(profile.samples[i]) + (deltas[i] ?? 0) / 1000);
  }
  const byPackage = new Map();
  const byFunction = new Map();
  let total = 0;
  for (const node of profile.nodes) {
    const ms = self.get(node.id);
    if (!ms) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = functionName || '(anonymous)';
    const pkg = packageOf(url, name);
    total += ms;
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + ms);
    const key = `${name} ${url ? `${url.replace(/^.*node_modules\//, '').replace(/^.*\/ts\/dist\//, 'ts/dist/')}:${lineNumber + 1}` : ''}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + ms);
  }
  const busy = total - (byPackage.get('(idle)') ?? 0);
  console.log(`${file}: ${(total / 1000).toFixed(1)} s sampled, ${(busy / 1000).toFixed(1)} s on CPU`);
  console.log('\nself time by package (% of CPU time, idle excluded)');
  for (const [pkg, ms] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
    if (pkg === '(idle)') continue;
    console.log(`${((100 * ms) / busy).toFixed(1).padStart(6)}%  ${(ms / 1000).toFixed(2).padStart(7)} s  ${pkg}`);
  }
  console.log(`\ntop ${top} functions by self time`);
  for (const [key, ms] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top + 1)) {
    if (key.startsWith('(idle)')) continue;
    console.log(`${((100 * ms) / busy).toFixed(1).padStart(6)}%  ${(ms / 1000).toFixed(2).padStart(7)} s  ${key}`);
  }
}
