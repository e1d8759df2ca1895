// The hardening and shape of the infrastructure, asserted from `terraform show -json` of create
// plans made offline against the real DigitalOcean provider's schema.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  afterUnknown,
  type Plan,
  providerPluginDir,
  resource,
  terraformBinary,
  Workspace,
} from './terraform.ts'

let ws: Workspace
beforeAll(() => {
  ws = new Workspace(terraformBinary(), providerPluginDir())
})
afterAll(() => ws?.dispose())

function planOk(vars: Record<string, unknown> = {}): Plan {
  const { run, json } = ws.plan(vars)
  if (run.status !== 0 || !json)
    throw new Error(`terraform plan failed:\n${run.stdout}\n${run.stderr}`)
  return json
}

function managed(plan: Plan): string[] {
  return plan.resource_changes
    .filter((c) => c.mode === 'managed')
    .map((c) => c.address)
    .sort()
}

function cluster(plan: Plan): Record<string, unknown> {
  const r = resource(plan, 'digitalocean_kubernetes_cluster.this')
  if (!r) throw new Error('the plan has no digitalocean_kubernetes_cluster.this')
  return r.values
}

function nodePool(plan: Plan): Record<string, unknown> {
  const pools = cluster(plan).node_pool as Record<string, unknown>[]
  expect(pools).toHaveLength(1)
  return pools[0] as Record<string, unknown>
}

describe('default plan', () => {
  let plan: Plan
  beforeAll(() => {
    plan = planOk()
  })

  it('creates only a VPC and a Kubernetes cluster', () => {
    expect(managed(plan)).toEqual(['digitalocean_kubernetes_cluster.this', 'digitalocean_vpc.this'])
    for (const c of plan.resource_changes) expect(c.change.actions).toEqual(['create'])
  })

  it('keeps the cluster patched: auto-upgrade and surge upgrade on, with a maintenance window', () => {
    const c = cluster(plan)
    expect(c.auto_upgrade).toBe(true)
    expect(c.surge_upgrade).toBe(true)
    expect(c.maintenance_policy).toEqual([
      expect.objectContaining({ day: 'sunday', start_time: '04:00' }),
    ])
  })

  it('has a node pool of 3 nodes that fit Kafka and Elasticsearch, autoscaling within sane bounds', () => {
    const pool = nodePool(plan)
    expect(pool.size).toBe('s-4vcpu-8gb')
    expect(pool.node_count).toBe(3)
    expect(pool.auto_scale).toBe(true)
    const min = pool.min_nodes as number
    const max = pool.max_nodes as number
    expect(min).toBeGreaterThanOrEqual(3)
    expect(min).toBeLessThanOrEqual(pool.node_count as number)
    expect(max).toBeGreaterThanOrEqual(pool.node_count as number)
    expect(max).toBeLessThanOrEqual(20)
  })

  it('puts the cluster in the VPC it creates, in the same region', () => {
    const cfg = plan.configuration.root_module.resources?.find(
      (r) => r.address === 'digitalocean_kubernetes_cluster.this',
    )
    const vpcUuid = cfg?.expressions.vpc_uuid as { references?: string[] } | undefined
    expect(vpcUuid?.references).toContain('digitalocean_vpc.this.id')
    expect(afterUnknown(plan, 'digitalocean_kubernetes_cluster.this').vpc_uuid).toBe(true)
    const vpc = resource(plan, 'digitalocean_vpc.this')?.values
    expect(vpc?.region).toBe(cluster(plan).region)
    expect(vpc?.ip_range).toBe('10.120.0.0/20')
  })

  it('takes the newest patch release of the chosen minor version from the provider', () => {
    expect(cluster(plan).version).toMatch(/^1\.34\.\d+-do\.\d+$/)
    expect(plan.planned_values.outputs?.kubernetes_version?.value).toBe(cluster(plan).version)
  })

  it('has no HA control plane and no firewall by default, and tags the cluster and nodes', () => {
    const c = cluster(plan)
    expect(c.ha).toBe(false)
    expect(c.control_plane_firewall).toEqual([])
    expect(c.tags).toEqual(expect.arrayContaining(['icecream-queue', 'terraform']))
    expect(nodePool(plan).tags).toEqual(expect.arrayContaining(['icecream-queue', 'terraform']))
    expect(c.destroy_all_associated_resources).toBe(true)
  })

  it('exposes the kubeconfig only as a sensitive output', () => {
    expect(plan.planned_values.outputs?.kubeconfig?.sensitive).toBe(true)
    expect(plan.configuration.root_module.outputs?.kubeconfig?.sensitive).toBe(true)
    // No other output may carry the credentials in plain text.
    for (const [name, out] of Object.entries(plan.configuration.root_module.outputs ?? {})) {
      if (JSON.stringify(out.expression).includes('kube_config')) {
        expect(out.sensitive, `output ${name} refers to kube_config`).toBe(true)
      }
    }
  })

  it('outputs the cluster id, name, endpoint and the doctl kubeconfig command', () => {
    const outputs = plan.planned_values.outputs ?? {}
    expect(outputs.cluster_name?.value).toBe('icecream-queue')
    expect(outputs.kubeconfig_save_command?.value).toBe(
      'doctl kubernetes cluster kubeconfig save icecream-queue',
    )
    expect(plan.output_changes?.cluster_id?.after_unknown).toBe(true)
    expect(plan.output_changes?.cluster_endpoint?.after_unknown).toBe(true)
    for (const name of [
      'cluster_id',
      'cluster_name',
      'cluster_endpoint',
      'kubeconfig_save_command',
    ]) {
      expect(outputs[name]?.sensitive, name).toBe(false)
    }
  })

  it('has no registry by default, and the registry outputs are null', () => {
    expect(managed(plan).filter((a) => a.includes('container_registry'))).toEqual([])
    expect(cluster(plan).registry_integration).toBe(false)
    const outputs = plan.planned_values.outputs ?? {}
    expect(outputs.registry_endpoint?.value).toBeNull()
    expect(outputs.registry_name?.value).toBeNull()
    expect(plan.output_changes?.registry_endpoint?.after).toBeNull()
    expect(plan.output_changes?.image_repository?.after).toBeNull()
  })
})

