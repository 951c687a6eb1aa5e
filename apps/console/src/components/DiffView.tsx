import { changeSymbol, groupChanges, showValue } from '../lib/diff.js';
import type { Change } from '../types.js';

/** A readable diff: changes grouped by what they touch, each with before → after. */
export function DiffView({ changes, label }: { changes: readonly Change[]; label: string }) {
  if (changes.length === 0) return <p className="muted">No differences.</p>;
  return (
    <div className="diff" aria-label={label} role="group">
      {groupChanges(changes).map((g) => (
        <section key={g.section}>
          <h4>
            {g.title} <span className="muted">({g.changes.length})</span>
          </h4>
          <ul>
            {g.changes.map((c, i) => (
              <li key={`${c.path}-${i}`} className={`change ${c.kind}`}>
                <span className="sym" aria-label={c.kind}>
                  {changeSymbol(c.kind)}
                </span>
                <span className="text">{c.text}</span>
                {c.kind === 'changed' && (
                  <span className="values">
                    <del>{showValue(c.before)}</del> → <ins>{showValue(c.after)}</ins>
                  </span>
                )}
              </li>
            ))}
          </ul>
        </section>
      ))}
    </div>
  );
}
