import { randomId } from '../lib/index';
import type { ReportRange } from './intervals';
import type { Report, ReportRow } from './reports';
import type { ReportStore } from './report-store';

export interface QualityForm {
  readonly id: string;
  readonly name: string;
  readonly items: readonly { readonly id: string; readonly label: string; readonly max: number; readonly weight: number }[];
}

/** What a supervisor can score: the interaction's agents, and whether there is a recording or transcript to score. */
export interface Scorable {
  readonly agents: readonly string[];
  /** Why it cannot be scored (no recording, no transcript); null: it can. */
  readonly unscorable: string | null;
  readonly customer: string | null;
  readonly channel: string;
}

export interface Evaluation {
  readonly id: string;
  readonly at: number;
  readonly form: string;
  readonly interaction: string;
  readonly channel: string;
  readonly customer: string | null;
  readonly agentId: string;
  readonly evaluator: string;
  readonly scores: Readonly<Record<string, number>>;
  /** Weighted total: Σ score × weight over Σ max × weight, in %. */
  readonly percent: number;
  readonly comments: string | null;
}

/** An evaluation refused: 400 (bad request), 404 (no such interaction), 409 (nothing to score). */
export class EvaluationError extends Error {
  constructor(readonly status: 400 | 404 | 409, message: string) {
    super(message);
  }
}

/**
 * Quality evaluation: supervisors score an interaction's recording or transcript against a configured form; each
 * evaluation is kept (report store facts) and reported per agent and form, item by item.
 */
export class Quality {
  constructor(
    private readonly deps: {
      readonly forms: readonly QualityForm[];
      readonly store: ReportStore;
      /** The interaction's agents and whether it can be scored; undefined: no such interaction. */
      readonly scorable: (interaction: string) => Promise<Scorable | undefined>;
      readonly now?: () => number;
    },
  ) {}

  get forms(): readonly QualityForm[] {
    return this.deps.forms;
  }

