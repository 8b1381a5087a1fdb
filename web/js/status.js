// The status line under the map, the loading counter of the indicator map, and trackers of
// pending work (the test hooks wait on them).

import { $ } from './dom.js';

/** Shows `text` in the status line. */
export function setStatus(text) {
  $('status').textContent = text;
}

/** Reports an error in the status line (and the console). */
export function showError(e) {
  console.warn(e);
  setStatus(`Fehler: ${e.message || e}`);
}

let busy = 0;

/** True while a load of the indicator map runs. */
export const isBusy = () => busy > 0;

/** Runs the load `fn` with `msg` in the status line; counted, so the line clears when the last load ends. */
export async function whileLoading(msg, fn) {
  busy++;
  setStatus(msg || 'Lade Daten …');
  try {
    return await fn();
  } finally {
    busy--;
    setStatus(busy > 0 ? 'Lade Daten …' : '');
  }
}

/** Runs `fn` with `msg` in the status line and clears the line afterwards (not counted). */
export async function withStatus(msg, fn) {
  setStatus(msg);
  try {
    return await fn();
  } finally {
    setStatus('');
  }
}

/** Resolves after Leaflet's canvas redraw (scheduled on the next animation frame). */
export const afterRedraw = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));

/**
 * A set of pending work: `track(p)` reports p's failure in the status line; `idle(rounds, quiet)`
 * resolves once nothing tracked is pending and `quiet()` holds (polling every 20 ms, at most
 * `rounds` times), after the next redraw.
 */
export function createTracker() {
  let pending = [];
  return {
    track(p) {
      const q = Promise.resolve(p).catch(showError);
      pending.push(q);
      q.finally(() => (pending = pending.filter((x) => x !== q)));
      return q;
    },
    async idle(rounds, quiet = () => true) {
      for (let i = 0; i < rounds; i++) {
        await Promise.all(pending);
        if (pending.length === 0 && quiet()) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await afterRedraw();
    },
  };
}

/** Pending work of the indicator map (the Karte tab). */
export const mapTasks = createTracker();
