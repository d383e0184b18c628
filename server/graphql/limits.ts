// Bounds on what one operation may ask for, checked at validation time (HTTP
// and WebSocket alike): tokens (parse), depth, aliases, and a cost that
// multiplies nested selections by the page size asked for. The cost walk stops
// as soon as the limit is passed, so a fragment bomb costs little to reject.
import { Kind, type ASTVisitor, type GraphQLError, type SelectionSetNode, type ValidationContext, type ValidationRule } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { isGraphQLError } from './errors.js';

/** Limits of one GraphQL operation. */
export interface OperationLimits {
  /** lexical tokens in the document */
  maxTokens: number;
  /** nested field levels (introspection fields excluded) */
  maxDepth: number;
  /** fields with an alias */
  maxAliases: number;
  /** fields, each weighted by the product of the `first` arguments above it */
  maxCost: number;
  /** the `first` assumed when it comes from a variable */
  assumedPageSize: number;
}

/** Limits that leave room for the console and for introspection. */
export const DEFAULT_LIMITS: OperationLimits = { maxTokens: 3000, maxDepth: 10, maxAliases: 30, maxCost: 25_000, assumedPageSize: 500 };

function tooComplex(message: string): GraphQLError {
  return createGraphQLError(message, { extensions: { code: 'QUERY_TOO_COMPLEX' } });
}

/** Validation rule enforcing depth, alias and cost limits. */
export function operationLimitsRule(limits: OperationLimits): ValidationRule {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(node) {
      let cost = 0;
      let aliases = 0;
      let maxDepth = 0;
      // introspection (under __schema / __type) is bounded by its own shape: it counts for cost, not depth
      const walk = (set: SelectionSetNode, multiplier: number, depth: number, fragments: string[], introspecting = false): boolean => {
        for (const sel of set.selections) {
          if (cost > limits.maxCost || aliases > limits.maxAliases || maxDepth > limits.maxDepth) return false;
          if (sel.kind === Kind.FIELD) {
            const introspection = introspecting || sel.name.value.startsWith('__');
            const d = introspection ? depth : depth + 1;
            maxDepth = Math.max(maxDepth, d);
            cost += multiplier;
            if (sel.alias) aliases++;
            if (sel.selectionSet) {
              const first = sel.arguments?.find((a) => a.name.value === 'first' || a.name.value === 'limit');
              let size = 1;
              if (first?.value.kind === Kind.INT) size = Math.max(1, Number(first.value.value));
              else if (first?.value.kind === Kind.VARIABLE) size = limits.assumedPageSize;
              if (!walk(sel.selectionSet, multiplier * size, d, fragments, introspection)) return false;
            }
          } else if (sel.kind === Kind.INLINE_FRAGMENT) {
            if (!walk(sel.selectionSet, multiplier, depth, fragments, introspecting)) return false;
          } else {
            const name = sel.name.value;
            const fragment = context.getFragment(name);
            if (!fragment || fragments.includes(name)) continue; // unknown or cyclic: other rules report it
            if (!walk(fragment.selectionSet, multiplier, depth, [...fragments, name], introspecting)) return false;
          }
        }
        return true;
      };
      walk(node.selectionSet, 1, 0, []);
      if (maxDepth > limits.maxDepth) context.reportError(tooComplex(`query is too deep: at most ${limits.maxDepth} levels`));
      else if (aliases > limits.maxAliases) context.reportError(tooComplex(`too many aliases: at most ${limits.maxAliases}`));
      else if (cost > limits.maxCost) context.reportError(tooComplex(`query is too expensive: cost above ${limits.maxCost}`));
    },
  });
}

/** Envelop plugin applying the limits to every operation. */
export function useOperationLimits(limits: OperationLimits = DEFAULT_LIMITS): Plugin {
  const rule = operationLimitsRule(limits);
  return {
    onParse: ({ parseFn, setParseFn }) => {
      setParseFn((source, options) => {
        try {
          return parseFn(source, { ...options, maxTokens: limits.maxTokens });
        } catch (err) {
          if (isGraphQLError(err) && /more tha[nt] \d+ tokens/i.test(err.message)) throw tooComplex(`query is too long: at most ${limits.maxTokens} tokens`);
          throw err;
        }
      });
    },
    onValidate: ({ addValidationRule }) => {
      addValidationRule(rule);
    },
  };
}
