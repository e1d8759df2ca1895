// What a PromQL expression needs from the scraped series, read with the Prometheus project's own
// grammar (@prometheus-io/lezer-promql): every selector's series name and the labels it matches
// on, and the labels the result carries (what `by`, `on`, legends and alert templates may use).
import { parser } from '@prometheus-io/lezer-promql'

/** Series name -> the label names its samples carry (scrape target labels included). */
export type Catalogue = ReadonlyMap<string, ReadonlySet<string>>

export type QueryCheck = {
  /** Series names the expression selects. */
  series: string[]
  /** Labels of the result; undefined when the result is a scalar. */
  labels: Set<string> | undefined
  /** What the catalogue does not provide, or what the grammar refuses; empty when all is well. */
  problems: string[]
}

type SyntaxNode = ReturnType<typeof parser.parse>['topNode']

const children = (node: SyntaxNode): SyntaxNode[] => {
  const out: SyntaxNode[] = []
  for (let c = node.firstChild; c; c = c.nextSibling) out.push(c)
  return out
}

/** Nodes that are expressions (as opposed to operators, modifiers, names and durations). */
const expressionNodes = new Set([
  'AggregateExpr',
  'BinaryExpr',
  'FunctionCall',
  'MatrixSelector',
  'NumberDurationLiteral',
  'ParenExpr',
  'StringLiteral',
  'SubqueryExpr',
  'UnaryExpr',
  'VectorSelector',
])

/** Functions whose result drops a label of their input. */
const droppedLabels: Record<string, string[]> = { histogram_quantile: ['le'] }

/** Parses `expr` and checks every selector and label use against the catalogue. */
export function checkQuery(expr: string, catalogue: Catalogue): QueryCheck {
  const tree = parser.parse(expr)
  const problems: string[] = []
  const series: string[] = []
  const text = (n: SyntaxNode) => expr.slice(n.from, n.to)
  tree.iterate({
    enter(n) {
      if (n.type.isError) problems.push(`syntax error at ${n.from}: ${JSON.stringify(expr)}`)
    },
  })
  const groupingLabels = (n: SyntaxNode | null) =>
    n ? (n.getChild('GroupingLabels')?.getChildren('LabelName').map(text) ?? []) : []
  const requireLabels = (labels: string[], available: Set<string> | undefined, where: string) => {
    for (const label of labels) {
      if (!available?.has(label)) {
        problems.push(`${where} uses label "${label}", which its input does not carry`)
      }
    }
  }

  const labelsOf = (node: SyntaxNode): Set<string> | undefined => {
    const operands = children(node).filter((c) => expressionNodes.has(c.name))
    switch (node.name) {
      case 'VectorSelector': {
        const name = node.getChild('Identifier')
        if (!name) {
          problems.push(`a selector without a metric name: ${text(node)}`)
          return new Set()
        }
        const known = catalogue.get(text(name))
        series.push(text(name))
        if (!known) {
          problems.push(`series "${text(name)}" is not exported`)
          return new Set()
        }
        for (const matcher of node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ??
          []) {
          const label = text(matcher.getChild('LabelName') ?? matcher)
          if (!known.has(label)) problems.push(`series "${text(name)}" has no label "${label}"`)
        }
        if (node.getChild('LabelMatchers')?.getChild('QuotedLabelMatcher')) {
          problems.push(`quoted label names are not checked: ${text(node)}`)
        }
        return new Set(known)
      }
      case 'MatrixSelector':
      case 'SubqueryExpr':
      case 'ParenExpr':
        return labelsOf(operands[0] as SyntaxNode)
      case 'UnaryExpr':
        return labelsOf(operands[0] as SyntaxNode)
      case 'NumberDurationLiteral':
      case 'StringLiteral':
        return undefined
      case 'FunctionCall': {
        const name = text(node.getChild('FunctionIdentifier') ?? node)
        const args = children(node.getChild('FunctionCallBody') ?? node).filter((c) =>
          expressionNodes.has(c.name),
        )
        const vectors = args.map(labelsOf).filter((l): l is Set<string> => l !== undefined)
        if (vectors.length === 0) return undefined
        const out = new Set(vectors.flatMap((l) => [...l]))
        for (const label of droppedLabels[name] ?? []) out.delete(label)
        return out
      }
      case 'AggregateExpr': {
        const args = children(node.getChild('FunctionCallBody') ?? node).filter((c) =>
          expressionNodes.has(c.name),
        )
        // The vector is the last argument (topk(5, x), quantile(0.9, x), count_values("v", x)).
        const inner = labelsOf(args[args.length - 1] as SyntaxNode)
        for (const parameter of args.slice(0, -1)) labelsOf(parameter)
        const modifier = node.getChild('AggregateModifier')
        const grouped = groupingLabels(modifier)
        const op = text(node.getChild('AggregateOp') ?? node)
        if (modifier?.getChild('By')) {
          requireLabels(grouped, inner, `${op} by`)
          return new Set(grouped)
        }
        if (modifier?.getChild('Without')) {
          return new Set([...(inner ?? [])].filter((l) => !grouped.includes(l)))
        }
        return new Set()
      }
      case 'BinaryExpr': {
        const [left, right] = operands.map(labelsOf)
        const matching = node.getChild('MatchingModifierClause')
        if (matching?.getChild('On')) {
          const on = groupingLabels(matching)
          requireLabels(on, left, 'on (left side)')
          requireLabels(on, right, 'on (right side)')
        }
        // Set operators and comparisons keep the left side's labels; a scalar side takes the other's.
        return left ?? right
      }
      default:
        problems.push(`unexpected ${node.name} in ${JSON.stringify(expr)}`)
        return new Set()
    }
  }

  const top = tree.topNode.firstChild
  const labels = top ? labelsOf(top) : undefined
  return { series, labels, problems }
}

/** Labels named in a Grafana legend ("{{topic}}/{{partition}}") or a Prometheus alert template. */
export function templateLabels(template: string): string[] {
  const legend = [...template.matchAll(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g)].map((m) => m[1])
  const alert = [...template.matchAll(/\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)/g)].map((m) => m[1])
  return [...legend, ...alert].filter((l): l is string => l !== undefined)
}
