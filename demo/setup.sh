#!/bin/sh
# One-shot demo setup: registers a cluster with kubegate, creates a demo user who is a member,
# hands the webhook its agent token, and writes the user's kubeconfig.
#
# In docker-compose it first applies the impersonator RBAC to k3s (CLUSTER_KUBECONFIG set) and
# reads the ServiceAccount token and the cluster CA from there. Without CLUSTER_KUBECONFIG it
# takes IMPERSONATOR_TOKEN and CLUSTER_CA_DATA from the environment (how the tests run it
# against the kube-apiserver double).
set -eu

: "${GATEWAY_URL:?}" "${GATEWAY_CA_FILE:?}" "${ADMIN_PASSWORD:?}" "${CLUSTER_ID:?}" "${CLUSTER_SERVER:?}"
: "${DEMO_USER:=demo}" "${DEMO_PASSWORD:?}" "${AGENT_TOKEN_FILE:?}" "${OUTPUT_DIR:?}"
DIRECT_ADDRESS=${DIRECT_ADDRESS:-}
DEMO_DIR=${DEMO_DIR:-$(dirname "$0")}

log() { printf 'setup: %s\n' "$*" >&2; }

# api METHOD PATH TOKEN [BODY] -> prints the body; exits non-zero on HTTP errors.
api() {
  if [ -n "${4:-}" ]; then
    curl -sS --fail-with-body --cacert "$GATEWAY_CA_FILE" -X "$1" "$GATEWAY_URL$2" \
      -H "Authorization: Bearer $3" -H 'Content-Type: application/json' -d "$4"
  else
    curl -sS --fail-with-body --cacert "$GATEWAY_CA_FILE" -X "$1" "$GATEWAY_URL$2" -H "Authorization: Bearer $3"
  fi
}

# status METHOD PATH TOKEN -> prints only the HTTP status code.
status() {
  curl -sS -o /dev/null -w '%{http_code}' --cacert "$GATEWAY_CA_FILE" -X "$1" "$GATEWAY_URL$2" -H "Authorization: Bearer $3"
}

log "waiting for kubegate at $GATEWAY_URL"
i=0
until [ -f "$GATEWAY_CA_FILE" ] && curl -sS --fail --cacert "$GATEWAY_CA_FILE" "$GATEWAY_URL/readyz" >/dev/null 2>&1; do
  i=$((i + 1)); [ "$i" -lt 120 ] || { log "kubegate did not become ready"; exit 1; }
  sleep 1
done

if [ -n "${CLUSTER_KUBECONFIG:-}" ]; then
  log "waiting for the cluster"
  i=0
  until [ -f "$CLUSTER_KUBECONFIG" ] && kubectl --kubeconfig "$CLUSTER_KUBECONFIG" --server "$CLUSTER_SERVER" get --raw /readyz >/dev/null 2>&1; do
    i=$((i + 1)); [ "$i" -lt 180 ] || { log "the cluster did not become ready"; exit 1; }
    sleep 1
  done
  k() { kubectl --kubeconfig "$CLUSTER_KUBECONFIG" --server "$CLUSTER_SERVER" "$@"; }
  log "applying the impersonator RBAC and the demo user's permissions"
  k apply -f "$DEMO_DIR/impersonator.yaml" -f "$DEMO_DIR/demo-rbac.yaml" >&2
  i=0
  until IMPERSONATOR_TOKEN=$(k -n kubegate get secret kubegate-impersonator-token -o jsonpath='{.data.token}' | base64 -d) && [ -n "$IMPERSONATOR_TOKEN" ]; do
    i=$((i + 1)); [ "$i" -lt 60 ] || { log "the impersonator token was not issued"; exit 1; }
    sleep 1
  done
  CLUSTER_CA_DATA=$(k config view --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
fi
: "${IMPERSONATOR_TOKEN:?}" "${CLUSTER_CA_DATA:?}"

log "logging in as admin"
ADMIN=$(curl -sS --fail-with-body --cacert "$GATEWAY_CA_FILE" -X POST "$GATEWAY_URL/v1/login" -H 'Content-Type: application/json' \
  -d "$(jq -n --arg p "$ADMIN_PASSWORD" '{username: "admin", password: $p, description: "demo setup"}')" | jq -r .token)

if [ "$(status GET "/v1/clusters/$CLUSTER_ID" "$ADMIN")" = 200 ]; then
  # Re-running the setup: register afresh, so the webhook gets a new agent token.
  log "cluster $CLUSTER_ID exists; registering it again"
  api DELETE "/v1/clusters/$CLUSTER_ID" "$ADMIN" >/dev/null
fi
nodes='[]'
[ -z "$DIRECT_ADDRESS" ] || nodes=$(jq -n --arg a "$DIRECT_ADDRESS" '[{name: "cp", address: $a}]')
body=$(jq -n --arg id "$CLUSTER_ID" --arg server "$CLUSTER_SERVER" --arg ca "$CLUSTER_CA_DATA" --arg token "$IMPERSONATOR_TOKEN" --argjson nodes "$nodes" \
  '{id: $id, server: $server, caData: $ca, credential: {token: $token},
    authorizedEndpoint: {enabled: ($nodes | length > 0), caData: $ca, controlPlaneNodes: $nodes}}')
log "registering cluster $CLUSTER_ID ($CLUSTER_SERVER)"
agent=$(api POST /v1/clusters "$ADMIN" "$body" | jq -r .agentToken)
umask 077
mkdir -p "$(dirname "$AGENT_TOKEN_FILE")" "$OUTPUT_DIR"
printf '%s\n' "$agent" > "$AGENT_TOKEN_FILE.tmp" && mv "$AGENT_TOKEN_FILE.tmp" "$AGENT_TOKEN_FILE"

log "creating user $DEMO_USER"
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$GATEWAY_CA_FILE" -X POST "$GATEWAY_URL/v1/users" \
  -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  -d "$(jq -n --arg u "$DEMO_USER" --arg p "$DEMO_PASSWORD" '{username: $u, password: $p}')")
case "$code" in 201 | 409) ;; *) log "creating the user failed with HTTP $code"; exit 1 ;; esac
api PUT "/v1/clusters/$CLUSTER_ID/members" "$ADMIN" "$(jq -n --arg u "user:$DEMO_USER" '{principal: $u, role: "member"}')" >/dev/null

log "writing $OUTPUT_DIR/$DEMO_USER.yaml"
USER_TOKEN=$(curl -sS --fail-with-body --cacert "$GATEWAY_CA_FILE" -X POST "$GATEWAY_URL/v1/login" -H 'Content-Type: application/json' \
  -d "$(jq -n --arg u "$DEMO_USER" --arg p "$DEMO_PASSWORD" '{username: $u, password: $p, description: "demo setup"}')" | jq -r .token)
api POST "/v1/clusters/$CLUSTER_ID/kubeconfig" "$USER_TOKEN" > "$OUTPUT_DIR/$DEMO_USER.yaml.tmp"
mv "$OUTPUT_DIR/$DEMO_USER.yaml.tmp" "$OUTPUT_DIR/$DEMO_USER.yaml"
api POST /v1/logout "$USER_TOKEN" >/dev/null
api POST /v1/logout "$ADMIN" >/dev/null
log "done: kubectl --kubeconfig $OUTPUT_DIR/$DEMO_USER.yaml get ns"
