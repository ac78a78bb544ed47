/**
 * Decoding of the protobuf bodies kubectl sends. Its typed-client commands (`kubectl create
 * configmap|namespace`, `kubectl auth can-i`) POST `application/vnd.kubernetes.protobuf` and do not fall back to JSON,
 * so a faithful double must read them. Only what those commands produce is decoded: the `k8s\0`
 * + runtime.Unknown envelope, ObjectMeta's common fields, ConfigMap, Namespace, SelfSubjectAccessReview and TokenRequest. Field numbers
 * are those of k8s.io/api and apimachinery's generated.proto.
 */
import { unsupportedMediaType } from './status.js';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]); // "k8s\0"

interface Field {
  number: number;
  /** Varint value (wire type 0) or undefined. */
  varint?: bigint;
  /** Length-delimited bytes (wire type 2) or undefined. */
  bytes?: Buffer;
}

const readVarint = (buf: Buffer, offset: number): [bigint, number] => {
  let result = 0n;
  let shift = 0n;
  let pos = offset;
  for (;;) {
    const byte = buf[pos];
    if (byte === undefined) throw new Error('truncated varint');
    pos += 1;
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [result, pos];
    shift += 7n;
  }
};

/** Splits a message into its fields (fixed-width ones are skipped: none of ours use them). */
const fields = (buf: Buffer): Field[] => {
  const out: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [key, afterKey] = readVarint(buf, pos);
    const number = Number(key >> 3n);
    const wireType = Number(key & 7n);
    pos = afterKey;
    if (wireType === 0) {
      const [value, next] = readVarint(buf, pos);
      out.push({ number, varint: value });
      pos = next;
    } else if (wireType === 2) {
      const [length, next] = readVarint(buf, pos);
      out.push({ number, bytes: buf.subarray(next, next + Number(length)) });
      pos = next + Number(length);
    } else if (wireType === 1) {
      pos += 8;
    } else if (wireType === 5) {
      pos += 4;
    } else {
      throw new Error(`unsupported wire type ${wireType}`);
    }
  }
  return out;
};

const str = (f: Field): string => (f.bytes ?? Buffer.alloc(0)).toString('utf8');

/** A `map<string, string|bytes>` entry: key = 1, value = 2. */
const mapEntry = (f: Field): [string, Buffer] => {
  let key = '';
  let value: Buffer = Buffer.alloc(0);
  for (const e of fields(f.bytes ?? Buffer.alloc(0))) {
    if (e.number === 1) key = str(e);
    if (e.number === 2) value = e.bytes ?? Buffer.alloc(0);
  }
  return [key, value];
};

const objectMeta = (buf: Buffer): Record<string, unknown> => {
  const meta: Record<string, unknown> = {};
  const labels: Record<string, string> = {};
  const annotations: Record<string, string> = {};
  const finalizers: string[] = [];
  for (const f of fields(buf)) {
    switch (f.number) {
      case 1: meta.name = str(f); break;
      case 2: meta.generateName = str(f); break;
      case 3: meta.namespace = str(f); break;
      case 6: meta.resourceVersion = str(f); break;
      case 11: { const [k, v] = mapEntry(f); labels[k] = v.toString('utf8'); break; }
      case 12: { const [k, v] = mapEntry(f); annotations[k] = v.toString('utf8'); break; }
      case 14: finalizers.push(str(f)); break;
      default: break; // server-owned or unused by kubectl's generators
    }
  }
  if (Object.keys(labels).length > 0) meta.labels = labels;
  if (Object.keys(annotations).length > 0) meta.annotations = annotations;
  if (finalizers.length > 0) meta.finalizers = finalizers;
  for (const key of ['name', 'generateName', 'namespace', 'resourceVersion']) if (meta[key] === '') delete meta[key];
  return meta;
};

const configMap = (buf: Buffer): Record<string, unknown> => {
  const object: Record<string, unknown> = { metadata: {} };
  const data: Record<string, string> = {};
  const binaryData: Record<string, string> = {};
  for (const f of fields(buf)) {
    if (f.number === 1) object.metadata = objectMeta(f.bytes ?? Buffer.alloc(0));
    if (f.number === 2) { const [k, v] = mapEntry(f); data[k] = v.toString('utf8'); }
    if (f.number === 3) { const [k, v] = mapEntry(f); binaryData[k] = v.toString('base64'); }
    if (f.number === 4) object.immutable = f.varint === 1n;
  }
  if (Object.keys(data).length > 0) object.data = data;
  if (Object.keys(binaryData).length > 0) object.binaryData = binaryData;
  return object;
};

