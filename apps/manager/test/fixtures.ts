import { CATALOG, type InspectionEvent, type ProtectionId } from '@smtpguard/contracts';

let n = 0;
/** A plausible tracker-log event for protection `id`. */
export function makeEvent(id: ProtectionId, over: Partial<InspectionEvent> = {}): InspectionEvent {
  const c = CATALOG[id];
  n += 1;
  return {
    protectionId: id,
    protectionName: c.name,
    attackName: c.attackName,
    attackInfo: c.attackInfo,
    severity: c.severity,
    confidence: c.confidence,
    action: 'prevent',
    direction: 'client',
    command: 'XEXCH50 2 2',
    detail: 'Exchange command',
    streamOffset: 42,
    context: { helo: 'mx.example.net', mailFrom: 'a@example.net', rcptCount: 0, state: 'greeted' },
    time: new Date(Date.UTC(2026, 0, 1, 12, 0, 0) + n * 1000).toISOString(),
    connectionId: `c${n}`,
    client: { address: '192.0.2.10', port: 40000 + (n % 1000) },
    server: { address: '198.51.100.5', port: 25 },
    ...over,
  };
}
