import { api } from '../api.js';
import { announce, checkbox, errorBox, field, h, heading, minutesInWords } from '../dom.js';

const MINUTES = [
  ['kubeconfig-default-token-ttl-minutes', 'Kubeconfig token lifetime (minutes)', 'tokens in downloaded kubeconfigs'],
  ['auth-token-max-ttl-minutes', 'Maximum token lifetime (minutes)', 'caps every token'],
  ['session-ttl-minutes', 'Session lifetime (minutes)', 'logins, including this web UI'],
];

/** Admin: runtime settings (docs/reference/tokens.md). */
export async function settingsPage({ main }) {
  document.title = 'Settings · kubegate';
  const error = errorBox();
  const body = h('section');
  main.append(heading('Settings'), error.el, body);
  let current;
  try {
    current = Object.fromEntries((await api('GET', '/v1/settings')).items.map((s) => [s.name, s.value]));
  } catch (e) {
    return error.show(e.message);
  }
  const generate = checkbox('Put a new token in each downloaded kubeconfig (off: an exec entry running kubegate token)', {
    name: 'kubeconfig-generate-token',
    checked: current['kubeconfig-generate-token'],
  });
  const inputs = MINUTES.map(([name, label, hint]) => {
    const input = h('input', { type: 'number', name, min: '1', max: '5256000', step: '1', required: true, value: String(current[name]) });
    // Beside the minutes, the same duration in days and hours, following the input as it is typed.
    const words = h('span', { class: 'hint', 'data-duration': name, 'aria-live': 'polite' });
    const show = () => (words.textContent = minutesInWords(Number(input.value)) ? `= ${minutesInWords(Number(input.value))}` : '');
    input.addEventListener('input', show);
    show();
    return [name, input, label, hint, words];
  });
  const form = h(
    'form',
    {
      class: 'stack',
      onsubmit: async (event) => {
        event.preventDefault();
        error.clear();
        const wanted = [['kubeconfig-generate-token', generate.input.checked], ...inputs.map(([name, input]) => [name, Number(input.value)])];
        try {
          for (const [name, value] of wanted) {
            if (current[name] !== value) current[name] = (await api('PUT', `/v1/settings/${name}`, { value })).value;
          }
          announce('Settings saved');
        } catch (e) {
          error.show(e.message);
        }
      },
    },
    generate.el,
    inputs.map(([, input, label, hint, words]) => h('div', { class: 'row' }, field(label, input, hint), h('div', { class: 'duration' }, words))),
    h('div', {}, h('button', { type: 'submit' }, 'Save settings')),
  );
  body.append(form);
}
