/** Why a VAD window was skipped instead of analysed (the model could not keep up). */
export type VadSkipReason = 'stale' | 'queue_full';

const skipped: Record<VadSkipReason, number> = { stale: 0, queue_full: 0 };

/** Counts a skipped window, process-wide (read by the metrics scrape). */
export function countSkippedVadWindow(reason: VadSkipReason, count = 1): void {
  skipped[reason] += count;
}

/** Windows skipped in this process since it started, by reason. */
export function skippedVadWindowsInProcess(): Readonly<Record<VadSkipReason, number>> {
  return skipped;
}
