/** Interactive API docs (Swagger UI) whose assets the app serves itself: no CDN. */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { Hono } from 'hono'

const page = (specUrl: string) => `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Ice-cream purchases API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js" data-spec-url="${specUrl}"></script>
</body>
</html>`

// A separate script file keeps the page free of inline scripts (strict CSP friendly).
const init = `SwaggerUIBundle({
  url: document.currentScript.dataset.specUrl,
  dom_id: '#swagger-ui',
  deepLinking: true,
})`

export function docsRoutes(specUrl: string): Hono {
  // The package's own entry evaluates the whole browser bundle in Node; only its files are needed.
  const assets = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'))
  const read = (file: string) => readFileSync(join(assets, file))
  const bundle = read('swagger-ui-bundle.js')
  const css = read('swagger-ui.css')
  const cache = { 'cache-control': 'public, max-age=86400' }
  return new Hono()
    .get('/docs', (c) => c.html(page(specUrl)))
    .get('/docs/swagger-ui-bundle.js', (c) =>
      c.body(bundle, 200, { 'content-type': 'text/javascript; charset=utf-8', ...cache }),
    )
    .get('/docs/swagger-ui.css', (c) =>
      c.body(css, 200, { 'content-type': 'text/css; charset=utf-8', ...cache }),
    )
    .get('/docs/init.js', (c) =>
      c.body(init, 200, { 'content-type': 'text/javascript; charset=utf-8' }),
    )
}
