// German number and date formatting and HTML escaping for the UI and exports.

const cache = new Map();
function nf(decimals) {
  if (!cache.has(decimals)) cache.set(decimals, new Intl.NumberFormat('de-DE', { maximumFractionDigits: decimals, minimumFractionDigits: 0 }));
  return cache.get(decimals);
}

/** `v` with at most `decimals` decimals, German separators; "–" for null. */
export function num(v, decimals = 2) {
  if (v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return '–';
  if (typeof v !== 'number') return String(v);
  return nf(decimals).format(v);
}

/** HTML-escapes text. */
export function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

/** An ISO date ("2025-01-31…") as "31.01.2025"; "ohne Datum" if empty, other text unchanged. */
export function date(d) {
  if (!d) return 'ohne Datum';
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(d);
  return m ? `${m[3]}.${m[2]}.${m[1]}` : d;
}
