import { parser } from '@prometheus-io/lezer-promql';

/** A PromQL expression's metric names and syntax errors, from the official Lezer grammar. */
export interface PromqlAnalysis {
  readonly metricNames: readonly string[];
  /** Snippets around each syntax error; empty when the expression parses. */
  readonly errors: readonly string[];
}

/**
 * Grafana's template variables are not PromQL; replace them with values of the right shape
 * so that the expression around them can be parsed (`$__rate_interval` sits where a
 * duration goes, `$job` inside a label matcher's string).
 */
export function expandGrafanaVariables(expr: string): string {
  return expr
    .replace(/\$__(rate_interval|interval|range)\b/g, '5m')
    .replace(/\$\{?(\w+)\}?/g, (_m, name: string) => `__var_${name}__`);
}

/** Parses `expr` and collects the metric names its selectors read. */
export function analysePromql(expr: string): PromqlAnalysis {
  const tree = parser.parse(expr);
  const metricNames = new Set<string>();
  const errors: string[] = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError) {
        errors.push(`at ${node.from}: …${expr.slice(Math.max(0, node.from - 20), node.to + 20)}…`);
      } else if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') {
        metricNames.add(expr.slice(node.from, node.to));
      } else if (node.name === 'UnquotedLabelMatcher' || node.name === 'QuotedLabelMatcher') {
        // {__name__="x"} also names a metric.
        const text = expr.slice(node.from, node.to);
        const m = /^"?__name__"?\s*=\s*"([^"]*)"$/.exec(text);
        if (m?.[1] !== undefined) metricNames.add(m[1]);
      }
    },
  });
  return { metricNames: [...metricNames].sort(), errors };
}
