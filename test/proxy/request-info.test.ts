import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { requestInfo } from '../../src/proxy/request-info.js';

describe('requestInfo (like kube-apiserver RequestInfoFactory)', () => {
  const cases: [string, string, Partial<ReturnType<typeof requestInfo>>][] = [
    ['GET', '/api/v1/namespaces', { verb: 'list', resource: 'namespaces', namespace: '', name: '' }],
    ['GET', '/api/v1/namespaces/default', { verb: 'get', resource: 'namespaces', name: 'default', namespace: 'default' }],
    ['PUT', '/api/v1/namespaces/x/finalize', { verb: 'update', resource: 'namespaces', name: 'x', subresource: 'finalize' }],
    ['GET', '/api/v1/namespaces/default/pods?watch=true', { verb: 'watch', resource: 'pods', namespace: 'default', longRunning: true }],
    ['GET', '/api/v1/watch/namespaces/default/pods', { verb: 'watch', resource: 'pods', namespace: 'default', longRunning: true }],
    ['GET', '/api/v1/namespaces/default/pods/web-0/log?follow=true', { verb: 'get', resource: 'pods', name: 'web-0', subresource: 'log', longRunning: true }],
    ['GET', '/api/v1/namespaces/default/pods/web-0/log', { verb: 'get', subresource: 'log', longRunning: false }],
    ['POST', '/api/v1/namespaces/default/pods/web-0/exec?command=ls', { verb: 'create', subresource: 'exec', longRunning: true }],
    ['GET', '/api/v1/namespaces/default/pods/web-0/portforward', { verb: 'get', subresource: 'portforward', longRunning: true }],
    ['POST', '/apis/apps/v1/namespaces/ns1/deployments', { verb: 'create', apiGroup: 'apps', apiVersion: 'v1', resource: 'deployments', namespace: 'ns1' }],
    ['DELETE', '/api/v1/namespaces/a/configmaps', { verb: 'deletecollection', resource: 'configmaps' }],
    ['DELETE', '/api/v1/namespaces/a/configmaps/b', { verb: 'delete', name: 'b' }],
    ['PATCH', '/apis/apps/v1/namespaces/a/deployments/d/scale', { verb: 'patch', subresource: 'scale' }],
    ['GET', '/version', { verb: 'get', resource: '' }],
    ['GET', '/apis/apps/v1', { verb: 'get', resource: '', apiGroup: 'apps' }],
    ['GET', '/api/v1/nodes', { verb: 'list', resource: 'nodes', namespace: '' }],
    // The query is read the way Go's url.ParseQuery reads it: escapes decoded, the first value wins.
    ['GET', '/api/v1/pods?labelSelector=a&watch=1&timeoutSeconds=5', { verb: 'watch', longRunning: true }],
    ['GET', '/api/v1/pods?w%61tch=%74rue', { verb: 'watch', longRunning: true }],
    ['GET', '/api/v1/pods?watch=false&watch=true', { verb: 'list', longRunning: false }],
    ['GET', '/api/v1/pods?watch', { verb: 'list', longRunning: false }],
    ['GET', '/api/v1/pods?watchers=true', { verb: 'list', longRunning: false }],
    ['GET', '/api/v1/namespaces/d/pods/p/log?container=c&follow=1', { verb: 'get', subresource: 'log', longRunning: true }],
    ['GET', '/api/v1/namespaces/d/pods/p/log?follow=true+', { longRunning: false }],
  ];
  for (const [method, path, want] of cases) {
    it(`${method} ${path}`, () => {
      const got = requestInfo(method, path);
      for (const [k, v] of Object.entries(want)) assert.equal(got[k as keyof typeof got], v, k);
    });
  }
});
