/**
 * NamespaceFilter (reference §1.4) compiled once per policy: name globs OR label selector terms.
 * Inside a term all matchLabels and all expressions must hold.
 */
import type { NamespaceFilter } from '../../crds/index.ts';
import { compileGlob } from '../../crds/validation/checks.ts';

export type Labels = Readonly<Record<string, string>>;

type Requirement = (labels: Labels) => boolean;

export interface CompiledNamespaceFilter {
  /** No patterns and no terms (`IsEmpty`). */
  readonly empty: boolean;
  /** Whether the filter has selector terms, i.e. may need the namespace's labels. */
  readonly hasSelectors: boolean;
  /** Whether a name pattern matches. */
  matchesName(namespace: string): boolean;
  /** Whether a selector term matches the labels. */
  matchesLabels(labels: Labels): boolean;
}

const hasOwn = (labels: Labels, key: string): boolean => Object.prototype.hasOwnProperty.call(labels, key);

function compileTerm(term: NonNullable<NamespaceFilter['selectorTerms']>[number]): Requirement {
  const requirements: Requirement[] = [];
  for (const [key, value] of Object.entries(term.matchLabels ?? {})) {
    requirements.push((labels) => hasOwn(labels, key) && labels[key] === value);
  }
  for (const expression of term.matchExpressions ?? []) {
    const key = expression.key;
    const values = new Set(expression.values ?? []);
    switch (expression.operator) {
      case 'In':
        requirements.push((labels) => hasOwn(labels, key) && values.has(labels[key] as string));
        break;
      case 'NotIn':
        // As Kubernetes label selectors: a missing key satisfies NotIn.
        requirements.push((labels) => !hasOwn(labels, key) || !values.has(labels[key] as string));
        break;
      case 'Exists':
        requirements.push((labels) => hasOwn(labels, key));
        break;
      case 'DoesNotExist':
        requirements.push((labels) => !hasOwn(labels, key));
        break;
    }
  }
  return (labels) => {
    for (const requirement of requirements) if (!requirement(labels)) return false;
    return true;
  };
}

export const EMPTY_NAMESPACE_FILTER: CompiledNamespaceFilter = {
  empty: true,
  hasSelectors: false,
  matchesName: () => false,
  matchesLabels: () => false,
};

export function compileNamespaceFilter(filter: NamespaceFilter | undefined): CompiledNamespaceFilter {
  const patterns = (filter?.patterns ?? []).map(compileGlob);
  const terms = (filter?.selectorTerms ?? []).map(compileTerm);
  if (patterns.length === 0 && terms.length === 0) return EMPTY_NAMESPACE_FILTER;
  return {
    empty: false,
    hasSelectors: terms.length > 0,
    matchesName(namespace) {
      for (const pattern of patterns) if (pattern(namespace)) return true;
      return false;
    },
    matchesLabels(labels) {
      for (const term of terms) if (term(labels)) return true;
      return false;
    },
  };
}
