/** `GET /v1/gateway-ca.crt` (docs/reference/api.md): the CA of the gateway's generated certificate, for agents and `--gateway-ca-file`. */
import { Router } from 'express';
import { notFound } from '../../errors.js';
import type { ApiContext } from '../context.js';

export function gatewayCaRoutes(ctx: ApiContext): Router {
  const r = Router();
  r.get('/gateway-ca.crt', (_req, res) => {
    if (ctx.caPem === undefined) throw notFound('the gateway serves a certificate it was given (--tls-cert), not one from its own CA');
    res.status(200).set({ 'Content-Type': 'application/x-pem-file', 'Content-Disposition': 'attachment; filename="kubegate-ca.crt"' }).send(ctx.caPem);
  });
  return r;
}
