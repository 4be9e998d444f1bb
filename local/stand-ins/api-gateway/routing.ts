/**
 * REST API routing as API Gateway does it: the stage prefix, then the resource
 * whose path matches (literal segments win over {params}; a greedy {name+}
 * takes the rest), then the method on it or ANY.
 */
import type { ApiModel, RouteModel } from '../../model/stack-model';

export interface MatchedRoute {
  route: RouteModel;
  pathParameters: Record<string, string>;
  /** The requested path below the stage, as sent (not decoded). */
  stagePath: string;
}

function splitPath(path: string): string[] {
  return path.split('/').filter(Boolean);
}

/** Finds the resource for a path; literal segments win over {params}, as in API Gateway. */
function matchResource(routes: RouteModel[], path: string): { resourcePath: string; pathParameters: Record<string, string> } | undefined {
  const segments = splitPath(path);
  let best: { resourcePath: string; pathParameters: Record<string, string>; score: number } | undefined;
  for (const resourcePath of new Set(routes.map((r) => r.path))) {
    const pattern = splitPath(resourcePath);
    const params: Record<string, string> = {};
    let score = 0;
    let ok = true;
    for (let i = 0; i < pattern.length && ok; i++) {
      const part = pattern[i]!;
      const greedy = /^\{(.+)\+\}$/.exec(part);
      if (greedy) {
        if (i >= segments.length) ok = false;
        else params[greedy[1]!] = segments.slice(i).map(decodeURIComponent).join('/');
        if (i !== pattern.length - 1) ok = false;
        break;
      }
      const segment = segments[i];
      if (segment === undefined) ok = false;
      else if (/^\{.+\}$/.test(part)) params[part.slice(1, -1)] = decodeURIComponent(segment);
      else if (part === segment) score++;
      else ok = false;
    }
    const greedyLast = /^\{.+\+\}$/.test(pattern[pattern.length - 1] ?? '');
    if (ok && (greedyLast || pattern.length === segments.length) && (!best || score > best.score)) {
      best = { resourcePath, pathParameters: params, score };
    }
  }
  return best;
}

/** The route a request reaches, or undefined (outside the stage, no such resource, no such method). */
export function routeRequest(api: ApiModel, pathname: string, method: string): MatchedRoute | undefined {
  const stagePrefix = `/${api.stageName}`;
  if (pathname !== stagePrefix && !pathname.startsWith(`${stagePrefix}/`)) return undefined;
  const stagePath = pathname.slice(stagePrefix.length) || '/';
  const resource = matchResource(api.routes, stagePath);
  if (!resource) return undefined;
  const route = api.routes.find((r) => r.path === resource.resourcePath && (r.method === method || r.method === 'ANY'));
  return route ? { route, pathParameters: resource.pathParameters, stagePath } : undefined;
}
