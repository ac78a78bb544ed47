import { api } from '../api.js';
import { announce, copyField, errorBox, field, h, heading, timeEl, when } from '../dom.js';

const LIFETIMES = [
  ['1 hour', 3600],
  ['8 hours', 8 * 3600],
  ['1 day', 86_400],
  ['7 days', 7 * 86_400],
  ['30 days', 30 * 86_400],
  ['90 days', 90 * 86_400],
];

const KINDS = { session: 'Login session', api: 'API token', kubeconfig: 'Kubeconfig', agent: 'Agent' };
const ISO = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?Z\b/g;

/** What a token is for, as a sentence: "kubeconfig for prod, downloaded 4 Dec 2026 14:02 CET". */
export function describeToken(t) {
  const text = (t.description ?? '').trim();
  if (!text) return t.kind === 'session' ? 'a login (web UI or kubectl)' : '';
  // A download's token: which cluster, and when it was downloaded (in the reader's time zone).
  const download = t.kind === 'kubeconfig' && /^kubeconfig (?:download )?for (?:cluster )?(\S+)/.exec(text);
  if (download) return `kubeconfig for ${download[1]}, downloaded ${when(t.createdAt)}`;
  // The gateway writes instants as ISO 8601 (UTC); people read them in their own time zone.
  return text.replace(ISO, (iso) => when(iso));
}

