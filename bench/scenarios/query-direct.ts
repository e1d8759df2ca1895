import {
  createElasticsearchClient,
  createElasticsearchStore,
} from '../../runtime/elasticsearch/store.ts'
import { queryScenario } from '../queries.ts'

export default queryScenario({
  id: 'query-direct',
  title: "the same queries as the store's own, straight to Elasticsearch: the query ceiling",
  // As the API's own Elasticsearch user, through the same store code.
  async connect(bench, index) {
    const { api } = bench.env
    const client = createElasticsearchClient({
      ELASTICSEARCH_URL: api.ELASTICSEARCH_URL as string,
      ELASTICSEARCH_USERNAME: api.ELASTICSEARCH_USERNAME,
      ELASTICSEARCH_PASSWORD: api.ELASTICSEARCH_PASSWORD,
      ELASTICSEARCH_CA_FILE: api.ELASTICSEARCH_CA_FILE,
      ELASTICSEARCH_INDEX: index,
    })
    return {
      target: { store: createElasticsearchStore(client, index) },
      stop: () => client.close(),
    }
  },
  describe: (kind, _dataset, callers) =>
    `the same ${kind} query straight to Elasticsearch (the store's query), ${callers}`,
})
