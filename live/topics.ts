/** The live page's own topic, beside the product's (handlers/topics.ts). */
import { defineTopics } from '../handlers/topics.ts'

export const topics = defineTopics({
  // Commands to every consumer process (pause, resume, add or remove a member), sent by the live
  // page through the API. Each process reads it with a group of its own and ignores commands
  // older than itself (subscribers/obey-consumer-commands.ts), so an hour is plenty.
  'consumers.control': {
    partitions: 1,
    replicationFactor: 3,
    config: { 'min.insync.replicas': 2, 'retention.ms': 60 * 60 * 1000 },
  },
})
