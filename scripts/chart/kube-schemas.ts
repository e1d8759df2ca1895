// Offline JSON schemas for kubeconform: Kubernetes core kinds from the OpenAPI (swagger 2.0)
// document inside the k8s.io/kubernetes Go module, custom resources from CRD YAML files.
// File names follow kubeconform's templates:
//   core: '{{ .ResourceKind }}{{ .KindSuffix }}.json'   e.g. deployment-apps-v1.json
//   CRDs: '{{ .Group }}_{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json'
// Every object schema with declared properties is made strict (additionalProperties: false),
// so a misspelt field fails, as the API server's strict field validation would.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { parseAllDocuments } from 'yaml'

type Schema = { [key: string]: unknown }

const isObject = (v: unknown): v is Schema =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

const schemaMaps = new Set(['properties', 'patternProperties', 'definitions'])

/** Rewrites one OpenAPI schema node (recursively) into strict JSON schema. */
function strictify(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strictify)
  if (!isObject(node)) return node
  const out: Schema = {}
  for (const [key, value] of Object.entries(node)) {
    if (schemaMaps.has(key) && isObject(value)) {
      // A map of names to schemas: keep every name (a field may be called "description").
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, strictify(v)]))
    } else {
      out[key] = strictify(value)
    }
  }
  if (node['x-kubernetes-int-or-string'] === true || node.format === 'int-or-string') {
    delete out.type
    delete out.format
    out.oneOf = [{ type: 'string' }, { type: 'integer' }]
  }
  if (node.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null']
  if (
    isObject(node.properties) &&
    node.additionalProperties === undefined &&
    node['x-kubernetes-preserve-unknown-fields'] !== true
  ) {
    out.additionalProperties = false
  }
  return out
}

/** Names of the definitions a schema refers to (directly or not). */
function closure(definitions: Record<string, Schema>, root: string): Set<string> {
  const seen = new Set<string>()
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item)
      return
    }
    if (!isObject(node)) return
    const ref = node.$ref
    if (typeof ref === 'string' && ref.startsWith('#/definitions/')) {
      const name = ref.slice('#/definitions/'.length)
      if (!seen.has(name)) {
        seen.add(name)
        visit(definitions[name])
      }
    }
    for (const value of Object.values(node)) visit(value)
  }
  seen.add(root)
  visit(definitions[root])
  return seen
}

// Types whose OpenAPI declaration is narrower than what YAML manifests legitimately hold.
const overrides: Record<string, Schema> = {
  'io.k8s.apimachinery.pkg.api.resource.Quantity': {
    oneOf: [{ type: 'string' }, { type: 'number' }],
  },
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': {
    oneOf: [{ type: 'string' }, { type: 'integer' }],
  },
  'io.k8s.apimachinery.pkg.apis.meta.v1.Time': { type: ['string', 'null'] },
  'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime': { type: ['string', 'null'] },
}

/** Writes one schema per kind of the swagger document; returns how many it wrote. */
export function writeCoreSchemas(swaggerFile: string, outDir: string): number {
  const swagger = JSON.parse(readFileSync(swaggerFile, 'utf8')) as {
    definitions: Record<string, Schema>
  }
  const definitions: Record<string, Schema> = {}
  for (const [name, def] of Object.entries(swagger.definitions)) {
    definitions[name] = overrides[name] ?? (strictify(def) as Schema)
  }
  mkdirSync(outDir, { recursive: true })
  let count = 0
  for (const [name, def] of Object.entries(swagger.definitions)) {
    const gvks = def['x-kubernetes-group-version-kind']
    if (!Array.isArray(gvks) || gvks.length !== 1) continue
    const { group, version, kind } = gvks[0] as { group: string; version: string; kind: string }
    const suffix = group === '' ? `-${version}` : `-${group.split('.')[0]}-${version}`
    const refs: Record<string, Schema> = {}
    for (const ref of closure(definitions, name)) refs[ref] = definitions[ref] as Schema
    const schema = { ...definitions[name], definitions: refs }
    writeFileSync(
      path.join(outDir, `${kind.toLowerCase()}${suffix.toLowerCase()}.json`),
      JSON.stringify(schema),
    )
    count++
  }
  return count
}

/** Writes one schema per served version of each CRD in the files; returns the file names. */
export function writeCrdSchemas(crdFiles: string[], outDir: string): string[] {
  mkdirSync(outDir, { recursive: true })
  const written: string[] = []
  for (const file of crdFiles) {
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      const crd = doc.toJS() as {
        kind?: string
        spec?: {
          group: string
          names: { kind: string }
          versions: { name: string; served: boolean; schema?: { openAPIV3Schema: Schema } }[]
        }
      } | null
      if (crd?.kind !== 'CustomResourceDefinition' || !crd.spec) continue
      for (const version of crd.spec.versions) {
        if (!version.served || !version.schema) continue
        const name = `${crd.spec.group}_${crd.spec.names.kind.toLowerCase()}_${version.name}.json`
        const schema = strictify(version.schema.openAPIV3Schema) as Schema
        writeFileSync(path.join(outDir, name), JSON.stringify(schema))
        written.push(name)
      }
    }
  }
  return written
}

/** kubeconform's -schema-location arguments for a folder written by the functions above. */
export function schemaLocations(dir: string): string[] {
  return [
    '-schema-location',
    `${dir}/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
    '-schema-location',
    `${dir}/{{ .Group }}_{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json`,
  ]
}
