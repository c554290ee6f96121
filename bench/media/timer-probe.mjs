/* global performance, setTimeout */
// Noise floor of this machine: a bare drift-free 20 ms setTimeout loop in its own process,
// printing the p50/p99/max of |interval - 20 ms| as JSON. Usage: node timer-probe.mjs <seconds>
const seconds = Number(process.argv[2] ?? 5);
const start = performance.now();
const jitter = [];
let count = 0;
let last = -1;
const tick = () => {
  const now = performance.now();
  if (last >= 0) jitter.push(Math.abs(now - last - 20));
  last = now;
  count += 1;
  if (now - start < seconds * 1000) {
    setTimeout(tick, Math.max(0, start + count * 20 - performance.now()));
    return;
  }
  jitter.sort((a, b) => a - b);
  const at = (q) => jitter[Math.min(jitter.length - 1, Math.floor(q * jitter.length))];
  process.stdout.write(JSON.stringify({ p50: at(0.5), p99: at(0.99), max: jitter[jitter.length - 1] }) + '\n');
};
tick();
