// Small DOM helpers. Text always goes in as text nodes: nothing here parses HTML.

/** Builds an element: `h('button', { class: 'x', onclick: fn }, 'Label')`. */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  el.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  // Properties after children, so a <select>'s value can name one of its options.
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    // A <select>'s value only exists as a property; inputs keep theirs as the default form.reset() restores.
    else if (key === 'value' && tag !== 'input') el.value = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  return el;
}

let nextId = 0;
/** A labelled form control; `hint` is tied to it with aria-describedby. */
export function field(label, control, hint) {
  control.id ||= `f${++nextId}`;
  let hintEl = null;
  if (hint) {
    hintEl = h('span', { class: 'hint', id: `${control.id}-hint` }, hint);
    control.setAttribute('aria-describedby', hintEl.id);
  }
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintEl);
}

/** A checkbox with its label after it. */
export function checkbox(label, props = {}) {
  const input = h('input', { type: 'checkbox', ...props });
  return { input, el: h('label', { class: 'check' }, input, label) };
}

/** An inline error region; `show(message)` fills it (and screen readers announce it). */
export function errorBox() {
  const el = h('p', { class: 'error', role: 'alert' });
  return { el, show: (message) => (el.textContent = message ?? ''), clear: () => (el.textContent = '') };
}

let statusTimer;
/** Clears the live region (a new page starts without the last page's notice). */
export function clearAnnouncement() {
  clearTimeout(statusTimer);
  document.getElementById('status').textContent = '';
}

/** A short message in the polite live region at the bottom of the page. */
export function announce(message) {
  const el = document.getElementById('status');
  el.textContent = message;
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => (el.textContent = ''), 4000);
}

/** Copies text, announcing the result. */
export async function copyText(text, what = 'Copied') {
  try {
    await navigator.clipboard.writeText(text);
    announce(`${what} to the clipboard`);
  } catch {
    announce('Copy failed: select the text and copy it by hand');
  }
}

/** A read-only field with a Copy button (secrets shown once, commands). */
export function copyField(label, value, what) {
  const input = h('input', { type: 'text', id: `f${++nextId}`, readonly: true, value, spellcheck: 'false', autocomplete: 'off' });
  const copy = h('button', { type: 'button', 'aria-label': `Copy ${label.toLowerCase()}`, onclick: () => copyText(value, what) }, 'Copy');
  return h('div', {}, h('label', { for: input.id }, label), h('div', { class: 'copy-row' }, input, copy));
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The browser's short name for its time zone at `d` ("CET", "UTC", "GMT+1"). */
function zoneOf(d) {
  return new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName')?.value ?? '';
}

/** "4 Dec 2026 14:02" in local time (with the zone unless `zone` is false), or a dash. */
export function when(iso, { zone = true } = {}) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  const pad = (n) => String(n).padStart(2, '0');
  const text = `${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return zone ? `${text} ${zoneOf(d)}` : text;
}

/** A <time> element showing `when(iso)`, with the exact instant as its machine-readable value. */
export function timeEl(iso) {
  return iso ? h('time', { datetime: iso, title: new Date(iso).toISOString() }, when(iso)) : '—';
}

/** 1440 → "1 day", 90 → "1 hour 30 minutes", 43200 → "30 days": minutes as people read them. */
export function minutesInWords(minutes) {
  if (!Number.isFinite(minutes) || minutes <= 0) return '';
  const unit = (n, word) => (n ? [`${n} ${word}${n === 1 ? '' : 's'}`] : []);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  return [...unit(days, 'day'), ...unit(hours, 'hour'), ...unit(mins, 'minute')].join(' ');
}

/** A page heading that receives focus after navigation. */
export function heading(text) {
  return h('h1', { tabindex: '-1' }, text);
}

/**
 * A ⋮ menu button (WAI-ARIA menu button pattern): Enter/Space/↓ open it on the first item, ↑/↓
 * move, Escape closes and returns focus, Tab or a click elsewhere closes.
 */
export function menuButton(label, items) {
  const button = h('button', { type: 'button', class: 'kebab', 'aria-haspopup': 'menu', 'aria-expanded': 'false', 'aria-label': label }, '⋮');
  const entries = items.map(([text, action]) =>
    h('li', { role: 'none' }, h('button', { type: 'button', role: 'menuitem', tabindex: '-1', onclick: () => { close(true); action(); } }, text)),
  );
  const list = h('ul', { class: 'menu', role: 'menu', 'aria-label': label, hidden: true }, entries);
  const focusables = () => [...list.querySelectorAll('[role="menuitem"]')];
  const onOutside = (event) => { if (!wrap.contains(event.target)) close(false); };
  function open(index = 0) {
    list.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    focusables()[index]?.focus();
    document.addEventListener('mousedown', onOutside);
  }
  function close(refocus) {
    list.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    document.removeEventListener('mousedown', onOutside);
    if (refocus) button.focus();
  }
  button.addEventListener('click', () => (list.hidden ? open() : close(false)));
  button.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown') { e.preventDefault(); open(0); }
    if (e.key === 'ArrowUp') { e.preventDefault(); open(items.length - 1); }
  });
  list.addEventListener('keydown', (e) => {
    const all = focusables();
    const i = all.indexOf(document.activeElement);
    if (e.key === 'ArrowDown') { e.preventDefault(); all[(i + 1) % all.length].focus(); }
    else if (e.key === 'ArrowUp') { e.preventDefault(); all[(i - 1 + all.length) % all.length].focus(); }
    else if (e.key === 'Home') { e.preventDefault(); all[0].focus(); }
    else if (e.key === 'End') { e.preventDefault(); all[all.length - 1].focus(); }
    else if (e.key === 'Escape') { e.preventDefault(); close(true); }
    else if (e.key === 'Tab') close(false);
  });
  const wrap = h('div', { class: 'menu-wrap' }, button, list);
  return wrap;
}
