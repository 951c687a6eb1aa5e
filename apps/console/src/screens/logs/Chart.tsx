import { useMemo } from 'react';
import { bucketize } from '../../lib/tracker.js';
import { formatTime } from '../../lib/format.js';
import type { StoredEvent } from '../../types.js';

const PALETTE = ['#2f6db5', '#d0493b', '#e69b22', '#3a9a5b', '#8a55b5', '#1aa3a3', '#b5527f', '#6b7d2a', '#c4661f', '#4d5fd1', '#8c6b4f', '#d13f8f', '#3d8fd1', '#7a9a3a', '#a34d4d', '#5a5a5a'];
function colorFor(id: string): string {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return PALETTE[h % PALETTE.length]!;
}

const W = 600;
const H = 90;
const N = 60;

/** Events over time, stacked by protection. Hand-drawn SVG: no chart library in the bundle. */
export function EventsChart({ events, end, span }: { events: readonly StoredEvent[]; end: number; span: number | null }) {
  const b = useMemo(() => bucketize(events, N, end, span), [events, end, span]);
  const bw = W / N;
  const label = `Events over time by protection: ${b.total} events, ${b.series.length} protections, from ${formatTime(new Date(b.start).toISOString())} to ${formatTime(new Date(end).toISOString())}`;
  return (
    <figure className="chart" aria-label="Events over time by protection">
      <svg viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img" aria-label={label} width="100%" height={H}>
        <line x1="0" y1={H - 0.5} x2={W} y2={H - 0.5} className="axis" />
        {b.max > 0 &&
          b.counts.map((c, i) => {
            let y = H;
            return b.series.map((id) => {
              const v = c[id];
              if (!v) return null;
              const h = (v / b.max) * (H - 6);
              y -= h;
              return (
                <rect key={`${i}-${id}`} x={i * bw + 0.5} y={y} width={Math.max(1, bw - 1)} height={h} fill={colorFor(id)}>
                  <title>{`${formatTime(new Date(b.start + i * b.size).toISOString())}: ${b.names[id]} ${v}`}</title>
                </rect>
              );
            });
          })}
      </svg>
      <figcaption>
        <span className="muted axis-label">{formatTime(new Date(b.start).toISOString())}</span>
        <ul className="legend">
          {b.series.slice(0, 8).map((id) => (
            <li key={id}>
              <span className="swatch" style={{ background: colorFor(id) }} aria-hidden="true" />
              {b.names[id]}
            </li>
          ))}
          {b.series.length === 0 && <li className="muted">No events in this range</li>}
        </ul>
        <span className="muted axis-label">
          peak {b.max}/{b.size >= 60_000 ? `${Math.round(b.size / 60_000)} min` : `${Math.round(b.size / 1000)} s`} · now
        </span>
      </figcaption>
    </figure>
  );
}