/** The user's tokens: list, create (the secret shown once), revoke. */
export async function tokensPage({ main, me }) {
  document.title = 'Tokens · kubegate';
  const error = errorBox();
  const secretSlot = h('div');
  const list = h('section', { 'aria-labelledby': 'tokens-list' });
  const description = h('input', { type: 'text', name: 'description', maxlength: '256', placeholder: 'e.g. CI pipeline' });
  const lifetime = h('select', { name: 'lifetime' }, LIFETIMES.map(([label, s]) => h('option', { value: String(s), selected: s === 30 * 86_400 }, label)));
  const scope = h('select', { name: 'cluster' }, h('option', { value: '' }, 'Any cluster I can reach'));
  const form = h(
    'form',
    { class: 'inline', onsubmit: create },
    field('Description', description),
    field('Lifetime', lifetime, 'capped at the gateway\'s maximum'),
    field('Cluster', scope, 'a scoped token works only there'),
    h('button', { type: 'submit' }, 'Create token'),
  );
  main.append(
    heading('Tokens'),
    h('p', { class: 'muted' }, 'API tokens for scripts and tools. A token is shown once, when it is created; kubegate keeps only a hash.'),
    h('h2', {}, 'Create a token'),
    form,
    secretSlot,
    error.el,
    h('h2', { id: 'tokens-list' }, 'Your tokens'),
    list,
  );

  api('GET', '/v1/clusters')
    .then(({ items }) => scope.append(...items.map((c) => h('option', { value: c.id }, `${c.name} (${c.id})`))))
    .catch(() => {});

  async function create(event) {
    event.preventDefault();
    error.clear();
    const body = { description: description.value.trim(), ttlSeconds: Number(lifetime.value) };
    if (scope.value) body.clusterId = scope.value;
    try {
      const created = await api('POST', '/v1/tokens', body);
      showSecret(created, body.ttlSeconds);
      form.reset();
      await refresh();
    } catch (e) {
      error.show(e.message);
    }
  }

  let shownSecret;
  function showSecret(created, asked) {
    shownSecret = created.tokenId;
    const capped = created.expiresAt && new Date(created.expiresAt).getTime() < Date.now() + asked * 1000 - 60_000;
    const done = h('button', { type: 'button', class: 'secondary', onclick: () => hideSecret() }, 'Done');
    const panel = h(
      'div',
      { class: 'panel secret', role: 'region', 'aria-labelledby': 'secret-title' },
      h('h2', { id: 'secret-title', tabindex: '-1' }, 'Copy your new token now'),
      h('p', {}, 'It will not be shown again. Use it as ', h('code', {}, 'Authorization: Bearer <token>'), ' or as a kubeconfig user token.'),
      copyField('New token', created.token, 'Token copied'),
      h('p', { class: 'small muted' }, `Expires ${when(created.expiresAt)}${capped ? ' (capped at the gateway\'s maximum lifetime)' : ''}.`),
      done,
    );
    secretSlot.replaceChildren(panel);
    panel.querySelector('h2').focus();
  }

  function hideSecret() {
    shownSecret = undefined;
    secretSlot.replaceChildren();
  }

  async function revoke(token) {
    const self = token.tokenId === me.tokenId;
    const question = self ? 'This is your current session: revoking it logs you out. Revoke it?' : `Revoke the token "${describeToken(token) || token.tokenId}"? Anything using it stops working.`;
    if (!confirm(question)) return;
    error.clear();
    try {
      await api('DELETE', `/v1/tokens/${encodeURIComponent(token.tokenId)}`);
      announce('Token revoked');
      // The secret of a token that no longer works must not stay on screen.
      if (token.tokenId === shownSecret) hideSecret();
      if (self) return location.reload();
      await refresh();
    } catch (e) {
      error.show(e.message);
    }
  }

  async function refresh() {
    let items;
    try {
      items = (await api('GET', '/v1/tokens')).items;
    } catch (e) {
      return error.show(e.message);
    }
    if (items.length === 0) return list.replaceChildren(h('p', { class: 'muted' }, 'No tokens.'));
    const col = (text, optional) => h('th', { scope: 'col', class: optional ? 'optional' : undefined }, text);
    const actions = h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions'));
    const revokeButton = (t) => h('td', { class: 'actions' }, h('button', { type: 'button', class: 'danger', 'aria-label': `Revoke ${describeToken(t) || t.tokenId}`, onclick: () => revoke(t) }, 'Revoke'));
    // Downloads: one token per cluster (downloading again replaces it), listed by cluster.
    const downloads = items.filter((t) => t.kind === 'kubeconfig' && t.clusterId).sort((a, b) => a.clusterId.localeCompare(b.clusterId));
    const others = items.filter((t) => !downloads.includes(t));
    const sections = [];
    if (downloads.length > 0) {
      sections.push(
        h('h2', { id: 'downloads-heading' }, 'Kubeconfig downloads'),
        h('p', { class: 'muted small' }, 'One per cluster: downloading a cluster\'s kubeconfig again replaces its token.'),
        h(
          'table',
          { 'aria-labelledby': 'downloads-heading', 'data-section': 'downloads' },
          h('thead', {}, h('tr', {}, col('Cluster'), col('Description'), col('Created', true), col('Expires'), col('Last used', true), actions.cloneNode(true))),
          h(
            'tbody',
            {},
            downloads.map((t) =>
              h(
                'tr',
                { 'data-token': t.tokenId, 'data-cluster': t.clusterId },
                h('td', { class: 'mono' }, t.clusterId),
                h('td', { 'data-description': '' }, describeToken(t) || h('span', { class: 'muted' }, '—')),
                h('td', { class: 'optional' }, timeEl(t.createdAt)),
                h('td', {}, t.expiresAt ? timeEl(t.expiresAt) : 'never'),
                h('td', { class: 'optional' }, t.lastUsedAt ? timeEl(t.lastUsedAt) : 'not yet'),
                revokeButton(t),
              ),
            ),
          ),
        ),
      );
    }
    if (others.length > 0) {
      if (downloads.length > 0) sections.push(h('h2', { id: 'others-heading' }, 'Sessions and API tokens'));
      sections.push(
        h(
          'table',
          { 'data-section': 'others', 'aria-labelledby': downloads.length > 0 ? 'others-heading' : undefined },
          h('thead', {}, h('tr', {}, col('Kind'), col('Description'), col('Cluster'), col('Created', true), col('Expires'), col('Last used', true), actions)),
          h(
            'tbody',
            {},
            others.map((t) =>
              h(
                'tr',
                { 'data-token': t.tokenId },
                h('td', {}, KINDS[t.kind] ?? t.kind, t.tokenId === me.tokenId ? [' ', h('span', { class: 'badge' }, 'this session')] : null),
                h('td', { 'data-description': '' }, describeToken(t) || h('span', { class: 'muted' }, '—')),
                h('td', { class: 'mono' }, t.clusterId ?? 'any'),
                h('td', { class: 'optional' }, timeEl(t.createdAt)),
                h('td', {}, t.expiresAt ? timeEl(t.expiresAt) : 'never'),
                h('td', { class: 'optional' }, t.lastUsedAt ? timeEl(t.lastUsedAt) : 'not yet'),
                revokeButton(t),
              ),
            ),
          ),
        ),
      );
    }
    list.replaceChildren(...sections);
  }
  await refresh();
}
