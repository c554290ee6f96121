/* global Buffer, performance, setTimeout */
// The Asterisk side of the concurrency benchmark, run as a separate process: one UDP socket
// that sends one u-law packet every 20 ms to each call's port (calls spread over the 20 ms) and counts what comes back,
// with the receiver-side jitter: |interval between a call's consecutive packets as they arrive here - 20 ms|,
// from warmupSeconds on (p50 and p99 over all calls, printed with the counts).
// Usage: node rtp-load-peer.mjs <config.json>  (config: { ports, seconds, payloadFile, warmupSeconds? })
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const speech = readFileSync(config.payloadFile);
const payloadCount = Math.floor(speech.length / 160);
const socket = createSocket('udp4');
let received = 0;
const callOfPort = new Map(config.ports.map((port, call) => [port, call]));
const lastArrival = new Float64Array(config.ports.length).fill(-1);
const measureFrom = performance.now() + (config.warmupSeconds ?? 0) * 1000;
const jitter = [];
socket.on('message', (_message, remote) => {
  received += 1;
  const now = performance.now();
  const call = callOfPort.get(remote.port);
  if (call === undefined) return;
  const last = lastArrival[call];
  lastArrival[call] = now;
  if (last >= 0 && now >= measureFrom) jitter.push(Math.abs(now - last - 20));
});
const jitterAt = (q) => {
  if (jitter.length === 0) return null;
  jitter.sort((a, b) => a - b);
  return jitter[Math.min(jitter.length - 1, Math.floor(q * jitter.length))];
};
socket.bind(0, '127.0.0.1', () => {
  const packets = config.ports.map((_, call) => {
    const packet = Buffer.alloc(172);
    packet[0] = 0x80;
    packet[1] = 0;
    packet.writeUInt32BE((0x10000 + call) >>> 0, 8);
    return packet;
  });
  // Call i sends at phase i % 20 ms, as independent Asterisk channels would, not all at once.
  const start = performance.now();
  let step = 0;
  let sent = 0;
  const tick = () => {
    const now = performance.now();
    if (now - start > config.seconds * 1000) {
      process.stdout.write(JSON.stringify({ sent, received, rxJitterP50: jitterAt(0.5), rxJitterP99: jitterAt(0.99) }) + '\n');
      socket.close();
      return;
    }
    // Catch up whole milliseconds that passed (the peer keeps its own rate honest).
    while (start + step <= now) {
      const slot = Math.floor(step / 20);
      const phase = step % 20;
      for (let call = phase; call < config.ports.length; call += 20) {
        const packet = packets[call];
        packet.writeUInt16BE(slot & 0xffff, 2);
        packet.writeUInt32BE((slot * 160) >>> 0, 4);
        // Each call starts at a different place in the speech.
        const offset = ((slot + call * 37) % payloadCount) * 160;
        speech.copy(packet, 12, offset, offset + 160);
        socket.send(packet, config.ports[call], '127.0.0.1');
        sent += 1;
      }
      step += 1;
    }
    setTimeout(tick, Math.max(0, start + step - performance.now()));
  };
  tick();
});
