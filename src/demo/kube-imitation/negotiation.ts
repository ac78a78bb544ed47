/**
 * Content negotiation as kube-apiserver does it for the media types the double speaks: JSON,
 * YAML, and the `as=Table` transform kubectl asks for (`Accept: application/json;as=Table;v=v1;
 * g=meta.k8s.io,...`). Protobuf is never answered (a client accepting nothing else gets 406), only
 * read for the kinds kubectl's typed commands send (protobuf.ts).
 */
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { decodeProtobuf } from './protobuf.js';
import { jsonReply, type Reply } from './respond.js';
import { badRequest, notAcceptable, unsupportedMediaType } from './status.js';

export type OutputFormat =
  | { type: 'json' }
  | { type: 'yaml' }
  | { type: 'table'; apiVersion: 'meta.k8s.io/v1' | 'meta.k8s.io/v1beta1' };

interface MediaRange {
  mime: string;
  params: Record<string, string>;
  q: number;
}

/** Parses an Accept header into media ranges, most preferred first (stable for equal q). */
export const parseAccept = (accept: string | undefined): MediaRange[] =>
  (accept ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const [mime = '', ...rest] = part.split(';').map((p) => p.trim());
      const params: Record<string, string> = {};
      for (const p of rest) {
        const eq = p.indexOf('=');
        if (eq > 0) params[p.slice(0, eq).toLowerCase()] = p.slice(eq + 1);
      }
      const q = params.q === undefined ? 1 : Number(params.q);
      return { mime: mime.toLowerCase(), params, q: Number.isFinite(q) ? q : 1 };
    })
    .map((range, index) => ({ range, index }))
    .sort((a, b) => b.range.q - a.range.q || a.index - b.index)
    .map(({ range }) => range);

const isJsonRange = (mime: string): boolean => mime === 'application/json' || mime === 'application/*' || mime === '*/*';

/** Picks the answer's format; `allowTable` is false where kube-apiserver has no table conversion. */
export const negotiateOutput = (accept: string | undefined, allowTable: boolean): OutputFormat => {
  const ranges = parseAccept(accept);
  if (ranges.length === 0) return { type: 'json' };
  for (const range of ranges) {
    if (range.q <= 0) continue;
    const as = range.params.as;
    if (as !== undefined) {
      const version = range.params.v;
      if (as === 'Table' && allowTable && range.params.g === 'meta.k8s.io' && (version === 'v1' || version === 'v1beta1') && isJsonRange(range.mime)) {
        return { type: 'table', apiVersion: `meta.k8s.io/${version}` };
      }
      continue; // other transforms (PartialObjectMetadata, ...) are not served; try the next range
    }
    if (isJsonRange(range.mime)) return { type: 'json' };
    if (range.mime === 'application/yaml') return { type: 'yaml' };
  }
  throw notAcceptable();
};

/** Encodes an API object in the negotiated format (a Table is already an object by then). */
export const encodeObject = (format: OutputFormat, status: number, value: unknown): Reply =>
  format.type === 'yaml'
    ? { status, contentType: 'application/yaml', body: stringifyYaml(value) }
    : jsonReply(status, value);

/** Decodes a request body sent as JSON, YAML or (for what kubectl sends) protobuf; anything else is 415. */
export const decodeBody = (contentType: string | undefined, body: Buffer): unknown => {
  const mime = (contentType ?? 'application/json').split(';')[0]?.trim().toLowerCase() ?? '';
  if (body.length === 0) throw badRequest('the body of the request was empty');
  if (mime === 'application/vnd.kubernetes.protobuf') return decodeProtobuf(body);
  const text = body.toString('utf8');
  if (mime === 'application/json' || mime === '' || mime.endsWith('+json')) {
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw badRequest(`couldn't get version/kind; json parse error: ${(error as Error).message}`);
    }
  }
  if (mime === 'application/yaml' || mime.endsWith('+yaml')) {
    try {
      return parseYaml(text) as unknown;
    } catch (error) {
      throw badRequest(`error converting YAML to JSON: ${(error as Error).message}`);
    }
  }
  throw unsupportedMediaType(mime);
};
