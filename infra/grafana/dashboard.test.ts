import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMetricsRegistry } from '../../packages/shared/src/http/metrics.ts';
import { silentLogger } from '../../packages/shared/src/logging/create-logger.ts';
import { registerMediaMetrics } from '../../services/pipeline-manager/src/media/media-metrics.ts';
import { ReportOutbox } from '../../services/pipeline-manager/src/sessions/report-outbox.ts';
import { TurnMetrics } from '../../services/pipeline-manager/src/sessions/turn-metrics.ts';

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Array<{ expr: string; refId: string }>;
}

const dashboard = JSON.parse(readFileSync(join(import.meta.dirname, 'ai-voice-platform.json'), 'utf8')) as {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Array<{ name: string }> };
};

/** The metric names pipeline-manager's /metrics exposes (a histogram with its _bucket, _sum and _count). */
async function exposedNames(): Promise<Set<string>> {
  const registry = createMetricsRegistry();
  registerMediaMetrics(registry);
  new TurnMetrics(registry);
  new ReportOutbox({ logger: silentLogger(), metrics: registry });
  const names = new Set<string>();
  // From the TYPE lines: a labelled series that saw nothing yet has no sample lines.
  for (const line of (await registry.metrics()).split('\n')) {
    const [, name, type] = /^# TYPE (\S+) (\S+)$/.exec(line) ?? [];
    if (!name) continue;
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

describe('Grafana dashboard (infra/grafana/ai-voice-platform.json)', () => {
  it('is a dashboard Grafana can import: uid, title, schema version, unique panel ids, panels inside the 24-column grid without overlap', () => {
    expect(dashboard.uid).toBe('ai-voice-platform');
    expect(dashboard.title).toBeTruthy();
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const panel of dashboard.panels) {
      const { x, y, w, h } = panel.gridPos;
      expect(x + w, panel.title).toBeLessThanOrEqual(24);
      for (let column = x; column < x + w; column += 1) {
        for (let row = y; row < y + h; row += 1) {
          expect(cells.has(`${column},${row}`), `${panel.title} overlaps another panel`).toBe(false);
          cells.add(`${column},${row}`);
        }
      }
      if (panel.type !== 'row') expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
    }
    expect(dashboard.templating.list.map((variable) => variable.name)).toEqual(['datasource', 'instance']);
  });

  it('queries only metrics that pipeline-manager exposes, and shows every turn stage, interruption kind and media counter', async () => {
    const exposed = await exposedNames();
    const expressions = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
    const queried = new Set(expressions.flatMap((expr) => expr.match(/\b(?:pipeline_manager|nodejs|process)_[a-z0-9_]+\b/g) ?? []));
    for (const name of queried) expect(exposed.has(name), `${name} is not exposed`).toBe(true);
    for (const name of ['pipeline_manager_turn_stage_seconds_bucket', 'pipeline_manager_interruptions_total', 'pipeline_manager_stalls_total', 'pipeline_manager_active_sessions', 'pipeline_manager_pacing_late_wakeups_total', 'pipeline_manager_pacing_skipped_slots_total']) {
      expect(queried.has(name), `the dashboard shows ${name}`).toBe(true);
    }
  });
});
