import { apiScenario } from '../api-scenario.ts'

export default apiScenario({
  id: 'api-batched',
  title: 'the API as deployed (PUBLISH_LINGER_MS=5, PUBLISH_MAX_BATCH=500), each adapter',
  label: 'API, batched',
  env: {},
  seed: 210,
  // The targets of issue 12; over api-unbatched, what batching buys.
  ceilings: [
    { of: 'bare-http', target: { op: '>=', value: 0.5 } },
    { of: 'raw-produce', target: { op: '>=', value: 0.5 } },
    { of: 'api-unbatched' },
  ],
  memory: {
    measurement: 'peak RSS of the batched API through the rounds',
    target: { op: '<=', value: 150 },
  },
})
