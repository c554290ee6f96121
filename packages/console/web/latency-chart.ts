import { svg } from './dom.ts';
import { latencyBars, type LatencyScale, type TurnLatency } from './latency-layout.ts';

const width = 420;
const labelWidth = 120;
const rowHeight = 18;

/**
 * A turn's latency as a small SVG waterfall (bars on `scale`), with a text alternative naming
 * every figure. Undefined when the turn has no latency.
 */
export function latencyChart(latency: TurnLatency | null | undefined, scale: LatencyScale, turnLabel: string): SVGElement | undefined {
  const bars = latencyBars(latency);
  if (bars.length === 0) return undefined;
  const plot = width - labelWidth - 60;
  const x = (ms: number) => labelWidth + ((ms - scale.fromMs) / (scale.toMs - scale.fromMs)) * plot;
  const height = bars.length * rowHeight + 4;
  const summary = `${turnLabel} latency: ${bars.map((bar) => `${bar.label} ${Math.round(bar.valueMs)} ms`).join(', ')}`;
  return svg(
    'svg',
    { class: 'latency-chart', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': summary, 'data-turn': turnLabel },
    svg('title', {}, summary),
    ...bars.flatMap((bar, index) => {
      const y = 2 + index * rowHeight;
      const value = Math.round(bar.valueMs);
      return [
        svg('text', { x: 0, y: y + 12, class: 'latency-label' }, bar.label),
        svg('rect', { x: x(bar.startMs), y: y + 2, width: Math.max(1, x(bar.endMs) - x(bar.startMs)), height: rowHeight - 6, class: `latency-bar latency-${bar.key}`, 'data-ms': value }),
        svg('text', { x: x(bar.endMs) + 4, y: y + 12, class: 'latency-value' }, `${value} ms`),
      ];
    }),
  );
}
