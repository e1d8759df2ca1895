/**
 * The app's identities and privileges as chart/files/privileges.yaml defines them, in the forms
 * the local stack applies: Kafka ACLs for a run's name prefix, Elasticsearch file-realm roles for
 * a run's index. A chart test renders the chart and checks it grants exactly these.
 */
import { readFile } from 'node:fs/promises'
import { parse } from 'yaml'
import { z } from 'zod'

export const identities = ['api', 'consumer'] as const
export type Identity = (typeof identities)[number]
/** Elasticsearch also has the one-off setup that puts the index template and creates the index. */
export type ElasticsearchIdentity = Identity | 'setup'

const Acl = z.object({
  resource: z.object({
    type: z.enum(['topic', 'group']),
    name: z.string().min(1),
    // `prefix`: every name that starts with `name` (Strimzi's term; Kafka's is `prefixed`).
    patternType: z.enum(['literal', 'prefix']).default('literal'),
  }),
  operations: z.array(z.enum(['Read', 'Write', 'Describe'])).min(1),
})
const Role = z.object({ cluster: z.array(z.string()), index: z.array(z.string()).min(1) })
const Privileges = z.object({
  kafka: z.object({ api: z.array(Acl), consumer: z.array(Acl) }).strict(),
  elasticsearch: z.object({ api: Role, consumer: Role, setup: Role }).strict(),
})
type Privileges = z.output<typeof Privileges>

const privilegesFile = new URL('../../chart/files/privileges.yaml', import.meta.url)

export async function readPrivileges(): Promise<Privileges> {
  return Privileges.parse(parse(await readFile(privilegesFile, 'utf8')))
}

export interface KafkaAcl {
  principal: string
  resourceType: 'topic' | 'group'
  /** The resource name, or with `prefix` the start of every name it covers. */
  name: string
  patternType: 'literal' | 'prefix'
  operations: string[]
}

/** Each identity's ACLs with the run's prefix on every topic and group name; principals as `User:<name>`. */
export function kafkaAcls(
  privileges: Privileges,
  users: Record<Identity, string>,
  namePrefix = '',
): KafkaAcl[] {
  return identities.flatMap((identity) =>
    privileges.kafka[identity].map(({ resource, operations }) => ({
      principal: `User:${users[identity]}`,
      resourceType: resource.type,
      name: `${namePrefix}${resource.name}`,
      patternType: resource.patternType,
      operations: [...operations].sort(),
    })),
  )
}

/** The Elasticsearch role name of an identity, as the chart names it too. */
export const elasticsearchRole = (identity: ElasticsearchIdentity) => `icecream_${identity}`

export interface ElasticsearchRole {
  cluster: string[]
  indices: { names: string[]; privileges: string[] }[]
}

/** roles.yml content (file realm), each role limited to `index` and the names starting with it. */
export function elasticsearchRoles(
  privileges: Privileges,
  index: string,
): Record<string, ElasticsearchRole> {
  return Object.fromEntries(
    (['api', 'consumer', 'setup'] as const).map((identity) => {
      const role = privileges.elasticsearch[identity]
      return [
        elasticsearchRole(identity),
        { cluster: role.cluster, indices: [{ names: [`${index}*`], privileges: role.index }] },
      ]
    }),
  )
}
