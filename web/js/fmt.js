// German number and date formatting and HTML escaping for the UI and exports.

const cache = new Map();
function nf(decimals) {
  if (!cache.has(decimals)) cache.set(decimals, new Intl.NumberFormat('de-DE', { maximumFractionDigits: decimals, minimumFractionDigits: 0 }));
  return cache.get(decimals);
}

const fixedCache = new Map();
/** `v` with exactly `decimals` decimals (for columns that line up); "–" for null. */
export function fixed(v, decimals = 2) {
  if (v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return '–';
  if (typeof v !== 'number') return String(v);
  if (!fixedCache.has(decimals)) fixedCache.set(decimals, new Intl.NumberFormat('de-DE', { maximumFractionDigits: decimals, minimumFractionDigits: decimals }));
  return fixedCache.get(decimals).format(Object.is(v, -0) ? 0 : v);
}

/** A plural level title in the singular ("Bezirksregionen" → "Bezirksregion", "Bezirke" → "Bezirk"). */
export function singular(t) {
  const w = t.replace(/\s*\(.*\)$/, '');
  if (/räume$/.test(w)) return w.replace(/räume$/, 'raum');
  if (/regionen$/.test(w)) return w.replace(/regionen$/, 'region');
  if (/teile$/.test(w)) return w.replace(/teile$/, 'teil');
  if (/ionen$/.test(w)) return w.replace(/ionen$/, 'ion');
  if (/e$/.test(w)) return w.slice(0, -1);
  return w;
}

/** `v` with at most `decimals` decimals, German separators; "–" for null. */
export function num(v, decimals = 2) {
  if (v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return '–';
  if (typeof v !== 'number') return String(v);
  return nf(decimals).format(Object.is(v, -0) ? 0 : v);
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
