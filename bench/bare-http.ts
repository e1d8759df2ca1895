/**
 * The HTTP ceiling (the bare-http scenario): a bare node:http server that reads the body and answers 202, with no
 * validation, no Kafka, no framework. The API's rate over this one is what our stack costs.
 */
import { createServer } from 'node:http'

const accepted = JSON.stringify({ status: 'accepted' })

createServer((request, response) => {
  const chunks: Buffer[] = []
  request.on('data', (chunk: Buffer) => chunks.push(chunk))
  request.on('end', () => {
    if (request.method === 'POST' && request.url === '/purchases') {
      JSON.parse(Buffer.concat(chunks).toString('utf8'))
      response.writeHead(202, { 'content-type': 'application/json' }).end(accepted)
    } else {
      response.writeHead(request.url === '/readyz' ? 200 : 404).end()
    }
  })
}).listen(Number(process.env.PORT), process.env.HOST)
