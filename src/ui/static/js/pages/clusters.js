import { api, fetchFile, saveFile } from '../api.js';
import { clusterStateCell } from '../cluster-state.js';
import { announce, errorBox, h, heading, menuButton } from '../dom.js';

/** The clusters the user can reach, each with a ⋮ menu to get a kubeconfig. */
export async function clustersPage({ main }) {
  document.title = 'Clusters · kubegate';
  const error = errorBox();
  const body = h('section');
  main.append(
    heading('Clusters'),
    h('p', { class: 'muted' }, 'Pick ', h('strong', {}, 'Download KubeConfig'), ' from a cluster\'s ⋮ menu, then run ', h('code', {}, 'kubectl --kubeconfig <name>.yaml get ns'), '.'),
    error.el,
    body,
  );

  async function download(path, method) {
    error.clear();
    try {
      const file = await fetchFile(method, path);
      saveFile(file.text, file.filename);
      announce(`Downloaded ${file.filename}`);
    } catch (e) {
      error.show(e.message);
    }
  }

  async function copyKubeconfig(cluster) {
    error.clear();
    const text = fetchFile('POST', `/v1/clusters/${cluster.id}/kubeconfig`).then((f) => f.text);
    try {
      // A ClipboardItem with a promise keeps the click's user activation while the file is fetched.
      if (window.ClipboardItem) {
        const blob = text.then((t) => new Blob([t], { type: 'text/plain' }));
        await navigator.clipboard.write([new ClipboardItem({ 'text/plain': blob })]);
      } else {
        await navigator.clipboard.writeText(await text);
      }
      announce(`Copied the kubeconfig for ${cluster.name} to the clipboard`);
    } catch (e) {
      error.show(e instanceof Error && 'status' in e ? e.message : 'The browser did not allow copying; use Download KubeConfig instead.');
    }
  }

  let clusters;
  try {
    clusters = (await api('GET', '/v1/clusters')).items;
  } catch (e) {
    return error.show(e.message);
  }
  if (clusters.length === 0) {
    body.append(h('p', { class: 'panel' }, 'You cannot reach any cluster yet. Ask an administrator to add you to one.'));
    return;
  }

  const rows = clusters.map((c) => {
    const items = [
      ['Download KubeConfig', () => download(`/v1/clusters/${c.id}/kubeconfig`, 'POST')],
      ['Copy kubeconfig to clipboard', () => copyKubeconfig(c)],
    ];
    if (c.role === 'owner') items.push(['Manage members', () => (location.hash = `#/clusters/${c.id}/members`)]);
    const direct = c.authorizedEndpoint?.enabled;
    return h(
      'tr',
      { 'data-cluster': c.id },
      h(
        'td',
        {},
        h('strong', {}, c.name),
        direct ? [' ', h('span', { class: 'badge on', title: 'kubectl can also reach this cluster directly, without kubegate' }, 'direct endpoint')] : null,
        c.name === c.id ? null : h('div', { class: 'mono small muted', 'aria-label': `id ${c.id}` }, c.id),
        h('p', { class: 'note' }, connectNote(c)),
      ),
      clusterStateCell(c),
      h('td', {}, c.role ?? 'member'),
      h('td', { class: 'actions' }, menuButton(`Actions for ${c.name}`, items)),
    );
  });
  body.append(
    h(
      'div',
      { class: 'toolbar' },
      h('button', { type: 'button', class: 'secondary', onclick: () => download('/v1/kubeconfig', 'GET') }, 'Download all'),
      h('span', { class: 'muted small' }, 'one kubeconfig with a context for every cluster below'),
    ),
    h(
      'table',
      {},
      h('caption', { class: 'sr-only' }, 'Clusters you can reach'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Cluster'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, 'Your role'), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
      h('tbody', {}, rows),
    ),
    h('p', { class: 'muted small' }, 'Every download or copy creates a new token for that cluster; revoke old ones on the Tokens page.'),
  );
}

/** The two doors: through kubegate always; directly when the cluster's authorized endpoint is on. */
function connectNote(c) {
  const ae = c.authorizedEndpoint;
  if (!ae?.enabled) return `Connect through kubegate (context "${c.name}"). The direct endpoint is off, so kubectl needs kubegate to be up.`;
  const direct = ae.fqdn ? [`${c.name}-fqdn`] : (ae.controlPlaneNodes ?? []).map((n) => `${c.name}-${n.name}`);
  return `Two ways to connect: through kubegate (context "${c.name}"), or straight to the cluster (${direct.map((d) => `"${d}"`).join(', ') || 'its own endpoint'}), which keeps working when kubegate is down.`;
}
