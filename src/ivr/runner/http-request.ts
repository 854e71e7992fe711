import type { HttpNode } from '../dialplan/index';
import { IvrRuntimeError } from './errors';
import type { RunState, StepResult } from './run-state';
import { jsonPathValue, substitute } from './variables';

/**
 * Calls the node's webhook and copies the mapped fields of its JSON reply into variables. A timeout, network error,
 * non-2xx status or a body that is not JSON takes onError (the dialplan's when the node has none), and is recorded.
 */
export async function runHttp(node: HttpNode, run: RunState): Promise<StepResult> {
  const url = substitute(node.url, run.variables, encodeURIComponent);
  const headers = Object.fromEntries(Object.entries(node.headers).map(([k, v]) => [k, substitute(v, run.variables)]));
  const started = Date.now();
  const fail = (reason: string, cause?: unknown): StepResult => {
    const elapsedMs = Date.now() - started;
    const err = new IvrRuntimeError('IVR_HTTP_FAILED', `${node.method} ${url}: ${reason} after ${elapsedMs} ms`, { url, elapsedMs }, { cause });
    run.recordError(node.id, err);
    return { exit: 'onError', next: node.onError };
  };
  let document: unknown;
  try {
    const body = node.method === 'POST'
      ? JSON.stringify(Object.fromEntries(Object.entries(node.body).map(([k, v]) => [k, substitute(v, run.variables)])))
      : undefined;
    const response = await run.audio.guard(fetch(url, {
      method: node.method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(node.timeoutSeconds * 1000),
    }));
    const text = await run.audio.guard(response.text());
    if (!response.ok) return fail(`status ${response.status}`);
    try {
      document = JSON.parse(text);
    } catch (err) {
      return fail('the reply is not JSON', err);
    }
  } catch (err) {
    if (!(err instanceof Error) || !['TimeoutError', 'AbortError', 'TypeError'].includes(err.name)) throw err;
    return fail(err.name === 'TimeoutError' ? `no reply within ${node.timeoutSeconds} s` : err.message, err);
  }
  for (const [variable, dottedPath] of Object.entries(node.responseVariables)) {
    const value = jsonPathValue(document, dottedPath);
    if (value === undefined) run.variables.delete(variable);
    else run.variables.set(variable, value);
  }
  return { exit: 'next', next: node.next };
}
