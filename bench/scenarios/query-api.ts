import { queryScenario } from '../queries.ts'

export default queryScenario({
  id: 'query-api',
  title: 'the day query and the 30-day summary through the API, over the dataset',
  ceilings: [{ of: 'query-direct', on: 'queries/s' }],
  dayTarget: { op: '<=', value: 50 },
  async connect(bench, index) {
    const api = await bench.startApp({
      role: 'api',
      env: { ELASTICSEARCH_INDEX: index },
      output: bench.logFile('query-api'),
    })
    return { target: { apiUrl: api.url }, stop: () => api.stop() }
  },
  describe: (kind, dataset, callers) =>
    `${
      kind === 'day'
        ? `GET /purchases/{shop}?date= (a shop's day, ~${Math.round(dataset.purchases / dataset.shops / dataset.days)} purchases)`
        : 'GET /shops/{shop}/summary over 30 days'
    } over ${dataset.purchases.toLocaleString('en-US')} docs, ${callers}`,
})
