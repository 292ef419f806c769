// biome-ignore-all assist/source/organizeImports: the public list is grouped by layer by hand, not sorted by path
// The public API of switchboard, grouped by layer (docs/architecture.md). Everything not listed
// here is internal. Test doubles are on `switchboard/testing`, Restate on `switchboard/restate`.

// ── Authoring: the builder, the step kinds, edges, stop rules, policies (src/definition) ──────────
export { pipeline } from "./pipeline.ts"
export type { PipelineBuilder, PipelineOptions } from "./pipeline.ts"
export type { PipelineDefinition } from "./definition/graph.ts"
export { fn } from "./definition/steps/fn.ts"
export { llm } from "./definition/steps/llm.ts"
export { human } from "./definition/steps/human.ts"
export { callTool, tool } from "./definition/steps/tool.ts"
export type { Tool, ToolCallContext } from "./definition/steps/tool.ts"
export { retrieve } from "./definition/steps/retrieve.ts"
export type { RelevanceCheck, RetrievalResult, RetrieveStep } from "./definition/steps/retrieve.ts"
export { rememberFacts } from "./definition/steps/remember-facts.ts"
export { agent } from "./definition/steps/agent.ts"
export type { AgentOptions, AgentStep } from "./definition/steps/agent.ts"
export type { ApprovalDecision, ApprovalOptions, ToolApproval } from "./definition/steps/approval.ts"
export { parallel } from "./definition/steps/parallel.ts"
export type { BranchOutputs } from "./definition/steps/parallel.ts"
export { atLeast, map } from "./definition/steps/map.ts"
export type { MapOutput, PipelineOutput } from "./definition/steps/map.ts"
export { subpipeline } from "./definition/steps/subpipeline.ts"
export type { ItemErrorPolicy, ItemResult, MapStep, NestedPipeline, ParallelStep, PipelineStep, UnitStep } from "./definition/steps/fanout-step.ts"
export { stepKinds } from "./definition/steps/step.ts"
export type { AnyStep, FnStep, HumanStep, LlmStep, OutputOf, Step, StepContext, StepKind, ToolStep } from "./definition/steps/step.ts"
export { route } from "./definition/edges.ts"
export type { Edge, EdgeOptions, EdgesOf, Route, RouteContext, Target } from "./definition/edges.ts"
export { maxVisits, when } from "./definition/stop-rules.ts"
export type { StopContext, StopRule } from "./definition/stop-rules.ts"
export { and, budget, hasToolCall, maxSteps, maxToolCalls, not, or } from "./definition/agent-stop-rules.ts"
export type { AgentStopContext, Budget } from "./definition/agent-stop-rules.ts"
export type { RetryPolicy, StepPolicy } from "./definition/policy.ts"
export type { DurationInput } from "./contract/duration.ts"

// ── The compiled machine, for driving it with plain XState (src/compile) ──────────────────────────
export type { PipelineMachine } from "./compile/compile-machine.ts"
export type { MachineInput, MachineOutput, PipelineEvent } from "./compile/run-context.ts"

// ── Running: results, events, errors (src/run, src/contract) ─────────────────────────────────────
export type { Pipeline, RunHandle, RunOptions } from "./run/create-runner.ts"
export { DecisionError } from "./run/result.ts"
export type { DoneResult, RunResult } from "./run/result.ts"
export { ResumeError } from "./run/resume.ts"
export type { ResumeOptions } from "./run/resume.ts"
export type { ModelCallConversation, PipelineStructure, RunEvent, RunEventType, RunStatus, UsageTotals } from "./contract/events.ts"
export { ConversationReadError, fullModelCalls, messagesOfCall, modelCallReader } from "./contract/model-calls.ts"
export type { FullModelCall, ModelCall, ModelCallReader } from "./contract/model-calls.ts"
export {
  ConfigurationError,
  isRetryableReason,
  ModelError,
  PipelineDefinitionError,
  StepCodeError,
  StepTimeoutError,
  ToolError,
} from "./contract/errors.ts"
export type { ErrorCause, ErrorEvidence, FanoutErrorReason, JournalErrorReason, ModelErrorReason, RunError, StepError } from "./contract/errors.ts"
export { defaultRedactedKeys, redactSecrets } from "./contract/redaction.ts"
export type { Redaction } from "./contract/redaction.ts"
export { jsonValueProblem } from "./contract/json-value.ts"
export type { JsonValueProblem } from "./contract/json-value.ts"
export { estimateMessageTokens, trimHistory } from "./run/agent/trim-history.ts"

// ── Models and providers (src/contract/model.ts, src/providers) ─────────────────────────────────
export type { GenerateOptions, Message, Model, ModelRequest, ModelResponse, Models, Usage } from "./contract/model.ts"
export type { ModelPrice, PriceTable } from "./run/prices.ts"
export { openai } from "./providers/openai/openai.ts"
export type { OpenAIOptions } from "./providers/openai/openai.ts"
export { openaiCompatible } from "./providers/openai/compatible.ts"
export type { OpenAICompatibleOptions } from "./providers/openai/compatible.ts"
export { openaiEmbeddings } from "./providers/openai/embeddings.ts"
export type { OpenAIEmbeddingsOptions } from "./providers/openai/embeddings.ts"
export { anthropic } from "./providers/anthropic/anthropic.ts"
export type { AnthropicOptions } from "./providers/anthropic/anthropic.ts"

