import { expect, test } from 'vitest'
import { ConfigError, loadConfig } from '../../runtime/config.ts'

const minimal = { KAFKA_BROKERS: 'localhost:9092', ELASTICSEARCH_URL: 'https://localhost:9200' }

test('defaults fill in everything but the two addresses', () => {
  const config = loadConfig(minimal)
  expect(config).toMatchObject({
    ROLE: 'all',
    PORT: 8080,
    KAFKA_BROKERS: ['localhost:9092'],
    KAFKA_CLIENT: 'kafkajs',
    KAFKA_NAME_PREFIX: '',
  })
})

test.each([
  [{}, /KAFKA_BROKERS: is required[\s\S]*ELASTICSEARCH_URL: is required/],
  [{ ...minimal, KAFKA_BROKERS: 'localhost' }, /KAFKA_BROKERS: must be host:port/],
  [{ ...minimal, ROLE: 'worker' }, /ROLE: /],
  [{ ...minimal, PORT: 'eighty' }, /PORT: /],
  [
    { ...minimal, KAFKA_SASL_MECHANISM: 'scram-sha-512' },
    /KAFKA_USERNAME: is required with SASL[\s\S]*KAFKA_PASSWORD/,
  ],
  [{ ...minimal, ELASTICSEARCH_USERNAME: 'elastic' }, /ELASTICSEARCH_PASSWORD: /],
  [{ ...minimal, ELASTICSEARCH_INDEX: 'Purchases' }, /ELASTICSEARCH_INDEX: must be a lowercase/],
  [{ ...minimal, KAFKA_NAME_PREFIX: 'run 1/' }, /KAFKA_NAME_PREFIX: may hold only/],
  [{ ...minimal, KAFKA_CLIENT: 'librdkafka' }, /KAFKA_CLIENT: /],
  [
    { ...minimal, HTTP_REQUEST_TIMEOUT_MS: '5000' },
    /HTTP_REQUEST_TIMEOUT_MS: must be longer than PUBLISH_TIMEOUT_MS \(5000\)/,
  ],
  [
    { ...minimal, HTTP_HEADERS_TIMEOUT_MS: '40000' },
    /HTTP_HEADERS_TIMEOUT_MS: must be at most HTTP_REQUEST_TIMEOUT_MS \(30000\)/,
  ],
  [{ ...minimal, HTTP_MAX_CONNECTIONS: '0' }, /HTTP_MAX_CONNECTIONS: /],
])('a bad environment is refused with a message naming the variable (%#)', (env, message) => {
  expect(() => loadConfig(env)).toThrow(ConfigError)
  expect(() => loadConfig(env)).toThrow(message)
})

test('an empty variable counts as unset', () => {
  expect(loadConfig({ ...minimal, PORT: '' }).PORT).toBe(8080)
})

test('the uninstall hook names each missing variable and exits 2, without a stack trace', async () => {
  const { execa } = await import('execa')
  const hook = await execa(
    process.execPath,
    ['--import', 'tsx', 'runtime/kubernetes/teardown.ts'],
    { env: { PATH: process.env.PATH }, extendEnv: false, reject: false },
  )
  expect(hook.exitCode).toBe(2)
  expect(hook.stderr).toMatch(
    /TEARDOWN_NAMESPACE: is required[\s\S]*KUBERNETES_SERVICE_PORT: is required/,
  )
  expect(hook.stderr).not.toMatch(/ZodError|\n\s+at /)
})
