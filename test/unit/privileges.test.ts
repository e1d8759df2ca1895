import { describe, expect, test } from 'vitest'
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
  test('grants the consumer what the subscribers declare and the commands it follows, the API what it publishes and the live page reads', async () => {
    const subscribers = await loadSubscribers()
    const acl = (
      principal: 'api' | 'consumer',
      resourceType: 'topic' | 'group',
      name: string,
      operations: string[],
      patternType: 'literal' | 'prefix' = 'literal',
    ) => ({ principal: `User:${principal}`, resourceType, name, operations, patternType })
    const watched = subscribers.find((s) => s.topic === 'purchases')
    const expected = [
      ...subscribers.flatMap((s) => [
        acl('consumer', 'topic', s.topic, ['Describe', 'Read']),
        acl('consumer', 'group', s.group, ['Describe', 'Read']),
        ...(s.deadLetter ? [acl('consumer', 'topic', s.deadLetter, ['Describe', 'Write'])] : []),
      ]),
      acl('consumer', 'topic', 'consumers.control', ['Describe', 'Read']),
      acl('consumer', 'group', 'consumers.control.', ['Read'], 'prefix'),
      acl('api', 'topic', 'purchases', ['Describe', 'Write']),
      acl('api', 'topic', 'consumers.control', ['Describe', 'Write']),
      // The live page: read-only on the group and the dead letters.
      acl('api', 'group', watched?.group ?? '', ['Describe']),
      acl('api', 'topic', watched?.deadLetter ?? '', ['Describe', 'Read']),
      acl('api', 'group', 'live-page.dead-letters.', ['Read'], 'prefix'),
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
