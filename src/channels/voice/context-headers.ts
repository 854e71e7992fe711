import type { TaskRecord } from '../../acd/index';
import type { IvrCallContext } from '../../ivr/index';

/** What the agent's phone (or a transfer target) shows and the desktop reads: the IVR's inputs and variables. */
export function contextHeaders(context: IvrCallContext): Record<string, string> {
  const headers: Record<string, string> = {
    'X-Onecc-Language': context.language,
    'X-Onecc-Dialplan': context.dialplan,
  };
  for (const [name, value] of Object.entries(context.variables)) {
    const key = name.replace(/[^A-Za-z0-9-]/g, '-');
    if (key.length > 0) headers[`X-Onecc-Var-${key}`] = value.replace(/[\r\n]/g, ' ').slice(0, 200);
  }
  return headers;
}

/** The ACD task a call is offered for. */
export function taskHeaders(task: TaskRecord): Record<string, string> {
  return { 'X-Onecc-Task': task.id, 'X-Onecc-Queue': task.queue };
}