// ── Stores: journals and thread memory (src/contract, src/stores) ───────────────────────────────
export { ClaimLostError, JournalConflictError, JournalTimeoutError, RunClaimedError } from "./contract/journal.ts"
export type { Journal, JournalEntry, RunClaim } from "./contract/journal.ts"
export { CorruptJournalError, checkJournal, entryOfRow, parseStored } from "./contract/journal-check.ts"
export { memoryJournal } from "./stores/memory-journal.ts"
export { sqliteJournal } from "./stores/sqlite-journal.ts"
export type { SqliteJournal, SqliteJournalOptions, SqliteRunSummary } from "./stores/sqlite-journal.ts"
export { SqliteOpenError } from "./stores/sqlite-open.ts"
export type { RunSummary } from "./contract/journal.ts"
export { postgresJournal } from "./stores/postgres-journal.ts"
export type { PostgresJournal, PostgresJournalOptions, PostgresRunClaim, PostgresRunSummary } from "./stores/postgres-journal.ts"
export { CodecError, clearFieldsOf, encodedJournal } from "./stores/codec.ts"
export type { PayloadCodec } from "./stores/codec.ts"
export { aesGcmCodec } from "./stores/aes-gcm-codec.ts"
export type { AesGcmKey } from "./stores/aes-gcm-codec.ts"
export type { Thread, ThreadStore, ThreadUpdate } from "./contract/thread.ts"
export { memoryThreadStore } from "./stores/memory-thread-store.ts"
export { sqliteThreadStore } from "./stores/sqlite-thread-store.ts"
export type { SqliteThreadStore } from "./stores/sqlite-thread-store.ts"

// ── Retrieval (src/retrieval) ───────────────────────────────────────────────────────────────────
export type { DocumentsSource, Embedder, Passage, RetrievalDocument, RetrieveOptions, Retriever } from "./contract/retriever.ts"
export { lexicalRetriever } from "./retrieval/lexical.ts"
export type { LexicalRetrieverOptions } from "./retrieval/lexical.ts"
export { embeddingRetriever } from "./retrieval/embedding.ts"
export type { EmbeddingRetrieverOptions } from "./retrieval/embedding.ts"
export { chunkText, loadDocuments } from "./retrieval/load-documents.ts"
export type { ChunkOptions } from "./retrieval/load-documents.ts"
export { assembleContext, estimateTokens } from "./retrieval/context.ts"
export type { AssembledContext, AssembleOptions, Citation } from "./retrieval/context.ts"

// ── Engines: where step visits execute (src/engines, src/run/executor.ts) ───────────────────────
export { worker } from "./engines/worker.ts"
export type { Worker, WorkerJournal, WorkerOptions } from "./engines/worker.ts"
export { silentClock } from "./run/executor.ts"
export type { Clock, StepExecutor } from "./run/executor.ts"
// Only for writing an engine: what a StepExecutor receives and passes on for each unit of work.
export type { RunServices } from "./run/services.ts"

// ── Observing: logs, traces, charts (src/observe) ───────────────────────────────────────────────
export { jsonlLog } from "./observe/jsonl-log.ts"
export type { JsonlLog, JsonlLogOptions, JsonlTarget } from "./observe/jsonl-log.ts"
export { otelObserver } from "./observe/otel.ts"
export type { OpenTelemetryApi, OtelObserverOptions } from "./observe/otel.ts"
export { toMermaid } from "./observe/diagram/mermaid.ts"
export type { DiagramOptions } from "./observe/diagram/mermaid.ts"
export { toHtml } from "./observe/diagram/html.ts"
export type { HtmlOptions } from "./observe/diagram/html.ts"
export { chartOf } from "./observe/diagram/chart.ts"
export type { Chart, ChartEdge, ChartEdgeKind, ChartNode } from "./observe/diagram/chart.ts"
export { takenCounts, traceOf } from "./observe/diagram/run-trace.ts"
export type { RunTrace, StepVisit, TakenTransition, VisitStatus } from "./observe/diagram/run-trace.ts"

// ── Verifying: checks, paths, simulation, evaluation, replay (src/verify) ───────────────────────
export { check } from "./verify/check.ts"
export type { Finding, FindingCode } from "./verify/check.ts"
export { coverage, paths } from "./verify/paths.ts"
export type { PathOptions, PathStep, PipelinePath, VerifiablePipeline } from "./verify/paths.ts"
export type { Fixtures } from "./verify/fixtures.ts"
export { simulate, simulatePath } from "./verify/simulate.ts"
export type { PathRun } from "./verify/simulate.ts"
export { sampleValues } from "./verify/sample.ts"
export { evaluate } from "./verify/evaluate/evaluate.ts"
export type { EvalProgress, EvalReport, EvaluateOptions, RowResult, ScorerSummary, TransitionCoverage } from "./verify/evaluate/evaluate.ts"
export { checkRow, DatasetError, loadDataset, parseCsvDataset, parseJsonl } from "./verify/evaluate/dataset.ts"
export type { EvalRow } from "./verify/evaluate/dataset.ts"
export { exact, expectPath, includes, numeric, regex, schemaValid } from "./verify/evaluate/scorers.ts"
export type { Score, ScoreContext, Scorer, Selectors } from "./verify/evaluate/scorers.ts"
export { llmJudge } from "./verify/evaluate/llm-judge.ts"
export type { JudgeOptions } from "./verify/evaluate/llm-judge.ts"
export { compareToBaseline } from "./verify/evaluate/baseline.ts"
export type { Regression } from "./verify/evaluate/baseline.ts"
export { toHtmlReport, toMarkdownReport } from "./verify/evaluate/report.ts"
export { replay, replayModel, replayModels, toEvalRow } from "./verify/replay.ts"
export type { Divergence, ReplayModel, ReplayOptions, ReplayReport, RequestMismatch } from "./verify/replay.ts"
