// Small DOM helpers shared by the views: element lookup, file downloads, modal form dialogs.

/** The element with id `id`. */
export const $ = (id) => document.getElementById(id);

/** Hands `blob` to the browser as a download named `name`. */
export function download(blob, name) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  setTimeout(() => {
    URL.revokeObjectURL(a.href);
    a.remove();
  }, 1000);
}

/**
 * Wires the modal form dialog `${name}-dialog` (with `-form`, `-cancel`, `-submit`, `-error`):
 * button `openId` calls `prepare()` and opens it with the focus on `focusId`. On submit,
 * `submit()` returns a promise (or nothing, when there is nothing to send): while it runs the
 * submit button is disabled, `track` watches it, and its error is shown in the dialog.
 */
export function wireDialog(name, { openId, focusId, prepare, submit, track }) {
  const dlg = $(`${name}-dialog`);
  $(openId).addEventListener('click', () => {
    $(`${name}-error`).textContent = '';
    prepare();
    dlg.showModal();
    $(focusId).focus();
  });
  $(`${name}-cancel`).addEventListener('click', () => dlg.close());
  $(`${name}-form`).addEventListener('submit', (e) => {
    e.preventDefault();
    const p = submit(dlg);
    if (!p) return;
    $(`${name}-submit`).disabled = true;
    track(
      p
        .catch((err) => ($(`${name}-error`).textContent = err.message))
        .finally(() => ($(`${name}-submit`).disabled = false)),
    );
  });
}
