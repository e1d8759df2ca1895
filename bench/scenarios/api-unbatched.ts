import { apiScenario } from '../api-scenario.ts'

export default apiScenario({
  id: 'api-unbatched',
  title: 'the API with one produce request per HTTP request (PUBLISH_MAX_BATCH=1), each adapter',
  label: 'API, one produce per request',
  env: { PUBLISH_MAX_BATCH: '1', PUBLISH_LINGER_MS: '0' },
  seed: 220,
  ceilings: [{ of: 'bare-http' }, { of: 'raw-produce' }],
})
