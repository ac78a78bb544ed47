import { api, fetchFile, saveFile } from '../api.js';
import { announce, errorBox, h, heading, menuButton } from '../dom.js';
import { clusterStateCell } from '../cluster-state.js';

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
      ['Download all', () => download('/v1/kubeconfig', 'GET')],
    ];
    if (c.role === 'owner') items.push(['Manage members', () => (location.hash = `#/clusters/${c.id}/members`)]);
    const direct = c.authorizedEndpoint?.enabled;
    return h(
      'tr',
      { 'data-cluster': c.id },
      h('td', {}, h('strong', {}, c.name), h('p', { class: 'note' }, connectNote(c))),
      h('td', { class: 'mono' }, c.id),
      clusterStateCell(c),
      h('td', {}, h('span', { class: direct ? 'badge on' : 'badge off' }, direct ? 'Enabled' : 'Off')),
      h('td', {}, c.role ?? 'member'),
      h('td', { class: 'actions' }, menuButton(`Actions for ${c.name}`, items)),
    );
  });
  body.append(
    h(
      'table',
      {},
      h('caption', { class: 'sr-only' }, 'Clusters you can reach'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'ID'), h('th', { scope: 'col' }, 'State'), h('th', { scope: 'col' }, 'Direct endpoint'), h('th', { scope: 'col' }, 'Your role'), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
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
