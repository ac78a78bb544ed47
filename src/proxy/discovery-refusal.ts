/**
 * Refusals of kubectl's discovery as text (issue 15, bug 4). kubectl discovers before anything
 * else, and client-go's discovery client (1.27–1.33 checked) reads answers with a serializer that
 * has no media type: it cannot decode a JSON `Status`, so a refusal of its discovery request
 * becomes client-go's generic error with the body replaced by "unknown" (`Error from server
 * (Forbidden): unknown`). It keeps the body only when the answer is `text/plain`.
 *
 * So a refusal of exactly that request, a `GET` of a discovery document asking for aggregated
 * discovery (`Accept: …;g=apidiscovery.k8s.io;…`, which only client-go's discovery client sends),
 * is plain text, the message alone; every other refusal stays a `Status` object.
 */

/** `/k8s/clusters/<id>` then `/api`, `/api/v1`, `/apis`, `/apis/<group>` or `/apis/<group>/<version>`. */
const DISCOVERY_PATH = /^\/k8s\/clusters\/[^/?#]+(?:\/api(?:\/v1)?|\/apis(?:\/[^/?#]+(?:\/[^/?#]+)?)?)\/?(?:\?.*)?$/;

/** True when client-go's discovery client sent this request and reads its answer (see above). */
export function isDiscoveryRequest(req: { method?: string | undefined; url?: string | undefined; headers: { accept?: string | undefined } }): boolean {
  return req.method === 'GET' && (req.headers.accept ?? '').includes('g=apidiscovery.k8s.io') && DISCOVERY_PATH.test(req.url ?? '');
}