  /** Checks and keeps an evaluation: {form, interaction, evaluator, scores: {item: n}, agent?, comments?}. */
  async evaluate(body: unknown): Promise<Evaluation> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new EvaluationError(400, 'the body must be a JSON object {form, interaction, evaluator, scores}');
    const b = body as Record<string, unknown>;
    const form = this.deps.forms.find((f) => f.id === b.form);
    if (form === undefined) throw new EvaluationError(400, `form must be one of quality.forms: ${this.deps.forms.map((f) => f.id).join(', ') || '(none configured)'}; got ${JSON.stringify(b.form)}`);
    if (typeof b.interaction !== 'string' || b.interaction === '') throw new EvaluationError(400, 'interaction (the id of a recorded call or a chat) is required');
    if (typeof b.evaluator !== 'string' || !/^[^\x00-\x1f\x7f]{1,100}$/.test(b.evaluator)) throw new EvaluationError(400, 'evaluator (who scores, 1–100 characters) is required');
    if (b.comments !== undefined && (typeof b.comments !== 'string' || b.comments.length > 4000)) throw new EvaluationError(400, 'comments must be a string of at most 4000 characters');
    const scores = checkScores(form, b.scores);
    const interaction = await this.deps.scorable(b.interaction);
    if (interaction === undefined) throw new EvaluationError(404, `no interaction ${b.interaction}`);
    if (interaction.unscorable !== null) throw new EvaluationError(409, `interaction ${b.interaction} cannot be scored: ${interaction.unscorable}`);
    const agentId = b.agent ?? (interaction.agents.length === 1 ? interaction.agents[0] : undefined);
    if (typeof agentId !== 'string' || !interaction.agents.includes(agentId)) {
      throw new EvaluationError(400, interaction.agents.length === 0 ? `no agent handled interaction ${b.interaction}` : `agent must be one who handled the interaction: ${interaction.agents.join(', ')}`);
    }
    const weighted = form.items.reduce((sum, item) => sum + scores[item.id]! * item.weight, 0);
    const best = form.items.reduce((sum, item) => sum + item.max * item.weight, 0);
    const evaluation: Evaluation = {
      id: `ev-${randomId()}`, at: this.deps.now?.() ?? Date.now(), form: form.id, interaction: b.interaction, channel: interaction.channel, customer: interaction.customer,
      agentId, evaluator: b.evaluator, scores, percent: Math.round((10_000 * weighted) / best) / 100, comments: (b.comments as string | undefined) ?? null,
    };
    await this.deps.store.putFact('evaluation', evaluation.id, evaluation.at, evaluation);
    return evaluation;
  }

  /** Evaluations in the range, newest first; of one agent or interaction when given. */
  async evaluations(range: ReportRange, filter: { agent?: string; interaction?: string }): Promise<Evaluation[]> {
    const all = await this.deps.store.facts<Evaluation>('evaluation', range.from, range.to);
    return all.filter((e) => (filter.agent === undefined || e.agentId === filter.agent) && (filter.interaction === undefined || e.interaction === filter.interaction)).reverse();
  }

  /** Every evaluation kept (a customer's data export). */
  all(): Promise<Evaluation[]> {
    return this.deps.store.facts<Evaluation>('evaluation', 0, Number.MAX_SAFE_INTEGER);
  }

  /** Per agent and form: how many evaluations, their average total and each item's average score. */
  async report(range: ReportRange): Promise<Report> {
    const groups = new Map<string, Evaluation[]>();
    for (const e of await this.deps.store.facts<Evaluation>('evaluation', range.from, range.to)) {
      const key = `${e.agentId}\n${e.form}`;
      groups.set(key, [...(groups.get(key) ?? []), e]);
    }
    const rows: ReportRow[] = [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([key, evaluations]) => {
      const [agent, formId] = key.split('\n') as [string, string];
      const form = this.deps.forms.find((f) => f.id === formId);
      const itemIds = form?.items.map((i) => i.id) ?? Object.keys(evaluations[0]!.scores);
      const mean = (values: number[]) => Math.round((100 * values.reduce((a, b) => a + b, 0)) / values.length) / 100;
      return {
        agent, form: formId, evaluations: evaluations.length,
        averagePercent: mean(evaluations.map((e) => e.percent)),
        items: Object.fromEntries(itemIds.map((id) => [id, mean(evaluations.map((e) => e.scores[id] ?? 0))])),
      };
    });
    return { from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString(), rows };
  }

  /** Forgets the evaluations of these interactions (a customer's data deletion). */
  forgetInteractions(ids: readonly string[]): Promise<number> {
    const doomed = new Set(ids);
    return this.deps.store.forgetFacts<Evaluation>('evaluation', (e) => doomed.has(e.interaction));
  }
}

function checkScores(form: QualityForm, scores: unknown): Record<string, number> {
  if (typeof scores !== 'object' || scores === null || Array.isArray(scores)) throw new EvaluationError(400, `scores must be an object {item: score} over the items of form ${form.id}: ${form.items.map((i) => i.id).join(', ')}`);
  const given = scores as Record<string, unknown>;
  const unknown = Object.keys(given).filter((id) => !form.items.some((i) => i.id === id));
  if (unknown.length > 0) throw new EvaluationError(400, `form ${form.id} has no item ${unknown.join(', ')} (items: ${form.items.map((i) => i.id).join(', ')})`);
  const checked: Record<string, number> = {};
  for (const item of form.items) {
    const score = given[item.id];
    if (score === undefined) throw new EvaluationError(400, `scores.${item.id} is missing: every item of form ${form.id} is scored`);
    if (typeof score !== 'number' || !Number.isInteger(score) || score < 0 || score > item.max) throw new EvaluationError(400, `scores.${item.id} must be a whole number from 0 to ${item.max}; got ${JSON.stringify(score)}`);
    checked[item.id] = score;
  }
  return checked;
}
