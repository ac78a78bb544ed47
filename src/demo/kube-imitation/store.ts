/**
 * The double's etcd: objects per resource, one global resourceVersion counter bumped by every
 * write, and a bounded history of change events so a watch can resume from a resourceVersion
 * (and gets 410 Expired when it asks for one that was compacted away).
 */
import { randomUUID } from 'node:crypto';
import { alreadyExists, notFound, type GroupResource } from './status.js';
import type { KubeObject } from './types.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: WatchEventType;
  resourceKey: string;
  object: KubeObject;
  resourceVersion: number;
}

export type StoreListener = (event: StoreEvent) => void;

const keyOf = (gr: GroupResource): string => (gr.group ? `${gr.resource}.${gr.group}` : gr.resource);
const objectKey = (namespace: string | undefined, name: string | undefined): string => `${namespace ?? ''}/${name ?? ''}`;

/** RFC 3339 with second precision, as metav1.Time serialises. */
export const kubeTimestamp = (date = new Date()): string => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

export class ObjectStore {
  // Starts above zero so resourceVersions look like a real cluster's and "0" keeps its meaning.
  private revision = 1000;
  private compactedRevision = 1000;
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<StoreListener>();

  constructor(private readonly historyLimit: () => number) {}

  /** The resourceVersion a list taken now would carry. */
  currentRevision(): number {
    return this.revision;
  }

  get(gr: GroupResource, namespace: string, name: string): KubeObject {
    const found = this.bucket(gr).get(objectKey(namespace, name));
    if (!found) throw notFound(gr, name);
    return structuredClone(found);
  }

  has(gr: GroupResource, namespace: string, name: string): boolean {
    return this.bucket(gr).has(objectKey(namespace, name));
  }

  /** Objects of a resource, optionally in one namespace, in etcd key order. */
  list(gr: GroupResource, namespace?: string): KubeObject[] {
    return [...this.bucket(gr).entries()]
      .filter(([, object]) => namespace === undefined || namespace === '' || object.metadata.namespace === namespace)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, object]) => structuredClone(object));
  }

  /** Stores a new object, filling uid, resourceVersion and creationTimestamp. */
  create(gr: GroupResource, object: KubeObject): KubeObject {
    const key = objectKey(object.metadata.namespace, object.metadata.name);
    if (this.bucket(gr).has(key)) throw alreadyExists(gr, object.metadata.name ?? '');
    const stored = structuredClone(object);
    stored.metadata.uid = randomUUID();
    stored.metadata.creationTimestamp = kubeTimestamp();
    return this.write(gr, key, stored, 'ADDED');
  }

  /** Replaces an existing object, keeping its identity fields. */
  update(gr: GroupResource, object: KubeObject): KubeObject {
    const key = objectKey(object.metadata.namespace, object.metadata.name);
    const current = this.bucket(gr).get(key);
    if (!current) throw notFound(gr, object.metadata.name ?? '');
    const stored = structuredClone(object);
    stored.metadata.uid = current.metadata.uid;
    stored.metadata.creationTimestamp = current.metadata.creationTimestamp;
    return this.write(gr, key, stored, 'MODIFIED');
  }

  /** Removes an object; the returned copy (and the DELETED event) carries the deletion's resourceVersion. */
  delete(gr: GroupResource, namespace: string, name: string): KubeObject {
    const key = objectKey(namespace, name);
    const current = this.bucket(gr).get(key);
    if (!current) throw notFound(gr, name);
    this.bucket(gr).delete(key);
    return this.write(gr, key, current, 'DELETED');
  }

  /**
   * Events of a resource after `sinceRevision`, or 'expired' when history no longer reaches back
   * that far (the watch cache's "too old resource version").
   */
  eventsSince(gr: GroupResource, sinceRevision: number): StoreEvent[] | 'expired' {
    if (sinceRevision < this.compactedRevision) return 'expired';
    const key = keyOf(gr);
    return this.history.filter((e) => e.resourceKey === key && e.resourceVersion > sinceRevision).map((e) => structuredClone(e));
  }

  /** The oldest resourceVersion a watch may still resume from. */
  oldestRevision(): number {
    return this.compactedRevision;
  }

  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  static keyOf = keyOf;

  private bucket(gr: GroupResource): Map<string, KubeObject> {
    const key = keyOf(gr);
    let bucket = this.objects.get(key);
    if (!bucket) {
      bucket = new Map();
      this.objects.set(key, bucket);
    }
    return bucket;
  }

  private write(gr: GroupResource, key: string, object: KubeObject, type: WatchEventType): KubeObject {
    this.revision += 1;
    object.metadata.resourceVersion = String(this.revision);
    if (type !== 'DELETED') this.bucket(gr).set(key, object);
    const event: StoreEvent = { type, resourceKey: keyOf(gr), object: structuredClone(object), resourceVersion: this.revision };
    this.history.push(event);
    while (this.history.length > Math.max(1, this.historyLimit())) {
      const dropped = this.history.shift();
      if (dropped) this.compactedRevision = dropped.resourceVersion;
    }
    for (const listener of [...this.listeners]) listener(structuredClone(event));
    return structuredClone(object);
  }
}
