import { describe, expect, test } from 'vitest'
import { topics } from '../../handlers/topics.ts'
import { loadSubscribers } from '../../runtime/load-handlers.ts'
import {
  elasticsearchRoles,
  kafkaAcls,
  readPrivileges,
} from '../../scripts/local-stack/privileges.ts'

const users = { api: 'api', consumer: 'consumer' }
const sortAcls = <T extends { principal: string; resourceType: string; name: string }>(acls: T[]) =>
  [...acls].sort((a, b) =>
    `${a.principal} ${a.resourceType} ${a.name}`.localeCompare(
      `${b.principal} ${b.resourceType} ${b.name}`,
    ),
  )

describe('chart/files/privileges.yaml', () => {
  test('grants the consumer exactly what the subscribers declare, and the API the topics it publishes', async () => {
    const subscribers = await loadSubscribers()
    const deadLetters = new Set(subscribers.flatMap((s) => (s.deadLetter ? [s.deadLetter] : [])))
    const expected = [
      ...Object.keys(topics)
        .filter((name) => !deadLetters.has(name as keyof typeof topics))
        .map((name) => ({
          principal: 'User:api',
          resourceType: 'topic' as const,
          name,
          operations: ['Describe', 'Write'],
        })),
      ...subscribers.flatMap((s) => [
        {
          principal: 'User:consumer',
          resourceType: 'topic' as const,
          name: s.topic,
          operations: ['Describe', 'Read'],
        },
        {
          principal: 'User:consumer',
          resourceType: 'group' as const,
          name: s.group,
          operations: ['Describe', 'Read'],
        },
        ...(s.deadLetter
          ? [
              {
                principal: 'User:consumer',
                resourceType: 'topic' as const,
                name: s.deadLetter,
                operations: ['Describe', 'Write'],
              },
            ]
          : []),
      ]),
    ]
    expect(sortAcls(kafkaAcls(await readPrivileges(), users))).toEqual(sortAcls(expected))
  })

  test("prefixes every topic and group with a run's names, and nothing else", async () => {
    const acls = kafkaAcls(await readPrivileges(), users, 'run-1.')
    expect(acls.every((acl) => acl.name.startsWith('run-1.'))).toBe(true)
    expect(new Set(acls.map((acl) => acl.principal))).toEqual(
      new Set(['User:api', 'User:consumer']),
    )
  })

  test('gives each Elasticsearch identity its one job on the index family, and no more', async () => {
    const roles = elasticsearchRoles(await readPrivileges(), 'purchases')
    expect(roles).toEqual({
      icecream_api: { cluster: [], indices: [{ names: ['purchases*'], privileges: ['read'] }] },
      icecream_consumer: {
        cluster: [],
        indices: [{ names: ['purchases*'], privileges: ['index'] }],
      },
      icecream_setup: {
        cluster: ['manage_index_templates'],
        indices: [{ names: ['purchases*'], privileges: ['create_index'] }],
      },
    })
  })
})
