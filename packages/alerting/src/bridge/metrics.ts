import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The bridge's own metrics, on a private registry (never the app's global one). Labels are channel names only. */
export class BridgeMetrics {
  readonly registry = new Registry();
  readonly received: Counter<'channel'>;
  readonly sent: Counter<'channel'>;
  readonly failed: Counter<'channel'>;
  readonly retried: Counter<'channel'>;
  readonly messages: Counter<'channel'>;
  readonly latency: Histogram<'channel'>;
  readonly requests: Counter<'code'>;
  readonly shed: Counter<'channel' | 'severity'>;
  readonly truncated: Counter;

  constructor(
    channels: string[],
    outboxDepth: () => number,
    outboxBytes: () => number,
    severities: readonly string[],
  ) {
    const registers = [this.registry];
    this.received = new Counter({
      name: 'bizmon_bridge_notifications_received_total',
      help: 'Notifications accepted into the outbox, per channel.',
      labelNames: ['channel'],
      registers,
    });
    this.sent = new Counter({
      name: 'bizmon_bridge_notifications_sent_total',
      help: 'Notifications delivered, per channel (several may share one message).',
      labelNames: ['channel'],
      registers,
    });
    this.failed = new Counter({
      name: 'bizmon_bridge_notifications_failed_total',
      help: 'Notifications that cannot be delivered (moved to failed/), per channel.',
      labelNames: ['channel'],
      registers,
    });
    this.retried = new Counter({
      name: 'bizmon_bridge_delivery_retries_total',
      help: 'Failed attempts that will be retried, per channel.',
      labelNames: ['channel'],
      registers,
    });
    this.messages = new Counter({
      name: 'bizmon_bridge_messages_sent_total',
      help: 'Messages delivered, per channel, after merging.',
      labelNames: ['channel'],
      registers,
    });
    this.latency = new Histogram({
      name: 'bizmon_bridge_delivery_latency_seconds',
      help: 'Time from acceptance into the outbox to delivery, per channel.',
      labelNames: ['channel'],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600],
      registers,
    });
    this.requests = new Counter({
      name: 'bizmon_bridge_requests_total',
      help: 'Webhook requests to POST /alerts, by response code.',
      labelNames: ['code'],
      registers,
    });
    this.shed = new Counter({
      name: 'bizmon_bridge_notifications_shed_total',
      help: 'Notifications dropped from a full outbox to make room for a more severe one, per channel and severity (critical, warning, info).',
      labelNames: ['channel', 'severity'],
      registers,
    });
    this.truncated = new Counter({
      name: 'bizmon_bridge_alerts_truncated_total',
      help: 'Alerts accepted with values cut or labels left out to fit limits.maxAnnotationBytes / maxAlertBytes.',
      registers,
    });
    new Gauge({
      name: 'bizmon_bridge_outbox_bytes',
      help: 'Bytes of the notifications in the outbox (bounded by limits.maxOutboxBytes).',
      registers,
      collect() {
        this.set(outboxBytes());
      },
    });
    new Gauge({
      name: 'bizmon_bridge_outbox_depth',
      help: 'Notifications in the outbox waiting for delivery.',
      registers,
      collect() {
        this.set(outboxDepth());
      },
    });
    for (const channel of channels) {
      for (const c of [this.received, this.sent, this.failed, this.retried, this.messages])
        c.inc({ channel }, 0);
      for (const severity of severities) this.shed.inc({ channel, severity }, 0);
    }
  }
}
