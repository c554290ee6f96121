import { Counter, type Registry } from 'prom-client';
import { foreignRtpPacketsInProcess } from './rtp-source-latch.ts';

/**
 * The media engine's Prometheus metrics. Transports are created per call and know nothing of
 * the registry, so the counter reads the process-wide total when scraped.
 */
export function registerMediaMetrics(registry: Registry): void {
  new Counter({
    name: 'pipeline_manager_rtp_foreign_source_packets_total',
    help: 'RTP packets dropped because they came from another address or port than the source the call latched to.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(foreignRtpPacketsInProcess());
    },
  });
}