describe('with the registry enabled', () => {
  let plan: Plan
  beforeAll(() => {
    plan = planOk({ create_registry: true, registry_name: 'icecream-test-registry' })
  })

  it('creates the registry and lets the cluster pull from it', () => {
    expect(managed(plan)).toEqual([
      'digitalocean_container_registry.this[0]',
      'digitalocean_kubernetes_cluster.this',
      'digitalocean_vpc.this',
    ])
    const registry = resource(plan, 'digitalocean_container_registry.this[0]')?.values
    expect(registry).toMatchObject({
      name: 'icecream-test-registry',
      subscription_tier_slug: 'starter',
      region: 'fra1',
    })
    expect(cluster(plan).registry_integration).toBe(true)
  })

  it('outputs the registry endpoint and the image repository once known', () => {
    expect(plan.output_changes?.registry_endpoint?.after_unknown).toBe(true)
    expect(plan.output_changes?.image_repository?.after_unknown).toBe(true)
    expect(plan.planned_values.outputs?.registry_name?.value).toBe('icecream-test-registry')
  })

  it('places the registry in the registry region nearest the cluster', () => {
    const london = planOk({ create_registry: true, region: 'lon1' })
    expect(resource(london, 'digitalocean_container_registry.this[0]')?.values.region).toBe('ams3')
    expect(resource(london, 'digitalocean_container_registry.this[0]')?.values.name).toBe(
      'icecream-queue',
    )
  })
})

describe('options', () => {
  it('turns on the highly available control plane', () => {
    expect(cluster(planOk({ ha_control_plane: true })).ha).toBe(true)
  })

  it('runs a fixed-size pool when autoscaling is off', () => {
    const pool = nodePool(planOk({ auto_scale: false, node_count: 4 }))
    expect(pool).toMatchObject({
      auto_scale: false,
      node_count: 4,
      min_nodes: null,
      max_nodes: null,
    })
  })

  it('restricts the Kubernetes API to the allowed addresses', () => {
    const c = cluster(
      planOk({ control_plane_allowed_addresses: ['203.0.113.7', '198.51.100.0/24'] }),
    )
    expect(c.control_plane_firewall).toEqual([
      { enabled: true, allowed_addresses: ['203.0.113.7', '198.51.100.0/24'] },
    ])
  })

  it('accepts larger node sizes of other Droplet families', () => {
    for (const size of ['s-8vcpu-16gb', 'g-4vcpu-16gb', 's-4vcpu-8gb-intel', 'c2-8vcpu-16gb']) {
      expect(nodePool(planOk({ node_size: size })).size).toBe(size)
    }
  })

  it('plans the example variables file as given', () => {
    const run = ws.run([
      'plan',
      '-refresh=false',
      '-lock=false',
      '-input=false',
      '-no-color',
      '-var-file=terraform.tfvars.example',
    ])
    expect(run.status, run.stderr).toBe(0)
    expect(run.stdout).toContain('digitalocean_container_registry.this[0] will be created')
  })
})
