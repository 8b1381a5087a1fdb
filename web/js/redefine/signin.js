// Sign-in with an API token (dialog), sign-out, and what the page shows of the user: the name
// and role in the header; the editing controls only for planners.

import { $, wireDialog } from '../dom.js';
import { gs } from './model.js';
import { auth, canPlan, token, storeToken, forgetToken, whoAmI, track } from './session.js';
import { clearMap, closeDraft, loadList } from './drafts.js';
import { ensureGeoman } from './geoman.js';

const ROLE_LABEL = { public: 'öffentlich', viewer: 'Lesen', planner: 'Planung', statistik: 'Statistikstelle', admin: 'Administration' };

function renderAuth() {
  const signedIn = auth.role !== 'public';
  $('auth-user').textContent = signedIn ? `Angemeldet als ${auth.name || 'unbekannt'} (${ROLE_LABEL[auth.role] || auth.role})` : '';
  $('login-open').hidden = signedIn;
  $('logout').hidden = !signedIn;
  // public users see no editing controls at all
  $('gs-edit').hidden = !canPlan();
  if (!canPlan() && gs.draft) closeDraft();
}

function setUser(who) {
  auth.role = who.role;
  auth.name = who.name;
  renderAuth();
  // the drawing tools: only for planners, loaded now so the first draft opens at once
  if (canPlan()) track(ensureGeoman());
}

async function login(tok) {
  let who;
  try {
    who = await whoAmI(tok);
  } catch (e) {
    if (e.status === 401 || e.status === 403) throw new Error('Das Token ist unbekannt.');
    throw e;
  }
  if (!who || who.role === 'public') throw new Error('Das Token ist unbekannt.');
  storeToken(tok);
  setUser(who);
  if (gs.meta || gs.active) await loadList();
}

async function logout() {
  forgetToken();
  setUser({ role: 'public', name: null });
  if (gs.mode === 'compare' || gs.mode === 'view') clearMap();
  if (gs.meta || gs.active) await loadList();
}

/** Wires the sign-in dialog and sign-out, and asks the server what a token from earlier in this tab's session is worth now. */
export function initSignIn() {
  wireDialog('login', {
    openId: 'login-open',
    focusId: 'login-token',
    track,
    prepare: () => ($('login-token').value = ''),
    submit: (dlg) => {
      const tok = $('login-token').value.trim();
      return tok ? login(tok).then(() => dlg.close()) : null;
    },
  });
  $('logout').addEventListener('click', () => track(logout()));
  renderAuth();
  const tok = token();
  if (tok) track(whoAmI(tok).then(setUser).catch(forgetToken));
}
