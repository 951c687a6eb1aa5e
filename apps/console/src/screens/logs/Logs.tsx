import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import { api, queryString } from '../../lib/api.js';
import { useGateways } from '../../lib/queries.js';
import { LiveStream, type StreamStatus } from '../../lib/stream.js';
import { DEFAULT_FILTERS, RANGES, apiFilters, inRange, mergeEvents, type Column, type TrackerFilters } from '../../lib/tracker.js';
import { actionLabel, endpoint, formatTime } from '../../lib/format.js';
import { ErrorText, ProtectionSelect } from '../../components/common.js';
import { EventsChart } from './Chart.js';
import type { StoredEvent } from '../../types.js';

const COLUMNS: Column[] = [
  { id: 'time', label: 'Time', width: 168, get: (e) => formatTime(e.time) },
  { id: 'gateway', label: 'Gateway', width: 110, get: (e) => e.gateway },
  { id: 'source', label: 'Source', width: 150, get: (e) => endpoint(e.client) },
  { id: 'destination', label: 'Destination', width: 150, get: (e) => endpoint(e.server) },
  { id: 'protection', label: 'Protection', width: 250, get: (e) => e.protectionName },
  { id: 'attackName', label: 'Attack Name', width: 170, get: (e) => e.attackName },
  { id: 'attackInfo', label: 'Attack Information', width: 230, get: (e) => e.attackInfo },
  { id: 'action', label: 'Action', width: 80, get: (e) => actionLabel(e.action) },
  { id: 'severity', label: 'Severity', width: 80, get: (e) => e.severity },
  { id: 'confidence', label: 'Confidence', width: 100, get: (e) => e.confidence },
  { id: 'direction', label: 'Direction', width: 80, get: (e) => e.direction },
  { id: 'command', label: 'Command', width: 260, get: (e) => e.command },
  { id: 'mailFrom', label: 'MAIL FROM', width: 200, get: (e) => e.context.mailFrom ?? '' },
  { id: 'helo', label: 'HELO', width: 150, get: (e) => e.context.helo ?? '' },
  { id: 'connection', label: 'Connection', width: 130, get: (e) => e.connectionId },
  { id: 'revision', label: 'Policy revision', width: 100, get: (e) => (e.policyRevision === undefined ? '' : String(e.policyRevision)) },
];
const DEFAULT_COLUMNS = ['time', 'gateway', 'source', 'destination', 'protection', 'attackName', 'attackInfo', 'action'];
const ROW_HEIGHT = 24;
const COLUMNS_KEY = 'smtpguard.tracker.columns';

function loadColumns(): string[] {
  try {
    const v = JSON.parse(localStorage.getItem(COLUMNS_KEY) ?? 'null') as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string') && v.length) return v.filter((id) => COLUMNS.some((c) => c.id === id));
  } catch {
    /* fall back to defaults */
  }
  return DEFAULT_COLUMNS;
}

interface Page {
  events: StoredEvent[];
  nextCursor: string | null;
}

