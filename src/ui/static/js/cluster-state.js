import { h } from './dom.js';

/** What a user can do about each state (docs/reference/api.md, cluster health). */
const LABELS = { Active: 'Active', Unavailable: 'Unavailable', CredentialRejected: 'Credential rejected', Unknown: 'Unknown' };

/** The label people read: an agent cluster without a connected agent is Disconnected (issue 20). */
export function clusterStateLabel(c) {
  const state = c.status?.state ?? 'Unknown';
  if (c.connection === 'agent' && c.status?.agent && !c.status.agent.connected && state !== 'Active') return 'Disconnected';
  return LABELS[state] ?? state;
}

/**
 * A cluster's health for both cluster lists: the state as a badge and its message beside it
 * (kept as `data-state` on the cell for scripts and tests).
 */
export function clusterStateCell(c) {
  const state = c.status?.state ?? 'Unknown';
  const cls = state === 'Active' ? 'badge on' : state === 'Unknown' ? 'badge off' : 'badge bad';
  const agent = c.status?.agent?.version ? ` (agent ${c.status.agent.version})` : '';
  return h(
    'td',
    { 'data-state': state },
    h('span', { class: cls }, clusterStateLabel(c)),
    c.status?.message ? h('p', { class: 'note' }, `${c.status.message}${agent}`) : '',
  );
}
