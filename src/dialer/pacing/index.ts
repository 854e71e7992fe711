/**
 * The dialer's pacing, free of SIP, media, Redis and the wall clock (time is passed in), so the same code paces live
 * campaigns and bench/dialer-sim's simulated days. See README.md in this folder.
 */
export { Pacer, type PacerSettings, type PacingState, type PacingMode, type BusyAgent, type PacingOutcome, type PacingEstimates, type PacingDecision, type Priors } from './pacer';
export { AbandonBudget, REGULATIONS, type AbandonBudgetSettings, type BudgetRecord, type BudgetStatus } from './abandon-budget';
export { buildAbandonAudit, type AbandonAuditRecord, type AbandonAuditInput } from './abandon-audit';
export { upperBound, safeRate, wilsonUpper, clopperPearsonUpper, normalQuantile, type BoundMethod } from './confidence-bound';
