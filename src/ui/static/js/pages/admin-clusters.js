import { api, fetchFile, saveFile } from '../api.js';
import { clusterStateCell } from '../cluster-state.js';
import { announce, checkbox, copyField, errorBox, field, h, heading, menuButton } from '../dom.js';

/** PEM text becomes the base64 the API takes; text that is already base64 passes through. */
const base64Of = (text) => (text.includes('-----BEGIN') ? btoa(`${text.trim()}\n`) : text.replace(/\s+/g, ''));

/** "cp-1 10.0.0.5:6443" per line → [{name, address}]. */
function nodesOf(text) {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [name, address] = line.split(/\s+/);
      return { name, address: address ?? '' };
    });
}

/**
 * Shows the API's validation error next to the control it names ("server: must be an https://
 * URL…"); answers that name no field (or a field without a control) go to `fallback`.
 */
function fieldErrorsFor(controls, fallback) {
  const shown = [];
  const clear = () => {
    for (const [control, note] of shown.splice(0)) {
      control.removeAttribute('aria-invalid');
      control.setAttribute('aria-describedby', (control.getAttribute('aria-describedby') ?? '').replace(note.id, '').trim());
      note.remove();
    }
    fallback.clear();
  };
  const show = (e) => {
    clear();
    const m = /^([A-Za-z][\w.]*): (.+)$/.exec(e.message);
    let path = m?.[1];
    let message = m?.[2] ?? e.message;
    if (!m && e.reason === 'Conflict') [path, message] = ['id', e.message];
    const key = path && Object.keys(controls).filter((k) => path === k || path.startsWith(`${k}.`)).sort((a, b) => b.length - a.length)[0];
    const control = key && controls[key];
    if (!control || control.closest('[hidden]')) return fallback.show(e.message);
    const note = h('span', { class: 'field-error', id: `${control.id || control.name}-error`, role: 'alert' }, message);
    control.setAttribute('aria-invalid', 'true');
    control.setAttribute('aria-describedby', `${control.getAttribute('aria-describedby') ?? ''} ${note.id}`.trim());
    control.after(note);
    shown.push([control, note]);
    control.focus();
  };
  return { show, clear };
}

/** The commands that set up a cluster's direct endpoint and identity, without any secret in them. */
function setupCommands(cluster) {
  if (cluster.connection === 'agent') {
    return [
      '# The import command works once: "Rotate agent token" gives a new one (and disconnects the running agent).',
      '# Or, with kubectl pointing at the cluster, let kubegate do it:',
      `kubegate cluster add --agent --id ${cluster.id} --gateway ${location.origin} --gateway-ca-file kubegate-ca.crt`,
    ].join('\n');
  }
  return [
    '# 1. On the cluster: the account kubegate impersonates with (kubegate cluster add does 1 and registration in one go)',
    'kubegate render impersonator | kubectl apply -f -',
    `kubegate cluster add --id ${cluster.id} --gateway ${location.origin} --gateway-ca-file kubegate-ca.crt`,
    '',
    '# 2. On the cluster: kube-api-auth, the TokenReview webhook of the direct endpoint, on the control-plane nodes',
    '#    (agent.token: the agent token shown at registration; lost it? "Rotate agent token" shows a new one)',
    `kubegate render kube-api-auth --cluster ${cluster.id} --gateway ${location.origin} --agent-token-file agent.token --gateway-ca-file kubegate-ca.crt | kubectl apply -f -`,
    '',
    '# 3. On every control-plane node: the webhook config, then the kube-apiserver flags printed in its comments',
    'kubegate render webhook-config > /etc/kubernetes/kube-api-authn-webhook.yaml',
  ].join('\n');
}