export function Logs() {
  const gateways = useGateways(false);
  const [filters, setFilters] = useState<TrackerFilters>(DEFAULT_FILTERS);
  const [qInput, setQInput] = useState('');
  const [events, setEvents] = useState<StoredEvent[]>([]);
  const [pending, setPending] = useState<StoredEvent[]>([]);
  const [paused, setPaused] = useState(false);
  const pausedRef = useRef(false);
  const [status, setStatus] = useState<{ s: StreamStatus; detail?: string | undefined }>({ s: 'connecting' });
  const [loadError, setLoadError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [cursor, setCursor] = useState<string | null>(null);
  const [selectedId, setSelectedId] = useState<number | null>(null);
  const [columns, setColumns] = useState<string[]>(loadColumns);
  const [chooser, setChooser] = useState(false);
  const [now, setNow] = useState(() => Date.now());
  const textRef = useRef<HTMLInputElement>(null);
  const scrollRef = useRef<HTMLDivElement>(null);

  // The text filter applies 300 ms after typing stops.
  useEffect(() => {
    const t = setTimeout(() => setFilters((f) => (f.q === qInput ? f : { ...f, q: qInput })), 300);
    return () => clearTimeout(t);
  }, [qInput]);
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 10_000);
    return () => clearInterval(t);
  }, []);
  useEffect(() => {
    localStorage.setItem(COLUMNS_KEY, JSON.stringify(columns));
  }, [columns]);

  const deliver = useCallback((incoming: StoredEvent[]) => {
    if (pausedRef.current) setPending((p) => mergeEvents(p, incoming));
    else setEvents((c) => mergeEvents(c, incoming));
  }, []);

  // (Re)open the stream whenever the filters change; every `ready` refetches over HTTP.
  useEffect(() => {
    let alive = true;
    const controller = new AbortController();
    setEvents([]);
    setPending([]);
    setCursor(null);
    setLoading(true);
    setLoadError(null);
    const fetchSince = async (since: string | null) => {
      const base = apiFilters(filters, Date.now());
      try {
        if (since === null) {
          const page = await api<Page>('GET', `/api/events${queryString({ ...base, limit: 1000 })}`, undefined, { signal: controller.signal });
          if (!alive) return;
          deliver(page.events);
          setCursor(page.nextCursor);
        } else {
          // Fill the hole after a reconnect: everything since `since`, a few pages at most.
          const from = base.from && base.from > since ? base.from : since;
          let next: string | null = null;
          for (let i = 0; i < 5; i++) {
            const page: Page = await api<Page>('GET', `/api/events${queryString({ ...base, from, limit: 1000, cursor: next })}`, undefined, {
              signal: controller.signal,
            });
            if (!alive) return;
            deliver(page.events);
            next = page.nextCursor;
            if (!next) break;
          }
        }
        setLoadError(null);
      } catch (err) {
        if (alive && (err as Error).name !== 'AbortError') setLoadError(err);
      } finally {
        if (alive) setLoading(false);
      }
    };
    const stream = new LiveStream(queryString(apiFilters(filters, Date.now(), true)), {
      onEvents: (evs) => {
        if (alive) deliver(evs.filter((e) => inRange(e, filters)));
      },
      onReady: (since) => void fetchSince(since),
      onStatus: (s, detail) => alive && setStatus({ s, detail }),
    });
    return () => {
      alive = false;
      controller.abort();
      stream.stop();
    };
  }, [filters, deliver]);

  const pendingRef = useRef<StoredEvent[]>([]);
  pendingRef.current = pending;
  const togglePause = useCallback(() => {
    const next = !pausedRef.current;
    pausedRef.current = next;
    setPaused(next);
    if (!next) {
      // Resume: everything that arrived while paused joins the table, nothing is lost.
      const held = pendingRef.current;
      if (held.length) setEvents((c) => mergeEvents(c, held));
      setPending([]);
    }
  }, []);

  const loadOlder = async () => {
    if (!cursor) return;
    try {
      const page = await api<Page>('GET', `/api/events${queryString({ ...apiFilters(filters, Date.now()), limit: 1000, cursor })}`);
      setEvents((c) => mergeEvents(c, page.events));
      setCursor(page.nextCursor);
    } catch (err) {
      setLoadError(err);
    }
  };

  const visibleCols = useMemo(() => COLUMNS.filter((c) => columns.includes(c.id)), [columns]);
  const template = visibleCols.map((c) => `${c.width}px`).join(' ');
  const totalWidth = visibleCols.reduce((s, c) => s + c.width, 0);
  const virtualizer = useVirtualizer({
    count: events.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 20,
    getItemKey: (i) => events[i]?.id ?? i,
  });
  // Reading older rows while new ones arrive on top: keep the rows in view where they are.
  const firstIdRef = useRef<number | null>(null);
  useLayoutEffect(() => {
    const el = scrollRef.current;
    const prevFirst = firstIdRef.current;
    firstIdRef.current = events[0]?.id ?? null;
    if (!el || prevFirst === null || el.scrollTop < ROW_HEIGHT) return;
    const added = events.findIndex((e) => e.id === prevFirst);
    if (added > 0) el.scrollTop += added * ROW_HEIGHT;
  }, [events]);
  const selectedIndex = selectedId === null ? -1 : events.findIndex((e) => e.id === selectedId);
  const selected = selectedIndex >= 0 ? events[selectedIndex] : undefined;

  const onTableKey = (e: KeyboardEvent) => {
    if (!events.length) return;
    let i = selectedIndex;
    if (e.key === 'ArrowDown') i = Math.min(events.length - 1, i + 1);
    else if (e.key === 'ArrowUp') i = Math.max(0, i - 1);
    else if (e.key === 'PageDown') i = Math.min(events.length - 1, i + 20);
    else if (e.key === 'PageUp') i = Math.max(0, i - 20);
    else if (e.key === 'Home') i = 0;
    else if (e.key === 'End') i = events.length - 1;
    else if (e.key === 'Escape') {
      setSelectedId(null);
      return;
    } else return;
    e.preventDefault();
    setSelectedId(events[i]!.id);
    virtualizer.scrollToIndex(i, { align: 'auto' });
  };

  // Shortcuts off the inputs: "/" focuses the text filter, "p" pauses or resumes.
  useEffect(() => {
    const onKey = (e: globalThis.KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (t.closest('input, textarea, select, [contenteditable]') || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === '/') {
        e.preventDefault();
        textRef.current?.focus();
      } else if (e.key === 'p') togglePause();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [togglePause]);

  const set = <K extends keyof TrackerFilters>(k: K, v: TrackerFilters[K]) => setFilters((f) => ({ ...f, [k]: v }));
  const exportHref = (format: 'csv' | 'jsonl') => `/api/events/export${queryString({ ...apiFilters(filters, now), format })}`;
  const range = RANGES.find((r) => r.key === filters.range);
  const statusText =
    paused
      ? `Paused: ${pending.length} new event${pending.length === 1 ? '' : 's'} waiting`
      : status.s === 'live'
        ? 'Live'
        : status.s === 'connecting'
          ? 'Connecting…'
          : status.s === 'reconnecting'
            ? `Reconnecting… ${status.detail ?? ''}`
            : `Stopped${status.detail ? `: ${status.detail}` : ''}`;

  return (
    <div className="logs">
      <form className="filters" aria-label="Log filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Time range
          <select value={filters.range} onChange={(e) => set('range', e.target.value as TrackerFilters['range'])}>
            {RANGES.map((r) => (
              <option key={r.key} value={r.key}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        {filters.range === 'custom' && (
          <>
            <label>
              From
              <input type="datetime-local" value={filters.from} onChange={(e) => set('from', e.target.value)} />
            </label>
            <label>
              To
              <input type="datetime-local" value={filters.to} onChange={(e) => set('to', e.target.value)} />
            </label>
          </>
        )}
        <ProtectionSelect value={filters.protection} anyValue="" onChange={(protection) => set('protection', protection)} />
        <label>
          Action
          <select value={filters.action} onChange={(e) => set('action', e.target.value as TrackerFilters['action'])}>
            <option value="">Any action</option>
            <option value="prevent">Prevent</option>
            <option value="detect">Detect</option>
          </select>
        </label>
        <label>
          Gateway
          <select value={filters.gateway} onChange={(e) => set('gateway', e.target.value)}>
            <option value="">All gateways</option>
            {gateways.data?.map((g) => (
              <option key={g.id} value={g.id}>
                {g.name}
              </option>
            ))}
          </select>
        </label>
        <label className="grow">
          Text
          <input
            ref={textRef}
            type="search"
            value={qInput}
            placeholder="Command, detail, HELO or MAIL FROM  ( / )"
            onChange={(e) => setQInput(e.target.value)}
          />
        </label>
        <button
          type="button"
          onClick={() => {
            setQInput('');
            setFilters(DEFAULT_FILTERS);
          }}
        >
          Clear filters
        </button>
      </form>

      <div className="toolbar">
        <span role="status" aria-live="polite" className={`live-state live-${paused ? 'paused' : status.s}`}>
          <span className="dot" aria-hidden="true" /> {statusText}
        </span>
        <button type="button" onClick={togglePause} aria-pressed={paused} title="Pause or resume the live stream (P)">
          {paused ? `Resume${pending.length ? ` (${pending.length} new)` : ''}` : 'Pause'}
        </button>
        <span className="muted">
          {events.length.toLocaleString('en-US')} event{events.length === 1 ? '' : 's'} shown{cursor ? ' (more older)' : ''}
        </span>
        <span className="spacer" />
        <div className="chooser">
          <button type="button" aria-expanded={chooser} aria-controls="column-chooser" onClick={() => setChooser((v) => !v)}>
            Columns
          </button>
          {chooser && (
            <fieldset
              id="column-chooser"
              className="popover"
              onKeyDown={(e) => {
                if (e.key === 'Escape') setChooser(false);
              }}
            >
              <legend>Visible columns</legend>
              {COLUMNS.map((c) => (
                <label key={c.id} className="check">
                  <input
                    type="checkbox"
                    checked={columns.includes(c.id)}
                    onChange={(e) =>
                      setColumns((cols) => (e.target.checked ? COLUMNS.filter((x) => x.id === c.id || cols.includes(x.id)).map((x) => x.id) : cols.filter((x) => x !== c.id)))
                    }
                  />
                  {c.label}
                </label>
              ))}
              <button type="button" className="link" onClick={() => setColumns(DEFAULT_COLUMNS)}>
                Reset columns
              </button>
            </fieldset>
          )}
        </div>
        <a className="button" href={exportHref('csv')} download>
          Export CSV
        </a>
        <a className="button" href={exportHref('jsonl')} download>
          Export JSON lines
        </a>
      </div>
      <ErrorText error={loadError} />

      {/* The chart ends now, or at the newest event if it is ahead of the 10 s clock tick. */}
      <EventsChart events={events} end={Math.max(now, events[0] ? Date.parse(events[0].time) + 1000 : 0)} span={range?.ms ?? null} />

      <div className="tracker">
        <div
          className="vtable"
          role="table"
          aria-label="Events"
          aria-rowcount={events.length + 1}
          tabIndex={0}
          onKeyDown={onTableKey}
          ref={scrollRef}
        >
          <div role="rowgroup" className="vhead" style={{ width: totalWidth }}>
            <div role="row" aria-rowindex={1} className="vrow head" style={{ gridTemplateColumns: template }}>
              {visibleCols.map((c) => (
                <span role="columnheader" key={c.id}>
                  {c.label}
                </span>
              ))}
            </div>
          </div>
          <div role="rowgroup" style={{ height: virtualizer.getTotalSize(), width: totalWidth, position: 'relative' }}>
            {virtualizer.getVirtualItems().map((v) => {
              const e = events[v.index]!;
              return (
                <div
                  role="row"
                  key={v.key}
                  aria-rowindex={v.index + 2}
                  aria-selected={e.id === selectedId}
                  className={`vrow${e.id === selectedId ? ' selected' : ''} act-${e.action}`}
                  style={{ gridTemplateColumns: template, transform: `translateY(${v.start}px)`, height: ROW_HEIGHT }}
                  onClick={() => setSelectedId(e.id)}
                >
                  {visibleCols.map((c) => (
                    <span role="cell" key={c.id} className={c.id === 'action' ? `cell-action action-${e.action}` : undefined} title={c.id === 'command' || c.id === 'mailFrom' ? c.get(e) : undefined}>
                      {c.get(e)}
                    </span>
                  ))}
                </div>
              );
            })}
          </div>
          {!loading && events.length === 0 && <p className="muted empty">No events match these filters yet. New ones appear here as they happen.</p>}
          {loading && events.length === 0 && <p className="muted empty">Loading events…</p>}
        </div>
        <EventDetail event={selected} onClose={() => setSelectedId(null)} />
      </div>
      {cursor && (
        <button type="button" onClick={() => void loadOlder()}>
          Load older events
        </button>
      )}
    </div>
  );
}

function EventDetail({ event: e, onClose }: { event: StoredEvent | undefined; onClose: () => void }) {
  if (!e) {
    return (
      <aside className="event-detail empty" aria-label="Event details">
        <p className="muted">Select an event (click, or arrow keys in the table) to see its command and SMTP context.</p>
      </aside>
    );
  }
  return (
    <aside className="event-detail" aria-label="Event details">
      <header>
        <h3>
          {e.attackName}: {e.attackInfo}
        </h3>
        <button type="button" className="icon" aria-label="Close details" onClick={onClose}>
          ×
        </button>
      </header>
      <dl className="facts">
        <dt>Time</dt>
        <dd>{formatTime(e.time)}</dd>
        <dt>Protection</dt>
        <dd>{e.protectionName}</dd>
        <dt>Action</dt>
        <dd>
          <span className={`badge action-${e.action}`}>{actionLabel(e.action)}</span>
        </dd>
        <dt>Severity</dt>
        <dd>
          {e.severity} (confidence {e.confidence})
        </dd>
        <dt>Gateway</dt>
        <dd>{e.gateway}</dd>
        <dt>Source</dt>
        <dd className="mono">{endpoint(e.client)}</dd>
        <dt>Destination</dt>
        <dd className="mono">{endpoint(e.server)}</dd>
        <dt>Direction</dt>
        <dd>{e.direction === 'client' ? 'Client to server' : 'Server to client'}</dd>
        <dt>Detail</dt>
        <dd>{e.detail}</dd>
      </dl>
      <h4>Command (escaped)</h4>
      <pre className="command" aria-label="Offending command">
        {e.command}
      </pre>
      <h4>SMTP context</h4>
      <dl className="facts">
        <dt>HELO</dt>
        <dd className="mono">{e.context.helo ?? '—'}</dd>
        <dt>MAIL FROM</dt>
        <dd className="mono" aria-label="MAIL FROM">
          {e.context.mailFrom ?? '—'}
        </dd>
        <dt>Recipients</dt>
        <dd>{e.context.rcptCount}</dd>
        <dt>State</dt>
        <dd>{e.context.state}</dd>
        <dt>Connection</dt>
        <dd className="mono">{e.connectionId}</dd>
        <dt>Stream offset</dt>
        <dd>{e.streamOffset}</dd>
        <dt>Policy revision</dt>
        <dd>{e.policyRevision ?? '—'}</dd>
        <dt>Received</dt>
        <dd>{formatTime(e.receivedAt)}</dd>
      </dl>
      {e.signals && e.signals.length > 0 && (
        <>
          <h4>Machine-code signals</h4>
          <ul className="signals">
            {e.signals.map((s, i) => (
              <li key={i}>
                {s.name} at byte {s.offset} (weight {s.weight}){s.detail ? `: ${s.detail}` : ''}
              </li>
            ))}
          </ul>
        </>
      )}
    </aside>
  );
}
