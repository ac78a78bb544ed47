/**
 * Server-side printing (`metav1.Table`), which `kubectl get` asks for and prints as-is. Columns
 * follow kubernetes/pkg/printers/internalversion for the kinds the double serves; other kinds get
 * the generic "Name / Created At" table.
 */
import type { KubeObject } from './types.js';

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
  cell: (object: KubeObject, now: number) => unknown;
}

/** apimachinery's duration.HumanDuration, which fills every Age column. */
export const humanDuration = (ms: number): string => {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const years = Math.floor(hours / 24 / 365);
  const days = Math.floor(hours / 24) % 365;
  if (hours < 24 * 365 * 8) return days === 0 ? `${years}y` : `${years}y${days}d`;
  return `${years}y`;
};

const age = (object: KubeObject, now: number): string => {
  const created = Date.parse(object.metadata.creationTimestamp ?? '');
  return Number.isNaN(created) ? '<unknown>' : humanDuration(now - created);
};

const field = (object: KubeObject, ...path: string[]): unknown =>
  path.reduce<unknown>((value, key) => (value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined), object);

const containerStatuses = (pod: KubeObject): Array<Record<string, unknown>> => {
  const statuses = field(pod, 'status', 'containerStatuses');
  return Array.isArray(statuses) ? (statuses as Array<Record<string, unknown>>) : [];
};

const nameColumn: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  priority: 0,
  cell: (o) => o.metadata.name ?? '',
};
const ageColumn: Column = {
  name: 'Age',
  type: 'string',
  format: '',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  priority: 0,
  cell: age,
};
const column = (name: string, type: string, priority: number, description: string, cell: Column['cell']): Column => ({
  name,
  type,
  format: '',
  description,
  priority,
  cell,
});

const COLUMNS: Record<string, Column[]> = {
  ConfigMap: [
    nameColumn,
    column('Data', 'string', 0, 'Data contains the configuration data.', (o) =>
      Object.keys((o.data as object | undefined) ?? {}).length + Object.keys((o.binaryData as object | undefined) ?? {}).length),
    ageColumn,
  ],
  Namespace: [
    nameColumn,
    column('Status', 'string', 0, 'The status of the namespace', (o) => String(field(o, 'status', 'phase') ?? 'Active')),
    ageColumn,
  ],
  Pod: [
    nameColumn,
    column('Ready', 'string', 0, 'The aggregate readiness state of this pod for accepting traffic.', (o) => {
      const statuses = containerStatuses(o);
      const containers = field(o, 'spec', 'containers');
      const total = Array.isArray(containers) ? containers.length : statuses.length;
      return `${statuses.filter((s) => s.ready === true).length}/${total}`;
    }),
    column('Status', 'string', 0, 'The aggregate status of the containers in this pod.', (o) =>
      String(field(o, 'status', 'reason') ?? field(o, 'status', 'phase') ?? 'Pending')),
    column('Restarts', 'string', 0, 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.', (o) =>
      String(containerStatuses(o).reduce((sum, s) => sum + (typeof s.restartCount === 'number' ? s.restartCount : 0), 0))),
    ageColumn,
    column('IP', 'string', 1, 'IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.', (o) =>
      String(field(o, 'status', 'podIP') ?? '<none>')),
    column('Node', 'string', 1, 'NodeName is a request to schedule this pod onto a specific node.', (o) =>
      String(field(o, 'spec', 'nodeName') ?? '<none>')),
    column('Nominated Node', 'string', 1, 'nominatedNodeName is set only when this pod preempts other pods on the node.', (o) =>
      String(field(o, 'status', 'nominatedNodeName') ?? '<none>')),
    column('Readiness Gates', 'string', 1, 'If specified, all readiness gates will be evaluated for pod readiness.', () => '<none>'),
  ],
};

const DEFAULT_COLUMNS: Column[] = [
  nameColumn,
  { name: 'Created At', type: 'date', format: '', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0, cell: (o) => o.metadata.creationTimestamp ?? '' },
];

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface TableOptions {
  apiVersion: string;
  includeObject: IncludeObject;
  /** Omit column definitions: every watch event after the first (handlers/watch.go). */
  noHeaders?: boolean;
  resourceVersion?: string;
  continueToken?: string;
}

const rowObject = (object: KubeObject, include: IncludeObject): unknown => {
  if (include === 'Object') return object;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata };
};

/** Converts objects of one kind (with kind/apiVersion set) into a Table. */
export const toTable = (kind: string, objects: KubeObject[], options: TableOptions): Record<string, unknown> => {
  const columns = COLUMNS[kind] ?? DEFAULT_COLUMNS;
  const now = Date.now();
  const metadata: Record<string, string> = {};
  if (options.resourceVersion) metadata.resourceVersion = options.resourceVersion;
  if (options.continueToken) metadata.continue = options.continueToken;
  return {
    kind: 'Table',
    apiVersion: options.apiVersion,
    metadata,
    columnDefinitions: options.noHeaders
      ? null
      : columns.map(({ name, type, format, description, priority }) => ({ name, type, format, description, priority })),
    rows: objects.map((object) => {
      const row: Record<string, unknown> = { cells: columns.map((c) => c.cell(object, now)) };
      if (options.includeObject !== 'None') row.object = rowObject(object, options.includeObject);
      return row;
    }),
  };
};

export const includeObjectParam = (query: URLSearchParams): IncludeObject => {
  const value = query.get('includeObject');
  return value === 'None' || value === 'Object' ? value : 'Metadata';
};