/** Admin: every cluster; register one (agent token and install commands shown once); edit, rotate, set-up again; delete. */
export async function adminClustersPage({ main }) {
  document.title = 'Manage clusters · kubegate';
  const error = errorBox();
  const list = h('section');
  const resultSlot = h('div');
  const formError = errorBox();

  // How the gateway reaches the cluster: through an agent in it (no address or credential here), or directly.
  const viaAgent = h('input', { type: 'radio', name: 'connection', value: 'agent', checked: true });
  const viaDirect = h('input', { type: 'radio', name: 'connection', value: 'direct' });
  const id = h('input', { type: 'text', name: 'id', required: true, pattern: '[a-z0-9]([a-z0-9\\-]*[a-z0-9])?', maxlength: '63', spellcheck: 'false' });
  const name = h('input', { type: 'text', name: 'name', spellcheck: 'false' });
  const server = h('input', { type: 'url', name: 'server', required: true, placeholder: 'https://10.0.0.5:6443' });
  const ca = h('textarea', { name: 'ca', rows: '3', placeholder: '-----BEGIN CERTIFICATE-----' });
  const skipVerify = checkbox('Skip TLS verification of the cluster (not recommended)', { name: 'insecure' });
  const tokenKind = h('input', { type: 'radio', name: 'credential-kind', value: 'token', checked: true });
  const certKind = h('input', { type: 'radio', name: 'credential-kind', value: 'cert' });
  const credToken = h('textarea', { name: 'credential-token', rows: '2', spellcheck: 'false' });
  const credCert = h('textarea', { name: 'client-cert', rows: '3', spellcheck: 'false' });
  const credKey = h('textarea', { name: 'client-key', rows: '3', spellcheck: 'false' });
  const tokenFields = h('div', { class: 'stack' }, field('Service account token', credToken, 'of the impersonator account'));
  const certFields = h('div', { class: 'stack', hidden: true }, field('Client certificate (PEM)', credCert), field('Client key (PEM)', credKey));
  const switchKind = () => {
    tokenFields.hidden = !tokenKind.checked;
    certFields.hidden = !certKind.checked;
  };
  tokenKind.addEventListener('change', switchKind);
  certKind.addEventListener('change', switchKind);

  const directFields = h(
    'div',
    { class: 'stack', hidden: true },
    field('Server URL', server, 'the cluster\'s kube-apiserver'),
    field('CA certificate (PEM)', ca, 'optional when the server certificate is publicly trusted'),
    skipVerify.el,
    h(
      'fieldset',
      {},
      h('legend', {}, 'Credential kubegate impersonates with'),
      h('div', { class: 'row' }, h('label', { class: 'check' }, tokenKind, 'Token'), h('label', { class: 'check' }, certKind, 'Client certificate')),
      tokenFields,
      certFields,
    ),
  );
  const switchConnection = () => {
    directFields.hidden = viaAgent.checked;
    server.required = !viaAgent.checked;
  };
  viaAgent.addEventListener('change', switchConnection);
  viaDirect.addEventListener('change', switchConnection);
  switchConnection();

  const aeEnabled = checkbox('Enable the authorized (direct) endpoint', { name: 'ae-enabled' });
  const fqdn = h('input', { type: 'text', name: 'ae-fqdn', placeholder: 'api.prod.example.com:6443', spellcheck: 'false' });
  const aeCa = h('textarea', { name: 'ae-ca', rows: '3', placeholder: '-----BEGIN CERTIFICATE-----' });
  const nodes = h('textarea', { name: 'ae-nodes', rows: '3', placeholder: 'cp-1 10.0.0.5:6443', spellcheck: 'false' });

  const form = h(
    'form',
    { class: 'stack', onsubmit: register },
    h('div', { class: 'row' }, field('ID', id, 'lower-case letters, digits and -'), field('Name', name, 'optional; defaults to the ID')),
    h(
      'fieldset',
      {},
      h('legend', {}, 'How kubegate reaches the cluster'),
      h(
        'div',
        { class: 'stack' },
        h('label', { class: 'check' }, viaAgent, 'Connect through an agent (recommended): one kubectl apply on the cluster, which dials kubegate; no address or credential to enter'),
        h('label', { class: 'check' }, viaDirect, 'The gateway reaches the API server: its URL and an impersonator credential'),
      ),
    ),
    directFields,
    h(
      'fieldset',
      {},
      h('legend', {}, 'Authorized endpoint (direct access without kubegate)'),
      aeEnabled.el,
      field('FQDN', fqdn, 'optional: one name balancing the control-plane nodes'),
      field('Endpoint CA certificate (PEM)', aeCa, 'the CA of the kube-apiserver certificate'),
      field('Control-plane nodes', nodes, 'one per line: name address[:port]'),
    ),
    formError.el,
    h('div', {}, h('button', { type: 'submit' }, 'Register cluster')),
  );
  const registerErrors = fieldErrorsFor(
    {
      id, name, server, caData: ca, insecureSkipTLSVerify: skipVerify.input,
      'credential.token': credToken, 'credential.clientCertData': credCert, 'credential.clientKeyData': credKey, credential: credToken,
      'authorizedEndpoint.fqdn': fqdn, 'authorizedEndpoint.caData': aeCa, 'authorizedEndpoint.controlPlaneNodes': nodes,
    },
    formError,
  );

  async function downloadCa() {
    error.clear();
    try {
      const file = await fetchFile('GET', '/v1/gateway-ca.crt');
      saveFile(file.text, file.filename);
      announce(`Downloaded ${file.filename}`);
    } catch (e) {
      error.show(e.message);
    }
  }

  main.append(
    heading('Manage clusters'),
    h(
      'div',
      { class: 'toolbar' },
      h('button', { type: 'button', class: 'secondary', onclick: downloadCa }, 'Download gateway CA'),
      h('span', { class: 'muted small' }, 'kubegate-ca.crt: for --gateway-ca-file and curl --cacert on machines that do not trust the gateway yet'),
    ),
    error.el,
    list,
    resultSlot,
    h('h2', {}, 'Register a cluster'),
    h('p', { class: 'muted' }, 'Reached directly, the cluster first needs the account kubegate impersonates with: ', h('code', {}, 'kubegate render impersonator | kubectl apply -f -'), '; use its token below.'),
    form,
  );

  async function register(event) {
    event.preventDefault();
    registerErrors.clear();
    const body = viaAgent.checked
      ? { id: id.value.trim(), connection: 'agent' }
      : {
          id: id.value.trim(),
          server: server.value.trim(),
          credential: tokenKind.checked ? { token: credToken.value.trim() } : { clientCertData: base64Of(credCert.value), clientKeyData: base64Of(credKey.value) },
        };
    if (name.value.trim()) body.name = name.value.trim();
    if (!viaAgent.checked && ca.value.trim()) body.caData = base64Of(ca.value);
    if (!viaAgent.checked && skipVerify.input.checked) body.insecureSkipTLSVerify = true;
    if (aeEnabled.input.checked || fqdn.value.trim() || nodes.value.trim()) {
      body.authorizedEndpoint = { enabled: aeEnabled.input.checked, controlPlaneNodes: nodesOf(nodes.value) };
      if (fqdn.value.trim()) body.authorizedEndpoint.fqdn = fqdn.value.trim();
      if (aeCa.value.trim()) body.authorizedEndpoint.caData = base64Of(aeCa.value);
    }
    try {
      const cluster = await api('POST', '/v1/clusters', body);
      showRegistered(cluster);
      form.reset();
      switchKind();
      switchConnection();
      await refresh();
    } catch (e) {
      registerErrors.show(e);
    }
  }

  function showRegistered(cluster, title = `Cluster ${cluster.id} registered`) {
    if (cluster.connection === 'agent') return showImport(cluster, title);
    const commands = [
      '# On the cluster: kube-api-auth, the TokenReview webhook of the direct endpoint, on the control-plane nodes',
      '# (save the agent token above as agent.token, and the gateway CA as ca.crt)',
      `kubegate render kube-api-auth --cluster ${cluster.id} --gateway ${location.origin} --agent-token-file agent.token --gateway-ca-file ca.crt | kubectl apply -f -`,
      '',
      '# On every control-plane node: the webhook config, then the kube-apiserver flags printed in its comments',
      'kubegate render webhook-config > /etc/kubernetes/kube-api-authn-webhook.yaml',
    ].join('\n');
    const panel = h(
      'div',
      { class: 'panel secret', role: 'region', 'aria-labelledby': 'registered-title' },
      h('h2', { id: 'registered-title', tabindex: '-1' }, title),
      h('p', {}, 'Copy the agent token now: it will not be shown again. The webhook uses it to sync token hashes from kubegate.'),
      copyField('Agent token', cluster.agentToken, 'Agent token copied'),
      h('h3', {}, 'Install the webhook'),
      h('pre', { 'aria-label': 'Install commands' }, commands),
      h('div', { class: 'copy-row' }, h('a', { href: `#/clusters/${cluster.id}/members` }, `Add members to ${cluster.id}`), h('button', { type: 'button', class: 'secondary', onclick: () => resultSlot.replaceChildren() }, 'Done')),
    );
    resultSlot.replaceChildren(panel);
    panel.querySelector('h2').focus();
  }

  /** An agent cluster: the one command to run on it (valid once, for 24 hours), and the agent token. */
  function showImport(cluster, title) {
    const curl = `curl -sfL --cacert kubegate-ca.crt '${cluster.importUrl}' | kubectl apply -f -`;
    const panel = h(
      'div',
      { class: 'panel secret', role: 'region', 'aria-labelledby': 'registered-title' },
      h('h2', { id: 'registered-title', tabindex: '-1' }, title),
      h('p', {}, 'Run this on the cluster (with kubectl pointing at it). The URL works once, until ', h('time', { datetime: cluster.importExpiresAt }, new Date(cluster.importExpiresAt).toLocaleString()), '.'),
      copyField('Import command', cluster.import, 'Import command copied'),
      h('p', { class: 'muted' }, 'When the machine does not trust the gateway\'s certificate, fetch it with its CA instead:'),
      h('pre', { 'aria-label': 'Import with the gateway CA' }, curl),
      h('p', {}, 'The agent token is in the manifests; copy it now if the webhook of the direct endpoint needs it elsewhere: it will not be shown again.'),
      copyField('Agent token', cluster.agentToken, 'Agent token copied'),
      h('div', { class: 'copy-row' }, h('a', { href: `#/clusters/${cluster.id}/members` }, `Add members to ${cluster.id}`), h('button', { type: 'button', class: 'secondary', onclick: () => resultSlot.replaceChildren() }, 'Done')),
    );
    resultSlot.replaceChildren(panel);
    panel.querySelector('h2').focus();
  }

  /** The set-up instructions again, at any time (no secret in them). */
  function showSetup(cluster) {
    const panel = h(
      'div',
      { class: 'panel', role: 'region', 'aria-labelledby': 'setup-title' },
      h('h2', { id: 'setup-title', tabindex: '-1' }, `Set-up instructions for ${cluster.name}`),
      h('p', { class: 'muted' }, 'kubegate-ca.crt is the file "Download gateway CA" saves.'),
      h('pre', { 'aria-label': 'Set-up commands' }, setupCommands(cluster)),
      h('div', { class: 'copy-row' }, h('button', { type: 'button', class: 'secondary', onclick: () => resultSlot.replaceChildren() }, 'Done')),
    );
    resultSlot.replaceChildren(panel);
    panel.querySelector('h2').focus();
  }

  async function rotate(cluster) {
    const what = cluster.connection === 'agent' ? 'Its agent is disconnected until the new import command runs on the cluster.' : 'The direct endpoint\'s webhook stops syncing until it has the new token.';
    if (!confirm(`Rotate the agent token of ${cluster.id}? The current one stops working at once. ${what}`)) return;
    error.clear();
    try {
      const rotated = await api('POST', `/v1/clusters/${cluster.id}/agent-token`);
      showRegistered({ ...cluster, ...rotated }, `New agent token for ${cluster.id}`);
      announce(`Rotated the agent token of ${cluster.id}`);
    } catch (e) {
      error.show(e.message);
    }
  }

  /** Edit: name and authorized endpoint; a direct cluster also its server, CA and (when given) a new credential token. */
  function showEdit(cluster) {
    const direct = cluster.connection !== 'agent';
    const ae = cluster.authorizedEndpoint ?? { enabled: false, controlPlaneNodes: [] };
    const eName = h('input', { type: 'text', name: 'edit-name', value: cluster.name, spellcheck: 'false' });
    const eServer = h('input', { type: 'url', name: 'edit-server', value: cluster.server ?? '', required: direct });
    const eCa = h('textarea', { name: 'edit-ca', rows: '3', placeholder: 'unchanged when empty' });
    const eToken = h('textarea', { name: 'edit-token', rows: '2', spellcheck: 'false', placeholder: 'unchanged when empty' });
    const eAe = checkbox('Enable the authorized (direct) endpoint', { name: 'edit-ae-enabled', checked: ae.enabled });
    const eFqdn = h('input', { type: 'text', name: 'edit-ae-fqdn', value: ae.fqdn ?? '', spellcheck: 'false' });
    const eNodes = h('textarea', { name: 'edit-ae-nodes', rows: '3', spellcheck: 'false' });
    eNodes.value = (ae.controlPlaneNodes ?? []).map((n) => `${n.name} ${n.address}`).join('\n');
    const editError = errorBox();
    const errors = fieldErrorsFor(
      { name: eName, server: eServer, caData: eCa, credential: eToken, 'credential.token': eToken, 'authorizedEndpoint.fqdn': eFqdn, 'authorizedEndpoint.controlPlaneNodes': eNodes },
      editError,
    );
    const save = async (event) => {
      event.preventDefault();
      errors.clear();
      const body = { name: eName.value.trim() || cluster.id, authorizedEndpoint: { enabled: eAe.input.checked, controlPlaneNodes: nodesOf(eNodes.value) } };
      if (eFqdn.value.trim()) body.authorizedEndpoint.fqdn = eFqdn.value.trim();
      if (ae.caData) body.authorizedEndpoint.caData = ae.caData;
      if (direct) {
        body.server = eServer.value.trim();
        if (eCa.value.trim()) body.caData = base64Of(eCa.value);
        if (eToken.value.trim()) body.credential = { token: eToken.value.trim() };
      }
      try {
        await api('PATCH', `/v1/clusters/${cluster.id}`, body);
        resultSlot.replaceChildren();
        announce(`Saved ${cluster.id}`);
        await refresh();
      } catch (e) {
        errors.show(e);
      }
    };
    const panel = h(
      'div',
      { class: 'panel', role: 'region', 'aria-labelledby': 'edit-title' },
      h('h2', { id: 'edit-title', tabindex: '-1' }, `Edit ${cluster.id}`),
      h(
        'form',
        { class: 'stack', onsubmit: save },
        field('Name', eName),
        direct ? [field('Server URL', eServer), field('New CA certificate (PEM)', eCa, 'leave empty to keep the current one'), field('New impersonator token', eToken, 'leave empty to keep the current credential')] : null,
        h('fieldset', {}, h('legend', {}, 'Authorized endpoint'), eAe.el, field('FQDN', eFqdn, 'optional'), field('Control-plane nodes', eNodes, 'one per line: name address[:port]')),
        editError.el,
        h('div', { class: 'copy-row' }, h('button', { type: 'submit' }, 'Save'), h('button', { type: 'button', class: 'secondary', onclick: () => resultSlot.replaceChildren() }, 'Cancel')),
      ),
    );
    resultSlot.replaceChildren(panel);
    panel.querySelector('h2').focus();
  }

  async function remove(cluster) {
    if (!confirm(`Delete cluster ${cluster.id}? Its scoped tokens and memberships go with it.`)) return;
    try {
      await api('DELETE', `/v1/clusters/${cluster.id}`);
      announce(`Deleted ${cluster.id}`);
      await refresh();
    } catch (e) {
      error.show(e.message);
    }
  }

  async function refresh() {
    let clusters;
    try {
      clusters = (await api('GET', '/v1/clusters')).items;
    } catch (e) {
      return error.show(e.message);
    }
    if (clusters.length === 0) return list.replaceChildren(h('p', { class: 'muted' }, 'No clusters yet.'));
    list.replaceChildren(
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, ['Cluster', 'Reached', 'Status', 'Direct endpoint'].map((c) => h('th', { scope: 'col' }, c)), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
        h(
          'tbody',
          {},
          clusters.map((c) =>
            h(
              'tr',
              { 'data-cluster': c.id },
              h('td', {}, h('strong', {}, c.name), c.name === c.id ? null : h('div', { class: 'mono small muted' }, c.id)),
              h('td', { class: c.connection === 'agent' ? '' : 'mono' }, c.connection === 'agent' ? 'through its agent' : c.server),
              clusterStateCell(c),
              h('td', {}, h('span', { class: c.authorizedEndpoint?.enabled ? 'badge on' : 'badge off' }, c.authorizedEndpoint?.enabled ? 'Enabled' : 'Off')),
              h(
                'td',
                { class: 'actions' },
                h('a', { href: `#/clusters/${c.id}/members`, class: 'button secondary', 'aria-label': `Members of ${c.id}` }, 'Members'),
                ' ',
                menuButton(`More actions for ${c.id}`, [
                  ['Edit', () => showEdit(c)],
                  ['Rotate agent token', () => rotate(c)],
                  ['Set-up instructions', () => showSetup(c)],
                ]),
                ' ',
                h('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${c.id}`, onclick: () => remove(c) }, 'Delete'),
              ),
            ),
          ),
        ),
      ),
    );
  }
  await refresh();
}
