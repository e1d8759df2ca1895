// Bad inputs are rejected at plan time with a message that says what to fix: the variables'
// own validation blocks (the provider checks neither regions nor sizes locally; only the API
// would) and the cluster's preconditions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { providerPluginDir, terraformBinary, Workspace } from './terraform.ts'

let ws: Workspace
beforeAll(() => {
  ws = new Workspace(terraformBinary(), providerPluginDir())
})
afterAll(() => ws?.dispose())

/** Terraform's diagnostics with the box drawing and line wrapping taken out. */
function flat(text: string): string {
  return text.replace(/[│╷╵]/g, ' ').replace(/\s+/g, ' ')
}

const rejected: [string, Record<string, unknown>, string][] = [
  [
    'an unknown region',
    { region: 'mars1' },
    'The region must be a DigitalOcean region that offers Kubernetes',
  ],
  [
    'a node size too small for Kafka and Elasticsearch',
    { node_size: 's-2vcpu-4gb' },
    'at least 4 vCPUs and 8 GB of memory',
  ],
  [
    'a node size with too little memory',
    { node_size: 'c-4vcpu-4gb' },
    'at least 4 vCPUs and 8 GB of memory',
  ],
  [
    'a node size that is not a slug',
    { node_size: 'large' },
    'must be a Droplet size slug like s-4vcpu-8gb',
  ],
  [
    'fewer nodes than Kafka brokers',
    { node_count: 2 },
    'The node count must be a whole number from 3 to 20',
  ],
  [
    'a fractional node count',
    { node_count: 3.5 },
    'The node count must be a whole number from 3 to 20',
  ],
  [
    'an autoscaling minimum below 3',
    { min_nodes: 2 },
    'The minimum node count must be a whole number of at least 3',
  ],
  [
    'an autoscaling maximum above 20',
    { max_nodes: 40 },
    'The maximum node count must be a whole number of at most 20',
  ],
  [
    'a node count below the autoscaling minimum',
    { min_nodes: 4, node_count: 3 },
    'min_nodes <= node_count <= max_nodes (now 4 <= 3 <= 5)',
  ],
  [
    'a node count above the autoscaling maximum',
    { node_count: 6, max_nodes: 5 },
    'min_nodes <= node_count <= max_nodes (now 3 <= 6 <= 5)',
  ],
  [
    'a version prefix without the minor',
    { kubernetes_version_prefix: '1' },
    'must name a minor version and end with a dot',
  ],
  [
    'a version DigitalOcean does not offer',
    { kubernetes_version_prefix: '1.99.' },
    'DigitalOcean offers no Kubernetes version starting with "1.99."',
  ],
  [
    'a public VPC range',
    { vpc_ip_range: '8.8.8.0/24' },
    'The VPC range must be a private IPv4 CIDR block',
  ],
  ['a VPC range too large', { vpc_ip_range: '10.0.0.0/8' }, 'with a prefix length from /16 to /24'],
  [
    'a VPC range that is not CIDR',
    { vpc_ip_range: '10.120.0.0' },
    'The VPC range must be a private IPv4 CIDR block',
  ],
  ['an invalid cluster name', { name: 'Ice_Cream' }, 'The name must be 3 to 30 lowercase letters'],
  [
    'an unknown registry tier',
    { registry_subscription_tier: 'gold' },
    'must be starter, basic or professional',
  ],
  [
    'an invalid registry name',
    { create_registry: true, registry_name: 'UPPER' },
    'The registry name must be 3 to 63 lowercase letters',
  ],
  [
    'a region without registries',
    { create_registry: true, registry_region: 'lon1' },
    'must be one that hosts container registries',
  ],
  ['an invalid tag', { tags: ['bad tag!'] }, 'Tags may contain only letters, digits, colons'],
  [
    'an invalid firewall address',
    { control_plane_allowed_addresses: ['my laptop'] },
    'Each allowed address must be an IPv4 address or CIDR block',
  ],
  [
    'an invalid maintenance day',
    { maintenance_day: 'someday' },
    'The maintenance day must be any, monday',
  ],
  [
    'an invalid maintenance time',
    { maintenance_start_time: '25:00' },
    'The maintenance start time must be HH:MM in UTC',
  ],
]

describe('variable validation and preconditions', () => {
  it.each(rejected)('rejects %s', (_what, vars, message) => {
    const { run } = ws.plan(vars)
    expect(run.status, `plan with ${JSON.stringify(vars)} should fail`).not.toBe(0)
    expect(flat(run.stderr)).toContain(message)
  })
})
