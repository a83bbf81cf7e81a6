import { describe, expect, it } from 'vitest';
import type { HostRecord, PoolRecord, SrRecord, VmRecord } from '../xapi/types.ts';
import { hostResource, srResource, unknownHostResource, unknownSrResource, unknownVmResource, vmResource } from './attributes.ts';
import { HOST_RESOURCE_DOC, RESOURCE_ATTRIBUTE_DOCS, SR_RESOURCE_DOC, VM_RESOURCE_DOC, resourceAttributeDocs } from './docs.ts';

const pool = { ref: 'OpaqueRef:p', uuid: 'p-1', name_label: 'prod' } as PoolRecord;
const host = { ref: 'OpaqueRef:h', uuid: 'h-1', name_label: 'xcp-01', hostname: 'xcp-01.lan', address: '10.0.0.1' } as HostRecord;
const vm = { ref: 'OpaqueRef:v', uuid: 'v-1', name_label: 'web', is_control_domain: false } as VmRecord;
const sr = { ref: 'OpaqueRef:s', uuid: 's-1', name_label: 'NFS', type: 'nfs', content_type: 'user', shared: true } as SrRecord;

describe('xen-resources', () => {
  it('builds host, VM and SR resources with pool-free keys', () => {
    expect(hostResource(pool, host)).toEqual({
      key: 'host:h-1',
      attributes: { 'host.id': 'h-1', 'host.name': 'xcp-01.lan', 'xen.host.uuid': 'h-1', 'xen.host.name': 'xcp-01', 'xen.host.address': '10.0.0.1', 'xen.pool.uuid': 'p-1', 'xen.pool.name': 'prod' },
    });
    expect(hostResource(pool, { ...host, hostname: '' }).attributes['host.name']).toBe('xcp-01');
    expect(vmResource(pool, vm, host)).toEqual({
      key: 'vm:v-1',
      attributes: { 'xen.vm.uuid': 'v-1', 'xen.vm.name': 'web', 'xen.vm.is_control_domain': false, 'xen.host.uuid': 'h-1', 'xen.host.name': 'xcp-01', 'xen.pool.uuid': 'p-1', 'xen.pool.name': 'prod' },
    });
    expect(srResource(pool, sr)).toEqual({
      key: 'sr:s-1',
      attributes: { 'xen.sr.uuid': 's-1', 'xen.sr.name': 'NFS', 'xen.sr.type': 'nfs', 'xen.sr.content_type': 'user', 'xen.sr.shared': true, 'xen.pool.uuid': 'p-1', 'xen.pool.name': 'prod' },
    });
  });

  it('names unknown entities by their uuid and leaves out what only the record knows', () => {
    expect(unknownHostResource(pool, 'h-9').attributes).toEqual({ 'host.id': 'h-9', 'host.name': 'h-9', 'xen.host.uuid': 'h-9', 'xen.host.name': 'h-9', 'xen.pool.uuid': 'p-1', 'xen.pool.name': 'prod' });
    expect(unknownVmResource(undefined, 'v-9', host).attributes).toEqual({ 'xen.vm.uuid': 'v-9', 'xen.vm.name': 'v-9', 'xen.host.uuid': 'h-1', 'xen.host.name': 'xcp-01' });
    expect(unknownSrResource(pool, 's-9')).toEqual({ key: 'sr:s-9', attributes: { 'xen.sr.uuid': 's-9', 'xen.sr.name': 's-9', 'xen.pool.uuid': 'p-1', 'xen.pool.name': 'prod' } });
  });

  it('reuses the frozen objects for the same records and rebuilds when a record (or the pool, or the VM host) changes', () => {
    const a = vmResource(pool, vm, host);
    expect(vmResource(pool, vm, host)).toBe(a);
    expect(Object.isFrozen(a.attributes)).toBe(true);
    expect(hostResource(pool, host)).toBe(hostResource(pool, host));
    expect(srResource(pool, sr)).toBe(srResource(pool, sr));
    const renamed = { ...pool, name_label: 'prod-2' };
    expect(vmResource(renamed, vm, host).attributes['xen.pool.name']).toBe('prod-2');
    const otherHost = { ...host, uuid: 'h-2', name_label: 'xcp-02' };
    expect(vmResource(renamed, vm, otherHost).attributes['xen.host.uuid']).toBe('h-2');
    expect(srResource(pool, { ...sr, name_label: 'NFS 2' }).attributes['xen.sr.name']).toBe('NFS 2');
  });

  it('documents every attribute of every resource', () => {
    const docs = resourceAttributeDocs([HOST_RESOURCE_DOC, VM_RESOURCE_DOC, SR_RESOURCE_DOC]);
    expect(Object.keys(docs).sort()).toEqual(Object.keys(RESOURCE_ATTRIBUTE_DOCS).sort());
    for (const [resource, attrs] of [[HOST_RESOURCE_DOC, hostResource(pool, host)], [VM_RESOURCE_DOC, vmResource(pool, vm, host)], [SR_RESOURCE_DOC, srResource(pool, sr)]] as const) {
      expect([...resource.attributes].sort()).toEqual(Object.keys(attrs.attributes).sort());
    }
  });
});
