import { Counter, Gauge, type Registry } from 'prom-client';

/** ai-manager's own Prometheus metrics (served on /metrics with the process's others). */
export interface AiManagerMetrics {
  websocketClients: Gauge;
  webhookAttempts: Counter<'outcome'>;
  eventsRepublished: Counter;
}

export function createAiManagerMetrics(registry: Registry): AiManagerMetrics {
  return {
    websocketClients: new Gauge({
      name: 'ai_manager_websocket_clients',
      help: 'WebSocket clients connected to this process.',
      registers: [registry],
    }),
    webhookAttempts: new Counter({
      name: 'ai_manager_webhook_attempts_total',
      help: 'Webhook delivery attempts by outcome (delivered, retry, failed).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    eventsRepublished: new Counter({
      name: 'ai_manager_events_republished_total',
      help: 'Events published from the outbox after their process failed to publish them.',
      registers: [registry],
    }),
  };
}