const namespace = (buf: Buffer): Record<string, unknown> => {
  const object: Record<string, unknown> = { metadata: {} };
  for (const f of fields(buf)) {
    if (f.number === 1) object.metadata = objectMeta(f.bytes ?? Buffer.alloc(0));
    if (f.number === 2) {
      const finalizers = fields(f.bytes ?? Buffer.alloc(0)).filter((s) => s.number === 1).map(str);
      object.spec = finalizers.length > 0 ? { finalizers } : {};
    }
  }
  return object;
};

/** Fields of a message by number → name (strings only), empty ones left out. */
const strings = (buf: Buffer, names: Record<number, string>): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const f of fields(buf)) {
    const name = names[f.number];
    if (name && str(f)) out[name] = str(f);
  }
  return out;
};

/** `kubectl auth can-i`: SelfSubjectAccessReview{metadata=1, spec=2{resourceAttributes=1, nonResourceAttributes=2}}. */
const selfSubjectAccessReview = (buf: Buffer): Record<string, unknown> => {
  const spec: Record<string, unknown> = {};
  for (const f of fields(buf)) {
    if (f.number !== 2) continue;
    for (const a of fields(f.bytes ?? Buffer.alloc(0))) {
      const bytes = a.bytes ?? Buffer.alloc(0);
      if (a.number === 1) spec.resourceAttributes = strings(bytes, { 1: 'namespace', 2: 'verb', 3: 'group', 4: 'version', 5: 'resource', 6: 'subresource', 7: 'name' });
      if (a.number === 2) spec.nonResourceAttributes = strings(bytes, { 1: 'path', 2: 'verb' });
    }
  }
  return { metadata: {}, spec };
};

/** `kubectl create token`: TokenRequest{metadata=1, spec=2{audiences=1 (repeated), boundObjectRef=3, expirationSeconds=4}}. */
const tokenRequest = (buf: Buffer): Record<string, unknown> => {
  const object: Record<string, unknown> = { metadata: {} };
  for (const f of fields(buf)) {
    if (f.number === 1) object.metadata = objectMeta(f.bytes ?? Buffer.alloc(0));
    if (f.number !== 2) continue;
    const spec: { audiences: string[]; expirationSeconds?: number } = { audiences: [] };
    for (const s of fields(f.bytes ?? Buffer.alloc(0))) {
      if (s.number === 1) spec.audiences.push(str(s));
      if (s.number === 4 && s.varint !== undefined) spec.expirationSeconds = Number(s.varint);
    }
    object.spec = spec;
  }
  return object;
};

const DECODERS: Record<string, (buf: Buffer) => Record<string, unknown>> = {
  'authentication.k8s.io/v1/TokenRequest': tokenRequest,
  'v1/ConfigMap': configMap,
  'v1/Namespace': namespace,
  'authorization.k8s.io/v1/SelfSubjectAccessReview': selfSubjectAccessReview,
};

/** Decodes a `application/vnd.kubernetes.protobuf` body into the object's JSON form. */
export const decodeProtobuf = (body: Buffer): Record<string, unknown> => {
  if (!body.subarray(0, 4).equals(MAGIC)) throw unsupportedMediaType('application/vnd.kubernetes.protobuf');
  let apiVersion = '';
  let kind = '';
  let raw: Buffer = Buffer.alloc(0);
  for (const f of fields(body.subarray(4))) {
    if (f.number === 1) {
      for (const t of fields(f.bytes ?? Buffer.alloc(0))) {
        if (t.number === 1) apiVersion = str(t);
        if (t.number === 2) kind = str(t);
      }
    }
    if (f.number === 2) raw = f.bytes ?? Buffer.alloc(0);
  }
  const decode = DECODERS[`${apiVersion}/${kind}`];
  // Other kinds would need their generated.proto; the double does not pretend to read them.
  if (!decode) throw unsupportedMediaType(`application/vnd.kubernetes.protobuf (${apiVersion}/${kind})`);
  return { apiVersion, kind, ...decode(raw) };
};
