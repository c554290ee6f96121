import { Counter, type Registry } from 'prom-client';
import { sharedPacingScheduler, WAKE_UP_LATENESS_THRESHOLDS_MS } from './pacing-scheduler.ts';
import { foreignRtpPacketsInProcess } from './rtp-source-latch.ts';
import { skippedVadWindowsInProcess } from './vad/skipped-windows.ts';

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
  // The send clock of every call: how late its wake-ups come (send jitter) and slots skipped after stalls.
  new Counter({
    name: 'pipeline_manager_pacing_wakeups_total',
    help: 'Wake-ups of the process-wide 20 ms send clock that found packets due.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(sharedPacingScheduler().stats.wakeUps);
    },
  });
  new Counter({
    name: 'pipeline_manager_pacing_late_wakeups_total',
    help: 'Wake-ups of the 20 ms send clock later than over_ms milliseconds (the packets of that wake-up leave that late).',
    labelNames: ['over_ms'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const late = sharedPacingScheduler().stats.lateWakeUps;
      WAKE_UP_LATENESS_THRESHOLDS_MS.forEach((threshold, index) => this.inc({ over_ms: String(threshold) }, late[index] ?? 0));
    },
  });
  new Counter({
    name: 'pipeline_manager_pacing_skipped_slots_total',
    help: 'Outgoing 20 ms slots skipped, summed over calls, because the process stalled for more than a period (no catch-up burst).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(sharedPacingScheduler().stats.skippedSlots);
    },
  });
  // Under CPU overload the VAD skips the windows its model cannot serve in time (vad/silero-batcher.ts).
  new Counter({
    name: 'pipeline_manager_vad_windows_skipped_total',
    help: 'VAD windows (32 ms of caller audio) not analysed because the model could not keep up: stale (waited too long) or queue_full.',
    labelNames: ['reason'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, count] of Object.entries(skippedVadWindowsInProcess())) this.inc({ reason }, count);
    },
  });
}
