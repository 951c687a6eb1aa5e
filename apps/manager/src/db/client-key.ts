/**
 * The events.client_key column: FNV-1a (32 bits) of the client address text, exactly as
 * stored in client_address. An index on this integer serves the same lookups as one on the
 * text (the query checks client_address too, so a collision costs a row read, never a wrong
 * row) at a third of the insert cost. Stored values depend on it: changing it needs a
 * migration that recomputes the column.
 */
export function clientKey(address: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < address.length; i++) {
    h ^= address.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
